//! NEWSdm: NEWSnet versus the barycenter-shift cut — per-class carbon efficiencies and fog /
//! gamma reduction factors at a threshold chosen on validation, and the paper's Table 1 (the cut
//! at the nanoparticle threshold, NEWSnet at its efficiency, fog counted on a large generated set)
//! with the shift-angle distributions ([`table1`]).

pub mod search;
pub mod table1;

use super::pipeline::{
    self, Ensemble, Experiment, NetworkSpec, NetworkSummary, Run, Scored, TrainingSummary,
};
use super::predict::{EventKeys, EventReader, Outputs};
use super::{setting_err, Error, Options, Preset, Result};
use crate::baselines::emulsion::barycenter_shift;
use crate::io::emulsion::{ClusterClass, EmulsionFile, PIXEL_SIZE_NM};
use crate::io::scores::SCORED;
use crate::metrics::{
    choose_threshold, ensemble_interval, per_class_selection, roc_curve, working_point, Bound,
    ClassSelection, Criterion, EnsembleInterval, Roc, WorkingPoint,
};
use crate::models::{ModelConfig, NewsNetConfig, NewsNetStage};
use crate::preprocess::emulsion::{ClusterSource, EmulsionPipeline, RandomRotation, Rotation};
use crate::report::browser::{selection, Browser, Cell, Column};
use crate::report::pictures::emulsion_cluster;
use crate::report::plot::{histogram_png, roc_png, RocSeries};
use crate::report::{fmt, markdown_table, Report};
use crate::sim::emulsion::{EmulsionConfig, Sample};
use crate::train::{AdamConfig, InMemory, Schedule, Source, Split, Targets, Task, TrainConfig};
use ndarray::{s, ArrayView3};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::Path;

/// Sizes and choices of a NEWSdm run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The preset these settings started from.
    pub preset: Preset,
    /// Clusters per generated sample (C30, C60, C100, fog, gamma), or read at most per file group.
    pub per_sample: usize,
    /// Training epochs.
    pub epochs: usize,
    /// The network (its input is set from the data).
    pub net: NewsNetConfig,
    /// Batch size.
    pub batch: usize,
    /// Random rotations of whole clusters during training (public code: −90…90° in 15° steps).
    pub rotations: bool,
    /// Carbon (all energies) efficiency at which the working point is chosen on validation.
    pub signal_efficiency: f64,
    /// Checkpoints kept: the ensemble whose spread is reported.
    pub keep_last: usize,
    /// Fog clusters generated from another area (seed) and scored by the trained network alone,
    /// so that a fog fraction of 10⁻³–10⁻⁴ is a count (generated data only; 0: none).
    #[serde(default)]
    pub fog_test: usize,
    /// Weight μ of the categorical cross-entropy in the loss (public code: 0.53).
    #[serde(default = "default_mu")]
    pub mu: f64,
    /// Adam's hyper-parameters (public code: lr 6.5·10⁻⁴, β 0.9 / 0.99, ε 10⁻⁷).
    #[serde(default = "AdamConfig::newsdm")]
    pub optimizer: AdamConfig,
    /// Learning-rate decay factor per epoch (exponential schedule; public code: 0.9).
    #[serde(default = "default_lr_decay")]
    pub lr_decay: f64,
}

fn default_mu() -> f64 {
    0.53
}

fn default_lr_decay() -> f64 {
    0.9
}

impl Settings {
    /// The preset's sizes.
    pub fn preset(preset: Preset) -> Self {
        match preset {
            // A narrower NEWSnet (stem 8/16, bottlenecks 16 and 32, one identity block each) on
            // the same 9 × 40 × 40 input.
            Preset::Quick => Settings {
                preset,
                per_sample: 700,
                epochs: 8,
                net: NewsNetConfig {
                    stem_filters: [8, 16],
                    stages: vec![
                        NewsNetStage {
                            filters: 16,
                            identity_blocks: 1,
                            stride: 2,
                        },
                        NewsNetStage {
                            filters: 32,
                            identity_blocks: 1,
                            stride: 1,
                        },
                    ],
                    dropout: 0.2,
                    ..Default::default()
                },
                batch: 32,
                rotations: false,
                signal_efficiency: 0.9,
                keep_last: 3,
                fog_test: 20_000,
                mu: default_mu(),
                optimizer: AdamConfig::newsdm(),
                lr_decay: default_lr_decay(),
            },
            // The paper's sizes: samples of ~10⁵, batch 256, 60 epochs, the last ten epochs'
            // networks as the ensemble.
            Preset::Paper => Settings {
                preset,
                per_sample: 100_000,
                epochs: 60,
                net: NewsNetConfig::default(),
                batch: 256,
                rotations: false,
                signal_efficiency: 0.9,
                keep_last: 10,
                fog_test: 100_000,
                mu: default_mu(),
                optimizer: AdamConfig::newsdm(),
                lr_decay: default_lr_decay(),
            },
        }
    }

