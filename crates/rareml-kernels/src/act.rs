//! Activations as fused CPU kernels: SiLU in one pass forward and one pass backward (candle's
//! backward takes nine full-size tensor operations), and the element functions that
//! [`batch_norm`](crate::batch_norm) applies in the same pass as the normalisation.

use crate::cpu::{cpu_op2, dispatch1, dispatch2, simd_fn, GRAIN};
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Shape, Tensor, WithDType};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Activation applied after a normalisation (or on its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Act {
    /// No activation.
    #[default]
    Identity,
    /// `max(z, 0)`; gradient 1 for `z > 0`, else 0 (PyTorch's convention at 0).
    Relu,
    /// `z · sigmoid(z)` (SiLU, Keras' swish).
    Silu,
}

/// Float types the fused kernels run on, with the exponential they use.
pub(crate) trait Real: WithDType {
    /// `e^self`: a Cephes polynomial for f32 (relative error < 3e-7), `f64::exp` for f64.
    fn exp_(self) -> Self;
}

impl Real for f32 {
    #[inline(always)]
    fn exp_(self) -> f32 {
        exp_f32(self)
    }
}

impl Real for f64 {
    #[inline(always)]
    fn exp_(self) -> f64 {
        self.exp()
    }
}

/// `e^x` in f32 without a libm call, so the loops calling it vectorise: `x = n·ln2 + r` with
/// `|r| ≤ ln2/2` and Cephes' `expf` polynomial for `e^r` (Moshier, Cephes Math Library);
/// inputs are clamped to [−87, 88], where the result stays a normal float.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in a part exact in f32 and the remainder (Cephes C1, C2).
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 · 2²³: adding it rounds to an integer held in the low mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + MAGIC;
    let n = t - MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    let ni = t.to_bits() as i32 - MAGIC.to_bits() as i32;
    e * f32::from_bits(((ni + 127) << 23) as u32)
}

/// An activation as a type, so the kernels are compiled (and vectorised) once per activation
/// with no branch on it inside their loops.
pub(crate) trait ActFn: Copy + Send + Sync {
    /// The activation of `z`.
    fn f<T: Real>(self, z: T) -> T;
    /// `g · f'(z)`: the gradient with respect to `z` given the gradient `g` of the output.
    fn df<T: Real>(self, z: T, g: T) -> T;
}

/// [`Act::Identity`] as a type.
#[derive(Clone, Copy)]
pub(crate) struct IdentityFn;
/// [`Act::Relu`] as a type.
#[derive(Clone, Copy)]
pub(crate) struct ReluFn;
/// [`Act::Silu`] as a type.
#[derive(Clone, Copy)]
pub(crate) struct SiluFn;

impl ActFn for IdentityFn {
    #[inline(always)]
    fn f<T: Real>(self, z: T) -> T {
        z
    }
    #[inline(always)]
    fn df<T: Real>(self, _z: T, g: T) -> T {
        g
    }
}

impl ActFn for ReluFn {
    #[inline(always)]
    fn f<T: Real>(self, z: T) -> T {
        if z > T::zero() {
            z
        } else {
            T::zero()
        }
    }
    #[inline(always)]
    fn df<T: Real>(self, z: T, g: T) -> T {
        if z > T::zero() {
            g
        } else {
            T::zero()
        }
    }
}

impl ActFn for SiluFn {
    #[inline(always)]
    fn f<T: Real>(self, z: T) -> T {
        z / (T::one() + (T::zero() - z).exp_())
    }
    #[inline(always)]
    fn df<T: Real>(self, z: T, g: T) -> T {
        let s = T::one() / (T::one() + (T::zero() - z).exp_());
        g * s * (T::one() + z * (T::one() - s))
    }
}

/// Evaluates `$body` with `$a` bound to the [`ActFn`] value of the [`Act`] `$act`.
macro_rules! with_act {
    ($act:expr, $a:ident => $body:expr) => {
        match $act {
            $crate::act::Act::Identity => {
                let $a = $crate::act::IdentityFn;
                $body
            }
            $crate::act::Act::Relu => {
                let $a = $crate::act::ReluFn;
                $body
            }
            $crate::act::Act::Silu => {
                let $a = $crate::act::SiluFn;
                $body
            }
        }
    };
}
pub(crate) use with_act;

impl Act {
    /// The activation of `z`.
    #[cfg(test)]
    fn f<T: Real>(self, z: T) -> T {
        with_act!(self, a => a.f(z))
    }

    /// `g · f'(z)`.
    #[cfg(test)]
    fn df<T: Real>(self, z: T, g: T) -> T {
        with_act!(self, a => a.df(z, g))
    }

