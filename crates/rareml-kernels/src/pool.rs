//! Max and average pooling over (D, H, W) as direct CPU kernels with a correct backward
//! (candle's `max_pool2d` backward divides by the window size and has no padding); a
//! composition of candle ops serves other devices.

use crate::conv::{out_len, pad_axis, strided, Pad};
use crate::cpu::{cpu_op2, dispatch2, slice};
use crate::error::{param_err, Error, Result};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Shape, Tensor, WithDType};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Max or average.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PoolKind {
    /// Maximum of the window (padding never wins).
    Max,
    /// Mean over the window's elements inside the input (padding not counted, as Keras and
    /// PyTorch's `count_include_pad=False`).
    Avg,
}

/// Output length rule of a pooling axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PoolPadding {
    /// No padding, windows that do not fit are dropped (PyTorch default, Keras `valid`).
    Valid,
    /// PyTorch `ceil_mode=True` with no padding: a last partial window is kept.
    Ceil,
    /// Keras `padding='same'`: output ⌈L/stride⌉, padding split with the odd one after.
    Same,
    /// PyTorch's `padding=(pD, pH, pW)` in floor mode: `p` before and after each axis (D, H, W),
    /// output ⌊(L + 2p − k)/stride⌋ + 1; 2p ≤ k, as PyTorch requires (every window then holds
    /// one input element at least). 2D pooling passes `[0, pH, pW]`.
    Zeros([usize; 3]),
}

/// A pooling window over (D, H, W).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool3dConfig {
    /// Max or average.
    pub kind: PoolKind,
    /// Window size per axis (D, H, W).
    pub kernel: [usize; 3],
    /// Stride per axis (D, H, W).
    pub stride: [usize; 3],
    /// Output length rule.
    pub padding: PoolPadding,
}

impl Pool3dConfig {
    /// Max pooling with kernel = stride = `k` on every axis.
    pub fn max(k: usize, padding: PoolPadding) -> Self {
        Self {
            kind: PoolKind::Max,
            kernel: [k; 3],
            stride: [k; 3],
            padding,
        }
    }

    /// Checks the configuration: every kernel size and stride ≥ 1.
    pub fn validate(&self) -> Result<()> {
        if self.kernel.contains(&0) {
            return Err(param_err(
                "pooling",
                "kernel",
                self.kernel,
                "every axis ≥ 1",
            ));
        }
        if self.stride.contains(&0) {
            return Err(param_err(
                "pooling",
                "stride",
                self.stride,
                "every axis ≥ 1",
            ));
        }
        if let PoolPadding::Zeros(p) = self.padding {
            if (0..3).any(|a| 2 * p[a] > self.kernel[a]) {
                return Err(param_err(
                    "pooling",
                    "padding",
                    p,
                    "at most half the kernel on every axis (2p ≤ k)",
                ));
            }
        }
        Ok(())
    }

    /// Padding before each axis and output lengths for input lengths `dims` (D, H, W).
    fn geometry(&self, dims: [usize; 3]) -> Result<([usize; 3], [usize; 3])> {
        self.validate()?;
        let mut before = [0; 3];
        let mut out = [0; 3];
        for a in 0..3 {
            let (k, s, l) = (self.kernel[a], self.stride[a], dims[a]);
            let (b, o) = match self.padding {
                PoolPadding::Valid => (0, out_len("pooling", l, (0, 0), k, s)?),
                PoolPadding::Ceil => {
                    if l < k {
                        (0, out_len("pooling", l, (0, 0), k, s)?)
                    } else {
                        (0, (l - k).div_ceil(s) + 1)
                    }
                }
                PoolPadding::Same => (Pad::Same.amounts(l, k, s).0, l.div_ceil(s)),
                PoolPadding::Zeros(p) => (p[a], out_len("pooling", l, (p[a], p[a]), k, s)?),
            };
            before[a] = b;
            out[a] = o;
        }
        Ok((before, out))
    }
}