    /// Settings from a JSON file (as `--search` writes its best trial's), checked.
    pub fn read(path: &Path) -> Result<Self> {
        let file = |reason: String| Error::File {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file(format!("cannot read: {e}")))?;
        let s: Settings = serde_json::from_str(&text).map_err(|e| {
            file(format!(
                "not NEWSdm settings (JSON of newsdm::Settings): {e}"
            ))
        })?;
        s.validate()
            .map_err(|e| file(format!("settings out of range: {e}")))?;
        Ok(s)
    }

    /// Checks every setting (the network's own fields too); the error names one field.
    pub fn validate(&self) -> Result<()> {
        let bad = |f, v: &dyn std::fmt::Debug, a| Err(setting_err("newsdm", f, v, a));
        if self.per_sample < 4 {
            return bad("per_sample", &self.per_sample, "≥ 4 clusters");
        }
        if !(self.signal_efficiency > 0.0 && self.signal_efficiency <= 1.0) {
            return bad("signal_efficiency", &self.signal_efficiency, "in (0, 1]");
        }
        if !(0.0..=1.0).contains(&self.mu) {
            return bad("mu", &self.mu, "in [0, 1]");
        }
        if !(self.lr_decay > 0.0 && self.lr_decay <= 1.0) {
            return bad("lr_decay", &self.lr_decay, "in (0, 1]");
        }
        self.train_config(0, false).validate()?;
        Ok(self.net.validate()?)
    }

    fn train_config(&self, seed: u64, progress: bool) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch,
            optimizer: self.optimizer.clone(),
            schedule: Schedule::Exponential {
                gamma: self.lr_decay,
            },
            weight_decay_schedule: Default::default(),
            seed,
            keep_last: self.keep_last,
            ensemble: crate::train::EnsembleRule::Last,
            progress,
        }
    }
}

/// Runs the pipeline and returns the report (also written to `OUT/report.json`).
pub fn run(options: &Options, settings: &Settings) -> Result<NewsdmReport> {
    pipeline::run(&Newsdm(settings.clone()), options)
}

/// The samples the toy Monte Carlo generates (indices 0–4 of [`SAMPLE_NAMES`]).
const SAMPLES: [Sample; 6] = Sample::ALL;

/// Names of the samples a cluster belongs to: 0–2 carbon (signal), 3 fog, 4 gamma or other
/// background (the nanoparticle reference sample is kept apart: [`table1::is_reference_group`]).
pub const SAMPLE_NAMES: [&str; 5] = ["C30", "C60", "C100", "fog", "gamma"];

/// Signal samples (and the network's signal classes).
const CARBON: [usize; 3] = [0, 1, 2];

/// Confidence level of every interval in the report.
const CL: f64 = 0.95;

/// The NEWSdm experiment.
pub(crate) struct Newsdm(Settings);

/// The experiment of `settings` (for applying a trained run).
pub(crate) fn experiment(settings: Settings) -> Newsdm {
    Newsdm(settings)
}

/// The network's classes (its outputs) and the signal ones.
const CLASSES: [&str; 4] = ["C30", "C60", "C100", "background"];

/// Clusters of a file streamed for prediction (the training pipeline's preprocessing).
struct ClusterReader(ClusterSource);

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
    keys: EventKeys,
    src: InMemory,
    item: [usize; 4],
    sample: Vec<usize>,
    cuts: usize,
    /// Index into `groups` of each cluster.
    group: Vec<usize>,
    /// The file groups.
    groups: Vec<String>,
    /// (shift nm, direction °) of the reference nanoparticles.
    reference: Vec<(f64, f64)>,
    /// Reference clusters without a barycentre.
    reference_undefined: usize,
}

/// Barycenter shifts (nm) and directions (°) of the validation and test clusters.
pub(crate) struct Shifts {
    val: Vec<f64>,
    test: Vec<f64>,
    val_deg: Vec<f64>,
    test_deg: Vec<f64>,
    undefined: usize,
}

/// (shift nm, direction °) of a preprocessed cluster `(P, H, W)` (its first 8 images); `None`
/// when an image has no light above background.
fn shift_of(c: ArrayView3<'_, f32>) -> Option<(f64, f64)> {
    let p = c.len_of(ndarray::Axis(0));
    barycenter_shift(c.slice(s![..8.min(p), .., ..]), PIXEL_SIZE_NM)
        .ok()
        .map(|b| (b.shift_nm, b.direction_deg))
}

