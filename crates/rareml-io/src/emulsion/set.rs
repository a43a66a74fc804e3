//! A group of clusters in an emulsion file ([`ClusterSet`]): opened with its shape, dtype and class
//! checked, read by hyperslab in batches, scanned for non-finite pixels.

use std::ops::Range;

use ndarray::{s, Array2, Array4, ArrayView4, Ix2, Ix4};
use serde::Serialize;

use super::{
    child_path, swap_pixel_and_channel_axes, Cluster, ClusterBatch, ClusterClass, Pixel,
    IMAGES_SHAPE, N_POLARISATIONS,
};
use crate::error::{Error, Result};
use crate::h5::{batch_ranges, Dim, Ds, H5File, F32, I16, I32, I64, I8, U8};

/// One group of clusters in a file, read lazily: counts without reading data, batches by hyperslab.
#[derive(Clone)]
pub struct ClusterSet {
    images: Ds,
    pol_ids: Option<Ds>,
    labels: Option<Ds>,
    class: Option<ClusterClass>,
    group: String,
    n: usize,
    height: usize,
    width: usize,
    polarisations: usize,
}

impl std::fmt::Debug for ClusterSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterSet")
            .field("file", &self.images.h5.path)
            .field("group", &self.group)
            .field(
                "shape",
                &(self.n, self.polarisations, self.height, self.width),
            )
            .field("pixel", &self.pixel_type())
            .field("class", &self.class)
            .finish()
    }
}

impl ClusterSet {
    /// Opens the cluster set in `group` of `h5` (its `images` and, when present, `pol_ids` and
    /// `labels`).
    pub(super) fn open(h5: &H5File, group: &str) -> Result<Self> {
        let group = group.trim_matches('/').to_string();
        let join = |name: &str| child_path(&group, name);
        let images = h5.dataset(&join("images"))?;
        images.expect_dtype(&[U8, F32])?;
        images.expect_shape(&IMAGES_SHAPE)?;
        if images.shape[1] == 0 || images.shape[2] == 0 {
            return Err(images.invalid(format!(
                "images of {}×{} pixels (shape {:?}): expected H, W ≥ 1",
                images.shape[1], images.shape[2], images.shape
            )));
        }
        let n = images.rows();
        let pol_ids = h5.dataset_opt(&join("pol_ids"))?;
        if let Some(p) = &pol_ids {
            p.expect_dtype(&[I32, I64])?;
            p.expect_shape(&[Dim::Any("N"), Dim::Is(13)])?;
            p.expect_rows(n, "one row per image")?;
        }
        let labels = h5.dataset_opt(&join("labels"))?;
        if let Some(l) = &labels {
            l.expect_dtype(&[I64, I32, I16, I8, U8])?;
            l.expect_shape(&[Dim::Any("N")])?;
            l.expect_rows(n, "one label per image")?;
        }
        let class = match h5.attr_string(if group.is_empty() { "/" } else { &group }, "class")? {
            Some(name) => Some(ClusterClass::from_name(&name).ok_or_else(|| {
                h5.invalid(
                    &format!("{group}@class"),
                    format!(
                        "unknown class {name:?}: expected C30keV, C60keV, C100keV or background"
                    ),
                )
            })?),
            None => ClusterClass::from_group_path(&group),
        };
        let shape = &images.shape;
        Ok(Self {
            n,
            height: shape[1],
            width: shape[2],
            polarisations: shape[3],
            images,
            pol_ids,
            labels,
            class,
            group,
        })
    }

    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when the set holds no cluster.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The group path ("" for the root).
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Images per cluster as stored (8, or 9 with the periodic copy).
    pub fn polarisations(&self) -> usize {
        self.polarisations
    }

