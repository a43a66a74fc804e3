//! NEWSdm clusters streamed from a file: by index (a training set larger than memory reads each
//! batch's clusters from HDF5 and preprocesses them in parallel) or by contiguous range (applying a
//! trained network to a whole file with constant memory).

use crate::emulsion::EmulsionPipeline;
use crate::error::{data, Error, Result};
use crate::seed::item_rng;
use ndarray::{ArrayViewMut4, Axis};
use rareml_io::emulsion::{ClusterClass, ClusterSet, EmulsionFile};
use rayon::prelude::*;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Every cluster of every non-empty group of a NEWSdm file, in group order, preprocessed on
/// demand into items `(1, P, H, W)` ([`EmulsionPipeline::process_into`]); class labels 0–3 (C30,
/// C60, C100, background) when opened with them. With an augmentation seed, each cluster is rotated
/// by an angle drawn from the pipeline's [`rotation`](EmulsionPipeline::rotation) and (seed,
/// cluster index).
pub struct ClusterSource {
    path: PathBuf,
    sets: Vec<ClusterSet>,
    starts: Vec<usize>,
    len: usize,
    pipeline: EmulsionPipeline,
    unrotated: EmulsionPipeline,
    labels: Option<Vec<u32>>,
    item: Vec<usize>,
}

impl ClusterSource {
    /// Opens every non-empty cluster set of `path` with its labels; a group without a class
    /// (attribute, labels or path) is an error naming it.
    pub fn open(path: &Path, pipeline: EmulsionPipeline) -> Result<Self> {
        let mut s = Self::open_unlabelled(path, pipeline)?;
        let mut labels = Vec::with_capacity(s.len);
        for set in &s.sets {
            match set.class() {
                Some(c) if !set.has_labels() => {
                    labels.extend(std::iter::repeat_n(c.label() as u32, set.len()))
                }
                _ => {
                    for b in set.batches::<f32>(1024) {
                        let classes = b?.classes.ok_or_else(|| {
                            data(
                                "NEWSdm cluster set",
                                format!(
                                    "{}: group {} has no class (attribute, labels or path)",
                                    path.display(),
                                    set.group()
                                ),
                            )
                        })?;
                        labels.extend(classes.iter().map(|c: &ClusterClass| c.label() as u32));
                    }
                }
            }
        }
        s.labels = Some(labels);
        Ok(s)
    }

    /// Opens every non-empty cluster set of `path` without reading classes (clusters to score).
    pub fn open_unlabelled(path: &Path, pipeline: EmulsionPipeline) -> Result<Self> {
        pipeline.validate()?;
        if pipeline.cuts.is_some() {
            return Err(crate::error::config(
                "cuts",
                pipeline.cuts,
                "None: a streamed source keeps every cluster (apply the cuts with EmulsionPipeline::process)",
            ));
        }
        let file = EmulsionFile::open(path)?;
        let sets: Vec<ClusterSet> = file.sets()?.into_iter().filter(|s| !s.is_empty()).collect();
        let mut starts = Vec::with_capacity(sets.len());
        let mut len = 0;
        for s in &sets {
            starts.push(len);
            len += s.len();
        }
        let first = sets.first().ok_or_else(|| Error::EmptyEvent {
            what: "NEWSdm file",
            reason: format!("{}: no clusters", path.display()),
        })?;
        let (p, h, w) = pipeline.output_dim(first.get::<f32>(0)?.images.dim())?;
        Ok(Self {
            path: path.to_path_buf(),
            sets,
            starts,
            len,
            unrotated: EmulsionPipeline {
                rotation: crate::emulsion::Rotation::None,
                ..pipeline
            },
            pipeline,
            labels: None,
            item: vec![1, p, h, w],
        })
    }

    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the file holds no cluster (never: opening refuses such a file).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Class label 0–3 of every cluster (`None` when opened unlabelled).
    pub fn labels(&self) -> Option<&[u32]> {
        self.labels.as_deref()
    }

    /// Shape `(1, P, H, W)` of one item.
    pub fn item_shape(&self) -> Vec<usize> {
        self.item.clone()
    }

    fn locate(&self, i: usize) -> (usize, usize) {
        let s = self.starts.partition_point(|&st| st <= i) - 1;
        (s, i - self.starts[s])
    }

    fn per(&self) -> usize {
        self.item.iter().product()
    }

    fn check_len(&self, n: usize, out: &[f32]) -> Result<()> {
        if out.len() != n * self.per() {
            return Err(Error::Shape {
                what: "cluster batch buffer",
                expected: format!("{n} × {} values", self.per()),
                found: vec![out.len()],
            });
        }
        Ok(())
    }

    /// Writes the items of `indices` into `out` (`indices.len() × item` values), in parallel;
    /// rotated from `augment_seed` when given.
    pub fn fill(
        &self,
        indices: &[usize],
        augment_seed: Option<u64>,
        out: &mut [f32],
    ) -> Result<()> {
        self.check_len(indices.len(), out)?;
        indices
            .par_iter()
            .zip(out.par_chunks_mut(self.per()))
            .try_for_each(|(&i, slot)| {
                if i >= self.len {
                    return Err(data(
                        "cluster index",
                        format!(
                            "{}: cluster {i} out of range ({})",
                            self.path.display(),
                            self.len
                        ),
                    ));
                }
                let (s, j) = self.locate(i);
                let cluster = self.sets[s].get::<f32>(j)?;
                let angle = augment_seed
                    .map(|seed| self.pipeline.rotation.sample(&mut item_rng(seed, i as u64)))
                    .unwrap_or(0.0);
                let (p, h, w) = (self.item[1], self.item[2], self.item[3]);
                let view = ndarray::ArrayViewMut3::from_shape((p, h, w), slot)
                    .expect("slot of the item's size");
                self.pipeline
                    .process_into(cluster.images.view(), angle, view)
            })
    }

    /// Writes the items of the clusters `range` into `out` (`range.len() × item` values), reading
    /// each group's part in one hyperslab and preprocessing in parallel, without rotation; returns
    /// each cluster's grain id (`pol_ids` column GrainID, −1 without `pol_ids`).
    pub fn fill_range(&self, range: Range<usize>, out: &mut [f32]) -> Result<Vec<i64>> {
        self.check_len(range.len(), out)?;
        if range.end > self.len {
            return Err(data(
                "cluster range",
                format!(
                    "{}: clusters {}..{} of {}",
                    self.path.display(),
                    range.start,
                    range.end,
                    self.len
                ),
            ));
        }
        let shape = (range.len(), self.item[1], self.item[2], self.item[3]);
        let mut items = ArrayViewMut4::from_shape(shape, out).expect("buffer checked");
        let mut ids = Vec::with_capacity(range.len());
        let mut at = range.start;
        while at < range.end {
            let (s, j) = self.locate(at);
            let take = (self.sets[s].len() - j).min(range.end - at);
            let batch = self.sets[s].read::<f32>(j..j + take)?;
            // The same checks and processing as a whole batch in memory (no cuts: every cluster
            // keeps its slot; no rotation).
            let processed = self.unrotated.process(&batch, 0)?;
            let k0 = at - range.start;
            items
                .slice_mut(ndarray::s![k0..k0 + take, .., .., ..])
                .assign(&processed.images.index_axis(Axis(1), 0));
            match &batch.pol_ids {
                Some(p) => ids.extend(p.column(2).iter().map(|&g| g as i64)),
                None => ids.extend(std::iter::repeat_n(-1, take)),
            }
            at += take;
        }
        Ok(ids)
    }
}
