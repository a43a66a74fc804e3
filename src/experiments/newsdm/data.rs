//! The NEWSdm clusters: a file read and preprocessed for training, streamed for prediction, and
//! the large fog set of another area scored by the trained network.

use super::{table1, CARBON};
use crate::baselines::emulsion::barycenter_shift;
use crate::experiments::pipeline::{self, Run, Scored};
use crate::experiments::predict::{EventKeys, EventReader};
use crate::experiments::{Error, Result};
use crate::io::emulsion::{ClusterClass, EmulsionFile, PIXEL_SIZE_NM};
use crate::io::scores::SCORED;
use crate::preprocess::emulsion::{ClusterSource, EmulsionPipeline, RandomRotation, Rotation};
use crate::sim::emulsion::{EmulsionConfig, Sample};
use crate::train::{InMemory, Targets};
use ndarray::{s, ArrayView3};
use std::ops::Range;
use std::path::Path;

/// Clusters of a file streamed for prediction (the training pipeline's preprocessing).
pub(super) struct ClusterReader(pub(super) ClusterSource);

impl EventReader for ClusterReader {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn item_shape(&self) -> Vec<usize> {
        self.0.item_shape()
    }

    fn read(&self, range: Range<usize>, out: &mut [f32]) -> Result<Vec<(i64, u8)>> {
        let ids = self.0.fill_range(range, out)?;
        Ok(ids.into_iter().map(|id| (id, SCORED)).collect())
    }
}

/// Clusters as loaded: preprocessed images with class targets, each cluster's sample and file
/// group, and the reference nanoparticles' shifts.
pub(crate) struct Clusters {
    pub(super) keys: EventKeys,
    pub(super) src: InMemory,
    pub(super) item: [usize; 4],
    pub(super) sample: Vec<usize>,
    pub(super) cuts: usize,
    /// Index into `groups` of each cluster.
    pub(super) group: Vec<usize>,
    /// The file groups.
    pub(super) groups: Vec<String>,
    /// (shift nm, direction °) of the reference nanoparticles.
    pub(super) reference: Vec<(f64, f64)>,
    /// Reference clusters without a barycentre.
    pub(super) reference_undefined: usize,
}

/// Barycenter shifts (nm) and directions (°) of the validation and test clusters.
pub(crate) struct Shifts {
    pub(super) val: Vec<f64>,
    pub(super) test: Vec<f64>,
    pub(super) val_deg: Vec<f64>,
    pub(super) test_deg: Vec<f64>,
    pub(super) undefined: usize,
}

/// (shift nm, direction °) of a preprocessed cluster `(P, H, W)` (its first 8 images); `None`
/// when an image has no light above background.
pub(super) fn shift_of(c: ArrayView3<'_, f32>) -> Option<(f64, f64)> {
    let p = c.len_of(ndarray::Axis(0));
    barycenter_shift(c.slice(s![..8.min(p), .., ..]), PIXEL_SIZE_NM)
        .ok()
        .map(|b| (b.shift_nm, b.direction_deg))
}

/// Seed offset of the large fog set: another "area" than the training file's fog.
pub(super) const FOG_AREA: u64 = 0x0A7E_A000_F06F;

/// Fog clusters scored per chunk of the large fog set.
const FOG_CHUNK: usize = 2000;

/// Σ P(carbon) of every kept checkpoint of `net` on `n` fog clusters generated from another area
/// than the run's data, preprocessed as the training clusters, in chunks; and each cluster's
/// barycenter shift (nm, direction °; (0, 0) when undefined, as in the baseline).
#[allow(clippy::type_complexity)]
pub(super) fn fog_set_scores(
    run: &Run,
    net: &Scored,
    n: usize,
) -> Result<(Vec<Vec<f64>>, Vec<(f64, f64)>)> {
    let cfg = EmulsionConfig::default();
    let pipeline = EmulsionPipeline::default();
    let area = run.options.seed.wrapping_add(FOG_AREA);
    let t = &net.trained;
    let mut out = vec![Vec::with_capacity(n); t.kept.len()];
    let mut shifts = Vec::with_capacity(n);
    for first in (0..n).step_by(FOG_CHUNK) {
        pipeline::cancelled()?;
        let b = (n - first).min(FOG_CHUNK);
        let raw = crate::sim::emulsion::generate(&cfg, Sample::Fog, area, first as u64, b)?;
        let batch = crate::io::emulsion::ClusterBatch::new(
            raw.images.mapv(f32::from),
            raw.pol_ids,
            raw.classes,
        )?;
        let input = pipeline.process(&batch, run.options.seed)?;
        let dims = input.images.shape().to_vec();
        let m = dims[0];
        shifts.extend(
            (0..m)
                .map(|i| shift_of(input.images.slice(s![i, 0, .., .., ..])).unwrap_or((0.0, 0.0))),
        );
        let src = InMemory::new(
            input.images.into_iter().collect(),
            dims[1..].to_vec(),
            Targets::Classes(vec![3; m]),
        )?;
        let idx: Vec<usize> = (0..m).collect();
        let outs = crate::train::predict_ensemble(
            &t.model,
            &t.params,
            &t.kept,
            &src,
            &idx,
            t.spec.predict_batch,
            &run.device,
        )?;
        for (o, v) in outs.iter().zip(out.iter_mut()) {
            v.extend(crate::metrics::signal_scores(o, &CARBON)?);
        }
    }
    Ok((out, shifts))
}

