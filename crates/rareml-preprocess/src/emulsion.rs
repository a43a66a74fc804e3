//! NEWSdm clusters → network input `(B, 1, P, H, W)` f32, as the NEWSdm papers and the group's public
//! code prepare them: per-image background subtraction (median, paper; or mode, public code),
//! scaling (a constant, 128 in the public code, or a global maximum over the data set, paper),
//! quality cuts (public code), central crop 80 → 40, periodic polarisation 8 → 9, and random
//! rotation (one angle per cluster, cubic B-spline interpolation with a symmetric boundary, exact
//! for multiples of 90°).

use ndarray::{s, Array3, Array5, ArrayView2, ArrayView3, Axis};
use rand::Rng;
use rareml_io::emulsion::{ClusterBatch, Pixel};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{config, Error, Result};
use crate::seed::item_rng;

/// Per-image background estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Background {
    /// Median of the image's pixels (NEWSdm paper; numpy's median: mean of the two middle values).
    Median,
    /// Most frequent pixel value, the smallest on ties (public code, `scipy.stats.mode`).
    Mode,
}

/// Counts of the values 0..=255 when every pixel is such an integer (raw ADC images), else `None`.
fn byte_histogram(img: ArrayView2<'_, f32>) -> Option<[u32; 256]> {
    let mut h = [0u32; 256];
    for &v in img.iter() {
        let b = v as u8;
        if b as f32 != v {
            return None;
        }
        h[b as usize] += 1;
    }
    Some(h)
}

/// The value of rank `k` (0-based) in a byte histogram.
fn hist_rank(h: &[u32; 256], k: usize) -> f32 {
    let mut seen = 0usize;
    for (v, &c) in h.iter().enumerate() {
        seen += c as usize;
        if seen > k {
            return v as f32;
        }
    }
    255.0
}

/// Median of an image (numpy semantics); O(n) by histogram for integer images in 0..=255.
pub fn image_median(img: ArrayView2<'_, f32>) -> f32 {
    let n = img.len();
    if n > 0 {
        if let Some(h) = byte_histogram(img) {
            return if n % 2 == 1 {
                hist_rank(&h, n / 2)
            } else {
                (hist_rank(&h, n / 2 - 1) + hist_rank(&h, n / 2)) / 2.0
            };
        }
    }
    let mut v: Vec<f32> = img.iter().copied().collect();
    let n = v.len();
    if n == 0 {
        return f32::NAN;
    }
    let mid = n / 2;
    let (_, &mut upper, _) = v.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
    if n % 2 == 1 {
        upper
    } else {
        let lower = v[..mid].iter().copied().fold(f32::NEG_INFINITY, f32::max);
        ((lower as f64 + upper as f64) / 2.0) as f32
    }
}

/// Most frequent value of an image; ties go to the smallest value (`scipy.stats.mode`).
pub fn image_mode(img: ArrayView2<'_, f32>) -> f32 {
    if let Some(h) = byte_histogram(img) {
        // max_by_key keeps the last maximum: scan from the top so ties resolve to the smallest value.
        let (v, _) = h
            .iter()
            .enumerate()
            .rev()
            .max_by_key(|(_, &c)| c)
            .expect("256 bins");
        return v as f32;
    }
    let mut v: Vec<f32> = img.iter().copied().collect();
    v.sort_unstable_by(|a, b| a.total_cmp(b));
    let (mut best, mut best_n) = (f32::NAN, 0usize);
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j] == v[i] {
            j += 1;
        }
        if j - i > best_n {
            best = v[i];
            best_n = j - i;
        }
        i = j.max(i + 1);
    }
    best
}

impl Background {
    /// The background of one image.
    pub fn estimate(self, img: ArrayView2<'_, f32>) -> f32 {
        match self {
            Background::Median => image_median(img),
            Background::Mode => image_mode(img),
        }
    }
}

/// Subtracts each polarisation image's own background: `(P, H, W)` in, `(P, H, W)` out.
pub fn subtract_background(images: ArrayView3<'_, f32>, mode: Background) -> Array3<f32> {
    let mut out = images.to_owned();
    for mut img in out.outer_iter_mut() {
        let b = mode.estimate(img.view());
        img.mapv_inplace(|v| v - b);
    }
    out
}

/// How to scale brightness.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Scale {
    /// Leave values as they are.
    None,
    /// Divide by a constant (the public code divides by 128).
    Constant(f32),
    /// Divide by the maximum over the data set (paper); compute it with [`max_value`].
    GlobalMax(f32),
}

