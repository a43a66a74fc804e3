//! BatchNorm over channels as one fused CPU kernel: batch statistics, normalisation, affine and
//! an optional activation in two passes forward and two backward (candle's composition takes a
//! dozen full-size tensor operations each way, half of them single-threaded reductions).
//! Other devices use candle's `BatchNorm`.

use crate::act::{with_act, Act, ActFn, Real};
use crate::cpu::{cpu_op2, lane_sum, peek, simd_fn, slice, sum2, take, Rows, Slot};
use crate::error::{param_err, Error, Result};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp3, DType, Layout, Shape, Tensor};
use std::mem::MaybeUninit;
use std::sync::{Arc, Mutex};

/// True when [`batch_norm`] runs on these operands: CPU tensors of f32 or f64, the input and the
/// parameters of one dtype.
pub fn batch_norm_supported(x: &Tensor, weight: &Tensor) -> bool {
    x.device().is_cpu()
        && matches!(x.dtype(), DType::F32 | DType::F64)
        && weight.dtype() == x.dtype()
}

/// `act(BatchNorm(x))` over the channels (axis 1) of a tensor of any rank ≥ 2, PyTorch semantics
/// (biased batch variance for normalising), as one fused CPU kernel with its own backward:
/// statistics from the batch (training) or given running statistics (evaluation). Returns the
/// output and, with [`Statistics::Batch`], the batch's per-channel mean and biased variance (for
/// the caller's running-statistics update). CPU f32/f64 only ([`batch_norm_supported`]); elsewhere
/// use candle-nn's `BatchNorm`.
///
/// # Examples
///
/// ```
/// use candle_core::{Device, Tensor};
/// use rareml_kernels::{batch_norm, Act, Statistics};
/// let x = Tensor::randn(0f32, 3.0, (8, 4, 5, 5), &Device::Cpu)?;
/// let (w, b) = (Tensor::ones(4, candle_core::DType::F32, &Device::Cpu)?, Tensor::zeros(4, candle_core::DType::F32, &Device::Cpu)?);
/// let (y, stats) = batch_norm(&x, &w, &b, Statistics::Batch, 1e-5, Act::Relu)?;
/// assert_eq!(y.dims(), x.dims());
/// assert_eq!(stats.unwrap().mean.len(), 4);
/// # Ok::<(), rareml_kernels::Error>(())
/// ```
pub fn batch_norm(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    statistics: Statistics,
    eps: f64,
    act: Act,
) -> Result<(Tensor, Option<BatchStatistics>)> {
    if eps.is_nan() || eps <= 0.0 {
        return Err(param_err("batch norm", "eps", eps, "> 0"));
    }
    let c = weight.dim(0)?;
    if x.rank() < 2 || x.dim(1)? != c || bias.dims() != weight.dims() {
        return Err(Error::Shape {
            what: "batch norm input".into(),
            expected: format!("(N, {c}, ...) with weight and bias of {c}"),
            got: x.dims().to_vec(),
        });
    }
    let geom = Rows::of(x.dims());
    let train = matches!(statistics, Statistics::Batch);
    if train && geom.n * geom.p < 2 {
        return Err(Error::Shape {
            what: "batch norm input with batch statistics".into(),
            expected: "more than one value per channel".into(),
            got: x.dims().to_vec(),
        });
    }
    if let Statistics::Running { mean, var } = &statistics {
        if mean.len() != c || var.len() != c {
            return Err(Error::Shape {
                what: "batch norm running statistics".into(),
                expected: format!("{c} means and variances"),
                got: vec![mean.len(), var.len()],
            });
        }
    }
    if !batch_norm_supported(x, weight) {
        return Err(Error::Shape {
            what: format!(
                "fused batch norm on {:?} {:?} (parameters {:?})",
                x.device().location(),
                x.dtype(),
                weight.dtype()
            ),
            expected: "CPU tensors of f32 or f64, one dtype".into(),
            got: x.dims().to_vec(),
        });
    }
    let slot = Arc::new(Mutex::new(None));
    let op = BnOp {
        geom,
        act,
        eps,
        mode: statistics,
        stats: slot.clone(),
    };
    let y = x.contiguous()?.apply_op3(weight, bias, op)?;
    // Cloned, not taken: the backward pass reads the same statistics.
    let batch = if train {
        Some(peek(&slot, "batch-norm statistics")?)
    } else {
        None
    };
    Ok((y, batch))
}

fn to_f64(t: &Tensor) -> candle_core::Result<Vec<f64>> {
    t.to_dtype(DType::F64)?.to_vec1::<f64>()
}

/// Where the normalisation statistics come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Statistics {
    /// The batch (training).
    Batch,
    /// Given running statistics (evaluation).
    Running {
        /// Per-channel mean.
        mean: Vec<f64>,
        /// Per-channel variance.
        var: Vec<f64>,
    },
}