/// Reads up to `per_sample` clusters of every group of `path` and preprocesses them (paper
/// pipeline: median subtraction, ÷128, crop 40, periodic 9th image).
pub(super) fn load_clusters(
    path: &Path,
    per_sample: usize,
    seed: u64,
    rotations: bool,
) -> Result<Clusters> {
    let file = EmulsionFile::open(path)?;
    let pipeline = EmulsionPipeline::default();
    let (mut images, mut sample, mut item, mut cuts) = (Vec::new(), Vec::new(), [0; 4], 0);
    let (mut keys, mut base) = (EventKeys::default(), 0);
    let (mut group_of, mut groups) = (Vec::new(), Vec::new());
    let (mut reference, mut reference_undefined) = (Vec::new(), 0);
    let sets = file.sets()?;
    // A carbon sample split into scan groups shares `per_sample` among its groups.
    let energy_groups = |class: Option<ClusterClass>| {
        sets.iter()
            .filter(|o| {
                class.is_some() && o.class() == class && !table1::is_reference_group(o.group())
            })
            .count()
            .max(1)
    };
    for cs in &sets {
        let is_carbon = matches!(
            cs.class(),
            Some(ClusterClass::C30keV | ClusterClass::C60keV | ClusterClass::C100keV)
        );
        let share = if is_carbon {
            per_sample.div_ceil(energy_groups(cs.class()))
        } else {
            per_sample
        };
        let n = cs.len().min(share);
        let set_base = base;
        base += cs.len();
        if n == 0 {
            continue;
        }
        let group = cs.group().to_lowercase();
        // uint8 raw crops read as f32 (exact); the pipeline works in f32 either way.
        let batch = cs.read::<f32>(0..n)?;
        let input = pipeline.process(&batch, seed)?;
        cuts += n - input.kept.len();
        let dims = input.images.shape().to_vec();
        if table1::is_reference_group(cs.group()) {
            // The nanoparticles set the barycenter cut's threshold; they are not trained on.
            for j in 0..input.kept.len() {
                match shift_of(input.images.slice(s![j, 0, .., .., ..])) {
                    Some(x) => reference.push(x),
                    None => {
                        reference_undefined += 1;
                        reference.push((0.0, 0.0));
                    }
                }
            }
            continue;
        }
        item = [dims[1], dims[2], dims[3], dims[4]];
        groups.push(cs.group().to_string());
        for (j, &k) in input.kept.iter().enumerate() {
            group_of.push(groups.len() - 1);
            let class = batch.classes.as_ref().map(|c| c[k]).or(cs.class());
            let class = class.ok_or_else(|| Error::Data {
                path: path.into(),
                reason: format!(
                    "group {} has no class (attribute, labels or path)",
                    cs.group()
                ),
            })?;
            sample.push(match class {
                ClusterClass::C30keV => 0,
                ClusterClass::C60keV => 1,
                ClusterClass::C100keV => 2,
                ClusterClass::Background if group.contains("fog") => 3,
                ClusterClass::Background => 4,
            });
            images.extend(input.images.slice(s![j, .., .., .., ..]).iter());
            keys.index.push(set_base + k);
            keys.id
                .push(batch.pol_ids.as_ref().map_or(-1, |p| p[[k, 2]] as i64));
        }
    }
    let carbon = sample.iter().filter(|&&s| s < 3).count();
    if sample.len() < 20 || carbon == 0 || carbon == sample.len() {
        return Err(Error::Data {
            path: path.into(),
            reason: format!(
                "{} clusters ({carbon} carbon); at least 20 with carbon and background both present are needed",
                sample.len()
            ),
        });
    }
    let labels: Vec<u32> = sample.iter().map(|&s| s.min(3) as u32).collect();
    let mut src = InMemory::new(images, item.to_vec(), Targets::Classes(labels))?;
    if rotations {
        let rot = RandomRotation::new(Rotation::PUBLIC_CODE, (item[1], item[2], item[3]))?;
        // The slot size is the source's item, which the rotation was built for.
        src = src.with_augment(Box::new(move |slot: &mut [f32], seed: u64| {
            rot.apply(slot, seed).expect("slot of the rotation's shape")
        }));
    }
    Ok(Clusters {
        keys,
        src,
        item,
        sample,
        cuts,
        group: group_of,
        groups,
        reference,
        reference_undefined,
    })
}