impl Scale {
    fn divisor(self) -> Result<f32> {
        match self {
            Scale::None => Ok(1.0),
            Scale::Constant(c) | Scale::GlobalMax(c) if c.is_finite() && c > 0.0 => Ok(c),
            other => Err(config(
                "scale",
                format!("{other:?}: the divisor must be finite and > 0"),
            )),
        }
    }
}

/// Largest value in a batch of images (fold it over a data set for [`Scale::GlobalMax`]).
pub fn max_value(images: ndarray::ArrayViewD<'_, f32>) -> f32 {
    images.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// The public code's quality cuts, applied to the raw cluster before any processing.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityCuts {
    /// Reject a cluster with any pixel above this brightness (saturated or very bright spots).
    pub peak_max: f32,
    /// Reject a cluster with any per-image background (pedestal) above this brightness.
    pub pedestal_max: f32,
}

/// Why a cluster was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Rejection {
    /// A pixel above `peak_max`.
    Peak,
    /// A pedestal above `pedestal_max`.
    Pedestal,
}

impl QualityCuts {
    /// `None` when the cluster passes; otherwise the first cut it fails (peak checked first).
    pub fn check(&self, images: ArrayView3<'_, f32>, background: Background) -> Option<Rejection> {
        if images.iter().any(|&v| v > self.peak_max) {
            return Some(Rejection::Peak);
        }
        images
            .outer_iter()
            .any(|img| background.estimate(img) > self.pedestal_max)
            .then_some(Rejection::Pedestal)
    }
}

/// Counts of what the cuts did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CutReport {
    /// Clusters seen.
    pub seen: usize,
    /// Clusters kept.
    pub kept: usize,
    /// Rejected for a pixel above the peak threshold.
    pub rejected_peak: usize,
    /// Rejected for a pedestal above the brightness threshold.
    pub rejected_pedestal: usize,
}

impl CutReport {
    /// Adds another report's counts.
    pub fn merge(&mut self, other: &CutReport) {
        self.seen += other.seen;
        self.kept += other.kept;
        self.rejected_peak += other.rejected_peak;
        self.rejected_pedestal += other.rejected_pedestal;
    }
}

/// The central `size × size` window of each image (offset `(H − size)/2`: 80 → 40 keeps `[20:60]`).
pub fn central_crop(images: ArrayView3<'_, f32>, size: usize) -> Result<Array3<f32>> {
    let (_, h, w) = images.dim();
    if size == 0 || size > h || size > w {
        return Err(Error::Shape {
            what: "images to crop",
            expected: format!("(P, ≥{size}, ≥{size})"),
            found: vec![images.dim().0, h, w],
        });
    }
    let (y0, x0) = ((h - size) / 2, (w - size) / 2);
    Ok(images
        .slice(s![.., y0..y0 + size, x0..x0 + size])
        .to_owned())
}

/// Polarisation layout of the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Polarisations {
    /// 9 images, the 9th a copy of the 1st (the papers' periodic polarisation).
    Periodic,
    /// The 8 measured images (for models with circular padding along polarisation).
    Eight,
}

/// Brings `(8 or 9, H, W)` images to the requested layout: 8 → 9 copies the first after the last;
/// 9 → 8 drops the 9th, which must then be a copy of the 1st.
pub fn set_polarisations(
    images: ArrayView3<'_, f32>,
    target: Polarisations,
) -> Result<Array3<f32>> {
    let p = images.len_of(Axis(0));
    match (p, target) {
        (8, Polarisations::Eight) | (9, Polarisations::Periodic) => Ok(images.to_owned()),
        (8, Polarisations::Periodic) => {
            let (_, h, w) = images.dim();
            let mut out = Array3::zeros((9, h, w));
            out.slice_mut(s![..8, .., ..]).assign(&images);
            out.slice_mut(s![8, .., ..])
                .assign(&images.slice(s![0, .., ..]));
            Ok(out)
        }
        (9, Polarisations::Eight) => {
            if images.slice(s![8, .., ..]) != images.slice(s![0, .., ..]) {
                return Err(config(
                    "polarisations",
                    "the 9th image is not a copy of the 1st: dropping it would lose data",
                ));
            }
            Ok(images.slice(s![..8, .., ..]).to_owned())
        }
        _ => Err(Error::Shape {
            what: "polarisation images",
            expected: "(8 or 9, H, W)".into(),
            found: images.shape().to_vec(),
        }),
    }
}

/// Random rotation of a whole cluster (one angle for all its images).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Rotation {
    /// No rotation.
    None,
    /// Uniform over {−max, −max + step, …, max} degrees (public code: step 15, max 90).
    Discrete {
        /// Step in degrees.
        step_deg: f64,
        /// Largest |angle| in degrees.
        max_deg: f64,
    },
    /// Uniform in [−max, max] degrees.
    Continuous {
        /// Largest |angle| in degrees.
        max_deg: f64,
    },
}

