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
        use $crate::cpu::slice;
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

/// Runs `$body` on the f32 or f64 slice of one storage and wraps the resulting `Vec` back into a
/// `CpuStorage`; other dtypes are an error naming `$what`.
macro_rules! dispatch1 {
    ($what:expr, $s:expr, $l:expr, |$a:ident| $body:expr) => {{
        use candle_core::backend::BackendStorage;
        use $crate::cpu::slice;
        match $s.dtype() {
            candle_core::DType::F32 => {
                let $a = slice::<f32>($s, $l)?;
                candle_core::CpuStorage::F32($body)
            }
            candle_core::DType::F64 => {
                let $a = slice::<f64>($s, $l)?;
                candle_core::CpuStorage::F64($body)
            }
            d => candle_core::bail!("{} supports f32 and f64, got {d:?}", $what),
        }
    }};
}
pub(crate) use dispatch1;

/// Elements per parallel task of the element-wise kernels (64 KiB of f32).
pub(crate) const GRAIN: usize = 16 * 1024;

/// `(N, C, P)` view of a contiguous tensor of rank ≥ 2: `n·c` rows of `p` values, row `r` in
/// channel `r % c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rows {
    pub n: usize,
    pub c: usize,
    pub p: usize,
}

impl Rows {
    /// The view of a tensor of these dimensions (rank ≥ 2).
    pub fn of(dims: &[usize]) -> Self {
        Self {
            n: dims[0],
            c: dims[1],
            p: dims[2..].iter().product(),
        }
    }

    /// Values per channel (`n·p`).
    pub fn count(&self) -> f64 {
        (self.n * self.p) as f64
    }

    /// Rows per parallel task (at least one, about [`GRAIN`] values).
    fn per_task(&self) -> usize {
        (GRAIN / self.p.max(1)).max(1)
    }

    /// Two sums `f(row)` over each row, added over the batch per channel in sample order (the
    /// same result on every run).
    pub fn channel_sums(&self, f: impl Fn(usize) -> (f64, f64) + Sync) -> Vec<(f64, f64)> {
        use rayon::prelude::*;
        let per = self.per_task();
        let mut partial = vec![(0.0, 0.0); self.n * self.c];
        partial
            .par_chunks_mut(per)
            .enumerate()
            .for_each(|(t, out)| {
                for (k, o) in out.iter_mut().enumerate() {
                    *o = f(t * per + k);
                }
            });
        let mut sums = vec![(0.0, 0.0); self.c];
        for (r, (a, b)) in partial.into_iter().enumerate() {
            let s = &mut sums[r % self.c];
            s.0 += a;
            s.1 += b;
        }
        sums
    }

    /// A fresh vector of `n·c·p` values, rows written in parallel by `f(r, out)`, which returns
    /// how many values of `out` (length `p`) it wrote; panics unless that is all of them.
    pub fn map_rows<T: WithDType>(
        &self,
        f: impl Fn(usize, &mut [std::mem::MaybeUninit<T>]) -> usize + Sync,
    ) -> Vec<T> {
        use rayon::prelude::*;
        let len = self.n * self.c * self.p;
        let per = self.per_task();
        let mut y = Vec::with_capacity(len);
        if self.p > 0 {
            y.spare_capacity_mut()[..len]
                .par_chunks_mut(per * self.p)
                .enumerate()
                .for_each(|(t, rows)| {
                    for (k, out) in rows.chunks_mut(self.p).enumerate() {
                        assert_eq!(
                            f(t * per + k, out),
                            self.p,
                            "row kernel left values unwritten"
                        );
                    }
                });
        }
        // SAFETY: every row wrote its `p` values (checked above).
        unsafe { y.set_len(len) };
        y
    }

    /// Values of row `r` of `x`.
    #[inline]
    pub fn row<'a, T>(&self, x: &'a [T], r: usize) -> &'a [T] {
        &x[r * self.p..(r + 1) * self.p]
    }
}