    /// Applies the activation with candle's operations (any device; the fused kernel's reference).
    pub fn apply_candle(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Act::Identity => Ok(x.clone()),
            Act::Relu => x.relu(),
            Act::Silu => x.silu(),
        }
    }

    /// Applies the activation: one fused pass (and one for the backward) on CPU in f32/f64,
    /// candle's operations elsewhere.
    ///
    /// # Examples
    ///
    /// ```
    /// use candle_core::{Device, Tensor};
    /// use rareml_kernels::Act;
    /// let x = Tensor::new(&[-1f32, 0.0, 2.0], &Device::Cpu)?;
    /// assert_eq!(Act::Relu.apply(&x)?.to_vec1::<f32>()?, [0.0, 0.0, 2.0]);
    /// # Ok::<(), rareml_kernels::Error>(())
    /// ```
    pub fn apply(self, x: &Tensor) -> crate::Result<Tensor> {
        if self == Act::Identity {
            return Ok(x.clone());
        }
        if x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64) {
            Ok(x.contiguous()?.apply_op1(ActOp(self))?)
        } else {
            Ok(self.apply_candle(x)?)
        }
    }
}

/// The activation as a custom op (forward on the input, backward from the saved input).
struct ActOp(Act);
/// Its backward: `(z, g) ↦ g · f'(z)`.
struct ActBwd(Act);

impl CustomOp1 for ActOp {
    fn name(&self) -> &'static str {
        "activation"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let a = self.0;
        let y = with_act!(a, f => dispatch1!("activation", s, l, |x| fwd(f, x)));
        Ok((y, l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, g: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(x.apply_op2_no_bwd(&g.contiguous()?, &ActBwd(self.0))?))
    }
}

simd_fn! {
    /// `y = f(z)` over one chunk.
    fn fwd_chunk<T: Real, A: ActFn>(act: A, z: &[T], y: &mut [MaybeUninit<T>]) {
        assert_eq!(z.len(), y.len());
        for (y, &z) in y.iter_mut().zip(z) {
            y.write(act.f(z));
        }
    }
}

simd_fn! {
    /// `dz = g · f'(z)` over one chunk.
    fn bwd_chunk<T: Real, A: ActFn>(act: A, z: &[T], g: &[T], dz: &mut [MaybeUninit<T>]) {
        assert!(z.len() == dz.len() && g.len() == dz.len());
        for ((d, &z), &g) in dz.iter_mut().zip(z).zip(g) {
            d.write(act.df(z, g));
        }
    }
}

/// A fresh vector of `len` values written chunk by chunk in parallel by `f(chunk index, out)`,
/// which writes all of `out`.
fn par_fill<T: WithDType>(len: usize, f: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync) -> Vec<T> {
    let mut y = Vec::with_capacity(len);
    y.spare_capacity_mut()[..len]
        .par_chunks_mut(GRAIN)
        .enumerate()
        .for_each(|(i, out)| f(i, out));
    // SAFETY: the chunk kernels assert that their output has the length of their inputs and
    // write every element.
    unsafe { y.set_len(len) };
    y
}

fn fwd<T: Real>(a: impl ActFn, x: &[T]) -> Vec<T> {
    par_fill(x.len(), |i, out| {
        fwd_chunk(a, &x[i * GRAIN..][..out.len()], out)
    })
}

fn bwd<T: Real>(a: impl ActFn, z: &[T], g: &[T]) -> Vec<T> {
    assert_eq!(
        z.len(),
        g.len(),
        "activation backward on tensors of different sizes"
    );
    par_fill(z.len(), |i, out| {
        let r = i * GRAIN..i * GRAIN + out.len();
        bwd_chunk(a, &z[r.clone()], &g[r], out)
    })
}

cpu_op2!(ActBwd, "activation-bwd", |this, s1, l1, s2, l2| {
    let a = this.0;
    let dz =
        with_act!(a, f => dispatch2!("activation backward", s1, l1, s2, l2, |z, g| bwd(f, z, g)));
    Ok((dz, l1.shape().clone()))
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_f32_is_accurate_over_its_range() {
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x <= 88.0 {
            let want = (x as f64).exp();
            let rel = ((exp_f32(x) as f64 - want) / want).abs();
            worst = worst.max(rel);
            x += 0.001_37;
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(-1e4) > 0.0 && exp_f32(1e4).is_finite());
    }

    #[test]
    fn derivatives_match_finite_differences() {
        for act in [Act::Relu, Act::Silu] {
            for z in [-6.0f64, -1.3, -0.2, 0.4, 2.5, 9.0] {
                let h = 1e-6;
                let fd = (act.f(z + h) - act.f(z - h)) / (2.0 * h);
                assert!((act.df(z, 1.0) - fd).abs() < 1e-8, "{act:?} at {z}");
            }
        }
    }
}