impl Experiment for Newsdm {
    const NAME: &'static str = "newsdm";
    type Data = Clusters;
    type Baseline = Shifts;
    type Report = NewsdmReport;

    fn validate(&self) -> Result<()> {
        self.0.validate()
    }

    fn generate(&self, run: &Run, path: &Path) -> Result<()> {
        run.say(format!(
            "generating {} clusters per sample into {}",
            self.0.per_sample,
            path.display()
        ));
        let opts = crate::sim::WriteOptions {
            batch: 500,
            ..Default::default()
        };
        let (cfg, n) = (EmulsionConfig::default(), self.0.per_sample);
        Ok(crate::sim::emulsion::write(
            path,
            &cfg,
            &SAMPLES,
            run.options.seed,
            n,
            &opts,
            |_| {},
        )?)
    }

    fn load(&self, run: &Run, path: &Path) -> Result<Clusters> {
        let c = load_clusters(path, self.0.per_sample, run.options.seed, self.0.rotations)?;
        run.say(format!(
            "{} clusters ({} rejected by cuts) → {:?}",
            c.sample.len(),
            c.cuts,
            c.item
        ));
        Ok(c)
    }

    fn source<'d>(&self, data: &'d Clusters) -> &'d dyn Source {
        &data.src
    }

    fn split_fractions(&self) -> (f64, f64) {
        (0.2, 0.2)
    }

    fn baseline(&self, _: &Run, data: &Clusters, split: &Split) -> Result<Shifts> {
        let [_, p, h, w] = data.item;
        let per = p * h * w;
        let mut undefined = 0;
        let mut shifts = |idx: &[usize]| -> (Vec<f64>, Vec<f64>) {
            idx.iter()
                .map(|&i| {
                    let c = &data.src.inputs()[i * per..(i + 1) * per];
                    let v = ArrayView3::from_shape((p, h, w), c).expect("cluster shape");
                    // A cluster with no light above background has no barycentre: no shift.
                    shift_of(v).unwrap_or_else(|| {
                        undefined += 1;
                        (0.0, 0.0)
                    })
                })
                .unzip()
        };
        let (val, val_deg) = shifts(&split.val);
        let (test, test_deg) = shifts(&split.test);
        Ok(Shifts {
            val,
            test,
            val_deg,
            test_deg,
            undefined,
        })
    }

    fn networks(&self, run: &Run, data: &Clusters) -> Result<Vec<NetworkSpec>> {
        let net = NewsNetConfig {
            input: [data.item[1], data.item[2], data.item[3]],
            ..self.0.net.clone()
        };
        Ok(vec![NetworkSpec {
            label: "NEWSnet".into(),
            config: ModelConfig::NewsNet(net),
            task: Task::MultiClass {
                mu: self.0.mu,
                signal_classes: CARBON.len(),
            },
            train: self.0.train_config(run.options.seed, run.options.progress),
            checkpoints: "checkpoints".into(),
            predict_batch: 64,
            ensemble: Ensemble::Last,
            seed: run.options.seed,
        }])
    }

    fn browser(
        &self,
        data: &Clusters,
        split: &Split,
        _: &Scored,
        report: &NewsdmReport,
    ) -> Result<Browser> {
        let (net, bar) = (&report.network, &report.baseline);
        let mut b = Browser::new(
            "Test clusters",
            vec![
                Column::number("cluster id", 0),
                Column::category("sample"),
                Column::number("NEWSnet Σ P(carbon)", 4),
                Column::category("selection"),
                Column::category("outcome"),
                Column::number("barycenter shift [nm]", 1),
            ],
            &format!(
                "NEWSnet's selection is Σ P(carbon) ≥ {:.4} (chosen on validation for {:.0} % carbon efficiency);                  'wrong' is carbon failing or background passing it, most confidently wrong first.                  Pictures: the 8 polarisation images after the paper's preprocessing, on one colour scale,                  each with its barycentre (✚), and the barycentre path across polarisations in nm.",
                net.figures.working_point.threshold,
                100.0 * self.0.signal_efficiency
            ),
        );
        let [_, p, h, w] = data.item;
        let per = p * h * w;
        for (k, &i) in split.test.iter().enumerate() {
            let sample = data.sample[i];
            let (pass, outcome, wrongness) = selection(
                sample < 3,
                net.scores[k],
                net.figures.working_point.threshold,
            );
            let c = &data.src.inputs()[i * per..(i + 1) * per];
            b.push(
                vec![
                    Cell::Num(data.keys.id[i] as f64),
                    Cell::Text(SAMPLE_NAMES[sample].into()),
                    Cell::Num(net.scores[k]),
                    pass,
                    outcome,
                    Cell::Num(bar.scores[k]),
                ],
                wrongness,
                Some(
                    emulsion_cluster(
                        ArrayView3::from_shape((p, h, w), c).expect("cluster shape"),
                        PIXEL_SIZE_NM,
                        "grey level (median subtracted, ÷128)",
                    )
                    .0,
                ),
            );
        }
        Ok(b)
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("settings serialise")
    }

    fn outputs(&self) -> Outputs {
        Outputs::Classes {
            names: CLASSES.iter().map(|c| c.to_string()).collect(),
            signal: CARBON.to_vec(),
        }
    }

    fn criterion(&self) -> Option<Criterion> {
        Some(Criterion::Efficiency(self.0.signal_efficiency))
    }

    fn keys<'d>(&self, data: &'d Clusters) -> &'d EventKeys {
        &data.keys
    }

    fn reader<'a>(&'a self, path: &Path) -> Result<Box<dyn EventReader + 'a>> {
        let src = ClusterSource::open_unlabelled(path, EmulsionPipeline::default())?;
        Ok(Box::new(ClusterReader(src)))
    }

    fn report(
        &self,
        run: &Run,
        data: &Clusters,
        split: &Split,
        networks: &[Scored],
        baseline: Shifts,
    ) -> Result<NewsdmReport> {
        let net = &networks[0];
        let samples = |idx: &[usize]| idx.iter().map(|&i| data.sample[i]).collect::<Vec<_>>();
        let (val_s, test_s) = (samples(&split.val), samples(&split.test));
        let crit = Criterion::Efficiency(self.0.signal_efficiency);
        // Each ensemble member's figures (threshold on validation, applied on test); the headline
        // is the last member's.
        let test_scores = net.test.member_scores(&CARBON)?;
        let members = net
            .val
            .member_scores(&CARBON)?
            .iter()
            .zip(&test_scores)
            .map(|(v, t)| figures(v, &val_s, t, &test_s, crit))
            .collect::<Result<Vec<_>>>()?;
        let network = MethodFigures {
            method: "NEWSnet: Σ P(carbon) of the last checkpoint".into(),
            figures: members.last().expect("one member at least").clone(),
            scores: test_scores.last().expect("one member at least").clone(),
        };
        let baseline_figures = MethodFigures {
            method: "barycenter shift (max pairwise distance of the 8 polarisation barycentres), its own threshold on validation".into(),
            figures: figures(&baseline.val, &val_s, &baseline.test, &test_s, crit)?,
            scores: baseline.test.clone(),
        };
        plots(&run.out, &network, &baseline_figures, &test_s)?;
        let paper = self.paper_table(run, data, split, net, &baseline, &val_s, &test_s)?;
        Ok(NewsdmReport {
            experiment: "newsdm",
            settings: self.0.clone(),
            seed: run.options.seed,
            data: run.data_description("generated (rareml-sim emulsion, default config)"),
            clusters: ClusterCounts::of(data, split),
            network_summary: NetworkSummary::of(&net.trained, Ensemble::Last),
            training: TrainingSummary::of(&net.trained),
            working_point: format!(
                "threshold chosen on validation for {:.0} % carbon efficiency, applied on test",
                100.0 * self.0.signal_efficiency
            ),
            network,
            network_ensemble: EnsembleFigures::of(&members),
            baseline: baseline_figures,
            baseline_undefined: baseline.undefined,
            barycenter_np: paper.0,
            network_at_barycenter_efficiency: paper.1,
            angles: paper.2,
        })
    }
}

