//! PandaX-III: EfficientNet on XZ/YZ images versus the Bragg-blob topology cut; figure of merit
//! Ξ = εs/√εb at the threshold of maximum Ξ chosen on validation and applied on test; optional
//! comparison with the paper's other networks (ResNet-50, DenseNet-169, EfficientNet-B0/B4: its
//! Tables 1 and 3) and sweep over the TopConv width n with independent repeats (its Fig. 11).

mod features;
mod report;

use features::feature_study;
use report::{plots, sweep_png};
pub use report::{BinaryFigures, CompareRow, EventCounts, FeatureStudy, Pandax3Report, SweepRow};

use super::feature_maps::MapClusterParams;
use super::pipeline::{
    self, Ensemble, Experiment, NetworkSpec, NetworkSummary, Run, Scored, TrainingSummary,
};
use super::predict::{EventKeys, EventReader, Outputs};
use super::{setting_err, Error, Options, Preset, Result};
use crate::baselines::tpc::{strip_event_score, BlobParams};
use crate::io::scores::{SCORED, SET_ASIDE};
use crate::io::tpc::{EventLabel, Readout, TpcEvent, TpcFile, TpcMeta};
use crate::metrics::Criterion;
use crate::models::{DenseNetConfig, EfficientNetConfig, GlobalPool, ModelConfig, ResNetConfig};
use crate::preprocess::batch::{build_batch_skipping_empty, fill_batch_skipping_empty, TpcImages};
use crate::preprocess::tpc::{upsample_nearest_into, RandomFlips, TpcImageConfig};
use crate::report::browser::{selection, Browser, Cell, Column, Picture};
use crate::report::pictures::{tpc_projections, tpc_waveforms};
use crate::sim::tpc::TpcConfig;
use crate::train::{
    mix, AdamConfig, EnsembleRule, InMemory, Schedule, Source, Split, Targets, Task, TrainConfig,
};
use ndarray::ArrayViewMutD;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::Path;

/// Sizes and choices of a PandaX-III run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The preset these settings started from.
    pub preset: Preset,
    /// Events (generated, or read at most).
    pub events: usize,
    /// Training epochs.
    pub epochs: usize,
    /// The network (TopConv n = `top_channels`; inputs, outputs and pooling are set here).
    pub net: EfficientNetConfig,
    /// Image conversion (64 × 64, upsampled ×2 to 128 × 128 in the paper).
    pub image: TpcImageConfig,
    /// Batch size.
    pub batch: usize,
    /// TopConv widths of the sweep (`None` = torchvision's full width); empty = no sweep.
    pub sweep: Vec<Option<usize>>,
    /// Adam learning rate.
    pub lr: f64,
    /// Checkpoints in each network's ensemble (K): the network's score is their mean.
    pub keep_last: usize,
    /// How the K checkpoints are chosen: the paper's rule (the K smallest validation losses among
    /// the epochs within 0.001 of the best validation accuracy) or the last K epochs.
    #[serde(default = "EnsembleRule::paper")]
    pub ensemble: EnsembleRule,
    /// Independent trainings (other initial weights and shuffling) per TopConv width of the sweep;
    /// Ξ's mean and spread over them (the paper: 6).
    #[serde(default = "one")]
    pub repeats: usize,
    /// The paper's other networks, trained beside the headline one on the same events (Tables 1
    /// and 3).
    #[serde(default)]
    pub compare: Vec<Architecture>,
    /// Fractions of the events for validation and for test (the rest trains; the paper: 0.2 and
    /// 0.1).
    #[serde(default = "default_split")]
    pub split: [f64; 2],
    /// The feature-map study of the headline network (the paper's Figs. 6–10), or none.
    #[serde(default)]
    pub features: Option<FeatureSettings>,
}

/// What the feature-map study dumps and how it groups the maps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSettings {
    /// Stages whose maps are written, the paper's 1-based numbers (Stage k = torchvision's
    /// `features.<k − 1>`: 1 the stem, 2–8 the MBConv stages, 9 the TopConv); the paper's: 2, 4, 8.
    pub stages: Vec<usize>,
    /// Test events of each class (the first ones of the test set) whose maps are written and
    /// grouped.
    pub events: usize,
    /// DBSCAN of the last MBConv stage's (Stage 8) maps.
    pub clustering: MapClusterParams,
}