impl Rotation {
    /// The public code's discrete set: −90 … 90° in 15° steps.
    pub const PUBLIC_CODE: Rotation = Rotation::Discrete {
        step_deg: 15.0,
        max_deg: 90.0,
    };

    fn check(&self) -> Result<()> {
        match *self {
            Rotation::None => Ok(()),
            Rotation::Discrete { step_deg, max_deg }
                if step_deg > 0.0 && max_deg >= 0.0 && max_deg.is_finite() =>
            {
                Ok(())
            }
            Rotation::Continuous { max_deg } if max_deg >= 0.0 && max_deg.is_finite() => Ok(()),
            other => Err(config(
                "rotation",
                format!("{other:?}: expected step > 0 and a finite max ≥ 0"),
            )),
        }
    }

    /// Draws an angle in degrees.
    pub fn sample<R: Rng>(&self, rng: &mut R) -> f64 {
        match *self {
            Rotation::None => 0.0,
            Rotation::Discrete { step_deg, max_deg } => {
                let k = (max_deg / step_deg + 1e-9).floor() as i64;
                rng.random_range(-k..=k) as f64 * step_deg
            }
            Rotation::Continuous { max_deg } => rng.random_range(-max_deg..=max_deg),
        }
    }
}

/// Pole of the cubic B-spline prefilter (Unser 1999): √3 − 2.
const SPLINE_POLE: f64 = -0.267_949_192_431_122_7;
/// Extra coefficients kept on each side so that the 4 taps of any in-image position are contiguous.
const TAP_PAD: usize = 2;

/// Reflects index `i` of an extended axis into `0..n` (half-sample symmetric: … b a | a b … | y z | z y …).
fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    let period = 2 * n;
    let m = i.rem_euclid(period);
    (if m < n { m } else { period - 1 - m }) as usize
}

/// Reflects a continuous coordinate into [−0.5, n − 0.5] (the same symmetry).
fn reflect_coord(x: f64, n: usize) -> f64 {
    let period = 2.0 * n as f64;
    let m = (x + 0.5).rem_euclid(period);
    (if m < n as f64 { m } else { period - m }) - 0.5
}