/// Seed offset of the large fog set: another "area" than the training file's fog.
const FOG_AREA: u64 = 0x0A7E_A000_F06F;

/// Fog clusters scored per chunk of the large fog set.
const FOG_CHUNK: usize = 2000;

impl Newsdm {
    /// The paper's Table 1 (the cut at the NP threshold, NEWSnet at its carbon efficiency with
    /// the large fog set) and the angle distributions; `None`s without a reference sample.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn paper_table(
        &self,
        run: &Run,
        data: &Clusters,
        split: &Split,
        net: &Scored,
        shifts: &Shifts,
        val_s: &[usize],
        test_s: &[usize],
    ) -> Result<(
        Option<table1::BarycenterNp>,
        Option<table1::NetworkAtBarycenter>,
        Vec<table1::AngleGroup>,
    )> {
        if data.reference.len() < 2 {
            run.say("no nanoparticle reference sample: the paper's Table 1 is not computed");
            return Ok((None, None, Vec::new()));
        }
        let reference_nm: Vec<f64> = data.reference.iter().map(|x| x.0).collect();
        let thr = table1::np_threshold(&reference_nm, run.options.seed)?;
        let bar = table1::barycenter_np(&thr, data.reference_undefined, shifts, val_s, test_s)?;
        let fog = if run.options.data.is_none() && self.0.fog_test > 0 {
            run.say(format!(
                "scoring {} fog clusters of another area with the {} kept checkpoints",
                self.0.fog_test,
                net.trained.kept.len()
            ));
            fog_set_scores(run, net, self.0.fog_test)?
        } else {
            (Vec::new(), Vec::new())
        };
        let (fog, fog_shifts) = fog;
        let fog_sample = match fog.first() {
            Some(f) => format!(
                "{} fog clusters generated from another area (seed {} + offset), inference only",
                f.len(),
                run.options.seed
            ),
            None => "the test split's fog".into(),
        };
        let val_members = net.val.member_scores(&CARBON)?;
        let test_members = net.test.member_scores(&CARBON)?;
        let matched = table1::network_at_barycenter(
            bar.validation_carbon_efficiency,
            &val_members,
            &test_members,
            &fog,
            fog_sample,
            val_s,
            test_s,
        )?;
        // The angle distributions: validation and test clusters per file group, and the NPs.
        let cfg = EmulsionConfig::default();
        let generated = run.options.data.is_none();
        let mut angle_input = Vec::new();
        for (g, name) in data.groups.iter().enumerate() {
            let mut v = Vec::new();
            let mut sample = None;
            for (idx, nm, deg) in [
                (&split.val, &shifts.val, &shifts.val_deg),
                (&split.test, &shifts.test, &shifts.test_deg),
            ] {
                for (k, &i) in idx.iter().enumerate() {
                    if data.group[i] == g {
                        v.push((nm[k], deg[k]));
                        sample = Some(data.sample[i]);
                    }
                }
            }
            let Some(sample) = sample else { continue };
            let scan = name.rsplit('/').next().unwrap_or("");
            let beam = (generated && sample < 3)
                .then(|| {
                    let b = cfg.beam?;
                    let r = cfg.scans.iter().find(|s| s.name == scan)?.rotation_deg;
                    Some((b.direction_deg + r).rem_euclid(180.0))
                })
                .flatten();
            angle_input.push((SAMPLE_NAMES[sample].to_string(), name.clone(), beam, v));
        }
        if !fog_shifts.is_empty() {
            angle_input.push((
                "fog".into(),
                format!("fog, {} of another area", fog_shifts.len()),
                None,
                fog_shifts,
            ));
        }
        angle_input.push((
            "NP".into(),
            "nanoparticles (reference)".into(),
            None,
            data.reference.clone(),
        ));
        let angles = table1::angle_groups(&angle_input, thr.value_nm);
        let test_shifts: Vec<(f64, f64)> = shifts
            .test
            .iter()
            .zip(&shifts.test_deg)
            .map(|(&a, &b)| (a, b))
            .collect();
        table1::plots(
            &run.out,
            thr.value_nm,
            &reference_nm,
            &test_shifts,
            test_s,
            &angles,
            test_members.last().expect("one member at least"),
            Some(&matched),
        )?;
        Ok((Some(bar), Some(matched), angles))
    }
}

