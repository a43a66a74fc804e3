//! PandaX-III: EfficientNet on XZ/YZ images versus the Bragg-blob topology cut; figure of merit
//! Ξ = εs/√εb at the threshold of maximum Ξ chosen on validation and applied on test; optional
//! comparison with the paper's other networks (ResNet-50, DenseNet-169, EfficientNet-B0/B4: its
//! Tables 1 and 3) and sweep over the TopConv width n with independent repeats (its Fig. 11).

use super::feature_maps::{cluster_maps, MapClusterParams, MapGroups, WeightSummary};
use super::pipeline::{
    self, Ensemble, Experiment, NetworkSpec, NetworkSummary, Run, Scored, TrainingSummary,
};
use super::predict::{EventKeys, EventReader, Outputs};
use super::{setting_err, Error, Options, Preset, Result};
use crate::baselines::tpc::{strip_event_score, BlobParams};
use crate::io::scores::{SCORED, SET_ASIDE};
use crate::io::tpc::{EventLabel, Readout, TpcEvent, TpcFile, TpcMeta};
use crate::metrics::{
    choose_threshold, roc_curve, working_point, Bound, Criterion, Roc, WorkingPoint,
};
use crate::models::{DenseNetConfig, EfficientNetConfig, GlobalPool, ModelConfig, ResNetConfig};
use crate::preprocess::batch::{build_batch_skipping_empty, fill_batch_skipping_empty, TpcImages};
use crate::preprocess::tpc::{RandomFlips, TpcImageConfig};
use crate::report::browser::{selection, Browser, Cell, Column, Picture};
use crate::report::pictures::{tpc_projections, tpc_waveforms};
use crate::report::plot::{histogram_png, points_png, roc_png, RocSeries};
use crate::report::{fmt, markdown_table, Report};
use crate::sim::tpc::TpcConfig;
use crate::train::{
    mix, AdamConfig, EnsembleRule, EpochRecord, InMemory, Schedule, Source, Split, Targets, Task,
    TrainConfig,
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
        let images = self.images(&readout, meta, run.options.seed);
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
        let side = self.0.image.size * self.0.image.upsample;
        run.say(format!("{} events → images (2, {side}, {side}); {set_aside} without charge above threshold set aside", events.len()));
        let flips = RandomFlips::new(side)?;
        let (items, _) = kept.items.into_raw_vec_and_offset();
        let src = InMemory::new(items, vec![2, side, side], Targets::Classes(labels.clone()))?
            .with_augment(Box::new(move |slot: &mut [f32], seed: u64| {
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
                    predict_batch: 64,
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
        let (size, up) = (self.0.image.size, self.0.image.upsample);
        let side = size * up;
        for (k, &i) in split.test.iter().enumerate() {
            let signal = data.labels[i] == 1;
            let (pass, outcome, wrongness) = selection(signal, net.scores[k], thr);
            let item = &data.src.inputs()[i * 2 * side * side..(i + 1) * 2 * side * side];
            let mut panels = tpc_projections(item, size, up);
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

/// A binary selection's figures at its working point on the test set.
#[derive(Debug, Clone, Serialize)]
pub struct BinaryFigures {
    /// What the method is and how its threshold was chosen.
    pub method: String,
    /// Ξ = εs/√εb (`None` when no test background passes; then see the lower limit).
    pub significance: Option<f64>,
    /// 95 % CL lower limit on Ξ (εs over the square root of the one-sided Clopper–Pearson upper
    /// limit on εb) when no test background passes.
    pub significance_lower_limit_95cl: Option<f64>,
    /// Signal efficiency εs.
    pub signal_efficiency: f64,
    /// Background efficiency εb.
    pub background_efficiency: f64,
    /// The working point with its intervals.
    pub working_point: WorkingPoint,
    /// Area under the ROC curve.
    pub auc: f64,
    /// The test ROC, for the plots.
    #[serde(skip)]
    pub roc: Roc,
    /// The test scores, for the plots.
    #[serde(skip)]
    pub scores: Vec<f64>,
}

impl BinaryFigures {
    /// The figures of test scores at the threshold of maximum Ξ on the validation scores.
    fn new(
        method: String,
        val_sig: &[bool],
        val: &[f64],
        test_sig: &[bool],
        test: Vec<f64>,
    ) -> Result<Self> {
        let thr = choose_threshold(val_sig, val, Criterion::MaxSignificance)?;
        let wp = working_point(test_sig, &test, thr, CL)?;
        let roc = roc_curve(test_sig, &test, true)?;
        Ok(Self {
            method,
            significance: wp.significance.value(),
            significance_lower_limit_95cl: wp.significance.lower_limit(),
            signal_efficiency: wp.signal.value,
            background_efficiency: wp.background.value,
            working_point: wp,
            auc: roc.auc(),
            roc,
            scores: test,
        })
    }

    /// Ξ as the table shows it: the value, or "> limit (0/n, 95 % CL)".
    fn xi(&self) -> String {
        match self.working_point.significance {
            Bound::Value(x) => format!("{x:.3}"),
            Bound::LowerLimit(l) => {
                format!("> {l:.1} (0/{}, 95 % CL)", self.working_point.background.n)
            }
        }
    }
}

/// One TopConv width of the sweep: Ξ of each independent training, their mean and spread.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRow {
    /// TopConv width n as set (`full` = torchvision's).
    pub n: String,
    /// The width in channels (`full` resolved: 4 × the last stage's width).
    pub width: usize,
    /// Ξ on test of each training (`None` where no test background passes).
    pub significance: Vec<Option<f64>>,
    /// 95 % CL lower limits on Ξ of the trainings without a passing background.
    pub significance_lower_limits_95cl: Vec<f64>,
    /// Mean Ξ over the trainings with a value (`None` if none has one).
    pub mean_significance: Option<f64>,
    /// Sample standard deviation of those Ξ (`None` below two values).
    pub std_significance: Option<f64>,
    /// Mean εs on test over the trainings.
    pub signal_efficiency: f64,
    /// Mean εb on test over the trainings.
    pub background_efficiency: f64,
    /// Mean AUC on test over the trainings.
    pub auc: f64,
    /// The paper's mean Ξ at this width where it states one (n = 8: 10.32).
    pub paper_mean_significance: Option<f64>,
}

impl SweepRow {
    fn of(top: Option<usize>, width: usize, runs: &[&BinaryFigures]) -> Self {
        let values: Vec<f64> = runs.iter().filter_map(|f| f.significance).collect();
        let n = runs.len().max(1) as f64;
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let mean_significance = (!values.is_empty()).then(|| mean(&values));
        let std_significance = (values.len() >= 2).then(|| {
            let m = mean(&values);
            (values.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
        });
        Self {
            n: width_name(top),
            width,
            significance: runs.iter().map(|f| f.significance).collect(),
            significance_lower_limits_95cl: runs
                .iter()
                .filter_map(|f| f.significance_lower_limit_95cl)
                .collect(),
            mean_significance,
            std_significance,
            signal_efficiency: runs.iter().map(|f| f.signal_efficiency).sum::<f64>() / n,
            background_efficiency: runs.iter().map(|f| f.background_efficiency).sum::<f64>() / n,
            auc: runs.iter().map(|f| f.auc).sum::<f64>() / n,
            paper_mean_significance: (top == Some(8)).then_some(PAPER_SWEEP_BEST_N8),
        }
    }
}

/// One network of the comparison (the paper's Tables 1 and 3) on this run's test set.
#[derive(Debug, Clone, Serialize)]
pub struct CompareRow {
    /// The network.
    pub network: String,
    /// Its trainable parameters.
    pub parameters: usize,
    /// Ξ on test (`None` when no test background passes).
    pub significance: Option<f64>,
    /// 95 % CL lower limit on Ξ when no test background passes.
    pub significance_lower_limit_95cl: Option<f64>,
    /// εs on test.
    pub signal_efficiency: f64,
    /// εb on test.
    pub background_efficiency: f64,
    /// AUC on test.
    pub auc: f64,
    /// Mean wall time of a training epoch here, in seconds (training events over the measured
    /// events/s; validation not included).
    pub seconds_per_epoch: f64,
    /// The paper's Ξ for this network at this image size, where it gives one.
    pub paper_significance: Option<f64>,
}

impl CompareRow {
    fn of(
        trained: &pipeline::Trained,
        f: &BinaryFigures,
        train_events: usize,
        paper_significance: Option<f64>,
    ) -> Self {
        Self {
            network: trained.spec.label.clone(),
            parameters: trained.parameters(),
            significance: f.significance,
            significance_lower_limit_95cl: f.significance_lower_limit_95cl,
            signal_efficiency: f.signal_efficiency,
            background_efficiency: f.background_efficiency,
            auc: f.auc,
            seconds_per_epoch: seconds_per_epoch(&trained.history, train_events),
            paper_significance,
        }
    }
}

/// Mean training time of an epoch in seconds: `train_events` over each epoch's events/s.
fn seconds_per_epoch(history: &[EpochRecord], train_events: usize) -> f64 {
    let t: Vec<f64> = history
        .iter()
        .filter(|r| r.events_per_s > 0.0)
        .map(|r| train_events as f64 / r.events_per_s)
        .collect();
    t.iter().sum::<f64>() / t.len().max(1) as f64
}

/// Events per category and set.
#[derive(Debug, Clone, Serialize)]
pub struct EventCounts {
    /// Labelled events with an image.
    pub with_image: usize,
    /// Labelled events without charge above threshold (no image), set aside.
    pub set_aside_no_charge: usize,
    /// Signal (0νββ) events among those with an image.
    pub signal: usize,
    /// Training events.
    pub train: usize,
    /// Validation events.
    pub val: usize,
    /// Test events.
    pub test: usize,
}

/// The PandaX-III report.
#[derive(Debug, Clone, Serialize)]
pub struct Pandax3Report {
    /// `pandax3`.
    pub experiment: &'static str,
    /// The settings of the run.
    pub settings: Settings,
    /// The run's seed.
    pub seed: u64,
    /// The input: the user's file or the generator.
    pub data: String,
    /// Events per category and set.
    pub events: EventCounts,
    /// The headline network and its parameter count.
    #[serde(rename = "model")]
    pub network_summary: NetworkSummary,
    /// Its training configuration and history.
    pub training: TrainingSummary,
    /// How the working points were chosen.
    pub working_point: String,
    /// The headline network's figures.
    pub network: BinaryFigures,
    /// The Bragg-blob cut's figures.
    pub baseline: BinaryFigures,
    /// The TopConv sweep, in the order of the settings.
    pub topconv_sweep: Vec<SweepRow>,
    /// The headline network and the comparison's networks (Tables 1 and 3), with the paper's Ξ.
    pub comparison: Vec<CompareRow>,
    /// Ξ of the paper's design (topological) baseline, 3.82, beside this run's Bragg-blob cut.
    pub paper_design_baseline_significance: f64,
    /// The headline network's feature-map study, when asked for.
    pub feature_maps: Option<FeatureStudy>,
}

/// The feature-map study of the headline network (the paper's Figs. 6–10).
#[derive(Debug, Clone, Serialize)]
pub struct FeatureStudy {
    /// The maps, `rareml.features.v1` (docs/formats.md), in the output directory.
    pub file: String,
    /// The weights used: the newest checkpoint of the network's ensemble.
    pub weights: String,
    /// Ids of the events (signal first, then background).
    pub event_ids: Vec<i64>,
    /// Per stage written: (stage number, [channels, height, width]).
    pub stages: Vec<(usize, [usize; 3])>,
    /// The DBSCAN settings of the grouping.
    pub clustering: MapClusterParams,
    /// Maps of the last MBConv stage (Stage 8) grouped by their correlation over the events.
    pub stage8_groups: MapGroups,
    /// The classifier's weights (one per TopConv channel).
    pub classifier_weights: WeightSummary,
}

impl Report for Pandax3Report {
    fn threshold(&self) -> Option<f64> {
        Some(self.network.working_point.threshold)
    }

    fn title(&self) -> String {
        format!(
            "PandaX-III — EfficientNet versus the Bragg blobs (seed {})",
            self.seed
        )
    }

    fn plots(&self) -> Vec<(&'static str, &'static str)> {
        let mut plots = vec![
            (
                "roc.png",
                "ROC on the test events: 0νββ versus background, working points marked",
            ),
            (
                "scores.png",
                "EfficientNet score per class (test), log scale",
            ),
            (
                "blob_score.png",
                "Bragg-blob score per class (test), log scale",
            ),
        ];
        if let Some(f) = &self.feature_maps {
            for (k, _) in &f.stages {
                if let Some(names) = GRIDS.get(k.wrapping_sub(1)) {
                    plots.push((names[0], "Feature maps of a test 0νββ event at this stage, each map on its own scale"));
                    plots.push((names[1], "Feature maps of a test background event at this stage, each map on its own scale"));
                }
            }
            plots.push((
                "fc_weights.png",
                "The classifier's weights, one per TopConv channel (the paper's Fig. 10)",
            ));
        }
        if !self.topconv_sweep.is_empty() {
            plots.push((
                "sweep.png",
                "Ξ on test against the TopConv width n: mean of the trainings ± their standard deviation (the paper's Fig. 11)",
            ));
        }
        plots
    }

    fn markdown(&self) -> String {
        let xi = |v: Option<f64>, limit: Option<f64>| match (v, limit) {
            (Some(x), _) => format!("{x:.3}"),
            (None, Some(l)) => format!("> {l:.1} (0 background, 95 % CL)"),
            _ => "—".into(),
        };
        let row = |name: String, f: &BinaryFigures| {
            vec![
                name,
                f.xi(),
                fmt(Some(f.signal_efficiency), 3),
                fmt(Some(f.background_efficiency), 4),
                fmt(Some(f.auc), 4),
            ]
        };
        let rows = vec![
            row(self.network_summary.label.clone(), &self.network),
            row("Bragg blobs".into(), &self.baseline),
        ];
        let mut md = format!(
            "# PandaX-III — {} events, test {}; threshold of maximum Ξ on validation\n\n",
            self.events.with_image, self.events.test
        );
        md += &markdown_table(&["method", "Ξ = εs/√εb", "εs", "εb", "AUC"], &rows);
        md += &format!(
            "\nThe paper's design (topological) baseline had Ξ = {:.2}; its best network (EfficientNet-B4, n = 8) \
             {PAPER_SWEEP_BEST_N8:.2}.\n",
            self.paper_design_baseline_significance
        );
        if self.comparison.len() > 1 {
            let side = self.settings.side();
            md +=
                &format!("\n## Networks (the paper's Tables 1 and 3), {side} × {side} images\n\n");
            let rows: Vec<Vec<String>> = self
                .comparison
                .iter()
                .map(|c| {
                    vec![
                        c.network.clone(),
                        c.parameters.to_string(),
                        xi(c.significance, c.significance_lower_limit_95cl),
                        fmt(c.paper_significance, 2),
                        fmt(Some(c.signal_efficiency), 3),
                        fmt(Some(c.background_efficiency), 4),
                        fmt(Some(c.auc), 4),
                        format!("{:.1}", c.seconds_per_epoch),
                    ]
                })
                .collect();
            md += &markdown_table(
                &[
                    "network",
                    "parameters",
                    "Ξ",
                    "paper Ξ",
                    "εs",
                    "εb",
                    "AUC",
                    "s / epoch",
                ],
                &rows,
            );
        }
        if !self.topconv_sweep.is_empty() {
            md += &format!(
                "\n## TopConv sweep, {} training(s) per width\n\n",
                self.settings.repeats
            );
            let rows: Vec<Vec<String>> = self
                .topconv_sweep
                .iter()
                .map(|s| {
                    let each: Vec<String> = s
                        .significance
                        .iter()
                        .map(|v| v.map_or("—".into(), |x| format!("{x:.2}")))
                        .collect();
                    let mean = match (s.mean_significance, s.std_significance) {
                        (Some(m), Some(sd)) => format!("{m:.2} ± {sd:.2}"),
                        (Some(m), None) => format!("{m:.2}"),
                        _ => "—".into(),
                    };
                    vec![
                        s.n.clone(),
                        s.width.to_string(),
                        each.join(", "),
                        mean,
                        fmt(s.paper_mean_significance, 2),
                        fmt(Some(s.signal_efficiency), 3),
                        fmt(Some(s.background_efficiency), 4),
                        fmt(Some(s.auc), 4),
                    ]
                })
                .collect();
            md += &markdown_table(
                &[
                    "n",
                    "width",
                    "Ξ per training",
                    "mean Ξ ± sd",
                    "paper mean Ξ",
                    "mean εs",
                    "mean εb",
                    "mean AUC",
                ],
                &rows,
            );
        }
        if let Some(f) = &self.feature_maps {
            let g = &f.stage8_groups;
            let maps =
                g.groups.iter().map(Vec::len).sum::<usize>() + g.ungrouped.len() + g.constant.len();
            let sizes: Vec<String> = g.groups.iter().map(|m| m.len().to_string()).collect();
            let w = &f.classifier_weights;
            md += &format!(
                "\n## Feature maps ({} events, weights {})\n\n\
                 Stage 8 (the last MBConv stage): {maps} maps; DBSCAN (ε = {}, {} maps) on their \
                 correlation over the events finds {} group(s) of near-identical maps (sizes {}), \
                 {} map(s) in no group, {} constant. The paper: 448 maps of B4 in 5 groups.\n\n\
                 Classifier: {} weights, {} with |w| > 0.5 (largest {:.3}, mean |w| {:.3}). The \
                 paper: 6 of 1792.\n\nMaps of stages {} in `{}`.\n",
                f.event_ids.len(),
                f.weights,
                f.clustering.eps,
                f.clustering.min_points,
                g.groups.len(),
                if sizes.is_empty() {
                    "—".into()
                } else {
                    sizes.join(", ")
                },
                g.ungrouped.len(),
                g.constant.len(),
                w.count,
                w.above_half,
                w.max_abs,
                w.mean_abs,
                f.stages
                    .iter()
                    .map(|(k, _)| k.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                f.file
            );
        }
        md
    }
}

/// Dumps the chosen stages' maps of the first test events of each class, draws them, groups the
/// Stage-8 maps and summarises the classifier's weights.
fn feature_study(
    run: &Run,
    data: &Events,
    split: &Split,
    trained: &pipeline::Trained,
    f: &FeatureSettings,
    side: usize,
) -> Result<FeatureStudy> {
    let take = |signal: bool| {
        split
            .test
            .iter()
            .copied()
            .filter(move |&i| (data.labels[i] == 1) == signal)
            .take(f.events)
    };
    let chosen: Vec<usize> = take(true).chain(take(false)).collect();
    let per = 2 * side * side;
    let mut x = Vec::with_capacity(chosen.len() * per);
    for &i in &chosen {
        x.extend_from_slice(&data.src.inputs()[i * per..(i + 1) * per]);
    }
    let x = candle_core::Tensor::from_vec(x, (chosen.len(), 2, side, side), &run.device)?;
    let weights = trained.kept.last().ok_or_else(|| {
        Error::Analysis("feature maps: the network has no kept checkpoint".into())
    })?;
    let params = crate::models::Params::new(0);
    let model = crate::models::Model::new(&trained.spec.config, &params, &run.device)?;
    params.load(weights, &[])?;
    let crate::models::Model::EfficientNet(net) = &model else {
        return Err(Error::Analysis(format!(
            "feature maps: {} is not an EfficientNet",
            trained.spec.label
        )));
    };
    let stages = net.forward_stages(&x, &crate::models::Ctx::eval())?;
    let to_array = |t: &candle_core::Tensor| -> Result<ndarray::Array4<f32>> {
        let (n, c, h, w) = t.dims4()?;
        let v = t
            .flatten_all()?
            .to_dtype(candle_core::DType::F32)?
            .to_vec1::<f32>()?;
        ndarray::Array4::from_shape_vec((n, c, h, w), v)
            .map_err(|e| Error::Analysis(format!("feature maps: {e}")))
    };
    let mut wanted: Vec<usize> = f.stages.clone();
    wanted.sort_unstable();
    wanted.dedup();
    let arrays: Vec<(usize, ndarray::Array4<f32>)> = wanted
        .iter()
        .map(|&k| Ok((k, to_array(&stages[k - 1])?)))
        .collect::<Result<_>>()?;
    let ids: Vec<i64> = chosen.iter().map(|&i| data.events[i].id).collect();
    let labels: Vec<u8> = chosen.iter().map(|&i| data.labels[i] as u8).collect();
    let weights_name = weights
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = "feature_maps.h5";
    crate::io::features::write(
        run.out.join(file),
        &crate::io::features::FeatureMapsMeta {
            experiment: "pandax3".into(),
            network: trained.spec.label.clone(),
            weights: weights_name.clone(),
        },
        &ids,
        &labels,
        &arrays
            .iter()
            .map(|(k, a)| (*k, a.view()))
            .collect::<Vec<_>>(),
    )?;
    let n_signal = take(true).count();
    for (k, a) in &arrays {
        for (class, row) in [("signal", 0), ("background", n_signal)] {
            if row < chosen.len() {
                crate::report::plot::map_grid_png(
                    &run.out.join(format!("features_stage{k}_{class}.png")),
                    &format!(
                        "Stage {k} feature maps, {class} event {} (each map on its own scale)",
                        ids[row]
                    ),
                    a.index_axis(ndarray::Axis(0), row),
                )?;
            }
        }
    }
    // Stage 8: rows = maps, columns = (event, pixel).
    let s8 = to_array(&stages[7])?;
    let (n, c, h, w) = s8.dim();
    let rows = s8
        .permuted_axes([1, 0, 2, 3])
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((c, n * h * w))
        .map_err(|e| Error::Analysis(format!("feature maps: {e}")))?;
    let stage8_groups = cluster_maps(rows.view(), &f.clustering)?;
    let fc = params
        .named()
        .get("classifier.1.weight")
        .map(|v| v.as_tensor().flatten_all()?.to_vec1::<f32>())
        .transpose()?
        .unwrap_or_default();
    histogram_png(
        &run.out.join("fc_weights.png"),
        "Classifier weights (one per TopConv channel)",
        "weight",
        &[("weights", fc.iter().map(|&v| v as f64).collect())],
        (-1.5, 1.5),
        30,
        None,
    )?;
    Ok(FeatureStudy {
        file: file.into(),
        weights: weights_name,
        event_ids: ids,
        stages: arrays
            .iter()
            .map(|(k, a)| (*k, [a.dim().1, a.dim().2, a.dim().3]))
            .collect(),
        clustering: f.clustering,
        stage8_groups,
        classifier_weights: WeightSummary::of(&fc),
    })
}

/// The map-grid pictures of stages 1–9 (signal, background), as `feature_study` names them.
const GRIDS: [[&str; 2]; 9] = [
    [
        "features_stage1_signal.png",
        "features_stage1_background.png",
    ],
    [
        "features_stage2_signal.png",
        "features_stage2_background.png",
    ],
    [
        "features_stage3_signal.png",
        "features_stage3_background.png",
    ],
    [
        "features_stage4_signal.png",
        "features_stage4_background.png",
    ],
    [
        "features_stage5_signal.png",
        "features_stage5_background.png",
    ],
    [
        "features_stage6_signal.png",
        "features_stage6_background.png",
    ],
    [
        "features_stage7_signal.png",
        "features_stage7_background.png",
    ],
    [
        "features_stage8_signal.png",
        "features_stage8_background.png",
    ],
    [
        "features_stage9_signal.png",
        "features_stage9_background.png",
    ],
];

/// Ξ against the TopConv width (log₂ of the width in channels), mean ± standard deviation of the
/// trainings, each training's value beside it (the paper's Fig. 11).
fn sweep_png(out: &Path, rows: &[SweepRow], repeats: usize) -> Result<()> {
    let x = |r: &SweepRow| (r.width as f64).log2();
    let means: Vec<(f64, f64, f64)> = rows
        .iter()
        .filter_map(|r| {
            r.mean_significance
                .map(|m| (x(r), m, r.std_significance.unwrap_or(0.0)))
        })
        .collect();
    let each: Vec<(f64, f64, f64)> = rows
        .iter()
        .flat_map(|r| {
            r.significance
                .iter()
                .flatten()
                .map(move |&v| (x(r), v, 0.0))
        })
        .collect();
    let title = format!("TopConv sweep: Ξ on test, {repeats} training(s) per width");
    points_png(
        &out.join("sweep.png"),
        &title,
        "log2 of the TopConv width n",
        "Ξ = εs/√εb",
        &[("mean ± sd", means, None), ("each training", each, None)],
        true,
    )?;
    Ok(())
}

/// ROC curves of both methods and the score distributions of signal and background.
fn plots(out: &Path, net: &BinaryFigures, blobs: &BinaryFigures, test_sig: &[bool]) -> Result<()> {
    roc_png(
        &out.join("roc.png"),
        "PandaX-III: 0νββ vs background (test)",
        &[
            RocSeries {
                name: "EfficientNet",
                fpr: &net.roc.fpr,
                tpr: &net.roc.tpr,
                working_point: Some(net.working_point.efficiencies()),
            },
            RocSeries {
                name: "Bragg blobs",
                fpr: &blobs.roc.fpr,
                tpr: &blobs.roc.tpr,
                working_point: Some(blobs.working_point.efficiencies()),
            },
        ],
    )?;
    let split = |s: &[f64]| -> Vec<(&str, Vec<f64>)> {
        let class = |want: bool| {
            s.iter()
                .zip(test_sig)
                .filter(|(_, &y)| y == want)
                .map(|(&v, _)| v)
                .collect()
        };
        vec![("0νββ", class(true)), ("background", class(false))]
    };
    let thr = |f: &BinaryFigures| Some(f.working_point.threshold);
    histogram_png(
        &out.join("scores.png"),
        "EfficientNet score (test)",
        "sigmoid output",
        &split(&net.scores),
        (0.0, 1.0),
        40,
        thr(net),
    )?;
    histogram_png(
        &out.join("blob_score.png"),
        "Bragg-blob score (test)",
        "weaker blob / plane charge",
        &split(&blobs.scores),
        (0.0, 0.5),
        40,
        thr(blobs),
    )?;
    Ok(())
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
}
