//! The channel-interleaved ("lane") layout of the depthwise kernels: [`L`] channel planes held
//! position by position, one channel per SIMD lane, and the transposes into and out of it.

use candle_core::WithDType;
use std::mem::MaybeUninit;

/// Channels held side by side, one per SIMD lane (16 f32 fill an AVX-512 register).
pub(crate) const L: usize = 16;

/// Element types with lane transposes; f32 uses AVX-512 16×16 register transposes where the CPU
/// has them, every other case the scalar loops.
pub(crate) trait Lanes: WithDType {
    /// `dst[k·L + l] = src[l·stride + k]` for `k < n`, `l < cl`; lanes `cl..L` of the `n`
    /// positions are set to zero.
    fn to_lanes(src: &[Self], stride: usize, cl: usize, n: usize, dst: &mut [MaybeUninit<Self>]) {
        check(src.len(), stride, cl, n, dst.len(), "to_lanes");
        to_lanes_scalar(src, stride, cl, n, dst)
    }

    /// `dst[l·stride + k] = src[k·L + l]` for `k < n`, `l < cl`.
    fn from_lanes(src: &[Self], cl: usize, n: usize, dst: &mut [MaybeUninit<Self>], stride: usize) {
        check(dst.len(), stride, cl, n, src.len(), "from_lanes");
        from_lanes_scalar(src, cl, n, dst, stride)
    }
}

impl Lanes for f64 {}

impl Lanes for f32 {
    fn to_lanes(src: &[f32], stride: usize, cl: usize, n: usize, dst: &mut [MaybeUninit<f32>]) {
        check(src.len(), stride, cl, n, dst.len(), "to_lanes");
        #[cfg(target_arch = "x86_64")]
        if crate::layers::cpu::has_avx512() {
            // SAFETY: the CPU has AVX-512F; `check` bounded every access.
            return unsafe {
                avx512::to_lanes(src.as_ptr(), stride, cl, n, dst.as_mut_ptr().cast())
            };
        }
        to_lanes_scalar(src, stride, cl, n, dst)
    }

    fn from_lanes(src: &[f32], cl: usize, n: usize, dst: &mut [MaybeUninit<f32>], stride: usize) {
        check(dst.len(), stride, cl, n, src.len(), "from_lanes");
        #[cfg(target_arch = "x86_64")]
        if crate::layers::cpu::has_avx512() {
            // SAFETY: the CPU has AVX-512F; `check` bounded every access.
            return unsafe {
                avx512::from_lanes(src.as_ptr(), cl, n, dst.as_mut_ptr().cast(), stride)
            };
        }
        from_lanes_scalar(src, cl, n, dst, stride)
    }
}

/// Panics (a bug in the caller, not bad input) unless `cl` planes of `n` values `stride` apart
/// fit in `planes` values and `n` lane vectors in `lanes` values.
#[inline]
fn check(planes: usize, stride: usize, cl: usize, n: usize, lanes: usize, what: &str) {
    assert!(
        cl <= L && n * L <= lanes && (n == 0 || cl == 0 || (cl - 1) * stride + n <= planes),
        "{what}: {cl} planes of {n} values {stride} apart in {planes} values, {lanes} lane values"
    );
}

#[inline(always)]
fn to_lanes_scalar<T: WithDType>(
    src: &[T],
    stride: usize,
    cl: usize,
    n: usize,
    dst: &mut [MaybeUninit<T>],
) {
    for (k, v) in dst[..n * L].chunks_exact_mut(L).enumerate() {
        for (l, x) in v.iter_mut().enumerate() {
            x.write(if l < cl {
                src[l * stride + k]
            } else {
                T::zero()
            });
        }
    }
}

