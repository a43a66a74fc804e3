//! Per-channel bias `y[n, c, …] = x[n, c, …] + b[c]` as a CPU kernel whose backward sums the
//! gradient per channel in one parallel pass (candle's broadcast backward reduces over the
//! non-trailing axes one element at a time on one thread).

use crate::layers::cpu::{dispatch2, simd_fn, sum2, Rows};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Shape, Tensor, WithDType};
use std::mem::MaybeUninit;

/// `x (N, C, …) + b (C)` broadcast over every axis but the channels.
pub(crate) fn add_channel_bias(x: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    let rows = Rows::of(x.dims());
    if x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64) && b.dtype() == x.dtype()
    {
        x.contiguous()?.apply_op2(&b.contiguous()?, BiasAdd(rows))
    } else {
        let mut shape = vec![1; x.rank()];
        shape[1] = rows.c;
        x.broadcast_add(&b.reshape(shape)?)
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
    /// `Σ x` of one row in f64.
    fn sum_row<T: WithDType>(x: &[T]) -> f64 {
        sum2(x, x, |v, _| (v.to_f64(), 0.0)).0
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
        let y = crate::layers::cpu::dispatch1!("channel sum", s, l, |x| channel_sum(g, x));
        Ok((y, Shape::from(g.c)))
    }
}