impl Default for FeatureSettings {
    fn default() -> Self {
        Self {
            stages: vec![2, 4, 8],
            events: 8,
            clustering: MapClusterParams::default(),
        }
    }
}

fn default_split() -> [f64; 2] {
    [0.2, 0.2]
}

fn one() -> usize {
    1
}

/// A network of the paper's comparison (Table 1, Table 3), with the PandaX-III inputs and one
/// output; B0 and B4 with the settings' TopConv width and max pooling (the paper's head).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// torchvision's ResNet-50 (average pooling).
    Resnet50,
    /// torchvision's DenseNet-169 (average pooling).
    Densenet169,
    /// EfficientNet-B0 at full width and depth.
    B0,
    /// EfficientNet-B4 at full width and depth.
    B4,
}

impl Architecture {
    /// Every architecture, in the paper's Table 1 order.
    pub const ALL: [Architecture; 4] = [Self::Resnet50, Self::Densenet169, Self::B0, Self::B4];

    /// `resnet50`, `densenet169`, `b0` or `b4`.
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.key() == s)
            .ok_or_else(|| format!("{s:?}: one of resnet50, densenet169, b0, b4"))
    }

    /// The command-line and settings spelling.
    pub fn key(self) -> &'static str {
        match self {
            Self::Resnet50 => "resnet50",
            Self::Densenet169 => "densenet169",
            Self::B0 => "b0",
            Self::B4 => "b4",
        }
    }

    /// The name in reports.
    pub fn label(self) -> &'static str {
        match self {
            Self::Resnet50 => "ResNet-50",
            Self::Densenet169 => "DenseNet-169",
            Self::B0 => "EfficientNet-B0",
            Self::B4 => "EfficientNet-B4",
        }
    }

    /// The network with the PandaX-III head; `top` is the TopConv width of B0 and B4.
    fn config(self, top: Option<usize>) -> ModelConfig {
        let effnet = |k| {
            ModelConfig::EfficientNet(EfficientNetConfig {
                top_channels: top,
                pooling: GlobalPool::Max,
                ..EfficientNetConfig::b(k).expect("B0 and B4 exist")
            })
        };
        match self {
            Self::Resnet50 => ModelConfig::ResNet(ResNetConfig::resnet50()),
            Self::Densenet169 => ModelConfig::DenseNet(DenseNetConfig::densenet169()),
            Self::B0 => effnet(0),
            Self::B4 => effnet(4),
        }
    }

    /// The paper's Ξ on its test set at an image side of `side` pixels, where it gives one
    /// (Xia et al., Table 1 at 128 × 128: ResNet-50 6.80, DenseNet-169 7.92, EfficientNet-B4 9.80;
    /// Table 3: B0 6.66 at 64 × 64 and 8.39 at 128 × 128, B4 10.78 at 256 × 256).
    pub fn paper_significance(self, side: usize) -> Option<f64> {
        match (self, side) {
            (Self::Resnet50, 128) => Some(6.80),
            (Self::Densenet169, 128) => Some(7.92),
            (Self::B0, 64) => Some(6.66),
            (Self::B0, 128) => Some(8.39),
            (Self::B4, 128) => Some(9.80),
            (Self::B4, 256) => Some(10.78),
            _ => None,
        }
    }
}

/// The paper's mean Ξ of its six trainings at TopConv n = 8, the best width of its sweep (Fig. 11).
pub const PAPER_SWEEP_BEST_N8: f64 = 10.32;
/// Ξ of the design (topological) baseline the paper's earlier ResNet work compared with.
pub const PAPER_DESIGN_BASELINE: f64 = 3.82;