    /// Image height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Image width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Stored pixel dtype ("uint8" or "float32").
    pub fn pixel_type(&self) -> &'static str {
        if self.images.dtype == U8 {
            "uint8"
        } else {
            "float32"
        }
    }

    /// The class of the whole group (attribute or path), when known.
    pub fn class(&self) -> Option<ClusterClass> {
        self.class
    }

    /// True when the set has per-cluster `labels`.
    pub fn has_labels(&self) -> bool {
        self.labels.is_some()
    }

    /// True when the set has a `pol_ids` table.
    pub fn has_pol_ids(&self) -> bool {
        self.pol_ids.is_some()
    }

    /// Reads clusters `range` as pixel type `T` (uint8 files read as f32 exactly; float32 files
    /// cannot be read as u8). Errors on NaN or infinite pixels and on labels outside 0..=3.
    pub fn read<T: Pixel>(&self, range: Range<usize>) -> Result<ClusterBatch<T>> {
        let images = self.read_images::<T>(range.clone())?;
        // Only float images can hold NaN or ±inf.
        if self.images.dtype != U8 {
            if let Some((i, count)) = first_nonfinite_cluster(images.view()) {
                return Err(self.images.invalid(format!(
                    "cluster {} holds {count} NaN or infinite pixel(s): expected finite \
                     brightness values",
                    range.start + i
                )));
            }
        }
        self.finish_batch(images, range)
    }

    /// Like [`read`](Self::read) but keeps NaN pixels (for diagnostics such as `inspect`).
    pub fn read_unchecked<T: Pixel>(&self, range: Range<usize>) -> Result<ClusterBatch<T>> {
        let images = self.read_images::<T>(range.clone())?;
        self.finish_batch(images, range)
    }

    fn finish_batch<T: Pixel>(
        &self,
        images: Array4<T>,
        range: Range<usize>,
    ) -> Result<ClusterBatch<T>> {
        Ok(ClusterBatch {
            images,
            pol_ids: self.read_pol_ids(range.clone())?,
            classes: self.read_classes(range.clone())?,
            start: range.start,
        })
    }

    /// The `pol_ids` rows `(len, 13)` of clusters `range` without their images; `None` when the
    /// set has no `pol_ids` data set.
    pub fn read_pol_ids(&self, range: Range<usize>) -> Result<Option<Array2<i32>>> {
        self.check_range(&range)?;
        match &self.pol_ids {
            Some(p) => Ok(Some(
                read_i32_rows(p, range)?
                    .into_dimensionality::<Ix2>()
                    .map_err(|e| p.invalid(e.to_string()))?,
            )),
            None => Ok(None),
        }
    }

    /// The classes of clusters `range` without their images: from the `labels` data set, or the
    /// group's class repeated; `None` when unknown.
    pub fn read_classes(&self, range: Range<usize>) -> Result<Option<Vec<ClusterClass>>> {
        self.check_range(&range)?;
        Ok(match (&self.labels, self.class) {
            (Some(l), _) => Some(self.read_labels(l, range)?),
            (None, Some(c)) => Some(vec![c; range.len()]),
            (None, None) => None,
        })
    }

    fn check_range(&self, range: &Range<usize>) -> Result<()> {
        if range.start > range.end || range.end > self.n {
            return Err(Error::OutOfRange {
                file: self.images.h5.path.clone(),
                path: self.images.path.clone(),
                index: range.end.saturating_sub(1).max(range.start),
                len: self.n,
            });
        }
        Ok(())
    }

    fn read_images<T: Pixel>(&self, range: Range<usize>) -> Result<Array4<T>> {
        if self.images.dtype == U8 {
            // uint8 converts exactly to either pixel type.
            let a = self.read_channels_first::<u8>(range)?;
            Ok(same_type::<u8, T>(a).unwrap_or_else(|a| a.mapv(T::from_u8)))
        } else {
            convert_images::<f32, T>(&self.images, self.read_channels_first::<f32>(range)?)
        }
    }

    /// Reads images in the stored type, (B, H, W, P) on disk → (B, P, H, W) in memory.
    fn read_channels_first<S: Pixel>(&self, range: Range<usize>) -> Result<Array4<S>> {
        let raw = self.images.read_rows::<S>(range)?;
        let raw = raw
            .into_dimensionality::<Ix4>()
            .map_err(|e| self.images.invalid(e.to_string()))?;
        Ok(swap_pixel_and_channel_axes(raw.view(), false))
    }

    fn read_labels(&self, l: &Ds, range: Range<usize>) -> Result<Vec<ClusterClass>> {
        let values = read_i64_rows(l, range.clone())?;
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                ClusterClass::from_label(v).ok_or_else(|| {
                    l.invalid(format!("label of cluster {} is {v}: expected 0 (C30keV), 1 (C60keV), 2 (C100keV) or 3 (background)", range.start + i))
                })
            })
            .collect()
    }

    /// Cluster `i`.
    pub fn get<T: Pixel>(&self, i: usize) -> Result<Cluster<T>> {
        if i >= self.n {
            return Err(Error::OutOfRange {
                file: self.images.h5.path.clone(),
                path: self.images.path.clone(),
                index: i,
                len: self.n,
            });
        }
        Ok(self.read::<T>(i..i + 1)?.cluster(0))
    }

    /// Streams the set in batches of `batch_size` clusters (the last may be shorter).
    pub fn batches<T: Pixel>(
        &self,
        batch_size: usize,
    ) -> impl Iterator<Item = Result<ClusterBatch<T>>> + '_ {
        batch_ranges(self.n, batch_size).map(move |r| self.read::<T>(r))
    }

    /// Per-class counts `[C30, C60, C100, background]` (reads only the labels; zeros when the class is unknown).
    pub fn class_counts(&self) -> Result<[usize; 4]> {
        let mut counts = [0; 4];
        match (&self.labels, self.class) {
            (Some(l), _) => {
                for r in batch_ranges(self.n, 1 << 20) {
                    for c in self.read_labels(l, r)? {
                        counts[c as usize] += 1;
                    }
                }
            }
            (None, Some(c)) => counts[c as usize] = self.n,
            (None, None) => {}
        }
        Ok(counts)
    }

    /// Scans the images (streamed): whether the 9th image is a copy of the 1st in every cluster
    /// (`None` for 8-image sets), and the numbers of NaN and infinite pixels.
    pub fn scan(&self, batch_size: usize) -> Result<SetScan> {
        let mut copy = self.polarisations == N_POLARISATIONS + 1;
        let mut nan_pixels = 0usize;
        let mut infinite_pixels = 0usize;
        for r in batch_ranges(self.n, batch_size) {
            let b = self.read_unchecked::<f32>(r)?;
            if copy {
                let first = b.images.slice(s![.., 0, .., ..]);
                let last = b.images.slice(s![.., N_POLARISATIONS, .., ..]);
                // Compare bit patterns so that NaN copies count as copies.
                copy = first
                    .iter()
                    .zip(last.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits());
            }
            nan_pixels += b.images.iter().filter(|v| v.is_nan()).count();
            infinite_pixels += b.images.iter().filter(|v| v.is_infinite()).count();
        }
        Ok(SetScan {
            ninth_is_copy: (self.polarisations == N_POLARISATIONS + 1).then_some(copy),
            nan_pixels,
            infinite_pixels,
        })
    }
}