/// In-place cubic B-spline prefilter, along one line, of `P` images at once: sample i is the
/// lane array `c[start + i·stride]`. Half-sample symmetric ("reflect") boundary, exact for the
/// infinite symmetric extension (the initialisations of scipy's `ni_splines.c`,
/// `_init_causal_reflect` / `_init_anticausal_reflect`). The gain (1 − z)(1 − 1/z) = 6 per axis is
/// not applied here: the interpolation weights carry it (× 36 in 2D), which saves a pass.
// Index loops over the fixed-size lanes are what the compiler vectorises best here.
#[allow(clippy::needless_range_loop)]
fn prefilter_lanes<const P: usize>(c: &mut [[f32; P]], start: usize, n: usize, stride: usize) {
    if n < 2 {
        return;
    }
    let z = SPLINE_POLE;
    let zf = z as f32;
    let last = start + (n - 1) * stride;
    if n > 24 {
        // z^24 ≈ 2e-14: the far end and the terms beyond 24 are below f32 resolution.
        let mut acc = [0.0f32; P];
        let mut zi = 1.0f32;
        for i in 0..24 {
            let v = c[start + i * stride];
            for k in 0..P {
                acc[k] += zi * v[k];
            }
            zi *= zf;
        }
        for k in 0..P {
            c[start][k] += zf * acc[k];
        }
    } else {
        let zn = z.powi(n as i32);
        let mut acc: [f64; P] =
            std::array::from_fn(|k| c[start][k] as f64 + zn * c[last][k] as f64);
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
    let mut prev = c[start];
    for i in 1..n {
        let cur = &mut c[start + i * stride];
        for k in 0..P {
            cur[k] += zf * prev[k];
        }
        prev = *cur;
    }
    let anti = (z / (z - 1.0)) as f32;
    for k in 0..P {
        c[last][k] *= anti;
    }
    let mut next = c[last];
    for i in (0..n - 1).rev() {
        let cur = &mut c[start + i * stride];
        for k in 0..P {
            cur[k] = zf * (next[k] - cur[k]);
        }
        next = *cur;
    }
}

/// B-spline coefficients (without the gain, see [`prefilter_lanes`]) of `P` images at once:
/// `c[y·pw + x][k]` on a grid `(H + 4) × (W + 4)` holding each image's coefficients with 2
/// reflected ones on each side (the coefficients share the signal's symmetry). `ymap`/`xmap` map
/// padded indices to image indices.
fn spline_coefficients<const P: usize>(
    images: ArrayView3<'_, f32>,
    ymap: &[usize],
    xmap: &[usize],
    c: &mut Vec<[f32; P]>,
) {
    let (_, h, w) = images.dim();
    let (ph, pw) = (ymap.len(), xmap.len());
    c.clear();
    c.resize(ph * pw, [0.0; P]);
    for (k, img) in images.outer_iter().enumerate() {
        for (y, row) in img.outer_iter().enumerate() {
            let o = (y + TAP_PAD) * pw + TAP_PAD;
            for (x, &v) in row.iter().enumerate() {
                c[o + x][k] = v;
            }
        }
    }
    for y in 0..h {
        let row0 = (y + TAP_PAD) * pw;
        prefilter_lanes::<P>(c, row0 + TAP_PAD, w, 1);
        // Reflected coefficient columns.
        for (x, &src) in xmap.iter().enumerate() {
            if x < TAP_PAD || x >= w + TAP_PAD {
                c[row0 + x] = c[row0 + src + TAP_PAD];
            }
        }
    }
    // Along y for every padded column, then the reflected rows.
    for x in 0..pw {
        prefilter_lanes::<P>(c, TAP_PAD * pw + x, h, pw);
    }
    for (y, &src) in ymap.iter().enumerate() {
        if y < TAP_PAD || y >= h + TAP_PAD {
            let s0 = (src + TAP_PAD) * pw;
            c.copy_within(s0..s0 + pw, y * pw);
        }
    }
}

/// Per output pixel of an `h × w` image rotated by `angle_deg`: the index of the first coefficient
/// of its 4 × 4 neighbourhood in the padded grid and the separable weights (× 6 per axis: the
/// prefilter gain, see [`prefilter_lanes`]). Cached per thread for the last angles seen, so the
/// discrete angle sets of training cost one computation each.
fn rotation_taps(angle_deg: f64, h: usize, w: usize) -> std::rc::Rc<Vec<Tap>> {
    thread_local! {
        static CACHE: std::cell::RefCell<Vec<TapCacheEntry>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let key = (angle_deg.to_bits(), h, w);
    if let Some(hit) = CACHE.with(|c| {
        c.borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, t)| t.clone())
    }) {
        return hit;
    }
    let (sin, cos) = angle_deg.to_radians().sin_cos();
    let (cy, cx) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
    let pw = w + 2 * TAP_PAD;
    let pad = TAP_PAD as isize;
    let inside = |v: f64, n: usize| {
        if v >= -0.5 && v <= n as f64 - 0.5 {
            v
        } else {
            reflect_coord(v, n)
        }
    };
    let mut taps = Vec::with_capacity(h * w);
    for i in 0..h {
        let dy = i as f64 - cy;
        // Along a row the source moves by (cos, sin) per pixel.
        let (x0, y0) = (cx - cos * cx - sin * dy, cy - sin * cx + cos * dy);
        for j in 0..w {
            let xs = inside(x0 + cos * j as f64, w);
            let ys = inside(y0 + sin * j as f64, h);
            let (fx, fy) = (xs.floor(), ys.floor());
            let base = (fy as isize - 1 + pad) as usize * pw + (fx as isize - 1 + pad) as usize;
            taps.push(Tap {
                base,
                wy: bspline_weights6((ys - fy) as f32),
                wx: bspline_weights6((xs - fx) as f32),
            });
        }
    }
    let taps = std::rc::Rc::new(taps);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= 32 {
            c.remove(0);
        }
        c.push((key, taps.clone()));
    });
    taps
}

/// (angle bits, h, w) and the taps of that rotation.
type TapCacheEntry = ((u64, usize, usize), std::rc::Rc<Vec<Tap>>);

/// One output pixel's interpolation: first coefficient index and weights along y and x.
struct Tap {
    base: usize,
    wy: [f32; 4],
    wx: [f32; 4],
}

/// Cubic B-spline weights of the 4 taps around `t ∈ [0, 1)`, times 6 (the prefilter gain).
fn bspline_weights6(t: f32) -> [f32; 4] {
    let t2 = t * t;
    let t3 = t2 * t;
    let u = 1.0 - t;
    [
        u * u * u,
        3.0 * t3 - 6.0 * t2 + 4.0,
        -3.0 * t3 + 3.0 * t2 + 3.0 * t + 1.0,
        t3,
    ]
}