impl Settings {
    /// The preset's sizes.
    pub fn preset(preset: Preset) -> Self {
        match preset {
            // B0 at half width and depth on the 64 × 64 images without the ×2 upsampling.
            // 12,000 events: 3,000 train as before; a test set of 7,500 (3,700 background)
            // measures εb down to ≈ 3·10⁻⁴, so Ξ is a value, not a limit.
            Preset::Quick => Settings {
                preset,
                events: 12000,
                epochs: 12,
                lr: 3e-3,
                net: EfficientNetConfig {
                    width_mult: 0.5,
                    depth_mult: 0.5,
                    ..EfficientNetConfig::b(0).expect("B0")
                },
                image: TpcImageConfig {
                    upsample: 1,
                    ..Default::default()
                },
                batch: 32,
                sweep: Vec::new(),
                keep_last: 3,
                ensemble: EnsembleRule::paper(),
                repeats: 1,
                compare: Vec::new(),
                split: [0.125, 0.625],
                features: None,
            },
            Preset::Paper => Settings {
                preset,
                events: 40000,
                epochs: 30,
                net: EfficientNetConfig::b(4).expect("B4"),
                image: TpcImageConfig::default(),
                batch: 32,
                // The paper's widths (Fig. 11), six trainings each, and its Table 1 networks.
                sweep: vec![Some(2), Some(4), Some(6), Some(8), Some(10), None],
                lr: 1e-3,
                keep_last: 3,
                ensemble: EnsembleRule::paper(),
                repeats: 6,
                compare: Architecture::ALL.to_vec(),
                split: [0.2, 0.1],
                features: Some(FeatureSettings::default()),
            },
        }
    }

    /// Checks every setting (the network's and the images' own fields too); the error names one
    /// field.
    pub fn validate(&self) -> Result<()> {
        if self.events < 20 {
            return Err(setting_err("pandax3", "events", self.events, "≥ 20"));
        }
        if self.sweep.contains(&Some(0)) {
            return Err(setting_err(
                "pandax3",
                "sweep",
                &self.sweep,
                "TopConv widths ≥ 1 or full",
            ));
        }
        let [val, test] = self.split;
        if !(val > 0.0 && test > 0.0 && val + test < 1.0) {
            return Err(setting_err(
                "pandax3",
                "split",
                self.split,
                "validation and test fractions > 0 leaving events to train on (sum < 1)",
            ));
        }
        if let Some(f) = &self.features {
            if f.stages.is_empty() || f.stages.iter().any(|k| !(1..=9).contains(k)) {
                return Err(setting_err(
                    "pandax3",
                    "features.stages",
                    &f.stages,
                    "one stage at least, each 1–9 (1 stem, 2–8 MBConv, 9 TopConv)",
                ));
            }
            if f.events == 0 {
                return Err(setting_err("pandax3", "features.events", f.events, "≥ 1"));
            }
            f.clustering.validate()?;
        }
        if self.repeats == 0 {
            return Err(setting_err("pandax3", "repeats", self.repeats, "≥ 1"));
        }
        if let Some(a) = self
            .compare
            .iter()
            .enumerate()
            .find(|(i, a)| self.compare[..*i].contains(a))
        {
            return Err(setting_err("pandax3", "compare", a.1, "each network once"));
        }
        if self.image.flips {
            return Err(setting_err(
                "pandax3",
                "image.flips",
                true,
                "false: training images are flipped at random by the trainer, evaluation ones never",
            ));
        }
        self.image.validate()?;
        self.train_config(0, false).validate()?;
        Ok(self.network(self.net.top_channels).validate()?)
    }

    fn network(&self, top: Option<usize>) -> EfficientNetConfig {
        EfficientNetConfig {
            top_channels: top,
            pooling: GlobalPool::Max,
            in_channels: 2,
            outputs: 1,
            ..self.net.clone()
        }
    }

    fn train_config(&self, seed: u64, progress: bool) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch,
            optimizer: AdamConfig {
                lr: self.lr,
                ..AdamConfig::default()
            },
            schedule: Schedule::Exponential { gamma: 0.9 },
            weight_decay_schedule: Default::default(),
            seed,
            keep_last: self.keep_last,
            ensemble: self.ensemble,
            progress,
        }
    }

    /// The networks of a run, in training order: the headline network, the comparison, then the
    /// sweep's trainings (the headline counts as the first training of its own width).
    fn roles(&self) -> Vec<Role> {
        let main = self.net.top_channels;
        let mut roles = vec![Role::Headline];
        roles.extend(self.compare.iter().map(|&a| Role::Compare(a)));
        let mut tops: Vec<Option<usize>> = Vec::new();
        for &t in &self.sweep {
            if !tops.contains(&t) {
                tops.push(t);
            }
        }
        for top in tops {
            for repeat in 0..self.repeats {
                if !(top == main && repeat == 0) {
                    roles.push(Role::Sweep { top, repeat });
                }
            }
        }
        roles
    }

    /// The image side the networks see (the conversion's size × its upsampling).
    fn side(&self) -> usize {
        self.image.size * self.image.upsample
    }
}