/// Geometry shared by the forward and backward kernels.
#[derive(Debug, Clone, Copy)]
struct PoolOp {
    kind: PoolKind,
    kernel: [usize; 3],
    stride: [usize; 3],
    before: [usize; 3],
    input: [usize; 5],
    out: [usize; 3],
}

impl PoolOp {
    /// Input index range of window `o` along axis `a`.
    fn range(&self, a: usize, o: usize) -> (usize, usize) {
        let start = (o * self.stride[a]) as isize - self.before[a] as isize;
        let end = start + self.kernel[a] as isize;
        let len = self.input[2 + a] as isize;
        (start.max(0) as usize, end.min(len).max(0) as usize)
    }

    /// Calls `f(out_index_in_plane, input_indices_of_window)` for every output of one plane.
    fn windows(&self, mut f: impl FnMut(usize, &mut dyn Iterator<Item = usize>)) {
        let [_, _, d, h, w] = self.input;
        let [od, oh, ow] = self.out;
        for a in 0..od {
            let (z0, z1) = self.range(0, a);
            for b in 0..oh {
                let (y0, y1) = self.range(1, b);
                for c in 0..ow {
                    let (x0, x1) = self.range(2, c);
                    let mut it = (z0..z1).flat_map(move |z| {
                        (y0..y1).flat_map(move |y| (x0..x1).map(move |x| (z * h + y) * w + x))
                    });
                    f((a * oh + b) * ow + c, &mut it);
                }
            }
        }
        let _ = d;
    }

    fn plane_in(&self) -> usize {
        self.input[2] * self.input[3] * self.input[4]
    }

    fn plane_out(&self) -> usize {
        self.out.iter().product()
    }

    fn fwd<T: WithDType>(&self, x: &[T]) -> Vec<T> {
        let (pi, po) = (self.plane_in(), self.plane_out());
        let mut y = vec![T::zero(); self.input[0] * self.input[1] * po];
        y.par_chunks_mut(po).enumerate().for_each(|(p, yp)| {
            let xp = &x[p * pi..(p + 1) * pi];
            self.windows(|o, it| {
                yp[o] = match self.kind {
                    PoolKind::Max => {
                        let first = it.next().expect("window inside the input");
                        it.fold(xp[first], |m, i| if xp[i] > m { xp[i] } else { m })
                    }
                    PoolKind::Avg => {
                        let (mut s, mut n) = (T::zero(), 0usize);
                        for i in it {
                            s += xp[i];
                            n += 1;
                        }
                        s / T::from_f64(n as f64)
                    }
                };
            });
        });
        y
    }

    /// Gradient with respect to x of `Σ y·g`: g routed to each window's first maximum (max) or
    /// spread evenly over the window (avg).
    fn bwd<T: WithDType>(&self, x: &[T], g: &[T]) -> Vec<T> {
        let (pi, po) = (self.plane_in(), self.plane_out());
        let mut gx = vec![T::zero(); self.input[0] * self.input[1] * pi];
        gx.par_chunks_mut(pi).enumerate().for_each(|(p, gp)| {
            let xp = &x[p * pi..(p + 1) * pi];
            let gy = &g[p * po..(p + 1) * po];
            self.windows(|o, it| match self.kind {
                PoolKind::Max => {
                    let first = it.next().expect("window inside the input");
                    let arg = it.fold(first, |m, i| if xp[i] > xp[m] { i } else { m });
                    gp[arg] += gy[o];
                }
                PoolKind::Avg => {
                    let idx: Vec<usize> = it.collect();
                    let share = gy[o] / T::from_f64(idx.len() as f64);
                    for i in idx {
                        gp[i] += share;
                    }
                }
            });
        });
        gx
    }
}

impl CustomOp1 for PoolOp {
    fn name(&self) -> &'static str {
        "pool3d"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let shape = Shape::from((
            self.input[0],
            self.input[1],
            self.out[0],
            self.out[1],
            self.out[2],
        ));
        let y = match s.dtype() {
            DType::F32 => CpuStorage::F32(self.fwd(slice::<f32>(s, l)?)),
            DType::F64 => CpuStorage::F64(self.fwd(slice::<f64>(s, l)?)),
            d => candle_core::bail!("pooling supports f32 and f64, got {d:?}"),
        };
        Ok((y, shape))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, g: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let g = g.contiguous()?;
        Ok(Some(x.apply_op2_no_bwd(&g, &PoolBwd(*self))?))
    }
}

