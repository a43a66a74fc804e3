//! NEWSdm nuclear-emulsion clusters: 8 (or 9, the 9th a periodic copy of the 1st) microscope images
//! of one cluster taken under 8 polariser angles over 180°.
//!
//! Files are read in the NEWSdm group's own layouts (DESIGN §3, `docs/data-formats.md`):
//! - raw crops: `<group>/images (N, 80, 80, 9) uint8` + `<group>/pol_ids (N, 13) int32`;
//! - processed crops: `<group>/images (N, 40, 40, 9) float32` + `<group>/pol_ids`;
//! - training files: `train|val|test/images` + `train|val|test/labels` (int64, NEWSdm labels).
//!
//! On disk images are channels-last `(N, H, W, P)`; in memory they are channels-first
//! `(N, P, H, W)`, the order the 3D networks take. Any group path works; a group's class comes from
//! its `class` attribute (written by [`EmulsionWriter`]) or, for the group's own files that carry no
//! attributes, from its path (`Carbon/30keV` → C30keV, `fog` → background, ...).
//!
//! NaN pixels in float images are an error on read ([`Error::Invalid`] naming the cluster index);
//! `inspect` counts them instead.

use std::path::Path;

use ndarray::{Array2, Array3, Array4, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::h5::{Dim, H5File};

/// Microscope pixel size of the NEWSdm optical scans, in nm (Napoli_emulsion public code).
pub const PIXEL_SIZE_NM: f64 = 27.47;

/// Number of distinct polariser angles per cluster (8 over 180°, NEWSdm).
pub const N_POLARISATIONS: usize = 8;

/// Value of the `schema` attribute rareml writes on every NEWSdm group it creates.
pub const SCHEMA: &str = "rareml.newsdm.v1";

/// Columns of the `pol_ids` table (Napoli_emulsion public code).
pub const POL_IDS_COLUMNS: [&str; 13] = [
    "HeaderID", "ViewID", "GrainID", "pol0", "pol1", "pol2", "pol3", "pol4", "pol5", "pol6",
    "pol7", "tr_flag", "n_pol",
];

/// Polariser angles in degrees for `p` images: 180°·i/8 for i < 8, the 9th (periodic copy) at 180°.
pub fn polariser_angles_deg(p: usize) -> Vec<f64> {
    (0..p)
        .map(|i| 180.0 * i as f64 / N_POLARISATIONS as f64)
        .collect()
}

/// NEWSdm class, with the collaboration's label convention {0: C30keV, 1: C60keV, 2: C100keV, 3: background}.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum ClusterClass {
    /// Carbon-ion recoil track of 30 keV (signal).
    C30keV = 0,
    /// Carbon-ion recoil track of 60 keV (signal).
    C60keV = 1,
    /// Carbon-ion recoil track of 100 keV (signal).
    C100keV = 2,
    /// Background: fog (thermally developed grains) or gamma (Co60, Cs137) electrons.
    Background = 3,
}

impl ClusterClass {
    /// All classes in label order.
    pub const ALL: [ClusterClass; 4] =
        [Self::C30keV, Self::C60keV, Self::C100keV, Self::Background];

    /// The integer label (0..=3).
    pub fn label(self) -> i64 {
        self as i64
    }

    /// The class of an integer label, `None` outside 0..=3.
    pub fn from_label(label: i64) -> Option<Self> {
        Self::ALL.get(usize::try_from(label).ok()?).copied()
    }

    /// The name used in files and reports ("C30keV", ..., "background").
    pub fn name(self) -> &'static str {
        match self {
            Self::C30keV => "C30keV",
            Self::C60keV => "C60keV",
            Self::C100keV => "C100keV",
            Self::Background => "background",
        }
    }

    /// True for the three carbon-recoil (signal) classes.
    pub fn is_signal(self) -> bool {
        self != Self::Background
    }

    /// Parses a class name as written by [`ClusterClass::name`] (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Infers the class from a NEWSdm group path: a segment `30keV`/`60keV`/`100keV` gives the carbon
    /// class; a segment naming fog, gamma, Co60, Cs137 or background gives background.
    pub fn from_group_path(path: &str) -> Option<Self> {
        for seg in path.split('/').map(|s| s.to_ascii_lowercase()) {
            let seg = seg.trim_start_matches('c');
            match seg {
                "30kev" => return Some(Self::C30keV),
                "60kev" => return Some(Self::C60keV),
                "100kev" => return Some(Self::C100keV),
                _ => {}
            }
        }
        let lower = path.to_ascii_lowercase();
        let bkg = ["fog", "gamma", "co60", "cs137", "background", "bkg"];
        lower
            .split('/')
            .any(|seg| bkg.iter().any(|b| seg.starts_with(b)))
            .then_some(Self::Background)
    }
}

