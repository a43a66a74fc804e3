//! NEWSdm clusters → network input `(B, 1, P, H, W)` f32, as the NEWSdm papers and the group's public
//! code prepare them: per-image background subtraction (median, paper; or mode, public code),
//! scaling (a constant, 128 in the public code, or a global maximum over the data set, paper),
//! quality cuts (public code), central crop 80 → 40, periodic polarisation 8 → 9, and random
//! rotation (one angle per cluster, cubic B-spline interpolation with a symmetric boundary, exact
//! for multiples of 90°).

use ndarray::{s, Array3, Array5, ArrayView2, ArrayView3, ArrayViewMut3, Axis};
use rand::Rng;
use rareml_io::emulsion::{ClusterBatch, Pixel};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{config, data, Error, Result};
use crate::seed::item_rng;

mod source;
mod spline;

pub use source::ClusterSource;

mod background;
use background::{convert_and_count, merge_histograms, prefetch_rows};
pub use background::{image_median, image_mode, subtract_background, Background};

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
            other => Err(config("scale", other, "a finite divisor > 0")),
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
    /// Checks the cut values: not NaN.
    pub fn validate(&self) -> Result<()> {
        if self.peak_max.is_nan() {
            return Err(config(
                "cuts.peak_max",
                self.peak_max,
                "a brightness, not NaN",
            ));
        }
        if self.pedestal_max.is_nan() {
            return Err(config(
                "cuts.pedestal_max",
                self.pedestal_max,
                "a brightness, not NaN",
            ));
        }
        Ok(())
    }

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
                return Err(data(
                    "polarisation images",
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

    /// Checks the angles: a step > 0 and a finite largest angle ≥ 0.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Rotation::Discrete { step_deg, .. } if !(step_deg > 0.0 && step_deg.is_finite()) => {
                Err(config("rotation.step_deg", step_deg, "finite and > 0"))
            }
            Rotation::Discrete { max_deg, .. } | Rotation::Continuous { max_deg }
                if !(max_deg >= 0.0 && max_deg.is_finite()) =>
            {
                Err(config("rotation.max_deg", max_deg, "finite and ≥ 0"))
            }
            _ => Ok(()),
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

/// Random rotations of processed clusters in place: the augmentation of a training set held in
/// memory. Each item is a `(1, P, H, W)` slot (P = 8, or 9 with the 9th a copy of the 1st, which
/// stays one); its angle comes from [`Rotation::sample`] with a generator seeded by the item's seed
/// (the trainer's per-epoch, per-event seed).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomRotation {
    rotation: Rotation,
    dim: (usize, usize, usize),
}

impl RandomRotation {
    /// Rotations drawn from `rotation` of items `(1, P, H, W)` with `dim = (P, H, W)`.
    pub fn new(rotation: Rotation, dim: (usize, usize, usize)) -> Result<Self> {
        rotation.validate()?;
        let (p, h, w) = dim;
        if !(p == 8 || p == 9) || h == 0 || w == 0 {
            return Err(Error::Shape {
                what: "clusters to rotate",
                expected: "(8 or 9, H ≥ 1, W ≥ 1)".into(),
                found: vec![p, h, w],
            });
        }
        Ok(Self { rotation, dim })
    }

    /// Rotates one item (`P·H·W` values) by the angle drawn from `seed`.
    pub fn apply(&self, item: &mut [f32], seed: u64) -> Result<()> {
        let angle = self.rotation.sample(&mut item_rng(seed, 0));
        if angle == 0.0 {
            return Ok(());
        }
        let shape = self.dim;
        let len = item.len();
        let mut view =
            ndarray::ArrayViewMut3::from_shape(shape, item).map_err(|_| Error::Shape {
                what: "cluster slot",
                expected: format!("{shape:?} = {} values", shape.0 * shape.1 * shape.2),
                found: vec![len],
            })?;
        // A periodic 9th image is the copy of the 1st: rotated once, as the 1st.
        let n = shape.0.min(8);
        let r = rotate(view.slice(s![..n, .., ..]), angle);
        view.slice_mut(s![..n, .., ..]).assign(&r);
        if shape.0 == 9 {
            let first = view.index_axis(Axis(0), 0).to_owned();
            view.index_axis_mut(Axis(0), 8).assign(&first);
        }
        Ok(())
    }
}

