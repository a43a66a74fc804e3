//! Writing NEWSdm files: [`EmulsionWriter`] creates the file, one [`ClusterSetWriter`] per group
//! appends clusters in batches (channels-last on disk, as the group's own files).

use std::path::Path;

use super::*;
use crate::error::{Error, Result};
use crate::h5::{Ds, H5File};

/// Attributes written on every group by [`EmulsionWriter`].
#[derive(Clone, Debug, PartialEq)]
pub struct SetMeta {
    /// Class of every cluster of the group (`None` for mixed training groups, which carry `labels`).
    pub class: Option<ClusterClass>,
    /// Pixel size in nm.
    pub pixel_size_nm: f64,
    /// Program that wrote the data.
    pub generator: String,
    /// Its version.
    pub generator_version: String,
}

impl Default for SetMeta {
    fn default() -> Self {
        Self {
            class: None,
            pixel_size_nm: PIXEL_SIZE_NM,
            generator: "rareml-io".into(),
            generator_version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// What a written group holds besides `images`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetLayout {
    /// Write `pol_ids (N, 13) int32`.
    pub pol_ids: bool,
    /// Write `labels (N,) int64` (training files).
    pub labels: bool,
}

impl SetLayout {
    /// Raw / processed crops: images + pol_ids.
    pub const CROPS: Self = Self {
        pol_ids: true,
        labels: false,
    };
    /// Training files: images + labels.
    pub const TRAINING: Self = Self {
        pol_ids: false,
        labels: true,
    };
}

/// Writes NEWSdm files: one [`ClusterSetWriter`] per group.
#[derive(Debug)]
pub struct EmulsionWriter {
    h5: H5File,
}

impl EmulsionWriter {
    /// Creates (truncates) a file (datasets shuffle + deflate 4).
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        Self::create_with(path, crate::Compression::default())
    }

    /// Creates (truncates) a file whose datasets are written with `compression`.
    pub fn create_with(path: impl AsRef<Path>, compression: crate::Compression) -> Result<Self> {
        Ok(Self {
            h5: H5File::create_with(path, compression)?,
        })
    }

    /// Starts a group of clusters with `polarisations` images of `height` × `width` pixels of type `T`.
    /// The group gets the attributes `schema` ([`SCHEMA`]), `pixel_size_nm`, `polariser_angles_deg`, `generator`,
    /// `generator_version` and, when set, `class`.
    pub fn set<T: Pixel>(
        &self,
        group: &str,
        layout: SetLayout,
        (polarisations, height, width): (usize, usize, usize),
        meta: &SetMeta,
    ) -> Result<ClusterSetWriter<T>> {
        if !(polarisations == N_POLARISATIONS || polarisations == N_POLARISATIONS + 1)
            || height == 0
            || width == 0
        {
            return Err(Error::InvalidInput {
                what: "NEWSdm cluster set",
                reason: format!("images ({polarisations}, {height}, {width}): expected 8 or 9 polarisations and non-empty images"),
            });
        }
        let group = group.trim_matches('/').to_string();
        let join = |name: &str| child_path(&group, name);
        let images = self
            .h5
            .create_appendable::<T>(&join("images"), &[height, width, polarisations])?;
        let pol_ids = if layout.pol_ids {
            Some(self.h5.create_appendable::<i32>(&join("pol_ids"), &[13])?)
        } else {
            None
        };
        let labels = if layout.labels {
            Some(self.h5.create_appendable::<i64>(&join("labels"), &[])?)
        } else {
            None
        };
        let g = self.h5.group_create(&group)?;
        let gp = if group.is_empty() {
            "/"
        } else {
            group.as_str()
        };
        self.h5.set_attr_str(&g, gp, "schema", SCHEMA)?;
        self.h5
            .set_attr_f64(&g, gp, "pixel_size_nm", meta.pixel_size_nm)?;
        self.h5.set_attr_f64s(
            &g,
            gp,
            "polariser_angles_deg",
            &polariser_angles_deg(polarisations),
        )?;
        self.h5.set_attr_str(&g, gp, "generator", &meta.generator)?;
        self.h5
            .set_attr_str(&g, gp, "generator_version", &meta.generator_version)?;
        if let Some(c) = meta.class {
            self.h5.set_attr_str(&g, gp, "class", c.name())?;
        }
        Ok(ClusterSetWriter {
            images,
            pol_ids,
            labels,
            shape: (polarisations, height, width),
            class: meta.class,
            _t: std::marker::PhantomData,
        })
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> Result<()> {
        self.h5.ctx("/", "flushing", self.h5.file.flush())
    }
}

/// Appends clusters to one group of an [`EmulsionWriter`].
#[derive(Clone)]
pub struct ClusterSetWriter<T: Pixel> {
    images: Ds,
    pol_ids: Option<Ds>,
    labels: Option<Ds>,
    shape: (usize, usize, usize),
    class: Option<ClusterClass>,
    _t: std::marker::PhantomData<T>,
}

impl<T: Pixel> ClusterSetWriter<T> {
    /// Number of clusters written so far.
    pub fn len(&self) -> usize {
        self.images.rows()
    }

    /// True when nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a batch. Its images must be `(B, P, H, W)` with this set's `(P, H, W)`; `pol_ids` are
    /// required when the layout has them, classes when it has labels.
    pub fn append(&mut self, batch: &ClusterBatch<T>) -> Result<()> {
        let (b, p, h, w) = batch.images.dim();
        if (p, h, w) != self.shape {
            return Err(Error::InvalidInput {
                what: "cluster batch",
                reason: format!(
                    "images (B, P, H, W) = {:?}, the set holds (P, H, W) = {:?}",
                    (b, p, h, w),
                    self.shape
                ),
            });
        }
        if let (Some(set_class), Some(classes)) = (self.class, &batch.classes) {
            if let Some(i) = classes.iter().position(|&c| c != set_class) {
                return Err(Error::InvalidInput {
                    what: "cluster batch",
                    reason: format!(
                        "cluster {i} is {}, but the set is {}",
                        classes[i].name(),
                        set_class.name()
                    ),
                });
            }
        }
        let pol_rows = match (&self.pol_ids, &batch.pol_ids) {
            (Some(_), None) => {
                return Err(Error::InvalidInput {
                    what: "cluster batch",
                    reason: "the set stores pol_ids; the batch has none".into(),
                })
            }
            (Some(_), Some(p)) if p.dim() != (b, 13) => {
                return Err(Error::InvalidInput {
                    what: "cluster batch",
                    reason: format!("pol_ids has shape {:?}, expected ({b}, 13)", p.dim()),
                })
            }
            (Some(_), Some(p)) => Some(p),
            (None, _) => None,
        };
        let labels: Option<Vec<i64>> = match (&self.labels, &batch.classes) {
            (Some(_), None) => {
                return Err(Error::InvalidInput {
                    what: "cluster batch",
                    reason: "the set stores labels; the batch has no classes".into(),
                })
            }
            (Some(_), Some(c)) if c.len() != b => {
                return Err(Error::InvalidInput {
                    what: "cluster batch",
                    reason: format!("{} classes for {b} clusters", c.len()),
                })
            }
            (Some(_), Some(c)) => Some(c.iter().map(|c| c.label()).collect()),
            (None, _) => None,
        };
        // (B, P, H, W) → (B, H, W, P) on disk.
        let disk = swap_pixel_and_channel_axes(batch.images.view(), true);
        self.images.append(disk.view().into_dyn())?;
        if let (Some(ds), Some(p)) = (&mut self.pol_ids, pol_rows) {
            ds.append(p.view().into_dyn())?;
        }
        if let (Some(ds), Some(l)) = (&mut self.labels, labels) {
            ds.append(ndarray::ArrayView1::from(&l).into_dyn())?;
        }
        Ok(())
    }
}