#[inline(always)]
fn from_lanes_scalar<T: WithDType>(
    src: &[T],
    cl: usize,
    n: usize,
    dst: &mut [MaybeUninit<T>],
    stride: usize,
) {
    for l in 0..cl {
        for (k, d) in dst[l * stride..l * stride + n].iter_mut().enumerate() {
            d.write(src[k * L + l]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::L;
    use std::arch::x86_64::*;

    /// Transposes the 16×16 matrix whose rows are `r` in place (64 shuffles).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn transpose(r: &mut [__m512; 16]) {
        // Within each 128-bit lane, 4×4 transposes of rows 4g..4g+3: u[4g + c] holds, in its
        // 128-bit lane j, column 4j + c of those four rows.
        let mut u = [_mm512_setzero_ps(); 16];
        for g in 0..4 {
            let [a, b, c, d] = [r[4 * g], r[4 * g + 1], r[4 * g + 2], r[4 * g + 3]];
            let t0 = _mm512_castps_pd(_mm512_unpacklo_ps(a, b));
            let t1 = _mm512_castps_pd(_mm512_unpackhi_ps(a, b));
            let t2 = _mm512_castps_pd(_mm512_unpacklo_ps(c, d));
            let t3 = _mm512_castps_pd(_mm512_unpackhi_ps(c, d));
            u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
            u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
            u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
            u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
        }
        // Then the 4×4 transpose of 128-bit blocks: row 4j + c = lane j of u[c], u[4+c],
        // u[8+c], u[12+c].
        for c in 0..4 {
            let p = _mm512_shuffle_f32x4::<0x88>(u[c], u[4 + c]);
            let q = _mm512_shuffle_f32x4::<0xdd>(u[c], u[4 + c]);
            let p2 = _mm512_shuffle_f32x4::<0x88>(u[8 + c], u[12 + c]);
            let q2 = _mm512_shuffle_f32x4::<0xdd>(u[8 + c], u[12 + c]);
            r[c] = _mm512_shuffle_f32x4::<0x88>(p, p2);
            r[8 + c] = _mm512_shuffle_f32x4::<0xdd>(p, p2);
            r[4 + c] = _mm512_shuffle_f32x4::<0x88>(q, q2);
            r[12 + c] = _mm512_shuffle_f32x4::<0xdd>(q, q2);
        }
    }

    #[inline(always)]
    fn mask(m: usize) -> __mmask16 {
        ((1u32 << m) - 1) as __mmask16
    }

    /// See [`super::Lanes::to_lanes`]; the caller has checked the bounds.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn to_lanes(
        src: *const f32,
        stride: usize,
        cl: usize,
        n: usize,
        dst: *mut f32,
    ) {
        let mut r = [_mm512_setzero_ps(); 16];
        for k0 in (0..n).step_by(L) {
            let m = (n - k0).min(L);
            for (l, v) in r.iter_mut().enumerate() {
                *v = if l < cl {
                    _mm512_maskz_loadu_ps(mask(m), src.add(l * stride + k0))
                } else {
                    _mm512_setzero_ps()
                };
            }
            transpose(&mut r);
            for (k, v) in r.iter().take(m).enumerate() {
                _mm512_storeu_ps(dst.add((k0 + k) * L), *v);
            }
        }
    }

    /// See [`super::Lanes::from_lanes`]; the caller has checked the bounds.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn from_lanes(
        src: *const f32,
        cl: usize,
        n: usize,
        dst: *mut f32,
        stride: usize,
    ) {
        let mut r = [_mm512_setzero_ps(); 16];
        for k0 in (0..n).step_by(L) {
            let m = (n - k0).min(L);
            for (k, v) in r.iter_mut().enumerate() {
                *v = if k < m {
                    _mm512_loadu_ps(src.add((k0 + k) * L))
                } else {
                    _mm512_setzero_ps()
                };
            }
            transpose(&mut r);
            for (l, v) in r.iter().take(cl).enumerate() {
                _mm512_mask_storeu_ps(dst.add(l * stride + k0), mask(m), *v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `len` initialised values `v` (the kernels may overwrite them).
    fn filled(len: usize, v: f32) -> Vec<MaybeUninit<f32>> {
        vec![MaybeUninit::new(v); len]
    }

    fn read(v: &[MaybeUninit<f32>]) -> Vec<f32> {
        // SAFETY: every element was initialised by `filled` and stays so.
        v.iter().map(|x| unsafe { x.assume_init() }).collect()
    }

    fn planes(len: usize) -> Vec<f32> {
        (0..len).map(|i| i as f32 * 0.5 - 7.0).collect()
    }

    #[test]
    fn transposes_match_scalar_loops() {
        for (cl, n, stride) in [
            (16, 16, 16),
            (16, 37, 40),
            (5, 3, 3),
            (1, 1, 1),
            (16, 4, 9),
            (9, 33, 33),
        ] {
            let src = planes((cl - 1) * stride + n);
            let (mut a, mut b) = (filled(n * L + 3, 9.0), filled(n * L + 3, 9.0));
            f32::to_lanes(&src, stride, cl, n, &mut a);
            to_lanes_scalar(&src, stride, cl, n, &mut b);
            let (a, b) = (read(&a), read(&b));
            assert_eq!(a, b, "to_lanes cl {cl} n {n} stride {stride}");
            assert_eq!(a[n * L..], [9.0; 3], "to_lanes wrote past n positions");
            let (mut c, mut d) = (filled(src.len() + 2, -1.0), filled(src.len() + 2, -1.0));
            f32::from_lanes(&a, cl, n, &mut c, stride);
            from_lanes_scalar(&a, cl, n, &mut d, stride);
            let (c, d) = (read(&c), read(&d));
            assert_eq!(c, d, "from_lanes cl {cl} n {n} stride {stride}");
            // Round trip: every plane value comes back; the gaps between planes stay untouched.
            for l in 0..cl {
                assert_eq!(
                    c[l * stride..l * stride + n],
                    src[l * stride..l * stride + n]
                );
            }
            assert_eq!(c[src.len()..], [-1.0; 2]);
        }
    }
}
