//! The NEWSdm clusters: a file read and preprocessed for training, streamed for prediction, and
//! the large fog set of another area scored by the trained network.

use super::table1::{self, GroupShifts};
use super::CARBON;
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

/// Clusters `first .. first + n` of `sample` generated with `seed` and preprocessed by `pipeline`
/// (augmentation seed `augment_seed`), in memory.
fn generated_input(
    cfg: &EmulsionConfig,
    pipeline: &EmulsionPipeline,
    sample: Sample,
    seed: u64,
    first: usize,
    n: usize,
    augment_seed: u64,
) -> Result<crate::preprocess::emulsion::EmulsionInput> {
    let raw = crate::sim::emulsion::generate(cfg, sample, seed, first as u64, n)?;
    let batch = crate::io::emulsion::ClusterBatch::new(
        raw.images.mapv(f32::from),
        raw.pol_ids,
        raw.classes,
    )?;
    Ok(pipeline.process(&batch, augment_seed)?)
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
        let input = generated_input(
            &cfg,
            &pipeline,
            Sample::Fog,
            area,
            first,
            b,
            run.options.seed,
        )?;
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

/// Seed offset of the carbon sets of the angle distributions: another "area" than the training
/// file's carbon and the large fog set.
pub(super) const CARBON_AREA: u64 = 0x0A7E_A000_CA4B;

/// Barycenter shifts of `n` clusters of each carbon sample (C30, C60, C100) generated from
/// another area than the run's data, preprocessed as the training clusters, per file group (scan).
/// Shifts only: the angle distributions (Fig. 5) need counts the validation and test splits of
/// the quick preset do not have (≈ 70 clusters per scan). A cluster without a barycentre counts
/// as a (0, 0) shift, as in the baseline.
pub(super) fn carbon_area_shifts(run: &Run, n: usize) -> Result<Vec<GroupShifts>> {
    let cfg = EmulsionConfig::default();
    let pipeline = EmulsionPipeline::default();
    let area = run.options.seed.wrapping_add(CARBON_AREA);
    let mut out = Vec::new();
    for (k, &sample) in super::SAMPLES[..CARBON.len()].iter().enumerate() {
        let names = cfg.groups(sample);
        let mut per_group = vec![Vec::new(); names.len()];
        for first in (0..n).step_by(FOG_CHUNK) {
            pipeline::cancelled()?;
            let b = (n - first).min(FOG_CHUNK);
            let input = generated_input(&cfg, &pipeline, sample, area, first, b, run.options.seed)?;
            for (j, &kept) in input.kept.iter().enumerate() {
                let g = cfg.scan_of(sample, (first + kept) as u64).unwrap_or(0);
                per_group[g]
                    .push(shift_of(input.images.slice(s![j, 0, .., .., ..])).unwrap_or((0.0, 0.0)));
            }
        }
        for (g, (group, shifts)) in names.into_iter().zip(per_group).enumerate() {
            out.push(GroupShifts {
                sample: super::SAMPLE_NAMES[k].to_string(),
                group,
                clusters: format!("{} of another area", shifts.len()),
                beam_deg: cfg.beam_direction_deg(g),
                shifts,
            });
        }
    }
    Ok(out)
}

/// Clusters read and preprocessed at a time when loading a file.
const LOAD_CHUNK: usize = 2000;

/// Refuses to hold `n` preprocessed clusters of `item` f32 values each in memory when they exceed
/// `available` bytes (no check when unknown).
pub(super) fn check_fits(n: usize, item: usize, available: Option<u64>) -> Result<()> {
    let need = n as u64 * item as u64 * std::mem::size_of::<f32>() as u64;
    match available {
        Some(a) if need > a => Err(Error::Memory {
            what: format!("{n} preprocessed clusters of {item} values (f32)"),
            need_bytes: need,
            available_bytes: a,
            advice: "lower per_sample (--events), or run where more memory is",
        }),
        _ => Ok(()),
    }
}

/// Values of one preprocessed cluster as the toy Monte Carlo generates them (9 images of
/// `CROP_PX` × `CROP_PX` through the default pipeline).
pub(super) fn generated_item_len() -> Result<usize> {
    let raw = (
        9,
        crate::sim::emulsion::CROP_PX,
        crate::sim::emulsion::CROP_PX,
    );
    let (p, h, w) = EmulsionPipeline::default().output_dim(raw)?;
    Ok(p * h * w)
}

/// Reads up to `per_sample` clusters of every group of `path` and preprocesses them (paper
/// pipeline: median subtraction, ÷128, crop 40, periodic 9th image).
pub(super) fn load_clusters(
    path: &Path,
    per_sample: usize,
    seed: u64,
    rotations: bool,
) -> Result<Clusters> {
    load_clusters_in(path, per_sample, seed, rotations, LOAD_CHUNK)
}

/// [`load_clusters`], reading `chunk` clusters at a time.
fn load_clusters_in(
    path: &Path,
    per_sample: usize,
    seed: u64,
    rotations: bool,
    chunk: usize,
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
    let share = |cs: &crate::io::emulsion::ClusterSet| {
        let is_carbon = matches!(
            cs.class(),
            Some(ClusterClass::C30keV | ClusterClass::C60keV | ClusterClass::C100keV)
        );
        let share = if is_carbon {
            per_sample.div_ceil(energy_groups(cs.class()))
        } else {
            per_sample
        };
        cs.len().min(share)
    };
    // The preprocessed clusters are held in memory: refuse before reading what cannot fit.
    let mut need = (0, 0);
    for cs in sets
        .iter()
        .filter(|cs| !table1::is_reference_group(cs.group()))
    {
        let (p, h, w) = pipeline.output_dim((cs.polarisations(), cs.height(), cs.width()))?;
        need = (need.0 + share(cs), need.1.max(p * h * w));
    }
    check_fits(need.0, need.1, crate::io::memory_available_bytes())?;
    for cs in &sets {
        let n = share(cs);
        let set_base = base;
        base += cs.len();
        let group = cs.group().to_lowercase();
        let reference_set = table1::is_reference_group(cs.group());
        if n > 0 && !reference_set {
            groups.push(cs.group().to_string());
        }
        // Read and preprocessed a chunk at a time: the raw and intermediate arrays of a whole
        // group would be several times the kept clusters' size.
        for first in (0..n).step_by(chunk) {
            let end = (first + chunk).min(n);
            // uint8 raw crops read as f32 (exact); the pipeline works in f32 either way.
            let batch = cs.read::<f32>(first..end)?;
            let input = pipeline.process(&batch, seed)?;
            cuts += end - first - input.kept.len();
            let dims = input.images.shape().to_vec();
            if reference_set {
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
                keys.index.push(set_base + first + k);
                keys.id
                    .push(batch.pol_ids.as_ref().map_or(-1, |p| p[[k, 2]] as i64));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_that_would_not_fit_are_refused_with_the_numbers() {
        // 1,000 clusters of 9 × 40 × 40 f32: 57.6 MB.
        assert!(check_fits(1000, 14_400, Some(57_600_000)).is_ok());
        assert!(check_fits(1000, 14_400, None).is_ok());
        let e = check_fits(1000, 14_400, Some(57_599_999)).unwrap_err();
        assert!(matches!(
            e,
            Error::Memory {
                need_bytes: 57_600_000,
                ..
            }
        ));
        let m = e.to_string();
        assert!(
            m.contains("1000 preprocessed clusters")
                && m.contains("0.1 GB")
                && m.contains("per_sample"),
            "{m}"
        );
    }

    /// Reading a file a few clusters at a time gives exactly what one read of each group gives:
    /// the same images, samples, groups, keys and nanoparticle shifts.
    #[test]
    fn chunked_loading_equals_whole_group_loading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.h5");
        let cfg = EmulsionConfig::default();
        crate::sim::emulsion::write(
            &path,
            &cfg,
            &Sample::ALL,
            5,
            11,
            &Default::default(),
            |_| {},
        )
        .unwrap();
        let whole = load_clusters_in(&path, 11, 3, false, 1000).unwrap();
        let chunked = load_clusters_in(&path, 11, 3, false, 4).unwrap();
        assert_eq!(whole.src.inputs(), chunked.src.inputs());
        assert_eq!(whole.sample, chunked.sample);
        assert_eq!(whole.group, chunked.group);
        assert_eq!(whole.groups, chunked.groups);
        assert_eq!(whole.keys.index, chunked.keys.index);
        assert_eq!(whole.keys.id, chunked.keys.id);
        assert_eq!(whole.reference, chunked.reference);
        assert_eq!(whole.cuts, chunked.cuts);
        assert_eq!(whole.item, chunked.item);
        // 11 per carbon energy in 4 scan groups (3, 3, 3, 2: the share is 3 per group), 11 fog,
        // 11 gamma and 11 nanoparticles, kept or cut.
        assert_eq!(whole.sample.len() + whole.reference.len() + whole.cuts, 66);
        assert_eq!(whole.groups.len(), 14);
    }
}
