//! PandaX-III: EfficientNet on XZ/YZ images versus the Bragg-blob topology cut; figure of merit
//! Ξ = εs/√εb at the threshold of maximum Ξ chosen on validation and applied on test; optional
//! sweep over the TopConv width n (the paper's study).

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
use crate::models::{EfficientNetConfig, GlobalPool, ModelConfig};
use crate::preprocess::batch::{build_batch_skipping_empty, fill_batch_skipping_empty, TpcImages};
use crate::preprocess::tpc::{RandomFlips, TpcImageConfig};
use crate::report::browser::{selection, Browser, Cell, Column, Picture};
use crate::report::pictures::{tpc_projections, tpc_waveforms};
use crate::report::plot::{histogram_png, roc_png, RocSeries};
use crate::report::{fmt, markdown_table, Report};
use crate::sim::tpc::TpcConfig;
use crate::train::{AdamConfig, InMemory, Schedule, Source, Split, Targets, Task, TrainConfig};
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
    /// Checkpoints kept: the network's score is their mean.
    pub keep_last: usize,
}

impl Settings {
    /// The preset's sizes.
    pub fn preset(preset: Preset) -> Self {
        match preset {
            // B0 at half width and depth on the 64 × 64 images without the ×2 upsampling.
            Preset::Quick => Settings {
                preset,
                events: 5000,
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
            },
            Preset::Paper => Settings {
                preset,
                events: 40000,
                epochs: 30,
                net: EfficientNetConfig::b(4).expect("B4"),
                image: TpcImageConfig::default(),
                batch: 32,
                sweep: vec![Some(2), Some(4), Some(8), Some(16), None],
                lr: 1e-3,
                keep_last: 3,
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
            progress,
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
        (0.2, 0.2)
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
        let mut tops = vec![main];
        tops.extend(self.0.sweep.iter().filter(|&&t| t != main));
        Ok(tops
            .into_iter()
            .map(|top| NetworkSpec {
                label: format!("EfficientNet (n = {})", width_name(top)),
                config: ModelConfig::EfficientNet(self.0.network(top)),
                task: Task::Binary,
                train: self.0.train_config(run.options.seed, run.options.progress),
                checkpoints: if top == main {
                    "checkpoints".into()
                } else {
                    format!("checkpoints-n{}", width_name(top))
                },
                predict_batch: 64,
                ensemble: Ensemble::Mean,
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
        let sweep_of = |top: &Option<usize>| {
            networks
                .iter()
                .zip(&nets)
                .find(|(n, _)| matches!(&n.trained.spec.config, ModelConfig::EfficientNet(c) if c.top_channels == *top))
                .map(|(_, f)| SweepRow::of(*top, f))
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
            topconv_sweep: self.0.sweep.iter().filter_map(sweep_of).collect(),
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

/// One TopConv width of the sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRow {
    /// TopConv width n (`full` = torchvision's).
    pub n: String,
    /// Ξ on test (`None` when no background passes).
    pub significance: Option<f64>,
    /// 95 % CL lower limit on Ξ when no background passes.
    pub significance_lower_limit_95cl: Option<f64>,
    /// εs on test.
    pub signal_efficiency: f64,
    /// εb on test.
    pub background_efficiency: f64,
    /// AUC on test.
    pub auc: f64,
}

impl SweepRow {
    fn of(top: Option<usize>, f: &BinaryFigures) -> Self {
        Self {
            n: width_name(top),
            significance: f.significance,
            significance_lower_limit_95cl: f.significance_lower_limit_95cl,
            signal_efficiency: f.signal_efficiency,
            background_efficiency: f.background_efficiency,
            auc: f.auc,
        }
    }
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
        vec![
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
        ]
    }

    fn markdown(&self) -> String {
        let row = |name: String, f: &BinaryFigures| {
            vec![
                name,
                f.xi(),
                fmt(Some(f.signal_efficiency), 3),
                fmt(Some(f.background_efficiency), 4),
                fmt(Some(f.auc), 4),
            ]
        };
        let mut rows = vec![
            row(self.network_summary.label.clone(), &self.network),
            row("Bragg blobs".into(), &self.baseline),
        ];
        for s in &self.topconv_sweep {
            let xi = match (s.significance, s.significance_lower_limit_95cl) {
                (Some(x), _) => format!("{x:.3}"),
                (None, Some(l)) => format!("> {l:.1} (0 background, 95 % CL)"),
                _ => "—".into(),
            };
            rows.push(vec![
                format!("sweep: n = {}", s.n),
                xi,
                fmt(Some(s.signal_efficiency), 3),
                fmt(Some(s.background_efficiency), 4),
                fmt(Some(s.auc), 4),
            ]);
        }
        let mut md = format!(
            "# PandaX-III — {} events, test {}; threshold of maximum Ξ on validation\n\n",
            self.events.with_image, self.events.test
        );
        md += &markdown_table(&["method", "Ξ = εs/√εb", "εs", "εb", "AUC"], &rows);
        md
    }
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