/// One row of the `pol_ids` table: where the cluster was found in each polarisation view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PolIds {
    /// Scan header id.
    pub header_id: i32,
    /// Microscope view id.
    pub view_id: i32,
    /// Grain (cluster) id.
    pub grain_id: i32,
    /// Cluster id in each of the 8 polarisation views.
    pub pol: [i32; 8],
    /// Track id ≥ 0, or −1 for an isolated grain (single-grain cluster).
    pub tr_flag: i32,
    /// Number of polarisations in which the cluster was found (8 for a complete cluster).
    pub n_pol: i32,
}

impl PolIds {
    /// From the 13 columns in file order.
    pub fn from_row(row: &[i32; 13]) -> Self {
        let mut pol = [0; 8];
        pol.copy_from_slice(&row[3..11]);
        Self {
            header_id: row[0],
            view_id: row[1],
            grain_id: row[2],
            pol,
            tr_flag: row[11],
            n_pol: row[12],
        }
    }

    /// The 13 columns in file order.
    pub fn to_row(&self) -> [i32; 13] {
        let mut r = [0; 13];
        r[0] = self.header_id;
        r[1] = self.view_id;
        r[2] = self.grain_id;
        r[3..11].copy_from_slice(&self.pol);
        r[11] = self.tr_flag;
        r[12] = self.n_pol;
        r
    }

    /// True for an isolated grain (`tr_flag == -1`).
    pub fn is_isolated(&self) -> bool {
        self.tr_flag == -1
    }
}

/// Pixel types of NEWSdm images: `u8` (raw crops) and `f32` (processed crops).
pub trait Pixel:
    hdf5::H5Type + Copy + Default + PartialEq + Send + Sync + std::fmt::Debug + 'static
{
    /// The HDF5 dtype name ("uint8", "float32").
    const NAME: &'static str;
    /// Converts a uint8 pixel (exact for both pixel types).
    fn from_u8(v: u8) -> Self;
    /// Converts a stored pixel of type `S` to `Self`, `None` when that would lose information.
    fn convert_from<S: Pixel>(s: S) -> Option<Self>;
    /// The value as f32 (exact for both pixel types).
    fn to_f32(self) -> f32;
    /// True for NaN (never for integers).
    fn is_nan(self) -> bool;
    /// The value as a byte when it is an integer in 0..=255 (always for `u8`), else `None`.
    fn to_byte(self) -> Option<u8>;
}

impl Pixel for u8 {
    const NAME: &'static str = "uint8";
    fn from_u8(v: u8) -> Self {
        v
    }
    fn convert_from<S: Pixel>(s: S) -> Option<Self> {
        let v = s.to_f32();
        (v.fract() == 0.0 && (0.0..=255.0).contains(&v)).then_some(v as u8)
    }
    fn to_f32(self) -> f32 {
        self as f32
    }
    fn is_nan(self) -> bool {
        false
    }
    fn to_byte(self) -> Option<u8> {
        Some(self)
    }
}

impl Pixel for f32 {
    const NAME: &'static str = "float32";
    fn from_u8(v: u8) -> Self {
        v as f32
    }
    fn convert_from<S: Pixel>(s: S) -> Option<Self> {
        Some(s.to_f32())
    }
    fn to_f32(self) -> f32 {
        self
    }
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    fn to_byte(self) -> Option<u8> {
        let b = self as u8;
        (b as f32 == self).then_some(b)
    }
}

/// One emulsion cluster in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster<T: Pixel = f32> {
    /// Polarisation images, channels-first `(P, H, W)`, brightness in ADC counts (raw) or background-subtracted counts.
    pub images: Array3<T>,
    /// Class, when known.
    pub class: Option<ClusterClass>,
    /// The `pol_ids` metadata row, when the file has one.
    pub pol_ids: Option<PolIds>,
}