/// Rotates every image of a cluster by `angle_deg` about the image centre (positive = counter-
/// clockwise as displayed with row 0 at the top, like `np.rot90` for 90°), keeping the shape.
/// Cubic B-spline interpolation (scipy.ndimage `order=3`) with a symmetric boundary; multiples of 90°
/// on square images are exact permutations.
pub fn rotate(images: ArrayView3<'_, f32>, angle_deg: f64) -> Array3<f32> {
    let (p, h, w) = images.dim();
    let quarter = angle_deg / 90.0;
    let k = quarter.round();
    if (quarter - k).abs() < 1e-12 && (h == w || (k as i64).rem_euclid(2) == 0) {
        return rot90(images, k as i64);
    }
    match p {
        8 => rotate_lanes::<8>(images, angle_deg),
        9 => rotate_lanes::<9>(images, angle_deg),
        _ => {
            // Other image counts: one lane at a time.
            let mut out = Array3::<f32>::zeros((p, h, w));
            for k in 0..p {
                let r = rotate_lanes::<1>(images.slice(s![k..k + 1, .., ..]), angle_deg);
                out.slice_mut(s![k..k + 1, .., ..]).assign(&r);
            }
            out
        }
    }
}

/// [`rotate`] of exactly `P` images, interleaved so that every tap is a P-wide multiply-add.
#[allow(clippy::needless_range_loop)]
fn rotate_lanes<const P: usize>(images: ArrayView3<'_, f32>, angle_deg: f64) -> Array3<f32> {
    let (p, h, w) = images.dim();
    debug_assert_eq!(p, P);
    let pad = TAP_PAD as isize;
    let pw = w + 2 * TAP_PAD;
    // Geometry shared by all polarisation images: the first coefficient of each output pixel's
    // 4 × 4 neighbourhood and its separable weights (4 along y, 4 along x).
    let taps = rotation_taps(angle_deg, h, w);
    let ymap: Vec<usize> = (0..h + 2 * TAP_PAD)
        .map(|y| reflect(y as isize - pad, h))
        .collect();
    let xmap: Vec<usize> = (0..pw).map(|x| reflect(x as isize - pad, w)).collect();
    let mut c = Vec::new();
    spline_coefficients::<P>(images, &ymap, &xmap, &mut c);
    // All images at once: 16 taps, each a p-wide multiply-add over the interleaved coefficients.
    let hw = h * w;
    let mut flat = vec![0.0f32; p * hw];
    for (q, Tap { base, wy, wx }) in taps.iter().enumerate() {
        let mut sum = [0.0f32; P];
        for (a, &wya) in wy.iter().enumerate() {
            let o = base + a * pw;
            for (b, &wxb) in wx.iter().enumerate() {
                let wt = wya * wxb;
                let lane = &c[o + b];
                for k in 0..P {
                    sum[k] += wt * lane[k];
                }
            }
        }
        for (k, v) in sum.iter().enumerate() {
            flat[k * hw + q] = *v;
        }
    }
    Array3::from_shape_vec((p, h, w), flat).expect("p·h·w values")
}

/// Exact rotation by k·90° counter-clockwise (as `np.rot90(img, k)` per image).
fn rot90(images: ArrayView3<'_, f32>, k: i64) -> Array3<f32> {
    let mut v = images.view();
    match k.rem_euclid(4) {
        0 => {}
        1 => {
            // rot90: transpose, then flip rows.
            v.swap_axes(1, 2);
            v.invert_axis(Axis(1));
        }
        2 => {
            v.invert_axis(Axis(1));
            v.invert_axis(Axis(2));
        }
        _ => {
            v.swap_axes(1, 2);
            v.invert_axis(Axis(2));
        }
    }
    v.as_standard_layout().into_owned()
}

/// The whole emulsion preprocessing, in the order: quality cuts (raw crop) → central crop →
/// background subtraction (per image of the crop, as the NEWSdm processed files are made) → scaling
/// → rotation → polarisation layout.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmulsionPipeline {
    /// Quality cuts on the raw cluster (`None`: keep everything).
    pub cuts: Option<QualityCuts>,
    /// Background estimate subtracted per image (`None`: keep raw values).
    pub background: Option<Background>,
    /// Brightness scaling.
    pub scale: Scale,
    /// Central crop size in pixels (`None`: keep the input size).
    pub crop: Option<usize>,
    /// Random rotation (augmentation; [`Rotation::None`] for evaluation).
    pub rotation: Rotation,
    /// Output polarisation layout.
    pub polarisations: Polarisations,
}

