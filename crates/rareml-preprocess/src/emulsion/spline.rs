//! Rotation of a cluster's polarisation images by cubic B-spline interpolation (scipy.ndimage
//! `rotate(order=3, mode='reflect', reshape=False)`), all images of a cluster at once.
//!
//! Layout: the `P` images are interleaved into a grid of lane arrays `[f32; P]` (one per pixel,
//! with 2 reflected coefficients on each side), so every filter step and every interpolation tap is
//! one P-wide operation. The recursive prefilter runs across many lines at once (the recursion of
//! one line is a chain of dependent operations; neighbouring lines are independent), and the whole
//! kernel is compiled a second time with AVX enabled, chosen at run time. Plain multiplies and adds
//! (no fused multiply-add), so both versions give bit-identical results.

use std::cell::RefCell;

use ndarray::ArrayView3;

/// Pole of the cubic B-spline prefilter (Unser 1999): √3 − 2.
const SPLINE_POLE: f64 = -0.267_949_192_431_122_7;
/// Extra coefficients kept on each side so that the 4 taps of any in-image position are contiguous.
const TAP_PAD: usize = 2;
/// Terms of the truncated causal initial sum of the prefilter (lines longer than this).
const INIT_TERMS: usize = 16;
/// Rotations whose tap geometry each thread keeps (the public code's 13 angles fit).
const TAP_CACHE: usize = 32;

/// Reflects index `i` of an extended axis into `0..n` (half-sample symmetric: … b a | a b … | y z | z y …).
fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    let period = 2 * n;
    let m = i.rem_euclid(period);
    (if m < n { m } else { period - 1 - m }) as usize
}

/// Reflects a continuous coordinate into [−0.5, n − 0.5] (the same symmetry).
fn reflect_coord(x: f64, n: usize) -> f64 {
    if x >= -0.5 && x <= n as f64 - 0.5 {
        return x;
    }
    let period = 2.0 * n as f64;
    let m = (x + 0.5).rem_euclid(period);
    (if m < n as f64 { m } else { period - m }) - 0.5
}

/// Cubic B-spline weights of the 4 taps around `t ∈ [0, 1)`, times 6 (the prefilter gain), for
/// `Q` positions at once (the same operations in the same order whatever `Q`).
#[inline(always)]
fn bspline_weights6<const Q: usize, M: Lanes<Q>>(t: M) -> [M; 4] {
    let c = M::splat;
    let t2 = t.mul(t);
    let t3 = t2.mul(t);
    let u = c(1.0).sub(t);
    [
        u.mul(u).mul(u),
        c(3.0).mul(t3).sub(c(6.0).mul(t2)).add(c(4.0)),
        c(-3.0)
            .mul(t3)
            .add(c(3.0).mul(t2))
            .add(c(3.0).mul(t))
            .add(c(1.0)),
        t3,
    ]
}

/// P values of one pixel (one per image), the unit of every filter step and interpolation tap.
trait Lanes<const P: usize>: Copy {
    fn load(a: &[f32; P]) -> Self;
    fn store(self, a: &mut [f32; P]);
    fn splat(v: f32) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// Transposes a block of P lane arrays (P pixels × P images ↔ P images × P pixels).
    fn transpose(block: &mut [Self; P]);
}

/// Plain arrays: portable, the compiler vectorises what it can.
impl<const P: usize> Lanes<P> for [f32; P] {
    #[inline(always)]
    fn load(a: &[f32; P]) -> Self {
        *a
    }
    #[inline(always)]
    fn store(self, a: &mut [f32; P]) {
        *a = self;
    }
    #[inline(always)]
    fn splat(v: f32) -> Self {
        [v; P]
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        std::array::from_fn(|k| self[k] + o[k])
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        std::array::from_fn(|k| self[k] - o[k])
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        std::array::from_fn(|k| self[k] * o[k])
    }
    #[inline(always)]
    #[allow(clippy::needless_range_loop)]
    fn transpose(block: &mut [Self; P]) {
        for i in 0..P {
            for j in i + 1..P {
                let t = block[i][j];
                block[i][j] = block[j][i];
                block[j][i] = t;
            }
        }
    }
}

