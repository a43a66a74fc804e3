//! NEWSdm clusters streamed from a file by index: a training set larger than memory reads each
//! batch's clusters from HDF5 and preprocesses them in parallel.

use crate::emulsion::EmulsionPipeline;
use crate::error::{data, Error, Result};
use crate::seed::item_rng;
use rareml_io::emulsion::{ClusterClass, ClusterSet, EmulsionFile};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Every cluster of every group of a NEWSdm file, read by index and preprocessed on demand into
/// items `(1, P, H, W)` with [`EmulsionPipeline::process_cluster`]; class labels 0–3 (C30, C60,
/// C100, background). With an augmentation seed, each cluster is rotated by an angle drawn from
/// the pipeline's [`rotation`](EmulsionPipeline::rotation) and (seed, cluster index).
pub struct ClusterSource {
    path: PathBuf,
    sets: Vec<ClusterSet>,
    starts: Vec<usize>,
    pipeline: EmulsionPipeline,
    labels: Vec<u32>,
    item: Vec<usize>,
}

impl ClusterSource {
    /// Opens every non-empty cluster set of `path`; a group without a class (attribute, labels or
    /// path) is an error naming it.
    pub fn open(path: &Path, pipeline: EmulsionPipeline) -> Result<Self> {
        pipeline.validate()?;
        let file = EmulsionFile::open(path)?;
        let sets: Vec<ClusterSet> = file.sets()?.into_iter().filter(|s| !s.is_empty()).collect();
        let (mut starts, mut labels) = (Vec::new(), Vec::new());
        let no_class = |s: &ClusterSet| {
            data(
                "NEWSdm cluster set",
                format!(
                    "{}: group {} has no class (attribute, labels or path)",
                    path.display(),
                    s.group()
                ),
            )
        };
        for s in &sets {
            starts.push(labels.len());
            match s.class() {
                Some(c) if !s.has_labels() => {
                    labels.extend(std::iter::repeat_n(c.label() as u32, s.len()))
                }
                _ => {
                    for b in s.batches::<f32>(1024) {
                        let classes = b?.classes.ok_or_else(|| no_class(s))?;
                        labels.extend(classes.iter().map(|c: &ClusterClass| c.label() as u32));
                    }
                }
            }
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
            pipeline,
            labels,
            item: vec![1, p, h, w],
        })
    }

    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the file holds no cluster (never: [`open`](Self::open) refuses such a file).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Class label 0–3 of every cluster.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// Shape `(1, P, H, W)` of one item.
    pub fn item_shape(&self) -> Vec<usize> {
        self.item.clone()
    }

    fn locate(&self, i: usize) -> (usize, usize) {
        let s = self.starts.partition_point(|&st| st <= i) - 1;
        (s, i - self.starts[s])
    }

    /// Writes the items of `indices` into `out` (`indices.len() × item` values), in parallel;
    /// rotated from `augment_seed` when given.
    pub fn fill(
        &self,
        indices: &[usize],
        augment_seed: Option<u64>,
        out: &mut [f32],
    ) -> Result<()> {
        let per: usize = self.item.iter().product();
        if out.len() != indices.len() * per {
            return Err(Error::Shape {
                what: "cluster batch buffer",
                expected: format!("{} × {per} values", indices.len()),
                found: vec![out.len()],
            });
        }
        indices
            .par_iter()
            .zip(out.par_chunks_mut(per))
            .try_for_each(|(&i, slot)| {
                if i >= self.len() {
                    return Err(data(
                        "cluster index",
                        format!(
                            "{}: cluster {i} out of range ({})",
                            self.path.display(),
                            self.len()
                        ),
                    ));
                }
                let (s, j) = self.locate(i);
                let cluster = self.sets[s].get::<f32>(j)?;
                let angle = augment_seed
                    .map(|seed| self.pipeline.rotation.sample(&mut item_rng(seed, i as u64)))
                    .unwrap_or(0.0);
                let x = self
                    .pipeline
                    .process_cluster(cluster.images.view(), angle)?;
                if x.len() != per {
                    return Err(Error::Shape {
                        what: "processed cluster",
                        expected: format!(
                            "{:?} ({}, group {})",
                            self.item,
                            self.path.display(),
                            self.sets[s].group()
                        ),
                        found: x.shape().to_vec(),
                    });
                }
                slot.iter_mut().zip(x.iter()).for_each(|(o, v)| *o = *v);
                Ok(())
            })
    }
}