struct PoolBwd(PoolOp);

cpu_op2!(PoolBwd, "pool3d-bwd", |this, s1, l1, s2, l2| {
    let op = this.0;
    let gx = dispatch2!("pooling", s1, l1, s2, l2, |x, g| op.bwd(x, g));
    Ok((gx, Shape::from(this.0.input.to_vec())))
});

/// Pools `(N, C, D, H, W)` over its last three axes.
pub fn pool3d(x: &Tensor, cfg: &Pool3dConfig) -> Result<Tensor> {
    let (n, c, d, h, w) = x.dims5().map_err(|_| Error::Shape {
        what: "pool3d input".into(),
        expected: "(N, C, D, H, W)".into(),
        got: x.dims().to_vec(),
    })?;
    let (before, out) = cfg.geometry([d, h, w])?;
    let op = PoolOp {
        kind: cfg.kind,
        kernel: cfg.kernel,
        stride: cfg.stride,
        before,
        input: [n, c, d, h, w],
        out,
    };
    if x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64) {
        Ok(x.contiguous()?.apply_op1(op)?)
    } else {
        pool3d_composed(x, &op)
    }
}

/// Pools `(N, C, H, W)` over its last two axes (kernel and stride per axis (H, W)).
pub fn pool2d(
    x: &Tensor,
    kind: PoolKind,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: PoolPadding,
) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4().map_err(|_| Error::Shape {
        what: "pool2d input".into(),
        expected: "(N, C, H, W)".into(),
        got: x.dims().to_vec(),
    })?;
    let cfg = Pool3dConfig {
        kind,
        kernel: [1, kernel[0], kernel[1]],
        stride: [1, stride[0], stride[1]],
        padding,
    };
    let y = pool3d(&x.reshape((n, c, 1, h, w))?, &cfg)?;
    Ok(y.squeeze(2)?)
}

/// PyTorch's `nn.MaxPool2d(k, stride, padding)` (floor mode; padding never wins), correct
/// backward: ResNet's and DenseNet's stem pooling is `max_pool2d_padded(x, 3, 2, 1)`.
pub fn max_pool2d_padded(x: &Tensor, k: usize, stride: usize, padding: usize) -> Result<Tensor> {
    pool2d(
        x,
        PoolKind::Max,
        [k, k],
        [stride, stride],
        PoolPadding::Zeros([0, padding, padding]),
    )
}

/// `max_pool2d` with kernel = stride = `k`, floor mode (PyTorch `nn.MaxPool2d(k)`), correct backward.
pub fn max_pool2d(x: &Tensor, k: usize) -> Result<Tensor> {
    pool2d(x, PoolKind::Max, [k, k], [k, k], PoolPadding::Valid)
}