impl Default for EmulsionPipeline {
    /// The paper's evaluation pipeline: median subtraction, ÷128, crop to 40, periodic 9, no rotation.
    fn default() -> Self {
        Self {
            cuts: None,
            background: Some(Background::Median),
            scale: Scale::Constant(128.0),
            crop: Some(40),
            rotation: Rotation::None,
            polarisations: Polarisations::Periodic,
        }
    }
}

/// A processed batch.
#[derive(Clone, Debug, PartialEq)]
pub struct EmulsionInput {
    /// Network input `(B, 1, P, H, W)`.
    pub images: Array5<f32>,
    /// Index in the input batch of each output cluster (clusters failing the cuts are absent).
    pub kept: Vec<usize>,
    /// What the cuts did.
    pub report: CutReport,
}

impl EmulsionPipeline {
    /// Checks the configuration up front.
    pub fn validate(&self) -> Result<()> {
        self.scale.divisor()?;
        self.rotation.check()?;
        if self.crop == Some(0) {
            return Err(config("crop", "0 pixels"));
        }
        Ok(())
    }

    /// Processes one cluster `(P, H, W)` of raw pixels (already past the cuts) with rotation angle
    /// `angle_deg`; the crop is taken before converting to f32, and a periodic 9th image is not
    /// rotated twice.
    pub fn process_cluster<T: Pixel>(
        &self,
        images: ArrayView3<'_, T>,
        angle_deg: f64,
    ) -> Result<Array3<f32>> {
        let view = match self.crop {
            Some(size) => {
                let (_, h, w) = images.dim();
                if size > h || size > w {
                    return Err(Error::Shape {
                        what: "images to crop",
                        expected: format!("(P, ≥{size}, ≥{size})"),
                        found: images.shape().to_vec(),
                    });
                }
                let (y0, x0) = ((h - size) / 2, (w - size) / 2);
                images.slice_move(s![.., y0..y0 + size, x0..x0 + size])
            }
            None => images,
        };
        let x = view.mapv(|v| v.to_f32());
        let mut x = match self.background {
            Some(b) => subtract_background(x.view(), b),
            None => x,
        };
        let d = self.scale.divisor()?;
        if d != 1.0 {
            x.mapv_inplace(|v| v / d);
        }
        if angle_deg != 0.0 {
            let p = x.len_of(Axis(0));
            let periodic = p == 9 && x.index_axis(Axis(0), 8) == x.index_axis(Axis(0), 0);
            x = if periodic {
                let r = rotate(x.slice(s![..8, .., ..]), angle_deg);
                set_polarisations(r.view(), Polarisations::Periodic)?
            } else {
                rotate(x.view(), angle_deg)
            };
        }
        set_polarisations(x.view(), self.polarisations)
    }

