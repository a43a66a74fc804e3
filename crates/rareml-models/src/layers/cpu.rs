//! Helpers shared by the CPU custom ops (convolution, depthwise convolution, pooling).

use candle_core::{CpuStorage, Layout, WithDType};

/// The contiguous slice of a storage described by `l`, or an error for a strided layout.
pub(crate) fn slice<'a, T: WithDType>(
    s: &'a CpuStorage,
    l: &Layout,
) -> candle_core::Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&s.as_slice::<T>()?[a..b]),
        None => candle_core::bail!("rareml CPU kernels need contiguous inputs"),
    }
}

/// Runs `$body` on the f32 or f64 slices of two storages of the same dtype and wraps the
/// resulting `Vec` back into a `CpuStorage`; other dtypes are an error naming `$what`.
macro_rules! dispatch2 {
    ($what:expr, $s1:expr, $l1:expr, $s2:expr, $l2:expr, |$a:ident, $b:ident| $body:expr) => {{
        use candle_core::backend::BackendStorage;
        use $crate::layers::cpu::slice;
        match ($s1.dtype(), $s2.dtype()) {
            (candle_core::DType::F32, candle_core::DType::F32) => {
                let ($a, $b) = (slice::<f32>($s1, $l1)?, slice::<f32>($s2, $l2)?);
                candle_core::CpuStorage::F32($body)
            }
            (candle_core::DType::F64, candle_core::DType::F64) => {
                let ($a, $b) = (slice::<f64>($s1, $l1)?, slice::<f64>($s2, $l2)?);
                candle_core::CpuStorage::F64($body)
            }
            (a, b) => candle_core::bail!(
                "{} supports f32 and f64 (the same for both operands), got {a:?} and {b:?}",
                $what
            ),
        }
    }};
}
pub(crate) use dispatch2;
