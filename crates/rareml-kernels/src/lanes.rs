//! The channel-interleaved ("lane") layout of the depthwise kernels: [`L`] channel planes held
//! position by position, one channel per SIMD lane, and the transposes into and out of it.

use candle_core::WithDType;
use std::mem::MaybeUninit;

/// Channels held side by side, one per SIMD lane (16 f32 fill an AVX-512 register).
pub(crate) const L: usize = 16;

/// Element types with lane transposes; f32 uses 16×16 register transposes with AVX-512 and four
/// 8×8 ones with AVX2 where the CPU has them, every other case the scalar loops.
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
        if crate::cpu::has_avx512() {
            // SAFETY: the CPU has AVX-512F; `check` bounded every access.
            return unsafe {
                avx512::to_lanes(src.as_ptr(), stride, cl, n, dst.as_mut_ptr().cast())
            };
        }
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::has_avx2_fma() {
            // SAFETY: the CPU has AVX2; `check` bounded every access.
            return unsafe { avx2::to_lanes(src.as_ptr(), stride, cl, n, dst.as_mut_ptr().cast()) };
        }
        to_lanes_scalar(src, stride, cl, n, dst)
    }

    fn from_lanes(src: &[f32], cl: usize, n: usize, dst: &mut [MaybeUninit<f32>], stride: usize) {
        check(dst.len(), stride, cl, n, src.len(), "from_lanes");
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::has_avx512() {
            // SAFETY: the CPU has AVX-512F; `check` bounded every access.
            return unsafe {
                avx512::from_lanes(src.as_ptr(), cl, n, dst.as_mut_ptr().cast(), stride)
            };
        }
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::has_avx2_fma() {
            // SAFETY: the CPU has AVX2; `check` bounded every access.
            return unsafe {
                avx2::from_lanes(src.as_ptr(), cl, n, dst.as_mut_ptr().cast(), stride)
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
    ///
    /// # Safety
    ///
    /// The CPU must have AVX-512F.
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

    /// See [`super::Lanes::to_lanes`].
    ///
    /// # Safety
    ///
    /// The CPU must have the enabled features; `src` must be readable at `l·stride + k` and `dst`
    /// writable at `k·16 + l` for every channel `l < cl` and position `k < n` (the caller checks
    /// the slices against these bounds).
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

    /// See [`super::Lanes::from_lanes`].
    ///
    /// # Safety
    ///
    /// The CPU must have the enabled features; `src` must be readable at `k·16 + l` and `dst`
    /// writable at `l·stride + k` for every channel `l < cl` and position `k < n` (the caller checks
    /// the slices against these bounds).
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

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::L;
    use std::arch::x86_64::*;

    /// Transposes the 8×8 matrix whose rows are `r` in place (24 shuffles).
    ///
    /// # Safety
    ///
    /// The CPU must have AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn transpose(r: &mut [__m256; 8]) {
        let mut t = [_mm256_setzero_ps(); 8];
        for i in 0..4 {
            t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        // Within each 128-bit half: u[4g + c] holds column c (and c + 4) of rows 4g..4g+3.
        let mut u = [_mm256_setzero_ps(); 8];
        for g in 0..2 {
            let b = 4 * g;
            u[b] = _mm256_shuffle_ps::<0x44>(t[b], t[b + 2]);
            u[b + 1] = _mm256_shuffle_ps::<0xEE>(t[b], t[b + 2]);
            u[b + 2] = _mm256_shuffle_ps::<0x44>(t[b + 1], t[b + 3]);
            u[b + 3] = _mm256_shuffle_ps::<0xEE>(t[b + 1], t[b + 3]);
        }
        for c in 0..4 {
            r[c] = _mm256_permute2f128_ps::<0x20>(u[c], u[4 + c]);
            r[4 + c] = _mm256_permute2f128_ps::<0x31>(u[c], u[4 + c]);
        }
    }

    /// Lanes `0..m` of a load/store mask.
    ///
    /// # Safety
    ///
    /// The CPU must have AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn mask(m: usize) -> __m256i {
        let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(m as i32), idx)
    }

    /// See [`super::Lanes::to_lanes`].
    ///
    /// # Safety
    ///
    /// The CPU must have the enabled features; `src` must be readable at `l·stride + k` and `dst`
    /// writable at `k·16 + l` for every channel `l < cl` and position `k < n` (the caller checks
    /// the slices against these bounds).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn to_lanes(
        src: *const f32,
        stride: usize,
        cl: usize,
        n: usize,
        dst: *mut f32,
    ) {
        let mut r = [_mm256_setzero_ps(); 8];
        for k0 in (0..n).step_by(8) {
            let m = (n - k0).min(8);
            let mk = mask(m);
            // Channels 0–7, then 8–15: the two halves of each position's lane vector.
            for half in 0..2 {
                for (i, v) in r.iter_mut().enumerate() {
                    let l = 8 * half + i;
                    *v = if l < cl {
                        _mm256_maskload_ps(src.add(l * stride + k0), mk)
                    } else {
                        _mm256_setzero_ps()
                    };
                }
                transpose(&mut r);
                for (k, v) in r.iter().take(m).enumerate() {
                    _mm256_storeu_ps(dst.add((k0 + k) * L + 8 * half), *v);
                }
            }
        }
    }

    /// See [`super::Lanes::from_lanes`].
    ///
    /// # Safety
    ///
    /// The CPU must have the enabled features; `src` must be readable at `k·16 + l` and `dst`
    /// writable at `l·stride + k` for every channel `l < cl` and position `k < n` (the caller checks
    /// the slices against these bounds).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn from_lanes(
        src: *const f32,
        cl: usize,
        n: usize,
        dst: *mut f32,
        stride: usize,
    ) {
        let mut r = [_mm256_setzero_ps(); 8];
        for k0 in (0..n).step_by(8) {
            let m = (n - k0).min(8);
            let mk = mask(m);
            for half in 0..2 {
                if 8 * half >= cl {
                    break;
                }
                for (k, v) in r.iter_mut().enumerate() {
                    *v = if k < m {
                        _mm256_loadu_ps(src.add((k0 + k) * L + 8 * half))
                    } else {
                        _mm256_setzero_ps()
                    };
                }
                transpose(&mut r);
                for (i, v) in r.iter().enumerate().take(cl - 8 * half) {
                    _mm256_maskstore_ps(dst.add((8 * half + i) * stride + k0), mk, *v);
                }
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
            #[cfg(target_arch = "x86_64")]
            if is_x86_feature_detected!("avx2") {
                let (mut e, mut f) = (filled(n * L, 9.0), filled(src.len(), -1.0));
                // SAFETY: AVX2 is present and the buffers hold what the calls touch.
                unsafe {
                    avx2::to_lanes(src.as_ptr(), stride, cl, n, e.as_mut_ptr().cast());
                    avx2::from_lanes(a.as_ptr(), cl, n, f.as_mut_ptr().cast(), stride);
                }
                assert_eq!(
                    read(&e),
                    a[..n * L],
                    "AVX2 to_lanes cl {cl} n {n} stride {stride}"
                );
                let mut g = filled(src.len(), -1.0);
                from_lanes_scalar(&a, cl, n, &mut g, stride);
                assert_eq!(read(&f), read(&g), "AVX2 from_lanes cl {cl} n {n}");
            }
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