/// Σ P(carbon) of every kept checkpoint of `net` on `n` fog clusters generated from another area
/// than the run's data, preprocessed as the training clusters, in chunks; and each cluster's
/// barycenter shift (nm, direction °; (0, 0) when undefined, as in the baseline).
#[allow(clippy::type_complexity)]
fn fog_set_scores(run: &Run, net: &Scored, n: usize) -> Result<(Vec<Vec<f64>>, Vec<(f64, f64)>)> {
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
fn load_clusters(path: &Path, per_sample: usize, seed: u64, rotations: bool) -> Result<Clusters> {
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

/// Per-class figures of one method at its working point on the test set.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Efficiency for all carbon (C30 + C60 + C100).
    pub signal_efficiency: f64,
    /// C30, C60, C100 efficiencies (`None` for a class absent from the test set).
    pub carbon_efficiency: [Option<f64>; 3],
    /// 1/ε of fog; `None` when no fog passes (then see the lower limit).
    pub fog_reduction_factor: Option<f64>,
    /// 95 % CL lower limit on the fog reduction factor when no fog cluster passes.
    pub fog_reduction_lower_limit_95cl: Option<f64>,
    /// Fog clusters [passing, all].
    pub fog_passing: [u64; 2],
    /// 1/ε of the gamma background; `None` when none passes.
    pub gamma_reduction_factor: Option<f64>,
    /// 95 % CL lower limit on the gamma reduction factor when no gamma cluster passes.
    pub gamma_reduction_lower_limit_95cl: Option<f64>,
    /// Gamma clusters [passing, all].
    pub gamma_passing: [u64; 2],
    /// Every class with its selected fraction and Clopper–Pearson interval (95 %).
    pub classes: Vec<ClassSelection>,
    /// Carbon versus all background at the threshold, with intervals.
    pub working_point: WorkingPoint,
    /// Area under the ROC curve (carbon versus all background).
    pub auc: f64,
    /// The test ROC (carbon versus all background), for the plots.
    #[serde(skip)]
    pub roc: Roc,
}

/// The figures of test scores at the threshold `crit` chooses on the validation scores.
fn figures(
    val: &[f64],
    val_sample: &[usize],
    test: &[f64],
    test_sample: &[usize],
    crit: Criterion,
) -> Result<Figures> {
    let is_carbon = |s: &[usize]| s.iter().map(|&c| c < 3).collect::<Vec<bool>>();
    let thr = choose_threshold(&is_carbon(val_sample), val, crit)?;
    let carbon = is_carbon(test_sample);
    let classes = per_class_selection(test, test_sample, &SAMPLE_NAMES, &CARBON, thr, CL)?;
    let class = |k: usize| classes.iter().find(|c| c.class == k);
    let eff = |k: usize| class(k).map(|c| c.selected.value);
    let passing = |k: usize| class(k).map_or([0, 0], |c| [c.selected.k, c.selected.n]);
    let rejection = |k: usize| class(k).and_then(|c| c.rejection);
    let working_point = working_point(&carbon, test, thr, CL)?;
    let roc = roc_curve(&carbon, test, true)?;
    Ok(Figures {
        signal_efficiency: working_point.signal.value,
        carbon_efficiency: [eff(0), eff(1), eff(2)],
        fog_reduction_factor: rejection(3).and_then(Bound::value),
        fog_reduction_lower_limit_95cl: rejection(3).and_then(Bound::lower_limit),
        fog_passing: passing(3),
        gamma_reduction_factor: rejection(4).and_then(Bound::value),
        gamma_reduction_lower_limit_95cl: rejection(4).and_then(Bound::lower_limit),
        gamma_passing: passing(4),
        working_point,
        auc: roc.auc(),
        roc,
        classes,
    })
}

/// One method's figures with the test scores they come from.
#[derive(Debug, Clone, Serialize)]
pub struct MethodFigures {
    /// What the method is and how its threshold was chosen.
    pub method: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
    /// The test scores (Σ P(carbon) or the shift in nm), for the plots.
    #[serde(skip)]
    pub scores: Vec<f64>,
}

/// Mean ± 95 % Student-t interval of figures over the ensemble's members (`None` when a member
/// lacks the figure or there is one member).
#[derive(Debug, Clone, Serialize)]
pub struct EnsembleFigures {
    /// Carbon efficiency.
    pub signal_efficiency: Option<EnsembleInterval>,
    /// Fog reduction factor.
    pub fog_reduction_factor: Option<EnsembleInterval>,
    /// Gamma reduction factor.
    pub gamma_reduction_factor: Option<EnsembleInterval>,
    /// AUC.
    pub auc: Option<EnsembleInterval>,
}

impl EnsembleFigures {
    fn of(members: &[Figures]) -> Self {
        let interval = |f: &dyn Fn(&Figures) -> Option<f64>| {
            let v: Vec<f64> = members.iter().filter_map(f).collect();
            (v.len() == members.len())
                .then(|| ensemble_interval(&v, CL).ok())
                .flatten()
        };
        Self {
            signal_efficiency: interval(&|f| Some(f.signal_efficiency)),
            fog_reduction_factor: interval(&|f| f.fog_reduction_factor),
            gamma_reduction_factor: interval(&|f| f.gamma_reduction_factor),
            auc: interval(&|f| Some(f.auc)),
        }
    }
}

/// Clusters per sample and per set.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterCounts {
    /// C30 clusters.
    #[serde(rename = "C30")]
    pub c30: usize,
    /// C60 clusters.
    #[serde(rename = "C60")]
    pub c60: usize,
    /// C100 clusters.
    #[serde(rename = "C100")]
    pub c100: usize,
    /// Fog clusters.
    pub fog: usize,
    /// Gamma (and other background) clusters.
    pub gamma: usize,
    /// Clusters the quality cuts rejected before these counts.
    pub rejected_by_cuts: usize,
    /// Training clusters.
    pub train: usize,
    /// Validation clusters.
    pub val: usize,
    /// Test clusters.
    pub test: usize,
}