    /// Processes a batch in parallel. Cluster i of the batch (global index `batch.start + i`) is
    /// rotated by an angle drawn from `seed` and its global index, so the result does not depend
    /// on batching or thread count. Errors on NaN or all-zero clusters, naming the cluster.
    pub fn process<T: Pixel>(&self, batch: &ClusterBatch<T>, seed: u64) -> Result<EmulsionInput> {
        self.validate()?;
        let b = batch.len();
        if b == 0 {
            return Err(Error::EmptyEvent {
                what: "cluster batch",
                reason: "no clusters".into(),
            });
        }
        // Input checks and cuts, in parallel.
        let verdicts: Vec<Result<Option<Rejection>>> = (0..b)
            .into_par_iter()
            .map(|i| {
                let c = batch.images.index_axis(Axis(0), i);
                let global = batch.start + i;
                // One pass over contiguous memory answers both checks for the common, valid case.
                let (all_finite, any_nonzero) = match c.as_slice() {
                    Some(sl) => (
                        sl.iter().all(|v| v.to_f32().is_finite()),
                        sl.iter().any(|&v| v != T::default()),
                    ),
                    None => (
                        c.iter().all(|v| v.to_f32().is_finite()),
                        c.iter().any(|&v| v != T::default()),
                    ),
                };
                if !all_finite {
                    let (pos, _) = c
                        .indexed_iter()
                        .find(|(_, v)| !v.to_f32().is_finite())
                        .expect("a non-finite pixel");
                    let count = c.iter().filter(|v| !v.to_f32().is_finite()).count();
                    return Err(Error::NonFinite {
                        what: "cluster images",
                        count,
                        index: vec![global, pos.0, pos.1, pos.2],
                    });
                }
                if !any_nonzero {
                    return Err(Error::EmptyEvent {
                        what: "cluster images",
                        reason: format!("cluster {global}: every pixel is 0"),
                    });
                }
                Ok(self.cuts.and_then(|cuts| {
                    let raw = c.mapv(|v| v.to_f32());
                    cuts.check(raw.view(), self.background.unwrap_or(Background::Median))
                }))
            })
            .collect();
        let mut report = CutReport {
            seen: b,
            ..CutReport::default()
        };
        let mut kept = Vec::with_capacity(b);
        for (i, v) in verdicts.into_iter().enumerate() {
            match v? {
                None => kept.push(i),
                Some(Rejection::Peak) => report.rejected_peak += 1,
                Some(Rejection::Pedestal) => report.rejected_pedestal += 1,
            }
        }
        report.kept = kept.len();
        let Some(&first) = kept.first() else {
            return Ok(EmulsionInput {
                images: Array5::zeros((0, 1, 0, 0, 0)),
                kept,
                report,
            });
        };
        let angle = |i: usize| {
            self.rotation
                .sample(&mut item_rng(seed, (batch.start + i) as u64))
        };
        let probe = self.process_cluster(batch.images.index_axis(Axis(0), first), angle(first))?;
        let (p, h, w) = probe.dim();
        let mut images = Array5::<f32>::zeros((kept.len(), 1, p, h, w));
        images
            .axis_iter_mut(Axis(0))
            .into_par_iter()
            .zip(kept.par_iter())
            .try_for_each(|(mut out, &i)| -> Result<()> {
                let x = self.process_cluster(batch.images.index_axis(Axis(0), i), angle(i))?;
                out.index_axis_mut(Axis(0), 0).assign(&x);
                Ok(())
            })?;
        Ok(EmulsionInput {
            images,
            kept,
            report,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array4};

    #[test]
    fn median_and_mode_by_hand() {
        assert_eq!(image_median(array![[3.0f32, 1.0], [2.0, 10.0]].view()), 2.5);
        assert_eq!(image_median(array![[3.0f32, 1.0, 2.0]].view()), 2.0);
        // Non-integer values take the sorting path, with the same semantics.
        assert_eq!(
            image_median(array![[3.5f32, 1.0], [2.0, 10.0]].view()),
            2.75
        );
        assert_eq!(image_median(array![[300.0f32, 1.0, 2.0]].view()), 2.0);
        assert_eq!(image_mode(array![[0.5f32, 0.25, 0.5, 0.25]].view()), 0.25);
        assert_eq!(
            image_mode(array![[3.0f32, 1.0, 3.0], [1.0, 7.0, 0.5]].view()),
            1.0,
            "tie 1 vs 3: smallest"
        );
        assert_eq!(image_mode(array![[4.0f32, 4.0, 3.0]].view()), 4.0);
        let x = array![[[1.0f32, 2.0], [3.0, 4.0]], [[10.0, 10.0], [10.0, 30.0]]];
        let y = subtract_background(x.view(), Background::Median);
        assert_eq!(
            y,
            array![[[-1.5f32, -0.5], [0.5, 1.5]], [[0.0, 0.0], [0.0, 20.0]]]
        );
    }

    #[test]
    fn crop_and_polarisations() {
        let x = Array3::from_shape_fn((8, 80, 80), |(p, y, x)| (p * 10000 + y * 100 + x) as f32);
        let c = central_crop(x.view(), 40).unwrap();
        assert_eq!(c.dim(), (8, 40, 40));
        assert_eq!(c[[3, 0, 0]], x[[3, 20, 20]]);
        assert_eq!(c[[3, 39, 39]], x[[3, 59, 59]]);
        assert!(central_crop(x.view(), 81).is_err());
        let nine = set_polarisations(c.view(), Polarisations::Periodic).unwrap();
        assert_eq!(nine.dim().0, 9);
        assert_eq!(nine.index_axis(Axis(0), 8), c.index_axis(Axis(0), 0));
        assert_eq!(
            set_polarisations(nine.view(), Polarisations::Eight).unwrap(),
            c
        );
        let mut bad = nine.clone();
        bad[[8, 0, 0]] += 1.0;
        assert!(set_polarisations(bad.view(), Polarisations::Eight).is_err());
        assert!(set_polarisations(x.slice(s![..5, .., ..]), Polarisations::Eight).is_err());
    }

    #[test]
    fn rotation_by_quarter_turns_is_exact() {
        let x = Array3::from_shape_fn((2, 5, 5), |(p, y, x)| (p * 100 + y * 10 + x) as f32 + 0.25);
        let r = rotate(x.view(), 90.0);
        for (p, i, j) in
            (0..2).flat_map(|p| (0..5).flat_map(move |i| (0..5).map(move |j| (p, i, j))))
        {
            assert_eq!(
                r[[p, i, j]],
                x[[p, j, 4 - i]],
                "np.rot90: transpose then flip rows"
            );
        }
        assert_eq!(rotate(x.view(), -90.0), rotate(x.view(), 270.0));
        assert_eq!(rotate(x.view(), 180.0), rotate(r.view(), 90.0));
        assert_eq!(rotate(x.view(), 360.0), x);
        assert_eq!(rotate(x.view(), 0.0), x);
    }

    #[test]
    fn spline_interpolation_reproduces_samples_and_polynomials() {
        // A tiny rotation moves nothing measurable; linear ramps are reproduced by cubic splines.
        let x = Array3::from_shape_fn((1, 9, 9), |(_, y, x)| {
            (y as f32 * 2.0 + x as f32 * 0.5).sin() * 10.0
        });
        let r = rotate(x.view(), 1e-9);
        assert!(
            r.iter().zip(x.iter()).all(|(a, b)| (a - b).abs() < 1e-4),
            "identity"
        );
        let ramp = Array3::from_shape_fn((1, 21, 21), |(_, y, x)| y as f32 * 3.0 - x as f32);
        let r = rotate(ramp.view(), 20.0);
        let (s, c) = 20f64.to_radians().sin_cos();
        for i in 8..13 {
            for j in 8..13 {
                let (dy, dx) = (i as f64 - 10.0, j as f64 - 10.0);
                let (xs, ys) = (10.0 + c * dx - s * dy, 10.0 + s * dx + c * dy);
                let expect = ys * 3.0 - xs;
                assert!(
                    (r[[0, i, j]] as f64 - expect).abs() < 1e-4,
                    "({i},{j}): {} vs {expect}",
                    r[[0, i, j]]
                );
            }
        }
    }

    #[test]
    fn pipeline_cuts_seeds_and_errors() {
        let mut imgs = Array4::<u8>::from_shape_fn((6, 9, 80, 80), |(n, p, y, x)| {
            (20 + (n + p + y * 3 + x) % 7) as u8
        });
        imgs[[1, 2, 40, 40]] = 255; // peak
        imgs.slice_mut(s![2, 3, .., ..]).fill(200); // pedestal
        let batch = ClusterBatch::new(imgs, None, None).unwrap();
        let pipe = EmulsionPipeline {
            cuts: Some(QualityCuts {
                peak_max: 250.0,
                pedestal_max: 100.0,
            }),
            rotation: Rotation::PUBLIC_CODE,
            ..EmulsionPipeline::default()
        };
        let out = pipe.process(&batch, 7).unwrap();
        assert_eq!(
            out.report,
            CutReport {
                seen: 6,
                kept: 4,
                rejected_peak: 1,
                rejected_pedestal: 1
            }
        );
        assert_eq!(out.kept, vec![0, 3, 4, 5]);
        assert_eq!(out.images.dim(), (4, 1, 9, 40, 40));
        assert_eq!(
            pipe.process(&batch, 7).unwrap(),
            out,
            "same seed, same output"
        );
        // Batching does not change a cluster's angle: process clusters 3.. alone with their offset.
        let mut tail = ClusterBatch::new(
            batch.images.slice(s![3.., .., .., ..]).to_owned(),
            None,
            None,
        )
        .unwrap();
        tail.start = 3;
        let t = pipe.process(&tail, 7).unwrap();
        assert_eq!(
            t.images.index_axis(Axis(0), 0),
            out.images.index_axis(Axis(0), 1)
        );

        let mut nan = Array4::<f32>::ones((2, 8, 40, 40));
        nan[[1, 0, 3, 4]] = f32::NAN;
        let e = EmulsionPipeline::default()
            .process(&ClusterBatch::new(nan, None, None).unwrap(), 0)
            .unwrap_err();
        assert!(e.to_string().contains("[1, 0, 3, 4]"), "{e}");
        let zero = Array4::<f32>::zeros((1, 8, 40, 40));
        let e = EmulsionPipeline::default()
            .process(&ClusterBatch::new(zero, None, None).unwrap(), 0)
            .unwrap_err();
        assert!(e.to_string().contains("every pixel is 0"), "{e}");
        let bad = EmulsionPipeline {
            scale: Scale::Constant(0.0),
            ..EmulsionPipeline::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn discrete_angles_are_multiples_of_the_step() {
        let mut rng = item_rng(1, 2);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            let a = Rotation::PUBLIC_CODE.sample(&mut rng);
            assert!(a.abs() <= 90.0 && (a / 15.0).fract() == 0.0);
            seen.insert(a as i64);
        }
        assert_eq!(seen.len(), 13);
    }
}