impl<T: Pixel> Cluster<T> {
    /// True when there are 9 images and the 9th equals the 1st (the periodic copy of the NEWSdm layouts).
    pub fn has_periodic_copy(&self) -> bool {
        let p = self.images.len_of(Axis(0));
        p == N_POLARISATIONS + 1
            && self.images.index_axis(Axis(0), p - 1) == self.images.index_axis(Axis(0), 0)
    }
}

/// A batch of clusters in memory: the unit of streaming reads and of writing.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterBatch<T: Pixel = f32> {
    /// Images, channels-first `(B, P, H, W)`.
    pub images: Array4<T>,
    /// `pol_ids` rows `(B, 13)`, when present.
    pub pol_ids: Option<Array2<i32>>,
    /// Per-cluster class: from a `labels` dataset, or the group's class repeated; `None` when unknown.
    pub classes: Option<Vec<ClusterClass>>,
    /// Index of the first cluster of the batch in its data set.
    pub start: usize,
}

impl<T: Pixel> ClusterBatch<T> {
    /// Builds a batch, checking that metadata lengths match the number of images.
    pub fn new(
        images: Array4<T>,
        pol_ids: Option<Array2<i32>>,
        classes: Option<Vec<ClusterClass>>,
    ) -> Result<Self> {
        let b = images.len_of(Axis(0));
        if let Some(p) = &pol_ids {
            if p.dim() != (b, 13) {
                return Err(Error::InvalidInput {
                    what: "cluster batch",
                    reason: format!("pol_ids has shape {:?}, expected ({b}, 13)", p.dim()),
                });
            }
        }
        if let Some(c) = &classes {
            if c.len() != b {
                return Err(Error::InvalidInput {
                    what: "cluster batch",
                    reason: format!("{} classes for {b} clusters", c.len()),
                });
            }
        }
        Ok(Self {
            images,
            pol_ids,
            classes,
            start: 0,
        })
    }

    /// Builds a batch from single clusters (all with the same image shape).
    pub fn from_clusters(clusters: &[Cluster<T>]) -> Result<Self> {
        let Some(first) = clusters.first() else {
            return Err(Error::InvalidInput {
                what: "cluster batch",
                reason: "no clusters".into(),
            });
        };
        let (p, h, w) = first.images.dim();
        let mut images = Array4::<T>::default((clusters.len(), p, h, w));
        for (i, c) in clusters.iter().enumerate() {
            if c.images.dim() != (p, h, w) {
                return Err(Error::InvalidInput {
                    what: "cluster batch",
                    reason: format!(
                        "cluster {i} has images {:?}, cluster 0 has {:?}",
                        c.images.dim(),
                        (p, h, w)
                    ),
                });
            }
            images.index_axis_mut(Axis(0), i).assign(&c.images);
        }
        let pol_ids = if clusters.iter().all(|c| c.pol_ids.is_some()) {
            let rows: Vec<i32> = clusters
                .iter()
                .flat_map(|c| c.pol_ids.expect("checked").to_row())
                .collect();
            Some(Array2::from_shape_vec((clusters.len(), 13), rows).expect("13 columns"))
        } else {
            None
        };
        let classes = clusters.iter().map(|c| c.class).collect::<Option<Vec<_>>>();
        Self::new(images, pol_ids, classes)
    }

    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.images.len_of(Axis(0))
    }

    /// True when the batch holds no cluster.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cluster `i` of the batch (copied out).
    pub fn cluster(&self, i: usize) -> Cluster<T> {
        Cluster {
            images: self.images.index_axis(Axis(0), i).to_owned(),
            class: self.classes.as_ref().map(|c| c[i]),
            pol_ids: self.pol_ids.as_ref().map(|p| {
                let mut row = [0; 13];
                row.iter_mut().zip(p.row(i)).for_each(|(d, s)| *d = *s);
                PolIds::from_row(&row)
            }),
        }
    }

    /// Writes the images `(B, P, H, W)` as an NPY file for numpy users.
    pub fn write_npy(&self, path: impl AsRef<Path>) -> Result<()>
    where
        T: ndarray_npy::WritableElement,
    {
        crate::npy::write_npy(path, &self.images)
    }
}

/// Which of the NEWSdm layouts a file follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmulsionLayout {
    /// Raw crops: uint8 images + pol_ids per group.
    Raw,
    /// Processed crops: float32 images + pol_ids per group.
    Processed,
    /// Training file: `train`/`val`/`test` groups with images + labels.
    Training,
}