/// What a full scan of a set found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SetScan {
    /// For 9-image sets: whether image 9 equals image 1 in every cluster; `None` for 8 images.
    pub ninth_is_copy: Option<bool>,
    /// Number of NaN pixels (always 0 for uint8).
    pub nan_pixels: usize,
    /// Number of +inf or −inf pixels (always 0 for uint8).
    pub infinite_pixels: usize,
}

/// The first cluster holding NaN or ±inf pixels and how many it holds.
fn first_nonfinite_cluster<T: Pixel>(images: ArrayView4<'_, T>) -> Option<(usize, usize)> {
    let bad = |v: &T| !v.to_f32().is_finite();
    // Fast path: vectorisable passes over contiguous data, in parallel, find that there is
    // nothing to report.
    if let Some(flat) = images.as_slice() {
        use rayon::prelude::*;
        if !flat.par_chunks(1 << 16).any(|c| c.iter().any(bad)) {
            return None;
        }
    }
    images.outer_iter().enumerate().find_map(|(i, c)| {
        let n = c.iter().filter(|v| bad(v)).count();
        (n > 0).then_some((i, n))
    })
}

/// `Ok(a)` unchanged when `S` and `T` are the same type (no copy), else `Err(a)`.
fn same_type<S: Pixel, T: Pixel>(a: Array4<S>) -> std::result::Result<Array4<T>, Array4<S>> {
    let any: Box<dyn std::any::Any> = Box::new(a);
    match any.downcast::<Array4<T>>() {
        Ok(t) => Ok(*t),
        Err(any) => Err(*any.downcast::<Array4<S>>().expect("the array we boxed")),
    }
}

fn convert_images<S: Pixel, T: Pixel>(ds: &Ds, a: Array4<S>) -> Result<Array4<T>> {
    let a = match same_type::<S, T>(a) {
        Ok(t) => return Ok(t),
        Err(a) => a,
    };
    let shape = a.raw_dim();
    let (values, _) = a.into_raw_vec_and_offset();
    let mut out = Vec::with_capacity(values.len());
    // A plain slice loop: the compiler vectorises the u8 → f32 case.
    for v in values {
        match T::convert_from(v) {
            Some(t) => out.push(t),
            None => {
                return Err(Error::Dtype {
                    file: ds.h5.path.clone(),
                    path: ds.path.clone(),
                    expected: format!(
                        "pixels representable as {} (asked to read {} as {})",
                        T::NAME,
                        S::NAME,
                        T::NAME
                    ),
                    found: format!("{} value {v:?}", S::NAME),
                })
            }
        }
    }
    Ok(Array4::from_shape_vec(shape, out).expect("same number of elements"))
}

/// Reads integer rows of any stored integer width as i32 (pol_ids are int32; int64 accepted if in range).
fn read_i32_rows(ds: &Ds, rows: Range<usize>) -> Result<ndarray::ArrayD<i32>> {
    if ds.dtype == I32 {
        return ds.read_rows::<i32>(rows);
    }
    let wide = ds.read_rows::<i64>(rows)?;
    let mut out = ndarray::ArrayD::<i32>::zeros(wide.raw_dim());
    for (o, &v) in out.iter_mut().zip(wide.iter()) {
        *o = i32::try_from(v).map_err(|_| ds.invalid(format!("value {v} does not fit int32")))?;
    }
    Ok(out)
}

/// Reads an integer dataset of any width as i64.
pub(crate) fn read_i64_rows(ds: &Ds, rows: Range<usize>) -> Result<Vec<i64>> {
    fn widen<T: hdf5::H5Type + Copy + Into<i64>>(ds: &Ds, rows: Range<usize>) -> Result<Vec<i64>> {
        Ok(ds.read_rows::<T>(rows)?.iter().map(|&v| v.into()).collect())
    }
    match ds.expect_dtype(&[I64, I32, I16, I8, U8])?.dtype {
        ref t if *t == I64 => widen::<i64>(ds, rows),
        ref t if *t == I32 => widen::<i32>(ds, rows),
        ref t if *t == I16 => widen::<i16>(ds, rows),
        ref t if *t == I8 => widen::<i8>(ds, rows),
        _ => widen::<u8>(ds, rows),
    }
}
