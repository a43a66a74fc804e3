//! Sources streamed from detector files: a batch reads its events from HDF5 by index and
//! preprocesses them in parallel, so a data set larger than memory trains as one in memory does.

use crate::data::{Source, Targets};
use crate::error::{Error, Result};
use crate::trainer::mix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rareml_io::emulsion::{ClusterClass, ClusterSet, EmulsionFile};
use rareml_preprocess::emulsion::{EmulsionPipeline, Rotation};
use rayon::prelude::*;
use std::path::Path;

/// NEWSdm clusters of every group of a file, read by index and preprocessed on demand: inputs
/// `(1, P, H, W)` from [`EmulsionPipeline::process_cluster`], class labels 0–3 (C30, C60, C100,
/// background); training batches are rotated by an angle drawn from `rotation` per (epoch, cluster).
pub struct EmulsionSource {
    sets: Vec<ClusterSet>,
    starts: Vec<usize>,
    pipeline: EmulsionPipeline,
    rotation: Rotation,
    targets: Targets,
    item: Vec<usize>,
}

impl EmulsionSource {
    /// Opens every cluster set of `path`; a group without a class (attribute, labels or path) is an error.
    pub fn open(path: &Path, pipeline: EmulsionPipeline, rotation: Rotation) -> Result<Self> {
        let file = EmulsionFile::open(path)?;
        let sets: Vec<ClusterSet> = file.sets()?.into_iter().filter(|s| !s.is_empty()).collect();
        let (mut starts, mut labels) = (Vec::new(), Vec::new());
        for s in &sets {
            starts.push(labels.len());
            match s.class() {
                Some(c) if !s.has_labels() => {
                    labels.extend(std::iter::repeat_n(c.label() as u32, s.len()))
                }
                _ => {
                    for b in s.batches::<f32>(1024) {
                        let b = b?;
                        let classes = b.classes.ok_or_else(|| {
                            Error::Data(format!(
                                "{}: group {} has no class (attribute, labels or path)",
                                path.display(),
                                s.group()
                            ))
                        })?;
                        labels.extend(classes.iter().map(|c: &ClusterClass| c.label() as u32));
                    }
                }
            }
        }
        let first = sets
            .first()
            .ok_or_else(|| Error::Data(format!("{}: no clusters", path.display())))?;
        let probe = pipeline.process_cluster(first.get::<f32>(0)?.images.view(), 0.0)?;
        let mut item = vec![1];
        item.extend_from_slice(probe.shape());
        Ok(Self {
            sets,
            starts,
            pipeline,
            rotation,
            targets: Targets::Classes(labels),
            item,
        })
    }

    fn locate(&self, i: usize) -> (usize, usize) {
        let s = self.starts.partition_point(|&st| st <= i) - 1;
        (s, i - self.starts[s])
    }
}

impl Source for EmulsionSource {
    fn len(&self) -> usize {
        self.targets.len()
    }

    fn item_shape(&self) -> Vec<usize> {
        self.item.clone()
    }

    fn targets(&self) -> &Targets {
        &self.targets
    }

    fn fill(&self, indices: &[usize], augment_seed: Option<u64>, out: &mut [f32]) -> Result<()> {
        let per: usize = self.item.iter().product();
        if out.len() != indices.len() * per {
            return Err(Error::Data(format!(
                "batch buffer of {} values for {} clusters of {per}",
                out.len(),
                indices.len()
            )));
        }
        indices
            .par_iter()
            .zip(out.par_chunks_mut(per))
            .try_for_each(|(&i, slot)| {
                if i >= self.len() {
                    return Err(Error::Data(format!(
                        "cluster {i} out of range (source has {})",
                        self.len()
                    )));
                }
                let (s, j) = self.locate(i);
                let cluster = self.sets[s].get::<f32>(j)?;
                let angle = match augment_seed {
                    Some(seed) => self
                        .rotation
                        .sample(&mut ChaCha8Rng::seed_from_u64(mix(seed, i as u64))),
                    None => 0.0,
                };
                let x = self
                    .pipeline
                    .process_cluster(cluster.images.view(), angle)?;
                if x.len() != per {
                    return Err(Error::Data(format!(
                        "cluster {i} ({}) gives {:?}, the source's item is {:?}",
                        self.sets[s].group(),
                        x.shape(),
                        self.item
                    )));
                }
                slot.iter_mut().zip(x.iter()).for_each(|(o, v)| *o = *v);
                Ok(())
            })
    }
}