impl ClusterCounts {
    fn of(data: &Clusters, split: &Split) -> Self {
        let count = |k: usize| data.sample.iter().filter(|&&s| s == k).count();
        Self {
            c30: count(0),
            c60: count(1),
            c100: count(2),
            fog: count(3),
            gamma: count(4),
            rejected_by_cuts: data.cuts,
            train: split.train.len(),
            val: split.val.len(),
            test: split.test.len(),
        }
    }
}

/// The NEWSdm report.
#[derive(Debug, Clone, Serialize)]
pub struct NewsdmReport {
    /// `newsdm`.
    pub experiment: &'static str,
    /// The settings of the run.
    pub settings: Settings,
    /// The run's seed.
    pub seed: u64,
    /// The input: the user's file or the generator.
    pub data: String,
    /// Clusters per sample and set.
    pub clusters: ClusterCounts,
    /// The network and its parameter count.
    #[serde(rename = "model")]
    pub network_summary: NetworkSummary,
    /// Training configuration and history.
    pub training: TrainingSummary,
    /// How the working points were chosen.
    pub working_point: String,
    /// NEWSnet's figures.
    pub network: MethodFigures,
    /// The figures' spread over the kept checkpoints.
    pub network_ensemble: EnsembleFigures,
    /// The barycenter-shift cut's figures.
    pub baseline: MethodFigures,
    /// Validation and test clusters without a barycentre (no light above background), given a
    /// shift of 0.
    pub baseline_undefined: usize,
    /// The paper's barycenter cut: threshold at the nanoparticle sample's 95 % quantile, its
    /// per-class efficiencies and fog fraction (`None` without a nanoparticle group).
    pub barycenter_np: Option<table1::BarycenterNp>,
    /// NEWSnet at the threshold giving the cut's carbon efficiency on validation, fog counted on
    /// the large generated fog set.
    pub network_at_barycenter_efficiency: Option<table1::NetworkAtBarycenter>,
    /// Shift-angle distributions of long and short shifts per file group (Fig. 5).
    pub angles: Vec<table1::AngleGroup>,
}