/// Per-channel mean and biased variance of a batch, as the forward pass used them.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchStatistics {
    /// Per-channel mean.
    pub mean: Vec<f64>,
    /// Per-channel biased variance (divided by the count).
    pub var: Vec<f64>,
}

/// Forward op on (x, weight, bias); keeps the statistics it used for the backward pass and for
/// the running-statistics update.
struct BnOp {
    geom: Rows,
    act: Act,
    eps: f64,
    mode: Statistics,
    stats: Slot<BatchStatistics>,
}

impl BnOp {
    fn stats<T: Real>(&self, x: &[T]) -> BatchStatistics {
        let g = self.geom;
        match &self.mode {
            Statistics::Running { mean, var } => BatchStatistics {
                mean: mean.clone(),
                var: var.clone(),
            },
            Statistics::Batch => {
                // Shifted sums (shift: the channel's first value) keep the variance accurate when
                // the mean is large against the spread.
                let shift: Vec<f64> = (0..g.c).map(|c| x[c * g.p].to_f64()).collect();
                let sums = g.channel_sums(|r| stats_row(g.row(x, r), shift[r % g.c]));
                let m = g.count();
                let (mean, var) = sums
                    .iter()
                    .zip(&shift)
                    .map(|(&(s1, s2), k)| (k + s1 / m, ((s2 - s1 * s1 / m) / m).max(0.0)))
                    .unzip();
                BatchStatistics { mean, var }
            }
        }
    }

    /// Per-channel scale `w/σ` and offset `b − μ·w/σ` in the input's precision.
    fn affine<T: Real>(&self, s: &BatchStatistics, w: &[T], b: &[T]) -> (Vec<T>, Vec<T>) {
        (0..self.geom.c)
            .map(|c| {
                let a = w[c].to_f64() / (s.var[c] + self.eps).sqrt();
                (T::from_f64(a), T::from_f64(b[c].to_f64() - s.mean[c] * a))
            })
            .unzip()
    }

    fn fwd<T: Real>(&self, x: &[T], w: &[T], b: &[T]) -> Vec<T> {
        with_act!(self.act, act => self.fwd_with(act, x, w, b))
    }

    fn fwd_with<T: Real>(&self, act: impl ActFn, x: &[T], w: &[T], b: &[T]) -> Vec<T> {
        let g = self.geom;
        let s = self.stats(x);
        let (scale, shift) = self.affine(&s, w, b);
        *self.stats.lock().expect("batch-norm statistics lock") = Some(s);
        g.map_rows(|r, out| fwd_row(act, g.row(x, r), scale[r % g.c], shift[r % g.c], out))
    }
}