/// The same pooling from candle tensor ops (pad, strided slices, elementwise max/sum): any device.
fn pool3d_composed(x: &Tensor, op: &PoolOp) -> Result<Tensor> {
    let mut y = x.clone();
    for a in 0..3 {
        let dim = 2 + a;
        let len = op.input[dim];
        let need = (op.out[a] - 1) * op.stride[a] + op.kernel[a];
        let after = need.saturating_sub(len + op.before[a]);
        let padded = match op.kind {
            PoolKind::Max => {
                // Pad with the lowest value so padding never wins.
                let mut parts = Vec::new();
                let mut shape = y.dims().to_vec();
                if op.before[a] > 0 {
                    shape[dim] = op.before[a];
                    parts.push(
                        Tensor::full(f32::MIN, shape.clone(), y.device())?.to_dtype(y.dtype())?,
                    );
                }
                parts.push(y.clone());
                if after > 0 {
                    shape[dim] = after;
                    parts.push(Tensor::full(f32::MIN, shape, y.device())?.to_dtype(y.dtype())?);
                }
                Tensor::cat(&parts, dim)?
            }
            PoolKind::Avg => pad_axis(&y, dim, (op.before[a], after), false)?,
        };
        let mut acc = strided(&padded, dim, 0, op.out[a], op.stride[a])?;
        for k in 1..op.kernel[a] {
            let s = strided(&padded, dim, k, op.out[a], op.stride[a])?;
            acc = match op.kind {
                PoolKind::Max => acc.maximum(&s)?,
                PoolKind::Avg => (acc + s)?,
            };
        }
        y = acc;
    }
    if op.kind == PoolKind::Avg {
        // Divide by the number of in-input elements of each window.
        let mut counts = Vec::with_capacity(op.plane_out());
        op.windows(|_, it| counts.push(it.count() as f64));
        let counts = Tensor::from_vec(counts, (1, 1, op.out[0], op.out[1], op.out[2]), x.device())?;
        y = y.broadcast_div(&counts.to_dtype(y.dtype())?)?;
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_and_stride_rules() {
        let d = || Pool3dConfig::max(2, PoolPadding::Valid);
        for (c, field) in [
            (
                Pool3dConfig {
                    kernel: [2, 0, 2],
                    ..d()
                },
                "kernel",
            ),
            (
                Pool3dConfig {
                    stride: [0, 2, 2],
                    ..d()
                },
                "stride",
            ),
        ] {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
        assert!(d().validate().is_ok());
    }
    use candle_core::Device;

    #[test]
    fn composed_equals_kernel() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1.0, (2, 3, 5, 7, 6), &dev).unwrap();
        for padding in [
            PoolPadding::Valid,
            PoolPadding::Ceil,
            PoolPadding::Same,
            PoolPadding::Zeros([1, 1, 0]),
        ] {
            for kind in [PoolKind::Max, PoolKind::Avg] {
                let cfg = Pool3dConfig {
                    kind,
                    kernel: [2, 3, 2],
                    stride: [2, 2, 1],
                    padding,
                };
                let a = pool3d(&x, &cfg).unwrap();
                let (before, out) = cfg.geometry([5, 7, 6]).unwrap();
                let op = PoolOp {
                    kind,
                    kernel: cfg.kernel,
                    stride: cfg.stride,
                    before,
                    input: [2, 3, 5, 7, 6],
                    out,
                };
                let b = pool3d_composed(&x, &op).unwrap();
                let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap();
                assert!(
                    diff.to_scalar::<f32>().unwrap() < 1e-6,
                    "{kind:?} {padding:?}"
                );
            }
        }
    }

    #[test]
    fn same_padding_lengths() {
        let cfg = Pool3dConfig::max(2, PoolPadding::Same);
        let (before, out) = cfg.geometry([3, 10, 9]).unwrap();
        assert_eq!(out, [2, 5, 5]);
        assert_eq!(before, [0, 0, 0]);
        let cfg = Pool3dConfig {
            kind: PoolKind::Max,
            kernel: [3; 3],
            stride: [1; 3],
            padding: PoolPadding::Same,
        };
        assert_eq!(cfg.geometry([4, 4, 4]).unwrap(), ([1, 1, 1], [4, 4, 4]));
    }

    /// PyTorch's `MaxPool2d(3, 2, 1)` lengths (ResNet's stem: 32 → 16, 33 → 17), and the
    /// half-kernel rule.
    #[test]
    fn zero_padding_lengths_and_rule() {
        let cfg = Pool3dConfig {
            kind: PoolKind::Max,
            kernel: [1, 3, 3],
            stride: [1, 2, 2],
            padding: PoolPadding::Zeros([0, 1, 1]),
        };
        assert_eq!(cfg.geometry([1, 32, 33]).unwrap(), ([0, 1, 1], [1, 16, 17]));
        let too_wide = Pool3dConfig {
            padding: PoolPadding::Zeros([1, 1, 1]),
            ..cfg
        };
        let e = too_wide.validate().unwrap_err().to_string();
        assert!(e.contains("padding") && e.contains("half"), "{e}");
    }
}