/// Rotates every image of a cluster by `angle_deg` about the image centre (positive = counter-
/// clockwise as displayed with row 0 at the top, like `np.rot90` for 90°), keeping the shape.
/// Cubic B-spline interpolation (scipy.ndimage `order=3`) with a symmetric boundary; multiples of 90°
/// on square images are exact permutations.
pub fn rotate(images: ArrayView3<'_, f32>, angle_deg: f64) -> Array3<f32> {
    let (p, h, w) = images.dim();
    if h == 0 || w == 0 {
        // Nothing to rotate (the interpolation's period would be 0).
        return images.to_owned();
    }
    if let Some(k) = quarter_turns(angle_deg, h, w) {
        return rot90(images, k);
    }
    let mut out = Array3::<f32>::zeros((p, h, w));
    spline::rotate_into(
        images,
        angle_deg,
        out.as_slice_mut().expect("a fresh array is contiguous"),
    );
    out
}

/// `Some(k)` when `angle_deg` is k quarter turns that [`rot90`] does exactly on `h × w` images.
fn quarter_turns(angle_deg: f64, h: usize, w: usize) -> Option<i64> {
    let quarter = angle_deg / 90.0;
    let k = quarter.round();
    ((quarter - k).abs() < 1e-12 && (h == w || (k as i64).rem_euclid(2) == 0)).then_some(k as i64)
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
        if let Some(c) = &self.cuts {
            c.validate()?;
        }
        self.scale.divisor()?;
        self.rotation.validate()?;
        if self.crop == Some(0) {
            return Err(config("crop", 0, "≥ 1 pixel, or None"));
        }
        Ok(())
    }

    /// Shape `(P, H, W)` of the output for raw clusters of shape `dim` (8 or 9 images).
    pub fn output_dim(&self, dim: (usize, usize, usize)) -> Result<(usize, usize, usize)> {
        let (p, h, w) = dim;
        if h == 0 || w == 0 {
            return Err(Error::Shape {
                what: "polarisation images",
                expected: "(8 or 9, H ≥ 1, W ≥ 1)".into(),
                found: vec![p, h, w],
            });
        }
        let (oh, ow) = match self.crop {
            Some(size) if size == 0 || size > h || size > w => {
                return Err(Error::Shape {
                    what: "images to crop",
                    expected: format!("(P, ≥{size}, ≥{size})"),
                    found: vec![p, h, w],
                })
            }
            Some(size) => (size, size),
            None => (h, w),
        };
        if p != 8 && p != 9 {
            return Err(Error::Shape {
                what: "polarisation images",
                expected: "(8 or 9, H, W)".into(),
                found: vec![p, h, w],
            });
        }
        let op = match self.polarisations {
            Polarisations::Periodic => 9,
            Polarisations::Eight => 8,
        };
        Ok((op, oh, ow))
    }

    /// Processes one cluster `(P, H, W)` of raw pixels (already past the cuts) with rotation angle
    /// `angle_deg`; see [`EmulsionPipeline::process_into`].
    pub fn process_cluster<T: Pixel>(
        &self,
        images: ArrayView3<'_, T>,
        angle_deg: f64,
    ) -> Result<Array3<f32>> {
        let mut out = Array3::zeros(self.output_dim(images.dim())?);
        self.process_into(images, angle_deg, out.view_mut())?;
        Ok(out)
    }

    /// Processes one cluster `(P, H, W)` of raw pixels (already past the cuts) with rotation angle
    /// `angle_deg` into `out`, shaped as [`EmulsionPipeline::output_dim`] says. The crop is taken
    /// before converting to f32; a periodic 9th input image is neither processed nor rotated
    /// twice (the output's 9th is a copy of its 1st).
    pub fn process_into<T: Pixel>(
        &self,
        images: ArrayView3<'_, T>,
        angle_deg: f64,
        mut out: ArrayViewMut3<'_, f32>,
    ) -> Result<()> {
        let (op, oh, ow) = self.output_dim(images.dim())?;
        if out.dim() != (op, oh, ow) {
            return Err(Error::Shape {
                what: "processed cluster slot",
                expected: format!("({op}, {oh}, {ow})"),
                found: out.shape().to_vec(),
            });
        }
        let (p, h, w) = images.dim();
        let (y0, x0) = ((h - oh) / 2, (w - ow) / 2);
        let view = images.slice_move(s![.., y0..y0 + oh, x0..x0 + ow]);
        let periodic = p == 9 && view.index_axis(Axis(0), 8) == view.index_axis(Axis(0), 0);
        // The images that carry information.
        let n = if periodic { 8 } else { p };
        if n > op {
            return Err(data(
                "polarisation images",
                "the 9th image is not a copy of the 1st: dropping it would lose data",
            ));
        }
        let view = view.slice_move(s![..n, .., ..]);
        prefetch_rows(&view);
        let mut head = out.slice_mut(s![..n, .., ..]);
        match quarter_turns(angle_deg, oh, ow) {
            Some(k) => {
                self.prepare(view, head.view_mut())?;
                if k.rem_euclid(4) != 0 {
                    let r = rot90(head.view(), k);
                    head.assign(&r);
                }
            }
            None => {
                thread_local! {
                    // The prepared images before rotation, reused: `prepare` overwrites them all.
                    static PREPARED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
                }
                PREPARED.with(|buf| -> Result<()> {
                    let mut buf = buf.borrow_mut();
                    buf.resize(n * oh * ow, 0.0);
                    let mut x = ArrayViewMut3::from_shape((n, oh, ow), &mut buf[..n * oh * ow])
                        .expect("n·h·w values");
                    self.prepare(view, x.view_mut())?;
                    match head.as_slice_mut() {
                        Some(dst) => spline::rotate_into(x.view(), angle_deg, dst),
                        None => head.assign(&rotate(x.view(), angle_deg)),
                    }
                    Ok(())
                })?;
            }
        }
        if n < op {
            let (first, mut last) = out.multi_slice_mut((s![0, .., ..], s![op - 1, .., ..]));
            last.assign(&first);
        }
        Ok(())
    }

    /// Converts the cropped images to f32, subtracts each one's background and scales, into `dst`.
    fn prepare<T: Pixel>(
        &self,
        src: ArrayView3<'_, T>,
        mut dst: ArrayViewMut3<'_, f32>,
    ) -> Result<()> {
        let d = self.scale.divisor()?;
        let (_, h, w) = src.dim();
        let mut scratch = Vec::new();
        for (mut img, src) in dst.outer_iter_mut().zip(src.outer_iter()) {
            // A contiguous destination image is written in place, any other through a buffer.
            let contiguous = img.is_standard_layout();
            let buf = match img.as_slice_mut() {
                Some(sl) if contiguous => sl,
                _ => {
                    scratch.resize(h * w, 0.0);
                    &mut scratch[..]
                }
            };
            // Convert, and count byte values on the way: raw images get their background
            // without another pass.
            let mut hist = [[0u32; 256]; 4];
            let mut bytes = true;
            for (drow, srow) in buf.chunks_exact_mut(w).zip(src.outer_iter()) {
                bytes &= match srow.as_slice() {
                    Some(sl) => convert_and_count(sl, drow, &mut hist),
                    None => convert_and_count(&srow.to_vec(), drow, &mut hist),
                };
            }
            let b = match self.background {
                None => 0.0,
                Some(m) if bytes => m.of_histogram(&merge_histograms(&hist), h * w),
                Some(m) => m.estimate(
                    ArrayView2::from_shape((h, w), &*buf).expect("h·w values in the buffer"),
                ),
            };
            if b != 0.0 || d != 1.0 {
                buf.iter_mut().for_each(|v| *v = (*v - b) / d);
            }
            if !contiguous {
                img.assign(&ArrayView2::from_shape((h, w), &scratch[..]).expect("h·w values"));
            }
        }
        Ok(())
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
        let first = batch.images.index_axis(Axis(0), 0);
        let (p, h, w) = self.output_dim(first.dim())?;
        let angle = |i: usize| {
            self.rotation
                .sample(&mut item_rng(seed, (batch.start + i) as u64))
        };
        // Checks, cuts and processing in one parallel pass, so each cluster is read while it is in
        // cache; rejected clusters leave their slot unused and are compacted away below.
        let mut images = Array5::<f32>::zeros((b, 1, p, h, w));
        let verdicts: Vec<Result<Option<Rejection>>> = images
            .axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .map(|(i, mut out)| {
                let c = batch.images.index_axis(Axis(0), i);
                self.check_cluster(c, batch.start + i)?;
                let cut = self.cuts.and_then(|cuts| {
                    let raw = c.mapv(|v| v.to_f32());
                    cuts.check(raw.view(), self.background.unwrap_or(Background::Median))
                });
                if cut.is_none() {
                    self.process_into(c, angle(i), out.index_axis_mut(Axis(0), 0))?;
                }
                Ok(cut)
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
        if kept.is_empty() {
            images = Array5::zeros((0, 1, 0, 0, 0));
        } else if kept.len() < b {
            images = images.select(Axis(0), &kept);
        }
        Ok(EmulsionInput {
            images,
            kept,
            report,
        })
    }

    /// Errors on a cluster with a non-finite pixel or with every pixel 0, naming its global index.
    fn check_cluster<T: Pixel>(&self, c: ArrayView3<'_, T>, global: usize) -> Result<()> {
        // One pass over contiguous memory answers both checks for the common, valid case.
        let (all_finite, any_nonzero) = match c.as_slice() {
            Some(sl) => (
                // Blocks without early exit inside, so the check vectorises; byte pixels are
                // finite by type (`to_byte` is always `Some` for them: the loop compiles away).
                sl.chunks(256).all(|b| {
                    b.iter().fold(true, |ok, v| {
                        ok & (v.to_byte().is_some() || v.to_f32().is_finite())
                    })
                }),
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_sized_images_are_refused_not_underflowed() {
        let p = EmulsionPipeline::default();
        for dim in [(9, 0, 40), (8, 40, 0)] {
            let e = p.output_dim(dim).unwrap_err().to_string();
            assert!(e.contains("H ≥ 1, W ≥ 1"), "{e}");
            let img = Array3::<f32>::zeros(dim);
            assert!(p.process_cluster(img.view(), 13.0).is_err());
            assert_eq!(rotate(img.view(), 13.0).dim(), dim);
        }
    }
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
    fn fused_pipeline_equals_the_separate_transforms() {
        // Raw bytes (histogram path) and fractional floats (sorting path), periodic and 8 images,
        // every kind of angle; the reference chains the public transforms one by one.
        let raw = Array3::<u8>::from_shape_fn((9, 80, 80), |(p, y, x)| {
            (15 + (p * 7 + y * y + 3 * x) % 40) as u8
        });
        let mut raw9 = raw.clone();
        let first = raw9.index_axis(Axis(0), 0).to_owned();
        raw9.index_axis_mut(Axis(0), 8).assign(&first);
        let frac = raw.mapv(|v| v as f32 * 0.75 + 0.125);
        for background in [Background::Median, Background::Mode] {
            let pipe = EmulsionPipeline {
                background: Some(background),
                ..EmulsionPipeline::default()
            };
            for angle in [0.0, 90.0, -180.0, 33.0, -47.5] {
                let reference = |x: Array3<f32>, n: usize| {
                    let c = central_crop(x.slice(s![..n, .., ..]), 40).unwrap();
                    let b = subtract_background(c.view(), background).mapv(|v| v / 128.0);
                    let r = rotate(b.view(), angle);
                    set_polarisations(r.view(), Polarisations::Periodic).unwrap()
                };
                let got = pipe.process_cluster(raw9.view(), angle).unwrap();
                assert_eq!(
                    got,
                    reference(raw9.mapv(f32::from), 8),
                    "{background:?} {angle}"
                );
                let got = pipe
                    .process_cluster(frac.slice(s![..8, .., ..]), angle)
                    .unwrap();
                assert_eq!(
                    got,
                    reference(frac.clone(), 8),
                    "fractional {background:?} {angle}"
                );
                // A slot that is not contiguous (every other column of a wider array).
                let mut wide = Array3::<f32>::zeros((9, 40, 80));
                pipe.process_into(raw9.view(), angle, wide.slice_mut(s![.., .., ..;2]))
                    .unwrap();
                assert_eq!(
                    wide.slice(s![.., .., ..;2]),
                    pipe.process_cluster(raw9.view(), angle).unwrap()
                );
            }
        }
        // 9 independent images cannot become 8.
        let eight = EmulsionPipeline {
            polarisations: Polarisations::Eight,
            ..EmulsionPipeline::default()
        };
        assert!(eight.process_cluster(raw.view(), 0.0).is_err());
        assert_eq!(
            eight.process_cluster(raw9.view(), 0.0).unwrap().dim(),
            (8, 40, 40)
        );
        let mut wrong = Array3::<f32>::zeros((9, 40, 41));
        assert!(pipe_default()
            .process_into(raw9.view(), 0.0, wrong.view_mut())
            .is_err());
    }

    fn pipe_default() -> EmulsionPipeline {
        EmulsionPipeline::default()
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