/// What one trained network is for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    /// The settings' EfficientNet: the report's headline figures.
    Headline,
    /// A network of the paper's comparison.
    Compare(Architecture),
    /// One training of the TopConv sweep (repeat 0 is the run's seed).
    Sweep { top: Option<usize>, repeat: usize },
}

impl Role {
    /// The TopConv width of an EfficientNet of the sweep (the headline's is the settings').
    fn sweep_top(self, main: Option<usize>) -> Option<Option<usize>> {
        match self {
            Role::Headline => Some(main),
            Role::Sweep { top, .. } => Some(top),
            Role::Compare(_) => None,
        }
    }
}

/// Runs the pipeline and returns the report (also written to `OUT/report.json`).
pub fn run(options: &Options, settings: &Settings) -> Result<Pandax3Report> {
    pipeline::run(&Pandax3(settings.clone()), options)
}

/// Confidence level of every interval (and of Ξ's lower limit) in the report.
const CL: f64 = 0.95;

/// The PandaX-III experiment.
pub(crate) struct Pandax3(Settings);

/// The experiment of `settings` (for applying a trained run).
pub(crate) fn experiment(settings: Settings) -> Pandax3 {
    Pandax3(settings)
}

/// Percent of the event's charge: image values of order 1, like BatchNorm's initial running
/// variance, so eval mode is sensible from the first epochs.
const IMAGE_SCALE: f32 = 100.0;

impl Pandax3 {
    /// The image conversion of training and prediction alike.
    fn images<'r>(&self, readout: &'r Readout, meta: TpcMeta, seed: u64) -> TpcImages<'r> {
        TpcImages {
            readout,
            meta,
            config: self.0.image,
            seed,
            scale: IMAGE_SCALE,
        }
    }
}

/// A TPC file's events streamed for prediction: XZ/YZ images, empty events set aside.
struct TpcReader<'a> {
    experiment: &'a Pandax3,
    file: TpcFile,
    readout: Readout,
    meta: TpcMeta,
}

impl EventReader for TpcReader<'_> {
    fn len(&self) -> usize {
        self.file.len()
    }

    fn item_shape(&self) -> Vec<usize> {
        let side = self.experiment.0.image.size * self.experiment.0.image.upsample;
        vec![2, side, side]
    }

    fn read(&self, range: Range<usize>, out: &mut [f32]) -> Result<Vec<(i64, u8)>> {
        let events = self.file.read(range.clone())?;
        let mut shape = vec![events.len()];
        shape.extend(self.item_shape());
        let view = ArrayViewMutD::from_shape(shape, out).map_err(|e| Error::Data {
            path: self.file.path().to_path_buf(),
            reason: format!("batch buffer: {e}"),
        })?;
        let images = self.experiment.images(&self.readout, self.meta, 0);
        let reports = fill_batch_skipping_empty(&images, &events, range.start as u64, view)?;
        Ok(events
            .iter()
            .zip(reports)
            .map(|(e, r)| (e.id, if r.is_some() { SCORED } else { SET_ASIDE }))
            .collect())
    }
}

/// Labelled events with an image, their images and labels.
pub(crate) struct Events {
    keys: EventKeys,
    readout: Readout,
    meta: TpcMeta,
    events: Vec<TpcEvent>,
    labels: Vec<u32>,
    set_aside: usize,
    src: InMemory,
}

/// The Bragg-blob score of the validation and test events.
pub(crate) struct Blobs {
    val: Vec<f64>,
    test: Vec<f64>,
}

fn width_name(top: Option<usize>) -> String {
    top.map(|n| n.to_string()).unwrap_or_else(|| "full".into())
}

impl Experiment for Pandax3 {
    const NAME: &'static str = "pandax3";
    type Data = Events;
    type Baseline = Blobs;
    type Report = Pandax3Report;

    fn validate(&self) -> Result<()> {
        self.0.validate()
    }