/// The widest kernel build allowed: 0 baseline, 1 AVX2 + FMA, 2 AVX-512. `RAREML_SIMD=baseline`
/// or `avx2` caps what the CPU offers, to test or time the narrower builds on a wider CPU;
/// anything else is a warning and no cap. The gemm crate dispatches on its own: its AVX-512
/// kernels are capped only by building without the `gemm-avx512` feature ([`gemm_simd_level`]).
#[cfg(target_arch = "x86_64")]
fn simd_cap() -> u8 {
    use std::sync::OnceLock;
    static CAP: OnceLock<u8> = OnceLock::new();
    *CAP.get_or_init(|| {
        env_choice(
            "RAREML_SIMD",
            &[("baseline", 0), ("avx2", 1), ("avx512", 2)],
            2,
        )
    })
}

/// The value of the environment variable `name` among `choices`; unset or empty gives
/// `default`, anything else a warning naming the choices and `default`.
pub(crate) fn env_choice<T: Copy>(name: &str, choices: &[(&str, T)], default: T) -> T {
    let value = match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => return default,
    };
    if let Some(&(_, t)) = choices.iter().find(|(k, _)| *k == value) {
        return t;
    }
    let names: Vec<&str> = choices.iter().map(|(k, _)| *k).collect();
    eprintln!(
        "rareml: {name}={value:?} is not {}; ignored",
        names.join(" or ")
    );
    default
}

/// True when the CPU has AVX2 and FMA and `RAREML_SIMD` allows them (checked once).
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx2_fma() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        simd_cap() >= 1 && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    })
}

/// True when the CPU has AVX-512F and AVX-512VL besides AVX2 and FMA and `RAREML_SIMD` allows
/// them (checked once).
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx512() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        simd_cap() >= 2
            && has_avx2_fma()
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vl")
    })
}

/// The instruction set the kernels run with on this CPU under `RAREML_SIMD`: `"avx512"`,
/// `"avx2"` (AVX2 + FMA) or `"baseline"`.
pub fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512() {
            return "avx512";
        }
        if has_avx2_fma() {
            return "avx2";
        }
    }
    "baseline"
}

/// The instruction set the gemm crate's kernels run with (the im2col convolutions and candle's
/// matmul): `"avx512"` when built with the `gemm-avx512` feature on a CPU with AVX-512F, else
/// `"avx2"` with FMA, else `"baseline"`. `RAREML_SIMD` does not reach gemm: an honest AVX2
/// measurement on an AVX-512 CPU needs `--no-default-features` and `RAREML_SIMD=avx2`.
pub fn gemm_simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if cfg!(feature = "gemm-avx512") && is_x86_feature_detected!("avx512f") {
            return "avx512";
        }
        if is_x86_feature_detected!("fma") {
            return "avx2";
        }
    }
    "baseline"
}

/// A warning when `RAREML_SIMD` caps rareml's kernels below what gemm runs with (the figures
/// then mix two instruction sets), else `None`; the examples that time networks print it.
pub fn simd_mismatch() -> Option<String> {
    let rank = |l: &str| match l {
        "avx512" => 2,
        "avx2" => 1,
        _ => 0,
    };
    let (own, gemm) = (simd_level(), gemm_simd_level());
    (rank(gemm) > rank(own)).then(|| {
        format!(
            "rareml's kernels run {own} but the gemm crate runs {gemm}: for figures of an \
             {own}-only CPU build with --no-default-features (docs/performance.md)"
        )
    })
}

macro_rules! simd_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident<$($g:ident: $b:path),*>($($a:ident: $t:ty),* $(,)?) $(-> $r:ty)? $body:block) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name<$($g: $b),*>($($a: $t),*) $(-> $r)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn imp<$($g: $b),*>($($a: $t),*) $(-> $r)? $body
            #[cfg(target_arch = "x86_64")]
            {
                /// # Safety
                ///
                /// The CPU must have AVX2 and FMA.
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2<$($g: $b),*>($($a: $t),*) $(-> $r)? {
                    imp($($a),*)
                }
                /// # Safety
                ///
                /// The CPU must have AVX-512F, AVX-512VL, AVX2 and FMA.
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx512<$($g: $b),*>($($a: $t),*) $(-> $r)? {
                    imp($($a),*)
                }
                if $crate::cpu::has_avx512() {
                    // SAFETY: the CPU has the enabled features (checked).
                    return unsafe { avx512($($a),*) };
                }
                if $crate::cpu::has_avx2_fma() {
                    // SAFETY: the CPU has the enabled features (checked).
                    return unsafe { avx2($($a),*) };
                }
            }
            imp($($a),*)
        }
    };
}
pub(crate) use simd_fn;