/// Shape of a NEWSdm `images` dataset: (N, H, W, P) with P = 8 or 9.
const IMAGES_SHAPE: [Dim; 4] = [
    Dim::Any("N"),
    Dim::Any("H"),
    Dim::Any("W"),
    Dim::OneOf(&[8, 9]),
];

/// Group names of a training file's splits.
const TRAINING_SPLITS: [&str; 3] = ["train", "val", "test"];

/// Path of dataset `name` in `group` ("" = the root).
fn child_path(group: &str, name: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{group}/{name}")
    }
}

/// An open NEWSdm HDF5 file.
#[derive(Clone, Debug)]
pub struct EmulsionFile {
    h5: H5File,
}

impl EmulsionFile {
    /// Opens a file read-only.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            h5: H5File::open(path)?,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        self.h5.path()
    }

    /// Groups that hold an `images` dataset ("" for the root), sorted. An `images` dataset of
    /// another rank than 4 is an error (never skipped), and so, once the file holds images, is a
    /// `labels` or `pol_ids` dataset in a group without them.
    pub fn groups(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut companions = Vec::new();
        for p in self.h5.dataset_paths()? {
            let (group, name) = p.rsplit_once('/').unwrap_or(("", p.as_str()));
            match name {
                "images" => {
                    self.h5.dataset(&p)?.expect_shape(&IMAGES_SHAPE)?;
                    out.push(group.to_string());
                }
                "labels" | "pol_ids" => companions.push((group.to_string(), p.clone())),
                _ => {}
            }
        }
        if !out.is_empty() {
            if let Some((group, p)) = companions.iter().find(|(g, _)| !out.contains(g)) {
                return Err(self.h5.missing(
                    &child_path(group, "images"),
                    "dataset",
                    &format!("{p} holds per-cluster data of images that are not in the file"),
                ));
            }
        }
        Ok(out)
    }

    /// The layout, from the first group with images: training if it has `labels`, else raw for
    /// uint8 and processed for float32. Errors when there is no image group.
    pub fn layout(&self) -> Result<EmulsionLayout> {
        let groups = self.groups()?;
        let Some(g) = groups.first() else {
            return Err(self.h5.missing(
                "*/images",
                "dataset",
                "no group holds a NEWSdm `images` dataset (N, H, W, P)",
            ));
        };
        let set = self.set(g)?;
        let splits: Vec<&String> = groups
            .iter()
            .filter(|g| TRAINING_SPLITS.contains(&g.as_str()))
            .collect();
        let labelled = |g: &str| self.h5.exists(&child_path(g, "labels"));
        if set.has_labels() || splits.iter().any(|g| labelled(g)) {
            // A training file: its `train` split is there, and every split has labels.
            if !groups.iter().any(|g| g == "train") {
                return Err(self.h5.missing(
                    "train/images",
                    "dataset",
                    &format!(
                        "a training file (its groups: {}) needs its train split",
                        groups.join(", ")
                    ),
                ));
            }
            for g in splits {
                if !labelled(g) {
                    return Err(self.h5.missing(
                        &child_path(g, "labels"),
                        "dataset",
                        "every split of a training file has one label per image",
                    ));
                }
            }
        }
        Ok(if set.has_labels() {
            EmulsionLayout::Training
        } else if set.pixel_type() == "uint8" {
            EmulsionLayout::Raw
        } else {
            EmulsionLayout::Processed
        })
    }

    /// Opens the cluster set in `group` (its `images` and, when present, `pol_ids` and `labels`).
    pub fn set(&self, group: &str) -> Result<ClusterSet> {
        ClusterSet::open(&self.h5, group)
    }

    /// All cluster sets of the file, in group order.
    pub fn sets(&self) -> Result<Vec<ClusterSet>> {
        self.groups()?.iter().map(|g| self.set(g)).collect()
    }
}

mod set;
pub use set::{ClusterSet, SetScan};

mod write;
pub use write::{ClusterSetWriter, EmulsionWriter, SetLayout, SetMeta};