/// "R (pass/all)", or "> limit (0/all, 95 % CL)" when nothing passes.
fn reduction(r: Option<f64>, limit: Option<f64>, [p, n]: [u64; 2]) -> String {
    match (r, limit) {
        (Some(r), _) => format!("{r:.1} ({p}/{n})"),
        (None, Some(l)) => format!("> {l:.0} (0/{n}, 95 % CL)"),
        (None, None) => "—".into(),
    }
}

impl Report for NewsdmReport {
    fn threshold(&self) -> Option<f64> {
        Some(self.network.figures.working_point.threshold)
    }

    fn title(&self) -> String {
        format!(
            "NEWSdm — NEWSnet versus the barycenter shift (seed {})",
            self.seed
        )
    }

    fn plots(&self) -> Vec<(&'static str, &'static str)> {
        let mut v = vec![
            (
                "roc.png",
                "ROC on the test clusters: carbon versus all background, working points marked",
            ),
            (
                "scores.png",
                "NEWSnet's Σ P(carbon) per sample (test), log scale",
            ),
            (
                "barycenter_shift.png",
                "Barycenter shift per sample (test), log scale",
            ),
        ];
        if self.barycenter_np.is_some() {
            v.extend([
                ("shift_np_threshold.png", "Fig. 4: barycenter shift per sample (test) and of the nanoparticles, with the NP 95 % threshold"),
                ("angles_long.png", "Fig. 5: shift direction of the long shifts per file group (validation + test)"),
                ("angles_short.png", "Fig. 5: shift direction of the short shifts per file group"),
                ("roc_per_class.png", "Fig. 6: ROC of each carbon class against all background, NEWSnet and the barycenter shift, log εb"),
                ("selected_shift.png", "Fig. 7: barycenter shift of the test clusters NEWSnet selects at the cut's efficiency"),
                ("selected_angle.png", "Fig. 7: shift direction of the test clusters NEWSnet selects"),
            ]);
        }
        v
    }