    fn generate(&self, run: &Run, path: &Path) -> Result<()> {
        let n = self.0.events;
        run.say(format!("generating {n} events into {}", path.display()));
        let opts = crate::sim::WriteOptions {
            batch: 500,
            ..Default::default()
        };
        let cfg = TpcConfig::default();
        Ok(crate::sim::tpc::write(
            path,
            &cfg,
            None,
            run.options.seed,
            n,
            &opts,
            |_| {},
        )?)
    }

    fn load(&self, run: &Run, path: &Path) -> Result<Events> {
        let file = TpcFile::open(path)?;
        let n = self.0.events.min(file.len());
        let (readout, meta) = (file.readout().clone(), *file.meta());
        let (positions, labelled): (Vec<usize>, Vec<TpcEvent>) = file
            .read(0..n)?
            .into_iter()
            .enumerate()
            .filter(|(_, e)| e.label != EventLabel::Unknown)
            .unzip();
        // Held at the conversion's size and upsampled batch by batch: ×upsample² less memory
        // (6.3 GB → 0.4 GB for 12,000 events at 256²), the same inputs (the flips commute
        // with nearest-neighbour upsampling).
        let mut images = self.images(&readout, meta, run.options.seed);
        images.config.upsample = 1;
        let kept = build_batch_skipping_empty(&images, &labelled, 0).map_err(|e| Error::Data {
            path: path.into(),
            reason: format!("no labelled event gives an image: {e}"),
        })?;
        let set_aside = kept.set_aside.len();
        let mut events: Vec<Option<TpcEvent>> = labelled.into_iter().map(Some).collect();
        let events: Vec<TpcEvent> = kept.kept.iter().filter_map(|&i| events[i].take()).collect();
        let keys = EventKeys {
            index: kept.kept.iter().map(|&i| positions[i]).collect(),
            id: events.iter().map(|e| e.id).collect(),
        };
        let labels: Vec<u32> = events
            .iter()
            .map(|e| (e.label == EventLabel::Signal) as u32)
            .collect();
        let signal = labels.iter().filter(|&&l| l == 1).count();
        if events.len() < 20 || signal == 0 || signal == events.len() {
            return Err(Error::Data {
                path: path.into(),
                reason: format!("{} labelled events with an image ({signal} signal); at least 20 with signal and background both present are needed", events.len()),
            });
        }
        let (size, up) = (self.0.image.size, self.0.image.upsample);
        let side = size * up;
        run.say(format!("{} events → images (2, {side}, {side}); {set_aside} without charge above threshold set aside", events.len()));
        let flips = RandomFlips::new(side)?;
        let (items, _) = kept.items.into_raw_vec_and_offset();
        let mut src = InMemory::new(items, vec![2, size, size], Targets::Classes(labels.clone()))?;
        if up > 1 {
            src = src.with_expand(
                vec![2, side, side],
                Box::new(move |stored: &[f32], out: &mut [f32]| {
                    let x = ndarray::ArrayView3::from_shape((2, size, size), stored)
                        .expect("a stored image of the conversion's size");
                    let y = ndarray::ArrayViewMut3::from_shape((2, size * up, size * up), out)
                        .expect("a slot of the upsampled size");
                    upsample_nearest_into(x, up, y).expect("shapes checked above")
                }),
            )?;
        }
        let src = src.with_augment(Box::new(move |slot: &mut [f32], seed: u64| {
            flips
                .apply(slot, seed)
                .expect("slot of the flips' image size")
        }));
        Ok(Events {
            keys,
            readout,
            meta,
            events,
            labels,
            set_aside,
            src,
        })
    }