/// `(B, P, H, W)` → `(B, H, W, P)` (`to_channels_last`) or `(B, H, W, P)` → `(B, P, H, W)`: per
/// cluster a transpose of a `P × HW` matrix (or back), clusters in parallel. ndarray's generic
/// `as_standard_layout` of the permuted view took a third of the time of writing raw files.
fn swap_pixel_and_channel_axes<T: Copy + Send + Sync + Default>(
    src: ndarray::ArrayView4<'_, T>,
    to_channels_last: bool,
) -> Array4<T> {
    use rayon::prelude::*;
    let (b, d1, d2, d3) = src.dim();
    let (shape, rows, cols) = if to_channels_last {
        ((b, d2, d3, d1), d1, d2 * d3)
    } else {
        ((b, d3, d1, d2), d1 * d2, d3)
    };
    let src = src.as_standard_layout();
    let src = src.as_slice().expect("standard layout");
    // Every element is written below: no zero fill first (a pass over as much memory as the
    // copy itself).
    let mut out = Array4::<T>::uninit(shape);
    let per = rows * cols;
    if per > 0 {
        out.as_slice_mut()
            .expect("a fresh array is contiguous")
            .par_chunks_mut(per)
            .zip(src.par_chunks(per))
            .for_each(|(dst, src)| {
                // dst[c·rows + r] = src[r·cols + c]: read `rows` streams, write sequentially.
                for (c, d) in dst.chunks_exact_mut(rows).enumerate() {
                    for (r, v) in d.iter_mut().enumerate() {
                        v.write(src[r * cols + c]);
                    }
                }
            });
    }
    // SAFETY: the chunks of `per` elements cover the array (its length is b·per) and each chunk's
    // `cols` runs of `rows` elements are all written; with per = 0 the array is empty.
    unsafe { out.assume_init() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_from_paths_names_and_labels() {
        for (path, class) in [
            ("Carbon/30keV", ClusterClass::C30keV),
            ("Carbon/100keV/0degr/part0", ClusterClass::C100keV),
            ("C60keV", ClusterClass::C60keV),
            ("fog/Scan01/part0", ClusterClass::Background),
            ("gamma_Co60", ClusterClass::Background),
        ] {
            assert_eq!(ClusterClass::from_group_path(path), Some(class), "{path}");
        }
        assert_eq!(ClusterClass::from_group_path("Carbon/130keV"), None);
        assert_eq!(ClusterClass::from_group_path("train"), None);
        for c in ClusterClass::ALL {
            assert_eq!(ClusterClass::from_label(c.label()), Some(c));
            assert_eq!(ClusterClass::from_name(c.name()), Some(c));
        }
        assert_eq!(ClusterClass::from_label(4), None);
        assert_eq!(ClusterClass::from_label(-1), None);
        assert!(ClusterClass::C30keV.is_signal() && !ClusterClass::Background.is_signal());
    }

    #[test]
    fn pol_ids_row_roundtrip() {
        let row: [i32; 13] = std::array::from_fn(|i| i as i32 * 3 - 1);
        let p = PolIds::from_row(&row);
        assert_eq!(p.to_row(), row);
        assert_eq!(p.pol[0], 8);
        assert!(!p.is_isolated());
        assert!(PolIds { tr_flag: -1, ..p }.is_isolated());
    }

    #[test]
    fn pixel_conversion_is_exact_or_refused() {
        assert_eq!(f32::convert_from(200u8), Some(200.0));
        assert_eq!(u8::convert_from(200.0f32), Some(200));
        assert_eq!(u8::convert_from(2.5f32), None);
        assert_eq!(u8::convert_from(-1.0f32), None);
        assert_eq!(u8::convert_from(f32::NAN), None);
    }

    #[test]
    fn batch_construction_checks_lengths() {
        let img = Array4::<f32>::zeros((3, 9, 4, 4));
        assert!(ClusterBatch::new(img.clone(), Some(Array2::zeros((2, 13))), None).is_err());
        assert!(ClusterBatch::new(img.clone(), None, Some(vec![ClusterClass::C30keV])).is_err());
        let b = ClusterBatch::new(img, Some(Array2::zeros((3, 13))), None).unwrap();
        assert_eq!(b.len(), 3);
        assert!(b.cluster(1).has_periodic_copy());
        let again = ClusterBatch::from_clusters(&[b.cluster(0), b.cluster(2)]).unwrap();
        assert_eq!(again.len(), 2);
        assert!(again.pol_ids.is_some() && again.classes.is_none());
    }

    #[test]
    fn angles_cover_180_degrees() {
        assert_eq!(
            polariser_angles_deg(8),
            vec![0.0, 22.5, 45.0, 67.5, 90.0, 112.5, 135.0, 157.5]
        );
        assert_eq!(polariser_angles_deg(9)[8], 180.0);
    }
}