impl CustomOp3 for BnOp {
    fn name(&self) -> &'static str {
        "batch-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let y = match (s1.dtype(), s2.dtype(), s3.dtype()) {
            (DType::F32, DType::F32, DType::F32) => CpuStorage::F32(self.fwd(
                slice::<f32>(s1, l1)?,
                slice::<f32>(s2, l2)?,
                slice::<f32>(s3, l3)?,
            )),
            (DType::F64, DType::F64, DType::F64) => CpuStorage::F64(self.fwd(
                slice::<f64>(s1, l1)?,
                slice::<f64>(s2, l2)?,
                slice::<f64>(s3, l3)?,
            )),
            (a, b, c) => candle_core::bail!(
                "batch norm supports f32 and f64 (the same for input and parameters), got {a:?}, {b:?}, {c:?}"
            ),
        };
        Ok((y, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _y: &Tensor,
        g: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let stats = self
            .stats
            .lock()
            .ok()
            .and_then(|g| g.clone())
            .ok_or_else(|| {
                candle_core::Error::Msg("batch-norm backward before its forward".into())
            })?;
        let sums = Arc::new(Mutex::new(None));
        let op = BnBwd {
            geom: self.geom,
            act: self.act,
            eps: self.eps,
            batch: matches!(self.mode, Statistics::Batch),
            stats,
            w: to_f64(w)?,
            b: to_f64(b)?,
            sums: sums.clone(),
        };
        let dx = x.apply_op2_no_bwd(&g.contiguous()?, &op)?;
        let (dw, db) = take(&sums, "batch-norm weight and bias gradients")?;
        let c = self.geom.c;
        let dw = Tensor::from_vec(dw, c, w.device())?.to_dtype(w.dtype())?;
        let db = Tensor::from_vec(db, c, b.device())?.to_dtype(b.dtype())?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

/// Backward op on (x, dy) → dx; leaves Σ dz·x̂ and Σ dz per channel (the weight and bias
/// gradients) in `sums`.
struct BnBwd {
    geom: Rows,
    act: Act,
    eps: f64,
    batch: bool,
    stats: BatchStatistics,
    w: Vec<f64>,
    b: Vec<f64>,
    sums: Slot<(Vec<f64>, Vec<f64>)>,
}

impl BnBwd {
    fn run<T: Real>(&self, x: &[T], gy: &[T]) -> Vec<T> {
        with_act!(self.act, act => self.run_with(act, x, gy))
    }

    fn run_with<T: Real>(&self, act: impl ActFn, x: &[T], gy: &[T]) -> Vec<T> {
        let g = self.geom;
        let istd: Vec<f64> = self
            .stats
            .var
            .iter()
            .map(|v| 1.0 / (v + self.eps).sqrt())
            .collect();
        let cast = |v: &[f64]| -> Vec<T> { v.iter().map(|&a| T::from_f64(a)).collect() };
        let scale: Vec<f64> = self.w.iter().zip(&istd).map(|(w, s)| w * s).collect();
        let shift: Vec<f64> = (0..g.c)
            .map(|c| self.b[c] - self.stats.mean[c] * scale[c])
            .collect();
        let (scale_t, shift_t, mean_t, istd_t) = (
            cast(&scale),
            cast(&shift),
            cast(&self.stats.mean),
            cast(&istd),
        );
        // dz = dy · act'(z), z = x·scale + shift: recomputed in both passes rather than stored.
        let sums = g.channel_sums(|r| {
            let c = r % g.c;
            let k = [scale_t[c], shift_t[c], mean_t[c], istd_t[c]];
            grad_sums_row(act, g.row(x, r), g.row(gy, r), k)
        });
        let (db, dw): (Vec<f64>, Vec<f64>) = sums.iter().copied().unzip();
        // Training: dx = scale · (dz − mean(dz) − x̂ · mean(dz·x̂)); evaluation: dx = scale · dz.
        let m = g.count();
        let (k1, k2): (Vec<T>, Vec<T>) = if self.batch {
            (
                cast(&db.iter().map(|s| s / m).collect::<Vec<_>>()),
                cast(&dw.iter().map(|s| s / m).collect::<Vec<_>>()),
            )
        } else {
            (vec![T::zero(); g.c], vec![T::zero(); g.c])
        };
        *self.sums.lock().expect("batch-norm gradient lock") = Some((dw, db));
        g.map_rows(|r, out| {
            let c = r % g.c;
            let k = [scale_t[c], shift_t[c], mean_t[c], istd_t[c], k1[c], k2[c]];
            dx_row(act, g.row(x, r), g.row(gy, r), k, out)
        })
    }
}

cpu_op2!(BnBwd, "batch-norm-bwd", |this, s1, l1, s2, l2| {
    let dx = crate::cpu::dispatch2!("batch norm backward", s1, l1, s2, l2, |x, g| {
        this.run(x, g)
    });
    Ok((dx, l1.shape().clone()))
});

simd_fn! {
    /// Shifted sums `(Σ (x − k), Σ (x − k)²)` of one row.
    fn stats_row<T: Real>(x: &[T], k: f64) -> (f64, f64) {
        // Two passes over the row (it is in L1): one reduction each compiles to full vectors,
        // while one loop updating both sums was paired into 128-bit (s, q) vectors.
        let k = T::from_f64(k);
        (lane_sum(x, |v| v - k), lane_sum(x, |v| (v - k) * (v - k)))
    }
}

simd_fn! {
    /// `y = act(x·a + o)` for one row; returns the values written.
    fn fwd_row<T: Real, A: ActFn>(act: A, x: &[T], a: T, o: T, y: &mut [MaybeUninit<T>]) -> usize {
        for (y, &v) in y.iter_mut().zip(x) {
            y.write(act.f(v * a + o));
        }
        x.len().min(y.len())
    }
}

simd_fn! {
    /// `(Σ dz, Σ dz·x̂)` of one row, `dz = dy · act'(x·a + o)`, `x̂ = (x − μ)·istd`, with
    /// `k = [a, o, μ, istd]`.
    fn grad_sums_row<T: Real, A: ActFn>(act: A, x: &[T], dy: &[T], k: [T; 4]) -> (f64, f64) {
        let [a, o, mu, is] = k;
        sum2(x, dy, |v, g| {
            let d = act.df(v * a + o, g);
            (d, d * ((v - mu) * is))
        })
    }
}

simd_fn! {
    /// `dx = a·(dz − m1 − x̂·m2)` for one row, `dz = dy · act'(x·a + o)`, with
    /// `k = [a, o, μ, istd, m1, m2]`; returns the values written.
    fn dx_row<T: Real, A: ActFn>(act: A, x: &[T], dy: &[T], k: [T; 6], dx: &mut [MaybeUninit<T>]) -> usize {
        let [a, o, mu, is, m1, m2] = k;
        for ((d, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
            let z = act.df(v * a + o, g);
            d.write(a * (z - m1 - (v - mu) * is * m2));
        }
        x.len().min(dy.len()).min(dx.len())
    }
}