/// 8 images in one AVX register. Only used inside [`kernel_avx`], which runs only where AVX was
/// detected.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Avx8(std::arch::x86_64::__m256);

#[cfg(target_arch = "x86_64")]
impl Lanes<8> for Avx8 {
    #[inline(always)]
    fn load(a: &[f32; 8]) -> Self {
        // SAFETY: 8 readable f32; AVX is present (see the type's doc).
        Avx8(unsafe { std::arch::x86_64::_mm256_loadu_ps(a.as_ptr()) })
    }
    #[inline(always)]
    fn store(self, a: &mut [f32; 8]) {
        // SAFETY: 8 writable f32; AVX is present.
        unsafe { std::arch::x86_64::_mm256_storeu_ps(a.as_mut_ptr(), self.0) }
    }
    #[inline(always)]
    fn splat(v: f32) -> Self {
        // SAFETY: AVX is present.
        Avx8(unsafe { std::arch::x86_64::_mm256_set1_ps(v) })
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        // SAFETY: AVX is present.
        Avx8(unsafe { std::arch::x86_64::_mm256_add_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        // SAFETY: AVX is present.
        Avx8(unsafe { std::arch::x86_64::_mm256_sub_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        // SAFETY: AVX is present.
        Avx8(unsafe { std::arch::x86_64::_mm256_mul_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn transpose(block: &mut [Self; 8]) {
        use std::arch::x86_64::*;
        let r = [
            block[0].0, block[1].0, block[2].0, block[3].0, block[4].0, block[5].0, block[6].0,
            block[7].0,
        ];
        // SAFETY: AVX is present. The classic 8 × 8 transpose: interleave pairs, then quadruples,
        // then exchange 128-bit halves.
        unsafe {
            let t0 = _mm256_unpacklo_ps(r[0], r[1]);
            let t1 = _mm256_unpackhi_ps(r[0], r[1]);
            let t2 = _mm256_unpacklo_ps(r[2], r[3]);
            let t3 = _mm256_unpackhi_ps(r[2], r[3]);
            let t4 = _mm256_unpacklo_ps(r[4], r[5]);
            let t5 = _mm256_unpackhi_ps(r[4], r[5]);
            let t6 = _mm256_unpacklo_ps(r[6], r[7]);
            let t7 = _mm256_unpackhi_ps(r[6], r[7]);
            let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
            let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
            *block = [
                Avx8(_mm256_permute2f128_ps::<0x20>(u0, u4)),
                Avx8(_mm256_permute2f128_ps::<0x20>(u1, u5)),
                Avx8(_mm256_permute2f128_ps::<0x20>(u2, u6)),
                Avx8(_mm256_permute2f128_ps::<0x20>(u3, u7)),
                Avx8(_mm256_permute2f128_ps::<0x31>(u0, u4)),
                Avx8(_mm256_permute2f128_ps::<0x31>(u1, u5)),
                Avx8(_mm256_permute2f128_ps::<0x31>(u2, u6)),
                Avx8(_mm256_permute2f128_ps::<0x31>(u3, u7)),
            ];
        }
    }
}

/// One output pixel's interpolation: first coefficient index of its 4 × 4 neighbourhood in the
/// padded grid and the fractional source position within it along y and x (12 bytes: the weights
/// are recomputed per use, cheaper than streaming them from memory).
#[derive(Clone, Copy)]
struct Tap {
    base: u32,
    ty: f32,
    tx: f32,
}

/// `x` reflected once about −0.5 and once about n − 0.5: [`reflect_coord`] for every `x` within
/// one image length of the image, without branches.
#[inline(always)]
fn reflect_once(x: f64, n: f64) -> f64 {
    let x = if x < -0.5 { -1.0 - x } else { x };
    if x > n - 0.5 {
        2.0 * n - 1.0 - x
    } else {
        x
    }
}

/// The taps of an `h × w` image rotated by `angle_deg` about its centre. Eight pixels of a row at
/// a time in straight-line code, which the compiler turns into vector instructions.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn compute_taps(angle_deg: f64, h: usize, w: usize, taps: &mut Vec<Tap>) {
    const B: usize = 8;
    let (sin, cos) = angle_deg.to_radians().sin_cos();
    let (cy, cx) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
    let (hf, wf, pwf) = (h as f64, w as f64, (w + 2 * TAP_PAD) as f64);
    taps.clear();
    taps.resize(
        h * w,
        Tap {
            base: 0,
            ty: 0.0,
            tx: 0.0,
        },
    );
    for (i, row) in taps.chunks_exact_mut(w).enumerate() {
        let dy = i as f64 - cy;
        // Along a row the source moves by (cos, sin) per pixel.
        let (x0, y0) = (cx - cos * cx - sin * dy, cy - sin * cx + cos * dy);
        for (c, chunk) in row.chunks_mut(B).enumerate() {
            let (mut xs, mut ys) = ([0.0f64; B], [0.0f64; B]);
            for l in 0..B {
                let j = (c * B + l) as f64;
                xs[l] = reflect_once(x0 + cos * j, wf);
                ys[l] = reflect_once(y0 + sin * j, hf);
            }
            // Sources more than an image length outside (very elongated images): the general rule.
            for l in 0..chunk.len() {
                let j = (c * B + l) as f64;
                if !(xs[l] >= -0.5 && xs[l] <= wf - 0.5) {
                    xs[l] = reflect_coord(x0 + cos * j, w);
                }
                if !(ys[l] >= -0.5 && ys[l] <= hf - 0.5) {
                    ys[l] = reflect_coord(y0 + sin * j, h);
                }
            }
            let (mut fx, mut fy, mut base) = ([0.0f64; B], [0.0f64; B], [0u32; B]);
            for l in 0..B {
                fx[l] = xs[l].floor();
                fy[l] = ys[l].floor();
                // fx, fy ≥ −1: the first tap (one before, plus the 2 padding) is ≥ 0.
                base[l] = ((fy[l] + 1.0) * pwf + (fx[l] + 1.0)) as u32;
            }
            for (l, t) in chunk.iter_mut().enumerate() {
                *t = Tap {
                    base: base[l],
                    ty: (ys[l] - fy[l]) as f32,
                    tx: (xs[l] - fx[l]) as f32,
                };
            }
        }
    }
}

/// The causal initial value of one line of `n ≤ INIT_TERMS` samples, exactly for the infinite symmetric
/// extension (scipy's `ni_splines.c`, `_init_causal_reflect`), in f64.
#[allow(clippy::needless_range_loop)]
fn exact_causal_init<const P: usize>(c: &mut [[f32; P]], start: usize, n: usize, stride: usize) {
    let z = SPLINE_POLE;
    let last = start + (n - 1) * stride;
    let zn = z.powi(n as i32);
    let mut acc: [f64; P] = std::array::from_fn(|k| c[start][k] as f64 + zn * c[last][k] as f64);
    let mut zi = z;
    for i in 1..n {
        let (a, b) = (c[start + i * stride], c[start + (n - 1 - i) * stride]);
        for k in 0..P {
            acc[k] += zi * (a[k] as f64 + zn * b[k] as f64);
        }
        zi *= z;
    }
    for k in 0..P {
        c[start][k] = (acc[k] * z / (1.0 - zn * zn) + c[start][k] as f64) as f32;
    }
}

/// In-place cubic B-spline prefilter of `lines` lines of `n` samples: sample i of line l is the lane
/// array `c[first + l·line_stride + i·stride]`. Half-sample symmetric ("reflect") boundary, exact
/// for the infinite symmetric extension (scipy's `_init_causal_reflect` /
/// `_init_anticausal_reflect`). The gain (1 − z)(1 − 1/z) = 6 per axis is not applied here: the
/// interpolation weights carry it, which saves a pass. Every step runs over all lines before the
/// next, so the recursions of different lines overlap in the pipeline.
#[allow(clippy::needless_range_loop, clippy::too_many_arguments)]
#[inline(always)]
fn prefilter_lines<const P: usize, L: Lanes<P>>(
    c: &mut [[f32; P]],
    first: usize,
    lines: usize,
    line_stride: usize,
    n: usize,
    stride: usize,
    acc: &mut Vec<f32>,
) {
    if n < 2 {
        return;
    }
    let zf = SPLINE_POLE as f32;
    let at = |l: usize, i: usize| first + l * line_stride + i * stride;
    if n > INIT_TERMS {
        // |z|^16 ≈ 1.4e-9 relative to the first term, below f32 resolution (6e-8): the far end
        // and the terms beyond 16 change nothing.
        let acc = lanes::<P>(acc, lines);
        let mut zi = 1.0f32;
        for i in 0..INIT_TERMS {
            let w = L::splat(zi);
            for (l, a) in acc.iter_mut().enumerate() {
                L::load(a).add(w.mul(L::load(&c[at(l, i)]))).store(a);
            }
            zi *= zf;
        }
        let z = L::splat(zf);
        for (l, a) in acc.iter().enumerate() {
            let s = &mut c[at(l, 0)];
            L::load(s).add(z.mul(L::load(a))).store(s);
        }
    } else {
        for l in 0..lines {
            exact_causal_init::<P>(c, at(l, 0), n, stride);
        }
    }
    let z = L::splat(zf);
    for i in 1..n {
        for l in 0..lines {
            let prev = L::load(&c[at(l, i - 1)]);
            let cur = &mut c[at(l, i)];
            L::load(cur).add(z.mul(prev)).store(cur);
        }
    }
    let anti = L::splat((SPLINE_POLE / (SPLINE_POLE - 1.0)) as f32);
    for l in 0..lines {
        let s = &mut c[at(l, n - 1)];
        L::load(s).mul(anti).store(s);
    }
    for i in (0..n - 1).rev() {
        for l in 0..lines {
            let next = L::load(&c[at(l, i + 1)]);
            let cur = &mut c[at(l, i)];
            z.mul(next.sub(L::load(cur))).store(cur);
        }
    }
}

/// Per-thread buffers: the coefficient grid, the prefilter accumulators and the tap cache.
#[derive(Default)]
struct Scratch {
    grid: Vec<f32>,
    acc: Vec<f32>,
    taps: Vec<((u64, usize, usize), Vec<Tap>)>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Views a flat buffer as `n` lane arrays of zeros.
fn lanes<const P: usize>(buf: &mut Vec<f32>, n: usize) -> &mut [[f32; P]] {
    buf.clear();
    buf.resize(n * P, 0.0);
    buf.as_chunks_mut::<P>().0
}

/// Views a flat buffer as `n` lane arrays of unspecified (finite) values, for a caller that
/// writes every one before reading it.
fn lanes_uninit<const P: usize>(buf: &mut Vec<f32>, n: usize) -> &mut [[f32; P]] {
    buf.resize(n * P, 0.0);
    buf[..n * P].as_chunks_mut::<P>().0
}

/// One output pixel from the coefficient grid (row stride `pw`): the separable 4 × 4 B-spline sum,
/// a weighted sum along x per tap row, then along y.
#[inline(always)]
fn interpolate<const P: usize, L: Lanes<P>>(
    c: &[[f32; P]],
    pw: usize,
    base: u32,
    wy: [f32; 4],
    wx: [f32; 4],
) -> L {
    let wx = [
        L::splat(wx[0]),
        L::splat(wx[1]),
        L::splat(wx[2]),
        L::splat(wx[3]),
    ];
    let mut sum = L::splat(0.0);
    for (r, &wy) in wy.iter().enumerate() {
        let o = base as usize + r * pw;
        let row = &c[o..o + 4];
        let along_x = L::load(&row[0])
            .mul(wx[0])
            .add(L::load(&row[1]).mul(wx[1]))
            .add(L::load(&row[2]).mul(wx[2]))
            .add(L::load(&row[3]).mul(wx[3]));
        sum = sum.add(along_x.mul(L::splat(wy)));
    }
    sum
}

/// Rotates the `P` images `(P, h, w)` by `angle_deg` into `out` (image k at `out[k·h·w..]`).
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn kernel<const P: usize, L: Lanes<P>>(
    images: ArrayView3<'_, f32>,
    angle_deg: f64,
    out: &mut [f32],
    s: &mut Scratch,
) {
    let (_, h, w) = images.dim();
    let (ph, pw) = (h + 2 * TAP_PAD, w + 2 * TAP_PAD);
    let Scratch { grid, acc, taps } = s;
    let hw = h * w;
    // Every coefficient is written below before it is read: interior, reflected columns of the
    // interior rows, then whole reflected rows.
    let c = lanes_uninit::<P>(grid, ph * pw);
    match images.as_slice() {
        // Image-major input: blocks of P pixels × P images, transposed into lane arrays.
        Some(src) => {
            for y in 0..h {
                let o = (y + TAP_PAD) * pw + TAP_PAD;
                let mut x = 0;
                while x + P <= w {
                    let mut block = [L::splat(0.0); P];
                    for (k, b) in block.iter_mut().enumerate() {
                        let at = k * hw + y * w + x;
                        *b = L::load(src[at..at + P].try_into().expect("P values"));
                    }
                    L::transpose(&mut block);
                    for (d, v) in c[o + x..o + x + P].iter_mut().zip(block) {
                        v.store(d);
                    }
                    x += P;
                }
                for x in x..w {
                    for k in 0..P {
                        c[o + x][k] = src[k * hw + y * w + x];
                    }
                }
            }
        }
        None => {
            for (k, img) in images.outer_iter().enumerate() {
                for (y, row) in img.outer_iter().enumerate() {
                    let o = (y + TAP_PAD) * pw + TAP_PAD;
                    for (x, &v) in row.iter().enumerate() {
                        c[o + x][k] = v;
                    }
                }
            }
        }
    }
    // Along x for every image row, then the reflected coefficient columns.
    prefilter_lines::<P, L>(c, TAP_PAD * pw + TAP_PAD, h, pw, w, 1, acc);
    for y in TAP_PAD..h + TAP_PAD {
        let row0 = y * pw;
        for x in (0..TAP_PAD).chain(w + TAP_PAD..pw) {
            c[row0 + x] = c[row0 + TAP_PAD + reflect(x as isize - TAP_PAD as isize, w)];
        }
    }
    // Along y for every padded column, then the reflected rows.
    prefilter_lines::<P, L>(c, TAP_PAD * pw, pw, 1, h, pw, acc);
    for y in (0..TAP_PAD).chain(h + TAP_PAD..ph) {
        let s0 = (reflect(y as isize - TAP_PAD as isize, h) + TAP_PAD) * pw;
        c.copy_within(s0..s0 + pw, y * pw);
    }

    // The tap geometry, from the cache or computed into it (oldest entry evicted).
    let key = (angle_deg.to_bits(), h, w);
    let slot = match taps.iter().position(|(k, _)| *k == key) {
        Some(i) => i,
        None => {
            let mut t = if taps.len() >= TAP_CACHE {
                taps.remove(0).1
            } else {
                Vec::new()
            };
            compute_taps(angle_deg, h, w, &mut t);
            taps.push((key, t));
            taps.len() - 1
        }
    };
    for (y, row_taps) in taps[slot].1.chunks_exact(w).enumerate() {
        // Blocks of P output pixels, transposed back to one run of P pixels per image.
        let mut x = 0;
        while x + P <= w {
            // The weights of the P pixels, computed P at a time.
            let (mut ty, mut tx) = ([0.0f32; P], [0.0f32; P]);
            for (i, t) in row_taps[x..x + P].iter().enumerate() {
                ty[i] = t.ty;
                tx[i] = t.tx;
            }
            let (mut wy, mut wx) = ([[0.0f32; P]; 4], [[0.0f32; P]; 4]);
            for (w, v) in wy.iter_mut().zip(bspline_weights6::<P, L>(L::load(&ty))) {
                v.store(w);
            }
            for (w, v) in wx.iter_mut().zip(bspline_weights6::<P, L>(L::load(&tx))) {
                v.store(w);
            }
            let mut block = [L::splat(0.0); P];
            for (i, (b, t)) in block.iter_mut().zip(&row_taps[x..x + P]).enumerate() {
                let wy = [wy[0][i], wy[1][i], wy[2][i], wy[3][i]];
                let wx = [wx[0][i], wx[1][i], wx[2][i], wx[3][i]];
                *b = interpolate::<P, L>(c, pw, t.base, wy, wx);
            }
            L::transpose(&mut block);
            for (k, v) in block.into_iter().enumerate() {
                let at = k * hw + y * w + x;
                v.store((&mut out[at..at + P]).try_into().expect("P values"));
            }
            x += P;
        }
        for x in x..w {
            let t = &row_taps[x];
            let wy = bspline_weights6::<1, [f32; 1]>([t.ty]).map(|w| w[0]);
            let wx = bspline_weights6::<1, [f32; 1]>([t.tx]).map(|w| w[0]);
            let mut v = [0.0f32; P];
            interpolate::<P, L>(c, pw, t.base, wy, wx).store(&mut v);
            for (k, &v) in v.iter().enumerate() {
                out[k * hw + y * w + x] = v;
            }
        }
    }
}

/// [`kernel`] compiled with AVX (8-wide lanes in one register; still no FMA, same results).
///
/// # Safety
/// The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn kernel_avx<const P: usize, L: Lanes<P>>(
    images: ArrayView3<'_, f32>,
    angle_deg: f64,
    out: &mut [f32],
    s: &mut Scratch,
) {
    kernel::<P, L>(images, angle_deg, out, s)
}

/// Rotates `P` images with the fastest kernel this CPU runs: `V` lanes on AVX CPUs, plain arrays
/// elsewhere.
fn dispatch<const P: usize, V: Lanes<P>>(
    images: ArrayView3<'_, f32>,
    angle_deg: f64,
    out: &mut [f32],
) {
    SCRATCH.with(|s| {
        let s = &mut s.borrow_mut();
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: AVX was detected on this CPU.
            unsafe { kernel_avx::<P, V>(images, angle_deg, out, s) };
            return;
        }
        kernel::<P, [f32; P]>(images, angle_deg, out, s)
    })
}

/// Rotates every image of `(P, h, w)` by `angle_deg` into `out` (`P·h·w` values, image after image),
/// cubic B-spline interpolation with a symmetric boundary. 8 and 9 images go through one
/// interleaved pass; other counts one image at a time.
pub(super) fn rotate_into(images: ArrayView3<'_, f32>, angle_deg: f64, out: &mut [f32]) {
    let (p, h, w) = images.dim();
    debug_assert_eq!(out.len(), p * h * w);
    if h == 0 || w == 0 {
        return;
    }
    match p {
        #[cfg(target_arch = "x86_64")]
        8 => dispatch::<8, Avx8>(images, angle_deg, out),
        #[cfg(not(target_arch = "x86_64"))]
        8 => dispatch::<8, [f32; 8]>(images, angle_deg, out),
        9 => dispatch::<9, [f32; 9]>(images, angle_deg, out),
        _ => {
            for (k, chunk) in out.chunks_mut(h * w).enumerate() {
                dispatch::<1, [f32; 1]>(
                    images.slice(ndarray::s![k..k + 1, .., ..]),
                    angle_deg,
                    chunk,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array3};

    /// Images with structure at every scale and no two pixels alike.
    fn images(p: usize, h: usize, w: usize) -> Array3<f32> {
        Array3::from_shape_fn((p, h, w), |(k, y, x)| {
            ((k * 31 + y * 7 + x * 13) % 23) as f32 + (x as f32 * 0.37 + k as f32).sin()
        })
    }

    fn run<const P: usize, L: Lanes<P>>(x: &Array3<f32>, angle: f64) -> Vec<f32> {
        let mut out = vec![0.0; x.len()];
        kernel::<P, L>(x.view(), angle, &mut out, &mut Scratch::default());
        out
    }

    #[test]
    fn all_kernels_agree_bit_for_bit() {
        // 37 columns: blocks of 8 plus a remainder; 29 rows > INIT_TERMS, 11 rows ≤ (exact init).
        for (h, w) in [(29, 37), (11, 37)] {
            let x = images(8, h, w);
            for angle in [33.0, -47.5, 100.0] {
                let lanes8 = run::<8, [f32; 8]>(&x, angle);
                // One image at a time: the same operations per lane.
                let mut single = Vec::new();
                for k in 0..8 {
                    single.extend(run::<1, [f32; 1]>(
                        &x.slice(s![k..k + 1, .., ..]).to_owned(),
                        angle,
                    ));
                }
                assert_eq!(
                    lanes8, single,
                    "8 lanes vs one image at a time, {h}x{w} {angle}°"
                );
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx") {
                    let mut avx = vec![0.0; x.len()];
                    // SAFETY: AVX was detected.
                    unsafe {
                        kernel_avx::<8, Avx8>(x.view(), angle, &mut avx, &mut Scratch::default())
                    };
                    assert_eq!(avx, lanes8, "AVX vs portable, {h}x{w} {angle}°");
                }
                let x9 = images(9, h, w);
                let nine = run::<9, [f32; 9]>(&x9, angle);
                let first8 = run::<8, [f32; 8]>(&x9.slice(s![..8, .., ..]).to_owned(), angle);
                assert_eq!(&nine[..8 * h * w], &first8[..], "9 lanes vs 8");
            }
        }
    }

    #[test]
    fn transposes_are_transposes() {
        let mut block: [[f32; 8]; 8] =
            std::array::from_fn(|i| std::array::from_fn(|j| (i * 8 + j) as f32));
        let orig = block;
        <[f32; 8] as Lanes<8>>::transpose(&mut block);
        for i in 0..8 {
            for j in 0..8 {
                assert_eq!(block[i][j], orig[j][i]);
            }
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            /// Loads, transposes and stores `b` with AVX.
            ///
            /// # Safety
            ///
            /// The CPU must support AVX (the caller detected it).
            #[target_feature(enable = "avx")]
            unsafe fn avx_transpose(b: &mut [[f32; 8]; 8]) {
                let mut v = [Avx8::splat(0.0); 8];
                for (v, b) in v.iter_mut().zip(b.iter()) {
                    *v = Avx8::load(b);
                }
                Avx8::transpose(&mut v);
                for (v, b) in v.iter().zip(b.iter_mut()) {
                    v.store(b);
                }
            }
            let mut b = orig;
            unsafe { avx_transpose(&mut b) };
            assert_eq!(b, block);
        }
    }

    #[test]
    fn tap_geometry_matches_the_general_reflection() {
        // Elongated images send sources more than one image length outside: the fallback.
        for (h, w, angle) in [
            (40, 40, 33.0),
            (3, 40, 60.0),
            (40, 3, -75.0),
            (5, 17, 181.0),
        ] {
            let mut taps = Vec::new();
            compute_taps(angle, h, w, &mut taps);
            let (sin, cos) = f64::to_radians(angle).sin_cos();
            let (cy, cx) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
            for i in 0..h {
                for j in 0..w {
                    let (dy, dx) = (i as f64 - cy, j as f64 - cx);
                    let xs = reflect_coord(cx + cos * dx - sin * dy, w);
                    let ys = reflect_coord(cy + sin * dx + cos * dy, h);
                    let t = taps[i * w + j];
                    let (fy, fx) = (ys.floor(), xs.floor());
                    let base = ((fy + 1.0) as usize) * (w + 4) + (fx + 1.0) as usize;
                    assert_eq!(t.base as usize, base, "{h}x{w} {angle}° ({i},{j})");
                    assert!((t.ty as f64 - (ys - fy)).abs() < 1e-5);
                    assert!((t.tx as f64 - (xs - fx)).abs() < 1e-5);
                }
            }
        }
    }
}