    fn source<'d>(&self, data: &'d Events) -> &'d dyn Source {
        &data.src
    }

    fn split_fractions(&self) -> (f64, f64) {
        (self.0.split[0], self.0.split[1])
    }

    fn baseline(&self, _: &Run, data: &Events, split: &Split) -> Result<Blobs> {
        let threshold = self.0.image.threshold_adc as f64;
        let blob = |idx: &[usize]| -> Result<Vec<f64>> {
            idx.iter()
                .map(|&i| {
                    super::pipeline::cancelled()?;
                    let e = &data.events[i];
                    let p = BlobParams::default();
                    Ok(strip_event_score(
                        e,
                        &data.readout,
                        &data.meta,
                        threshold,
                        &p,
                    )?)
                })
                .collect()
        };
        Ok(Blobs {
            val: blob(&split.val)?,
            test: blob(&split.test)?,
        })
    }

    fn networks(&self, run: &Run, _: &Events) -> Result<Vec<NetworkSpec>> {
        let main = self.0.net.top_channels;
        let seed0 = run.options.seed;
        Ok(self
            .0
            .roles()
            .into_iter()
            .map(|role| {
                let (label, config, checkpoints, seed) = match role {
                    Role::Headline => (
                        format!("EfficientNet (n = {})", width_name(main)),
                        ModelConfig::EfficientNet(self.0.network(main)),
                        "checkpoints".to_string(),
                        seed0,
                    ),
                    Role::Compare(a) => (
                        a.label().to_string(),
                        a.config(main),
                        format!("checkpoints-{}", a.key()),
                        seed0,
                    ),
                    Role::Sweep { top, repeat } => {
                        let (suffix, dir, seed) = if repeat == 0 {
                            (String::new(), String::new(), seed0)
                        } else {
                            (
                                format!(", training {}", repeat + 1),
                                format!("-r{}", repeat + 1),
                                mix(seed0, repeat as u64),
                            )
                        };
                        (
                            format!("EfficientNet (n = {}{suffix})", width_name(top)),
                            ModelConfig::EfficientNet(self.0.network(top)),
                            format!("checkpoints-n{}{dir}", width_name(top)),
                            seed,
                        )
                    }
                };
                NetworkSpec {
                    label,
                    config,
                    task: Task::Binary,
                    train: self.0.train_config(seed, run.options.progress),
                    checkpoints,
                    // The training batch: scoring then allocates the blocks the validation
                    // passes already used. At 64, B4 at 256² was killed for lack of memory
                    // (24.4 GB) as its scoring began after 12 epochs that had run at 22.6 GB.
                    predict_batch: self.0.batch,
                    ensemble: Ensemble::Mean,
                    seed,
                }
            })
            .collect())
    }

    fn browser(
        &self,
        data: &Events,
        split: &Split,
        _: &Scored,
        report: &Pandax3Report,
    ) -> Result<Browser> {
        let (net, blobs) = (&report.network, &report.baseline);
        let thr = net.working_point.threshold;
        let mut b = Browser::new(
            "Test events",
            vec![
                Column::number("event id", 0),
                Column::category("class"),
                Column::number("EfficientNet score", 4),
                Column::category("selection"),
                Column::category("outcome"),
                Column::number("Bragg-blob score", 3),
            ],
            &format!(
                "EfficientNet's selection is score ≥ {thr:.4} (maximum Ξ on validation); 'wrong' is 0νββ                  failing or background passing it, most confidently wrong first. Pictures: the XZ and YZ                  images at the conversion's {0} × {0} pixels (before the ×{1} upsampling), in percent of the                  event's charge, on one colour scale.",
                self.0.image.size, self.0.image.upsample
            ),
        );
        let size = self.0.image.size;
        let per = 2 * size * size;
        for (k, &i) in split.test.iter().enumerate() {
            let signal = data.labels[i] == 1;
            let (pass, outcome, wrongness) = selection(signal, net.scores[k], thr);
            let item = &data.src.inputs()[i * per..(i + 1) * per];
            let mut panels = tpc_projections(item, size);
            panels.extend(tpc_waveforms(
                &data.events[i].signals,
                &data.readout,
                self.0.image.baseline_samples,
                self.0.image.threshold_adc,
            ));
            b.push(
                vec![
                    Cell::Num(data.events[i].id as f64),
                    Cell::Text(if signal { "0νββ" } else { "background" }.into()),
                    Cell::Num(net.scores[k]),
                    pass,
                    outcome,
                    Cell::Num(blobs.scores[k]),
                ],
                wrongness,
                Some(Picture {
                    panels,
                    scale: "% of the event's charge".into(),
                }),
            );
        }
        Ok(b)
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("settings serialise")
    }

    fn outputs(&self) -> Outputs {
        Outputs::Classes {
            names: vec!["signal".into()],
            signal: vec![0],
        }
    }

    fn criterion(&self) -> Option<Criterion> {
        Some(Criterion::MaxSignificance)
    }

    fn keys<'d>(&self, data: &'d Events) -> &'d EventKeys {
        &data.keys
    }

    fn reader<'a>(&'a self, path: &Path) -> Result<Box<dyn EventReader + 'a>> {
        let file = TpcFile::open(path)?;
        let (readout, meta) = (file.readout().clone(), *file.meta());
        Ok(Box::new(TpcReader {
            experiment: self,
            file,
            readout,
            meta,
        }))
    }

    fn report(
        &self,
        run: &Run,
        data: &Events,
        split: &Split,
        networks: &[Scored],
        blobs: Blobs,
    ) -> Result<Pandax3Report> {
        let sig = |idx: &[usize]| idx.iter().map(|&i| data.labels[i] == 1).collect::<Vec<_>>();
        let (val_sig, test_sig) = (sig(&split.val), sig(&split.test));
        let evaluate = |method: String, val: &[f64], test: Vec<f64>| -> Result<BinaryFigures> {
            BinaryFigures::new(method, &val_sig, val, &test_sig, test)
        };
        let nets = networks
            .iter()
            .map(|n| {
                let (val, test) = (
                    n.val.scores(&[0], Ensemble::Mean)?,
                    n.test.scores(&[0], Ensemble::Mean)?,
                );
                evaluate(
                    format!(
                        "{}: mean sigmoid output of the kept checkpoints",
                        n.trained.spec.label
                    ),
                    &val,
                    test,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let baseline = evaluate(
            "Bragg-blob topology (weaker end-blob charge fraction, strip planes), its own threshold of maximum Ξ on validation".into(),
            &blobs.val,
            blobs.test,
        )?;
        plots(&run.out, &nets[0], &baseline, &test_sig)?;
        let main = &networks[0].trained;
        let roles = self.0.roles();
        let side = self.0.side();
        let comparison: Vec<CompareRow> = roles
            .iter()
            .zip(networks.iter().zip(&nets))
            .filter_map(|(role, (n, f))| {
                let paper = match role {
                    Role::Headline => None,
                    Role::Compare(a) => a.paper_significance(side),
                    Role::Sweep { .. } => return None,
                };
                Some(CompareRow::of(&n.trained, f, split.train.len(), paper))
            })
            .collect();
        let mut topconv_sweep = Vec::new();
        for top in &self.0.sweep {
            if topconv_sweep
                .iter()
                .any(|r: &SweepRow| r.n == width_name(*top))
            {
                continue;
            }
            let runs: Vec<&BinaryFigures> = roles
                .iter()
                .zip(&nets)
                .filter(|(r, _)| r.sweep_top(self.0.net.top_channels) == Some(*top))
                .map(|(_, f)| f)
                .collect();
            let width = self.0.network(*top).top_width();
            topconv_sweep.push(SweepRow::of(*top, width, &runs));
        }
        if !topconv_sweep.is_empty() {
            sweep_png(&run.out, &topconv_sweep, self.0.repeats)?;
        }
        let feature_maps = match &self.0.features {
            Some(f) => Some(feature_study(
                run,
                data,
                split,
                &networks[0].trained,
                f,
                side,
            )?),
            None => None,
        };
        Ok(Pandax3Report {
            experiment: "pandax3",
            settings: self.0.clone(),
            seed: run.options.seed,
            data: run.data_description(
                "generated (rareml-sim tpc, default config, built-in 0νββ spectrum)",
            ),
            events: EventCounts {
                with_image: data.events.len(),
                set_aside_no_charge: data.set_aside,
                signal: data.labels.iter().filter(|&&l| l == 1).count(),
                train: split.train.len(),
                val: split.val.len(),
                test: split.test.len(),
            },
            network_summary: NetworkSummary::of(main, Ensemble::Mean),
            training: TrainingSummary::of(main),
            working_point: "threshold of maximum Ξ = εs/√εb chosen on validation, applied on test"
                .into(),
            topconv_sweep,
            comparison,
            feature_maps,
            paper_design_baseline_significance: PAPER_DESIGN_BASELINE,
            network: nets.into_iter().next().expect("the headline network"),
            baseline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every settings rule names its field (the network's and images' own rules name theirs).
    #[test]
    fn settings_rules_name_their_field() {
        let q = || Settings::preset(Preset::Quick);
        let bad = |s: Settings, field: &str| {
            let e = s.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        };
        bad(Settings { events: 10, ..q() }, "events");
        bad(
            Settings {
                split: [0.5, 0.5],
                ..q()
            },
            "split",
        );
        bad(Settings { repeats: 0, ..q() }, "repeats");
        bad(
            Settings {
                compare: vec![Architecture::B0, Architecture::B0],
                ..q()
            },
            "compare",
        );
        bad(
            Settings {
                ensemble: EnsembleRule::BestValidation { delta: 2.0 },
                ..q()
            },
            "ensemble.delta",
        );
        bad(
            Settings {
                sweep: vec![Some(4), Some(0)],
                ..q()
            },
            "sweep",
        );
        let mut flips = q();
        flips.image.flips = true;
        bad(flips, "image.flips");
        let mut image = q();
        image.image.size = 0;
        bad(image, "size");
        bad(Settings { lr: 0.0, ..q() }, "optimizer.lr");
        bad(
            Settings {
                keep_last: 0,
                ..q()
            },
            "keep_last",
        );
        let mut net = q();
        net.net.width_mult = -1.0;
        bad(net, "width_mult");
        assert!(q().validate().is_ok() && Settings::preset(Preset::Paper).validate().is_ok());
    }

    /// The experiment with `settings`, a run in a temporary directory and its generated events
    /// loaded.
    fn generated(settings: Settings) -> (tempfile::TempDir, Pandax3, Run, Events) {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            progress: false,
            ..Options::new(dir.path())
        };
        let exp = Pandax3(settings);
        let run = Run::new(&options).unwrap();
        let path = dir.path().join("events.h5");
        exp.generate(&run, &path).unwrap();
        let data = exp.load(&run, &path).unwrap();
        (dir, exp, run, data)
    }

    /// Images held at the conversion's size (64²) give the network the inputs a conversion
    /// straight to the upsampled size gives, flips included.
    #[test]
    fn images_held_at_their_size_are_upsampled_for_the_network() {
        let mut settings = Settings {
            events: 24,
            ..Settings::preset(Preset::Quick)
        };
        settings.image.upsample = 3;
        let (_dir, exp, run, data) = generated(settings);
        let (size, side) = (exp.0.image.size, 3 * exp.0.image.size);
        assert_eq!(data.src.stored_shape(), &[2, size, size]);
        assert_eq!(data.src.item_shape(), vec![2, side, side]);
        assert_eq!(data.src.inputs().len(), data.events.len() * 2 * size * size);
        let all: Vec<usize> = (0..data.events.len()).collect();
        let direct = build_batch_skipping_empty(
            &exp.images(&data.readout, data.meta, run.options.seed),
            &data.events,
            0,
        )
        .unwrap();
        assert!(direct.set_aside.is_empty());
        let mut got = vec![0.0; all.len() * 2 * side * side];
        data.src.fill(&all, None, &mut got).unwrap();
        assert_eq!(direct.items.as_slice().unwrap(), &got[..]);
        // The training flips act on the upsampled image: a flipped event is its mirror image.
        let flips = RandomFlips::new(side).unwrap();
        let mut one = vec![0.0; 2 * side * side];
        data.src.fill(&[5], Some(9), &mut one).unwrap();
        let mut expected = got[5 * 2 * side * side..6 * 2 * side * side].to_vec();
        flips.apply(&mut expected, crate::train::mix(9, 5)).unwrap();
        assert_eq!(one, expected);
    }

    /// Every network is scored at its training batch size, whose blocks the validation passes
    /// already allocated (a larger scoring batch ran B4 at 256² out of memory).
    #[test]
    fn networks_are_scored_at_the_training_batch_size() {
        let (_dir, exp, run, data) = generated(Settings {
            events: 24,
            batch: 16,
            compare: vec![Architecture::B4],
            ..Settings::preset(Preset::Quick)
        });
        let nets = exp.networks(&run, &data).unwrap();
        assert_eq!(nets.len(), 2);
        for net in &nets {
            assert_eq!(net.predict_batch, 16, "{}", net.label);
            assert_eq!(net.train.batch_size, 16, "{}", net.label);
        }
    }
}