    fn markdown(&self) -> String {
        let row = |name: &str, f: &Figures| {
            vec![
                name.to_string(),
                fmt(f.carbon_efficiency[0], 3),
                fmt(f.carbon_efficiency[1], 3),
                fmt(f.carbon_efficiency[2], 3),
                fmt(Some(f.signal_efficiency), 3),
                reduction(
                    f.fog_reduction_factor,
                    f.fog_reduction_lower_limit_95cl,
                    f.fog_passing,
                ),
                reduction(
                    f.gamma_reduction_factor,
                    f.gamma_reduction_lower_limit_95cl,
                    f.gamma_passing,
                ),
                fmt(Some(f.auc), 4),
            ]
        };
        let c = &self.clusters;
        let mut md = format!(
            "# NEWSdm — {} clusters, test {}; threshold for {:.0} % carbon efficiency on validation\n\n",
            c.c30 + c.c60 + c.c100 + c.fog + c.gamma,
            c.test,
            100.0 * self.settings.signal_efficiency
        );
        md += &markdown_table(
            &[
                "method",
                "ε C30",
                "ε C60",
                "ε C100",
                "ε carbon",
                "fog R (pass/all)",
                "gamma R (pass/all)",
                "AUC",
            ],
            &[
                row("NEWSnet", &self.network.figures),
                row("barycenter shift", &self.baseline.figures),
            ],
        );
        if let Some(bar) = &self.barycenter_np {
            md += &table1::markdown(bar, self.network_at_barycenter_efficiency.as_ref());
            md += &table1::angles_markdown(&self.angles);
        }
        md
    }
}

/// ROC curves of both methods, the network's score and the barycenter shift per sample.
fn plots(out: &Path, net: &MethodFigures, bar: &MethodFigures, test_s: &[usize]) -> Result<()> {
    let (rn, rb) = (&net.figures.roc, &bar.figures.roc);
    roc_png(
        &out.join("roc.png"),
        "NEWSdm: carbon vs background (test)",
        &[
            RocSeries {
                name: "NEWSnet",
                fpr: &rn.fpr,
                tpr: &rn.tpr,
                working_point: Some(net.figures.working_point.efficiencies()),
            },
            RocSeries {
                name: "barycenter shift",
                fpr: &rb.fpr,
                tpr: &rb.tpr,
                working_point: Some(bar.figures.working_point.efficiencies()),
            },
        ],
    )?;
    let per_class = |scores: &[f64]| -> Vec<(&str, Vec<f64>)> {
        (0..SAMPLE_NAMES.len())
            .map(|k| {
                let v = scores.iter().zip(test_s).filter(|(_, &c)| c == k);
                (SAMPLE_NAMES[k], v.map(|(&s, _)| s).collect::<Vec<_>>())
            })
            .filter(|(_, v)| !v.is_empty())
            .collect()
    };
    let thr = |m: &MethodFigures| Some(m.figures.working_point.threshold);
    histogram_png(
        &out.join("scores.png"),
        "NEWSnet signal score (test)",
        "Σ P(carbon)",
        &per_class(&net.scores),
        (0.0, 1.0),
        40,
        thr(net),
    )?;
    let max_shift = bar.scores.iter().fold(1.0f64, |a, &b| a.max(b));
    histogram_png(
        &out.join("barycenter_shift.png"),
        "Barycenter shift (test)",
        "shift [nm]",
        &per_class(&bar.scores),
        (0.0, max_shift),
        40,
        thr(bar),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every settings rule names its field (the network's own rules name theirs).
    #[test]
    fn settings_rules_name_their_field() {
        let q = || Settings::preset(Preset::Quick);
        let bad = |s: Settings, field: &str| {
            let e = s.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        };
        bad(
            Settings {
                per_sample: 3,
                ..q()
            },
            "per_sample",
        );
        bad(
            Settings {
                signal_efficiency: 0.0,
                ..q()
            },
            "signal_efficiency",
        );
        bad(
            Settings {
                signal_efficiency: 1.5,
                ..q()
            },
            "signal_efficiency",
        );
        bad(Settings { epochs: 0, ..q() }, "epochs");
        bad(Settings { batch: 0, ..q() }, "batch_size");
        bad(
            Settings {
                keep_last: 0,
                ..q()
            },
            "keep_last",
        );
        bad(Settings { mu: 1.2, ..q() }, "mu");
        bad(
            Settings {
                lr_decay: 0.0,
                ..q()
            },
            "lr_decay",
        );
        let mut adam = q();
        adam.optimizer.beta2 = 1.0;
        bad(adam, "beta2");
        let mut net = q();
        net.net.dropout = 1.0;
        bad(net, "dropout");
        assert!(q().validate().is_ok() && Settings::preset(Preset::Paper).validate().is_ok());
    }
}