/// `(Σ f(a_i, b_i).0, Σ f(a_i, b_i).1)` over two slices of the same length: sixteen partial sums
/// in `T` (one vector of f32; a row of a kernel is at most a few thousand values, as PyTorch's f32
/// reductions), added in f64 at the end — so the loop vectorises; f64 per element did not.
#[inline(always)]
pub(crate) fn sum2<T: WithDType>(a: &[T], b: &[T], f: impl Fn(T, T) -> (T, T)) -> (f64, f64) {
    const L: usize = 16;
    let (mut s, mut q) = ([T::zero(); L], [T::zero(); L]);
    let (ca, cb) = (a.chunks_exact(L), b.chunks_exact(L));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..L {
            let (u, v) = f(x[k], y[k]);
            s[k] += u;
            q[k] += v;
        }
    }
    let (mut s1, mut s2) = (0.0, 0.0);
    for k in 0..L {
        s1 += s[k].to_f64();
        s2 += q[k].to_f64();
    }
    for (&x, &y) in ra.iter().zip(rb) {
        let (u, v) = f(x, y);
        s1 += u.to_f64();
        s2 += v.to_f64();
    }
    (s1, s2)
}

/// `Σ f(x_i)`: sixteen partial sums in `T`, added in f64.
#[inline(always)]
pub(crate) fn lane_sum<T: WithDType>(x: &[T], f: impl Fn(T) -> T) -> f64 {
    const L: usize = 16;
    let mut s = [T::zero(); L];
    let chunks = x.chunks_exact(L);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..L {
            s[l] += f(c[l]);
        }
    }
    let tail: f64 = rest.iter().map(|&v| f(v).to_f64()).sum();
    s.iter().fold(tail, |a, v| a + v.to_f64())
}

/// Implements [`CustomOp2`](candle_core::CustomOp2) with a name and a CPU forward only (the
/// backward ops of the kernels, which need no gradient of their own): `$body` computes the
/// output `(CpuStorage, Shape)` from the two storages and layouts, with `$this` bound to `self`.
macro_rules! cpu_op2 {
    ($op:ty, $name:literal, |$this:ident, $s1:ident, $l1:ident, $s2:ident, $l2:ident| $body:block) => {
        impl candle_core::CustomOp2 for $op {
            fn name(&self) -> &'static str {
                $name
            }

            fn cpu_fwd(
                &self,
                $s1: &candle_core::CpuStorage,
                $l1: &candle_core::Layout,
                $s2: &candle_core::CpuStorage,
                $l2: &candle_core::Layout,
            ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
                let $this = self;
                $body
            }
        }
    };
}
pub(crate) use cpu_op2;

/// A value one op leaves for the code that applied it (or for its backward pass).
pub(crate) type Slot<T> = std::sync::Arc<std::sync::Mutex<Option<T>>>;

/// The value an op left in `slot` (moved out), or an error naming `what` when it left none.
pub(crate) fn take<T>(slot: &Slot<T>, what: &str) -> candle_core::Result<T> {
    slot.lock()
        .ok()
        .and_then(|mut g| g.take())
        .ok_or_else(|| candle_core::Error::Msg(format!("{what} were not computed")))
}

/// A copy of the value an op left in `slot`, or an error naming `what` when it left none.
pub(crate) fn peek<T: Clone>(slot: &Slot<T>, what: &str) -> candle_core::Result<T> {
    slot.lock()
        .ok()
        .and_then(|g| g.clone())
        .ok_or_else(|| candle_core::Error::Msg(format!("{what} were not computed")))
}

#[cfg(test)]
mod tests {
    use super::env_choice;

    /// Unset and empty give the default, a listed value its choice, anything else the default.
    #[test]
    fn env_choice_reads_listed_values_only() {
        const NAME: &str = "RAREML_TEST_ENV_CHOICE";
        let read = || env_choice(NAME, &[("on", 1), ("off", 0)], 7);
        std::env::remove_var(NAME);
        assert_eq!(read(), 7);
        for (value, want) in [("", 7), ("off", 0), ("on", 1), ("sideways", 7)] {
            std::env::set_var(NAME, value);
            assert_eq!(read(), want, "{value:?}");
        }
        std::env::remove_var(NAME);
    }
}
