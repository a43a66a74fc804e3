//! Per-channel bias `y[n, c, …] = x[n, c, …] + b[c]` and per-plane scale
//! `y[n, c, …] = x[n, c, …] · s[n, c]` (squeeze-excitation) as CPU kernels whose backward passes
//! sum per channel or per plane in one parallel pass (candle's broadcast backward reduces over
//! the non-trailing axes one element at a time on one thread).

use crate::cpu::{cpu_op2, dispatch2, lane_sum, simd_fn, sum2, Rows};
use crate::error::{Error, Result};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Shape, Tensor, WithDType};
use std::mem::MaybeUninit;

/// `x (N, C, …) + b (C)` broadcast over every axis but the channels (a convolution's bias).
pub fn add_channel_bias(x: &Tensor, b: &Tensor) -> Result<Tensor> {
    if x.rank() < 2 || b.dims() != [x.dim(1)?] {
        return Err(Error::Shape {
            what: format!("channel bias of shape {:?}", b.dims()),
            expected: "an input (N, C, …) and a bias (C)".into(),
            got: x.dims().to_vec(),
        });
    }
    let rows = Rows::of(x.dims());
    if x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64) && b.dtype() == x.dtype()
    {
        Ok(x.contiguous()?.apply_op2(&b.contiguous()?, BiasAdd(rows))?)
    } else {
        let mut shape = vec![1; x.rank()];
        shape[1] = rows.c;
        Ok(x.broadcast_add(&b.reshape(shape)?)?)
    }
}

struct BiasAdd(Rows);
/// Σ over batch and positions of each channel: `(N, C, …) → (C)`.
struct ChannelSum(Rows);

simd_fn! {
    /// `y = x + v` for one row; returns the values written.
    fn add_row<T: WithDType>(x: &[T], v: T, y: &mut [MaybeUninit<T>]) -> usize {
        for (y, &a) in y.iter_mut().zip(x) {
            y.write(a + v);
        }
        x.len().min(y.len())
    }
}

simd_fn! {
    /// `Σ x` of one row (sixteen partial sums in T, added in f64).
    fn sum_row<T: WithDType>(x: &[T]) -> f64 {
        lane_sum(x, |v| v)
    }
}

fn add<T: WithDType>(g: Rows, x: &[T], b: &[T]) -> Vec<T> {
    g.map_rows(|r, out| add_row(g.row(x, r), b[r % g.c], out))
}

impl CustomOp2 for BiasAdd {
    fn name(&self) -> &'static str {
        "channel-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.0;
        let y = dispatch2!("channel bias", s1, l1, s2, l2, |x, b| add(g, x, b));
        Ok((y, l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _b: &Tensor,
        _y: &Tensor,
        g: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let db = g.contiguous()?.apply_op1_no_bwd(&ChannelSum(self.0))?;
        Ok((Some(g.clone()), Some(db)))
    }
}

fn channel_sum<T: WithDType>(g: Rows, x: &[T]) -> Vec<T> {
    g.channel_sums(|r| (sum_row(g.row(x, r)), 0.0))
        .into_iter()
        .map(|(s, _)| T::from_f64(s))
        .collect()
}

impl CustomOp1 for ChannelSum {
    fn name(&self) -> &'static str {
        "channel-sum"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.0;
        let y = crate::cpu::dispatch1!("channel sum", s, l, |x| channel_sum(g, x));
        Ok((y, Shape::from(g.c)))
    }
}

/// `x (N, C, …) · s (N, C)`: every (sample, channel) plane scaled by its own factor (the
/// squeeze-excitation output), one pass each way on CPU.
pub fn scale_planes(x: &Tensor, s: &Tensor) -> Result<Tensor> {
    if x.rank() < 2 || s.dims() != [x.dim(0)?, x.dim(1)?] {
        return Err(Error::Shape {
            what: format!("plane scale of shape {:?}", s.dims()),
            expected: "an input (N, C, …) and factors (N, C)".into(),
            got: x.dims().to_vec(),
        });
    }
    let rows = Rows::of(x.dims());
    if x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64) && s.dtype() == x.dtype()
    {
        Ok(x.contiguous()?
            .apply_op2(&s.contiguous()?, PlaneScale(rows))?)
    } else {
        let mut shape = vec![1; x.rank()];
        shape[0] = rows.n;
        shape[1] = rows.c;
        Ok(x.broadcast_mul(&s.reshape(shape)?)?)
    }
}

struct PlaneScale(Rows);
/// Backward of [`PlaneScale`] for the input: `g · s` plane by plane.
struct PlaneScaleInput(Rows);
/// Backward of [`PlaneScale`] for the factors: `Σ g·x` per plane, `(N, C)`.
struct PlaneDot(Rows);

simd_fn! {
    /// `y = x · v` for one row; returns the values written.
    fn mul_row<T: WithDType>(x: &[T], v: T, y: &mut [MaybeUninit<T>]) -> usize {
        for (y, &a) in y.iter_mut().zip(x) {
            y.write(a * v);
        }
        x.len().min(y.len())
    }
}

simd_fn! {
    /// `Σ a·b` of one row in f64.
    fn dot_row<T: WithDType>(a: &[T], b: &[T]) -> f64 {
        sum2(a, b, |u, v| (u * v, T::zero())).0
    }
}

fn scale<T: WithDType>(g: Rows, x: &[T], s: &[T]) -> Vec<T> {
    g.map_rows(|r, out| mul_row(g.row(x, r), s[r], out))
}

fn plane_dots<T: WithDType>(g: Rows, a: &[T], b: &[T]) -> Vec<T> {
    use rayon::prelude::*;
    (0..g.n * g.c)
        .into_par_iter()
        .map(|r| T::from_f64(dot_row(g.row(a, r), g.row(b, r))))
        .collect()
}

impl CustomOp2 for PlaneScale {
    fn name(&self) -> &'static str {
        "plane-scale"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.0;
        let y = dispatch2!("plane scale", s1, l1, s2, l2, |x, s| scale(g, x, s));
        Ok((y, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        s: &Tensor,
        _y: &Tensor,
        g: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = g.contiguous()?;
        let dx = g.apply_op2_no_bwd(s, &PlaneScaleInput(self.0))?;
        let ds = g.apply_op2_no_bwd(x, &PlaneDot(self.0))?;
        Ok((Some(dx), Some(ds)))
    }
}

cpu_op2!(
    PlaneScaleInput,
    "plane-scale-bwd-input",
    |this, s1, l1, s2, l2| {
        let g = this.0;
        let dx = dispatch2!("plane scale backward", s1, l1, s2, l2, |gy, s| scale(
            g, gy, s
        ));
        Ok((dx, l1.shape().clone()))
    }
);

cpu_op2!(PlaneDot, "plane-dot", |this, s1, l1, s2, l2| {
    let g = this.0;
    let ds = dispatch2!("plane scale backward", s1, l1, s2, l2, |gy, x| plane_dots(
        g, gy, x
    ));
    Ok((ds, Shape::from((g.n, g.c))))
});
