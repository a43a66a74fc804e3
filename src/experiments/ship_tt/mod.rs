//! SHiP target tracker: the study of Shirobokov et al. ("Accelerating dark matter search in
//! emulsion SHiP detector by deep learning") on generated showers — the event selection, the
//! classical fits (Gaussian features with a linear regression and with gradient-boosted trees,
//! the N-hits line), the network rows of its Table 1 (a CNN with MSE, the same with Huber,
//! SNDNet's CoordConv with Huber), the resolution against E with its a/√E ⊕ b fit (Fig. 5),
//! the Gaussian features against E (Fig. 1) and the XY vertex of Algorithm 1 against the hits'
//! weighted mean (Fig. 6), each beside the paper's numbers.

mod report;
mod sources;

pub use sources::{ResimCounts, MAX_DRAWS};

pub use report::{
    EventCounts, Figures, NHitsFigures, NetworkRow, PaperRow, ShipTtReport, XyFigures, PAPER_TABLE,
};

use super::pipeline::{self, Ensemble, Experiment, NetworkSpec, Run, Scored};
use super::predict::{EventKeys, EventReader, Outputs};
use super::{setting_err, Error, Options, Preset, Result};
use crate::baselines::tt::{DbscanVertexParams, MomentModel, MomentRegression, NHitsEnergy};
use crate::io::scores::{SCORED, SET_ASIDE};
use crate::io::tt::{TtEvent, TtFile, TtGeometry};
use crate::metrics::Criterion;
use crate::models::{ModelConfig, SndBlock, SndNetConfig};
use crate::preprocess::batch::{fill_batch, Transform, TtMaps};
use crate::preprocess::tt::{
    scale_energy, unscale_energy, HitMapConfig, Selection, SelectionReport,
};
use crate::report::browser::{Browser, Cell, Column};
use crate::report::pictures::{mark, tt_stations, ALT_COLOR, RECO_COLOR, TRUE_COLOR};
use crate::train::{
    AdamConfig, InMemory, Schedule, Source, Split, Targets, Task, TrainConfig, WeightDecaySchedule,
};
use ndarray::{Array2, ArrayViewMutD};
use serde::{Deserialize, Serialize};
use sources::{OnTheFly, Stored};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// True-energy bins in GeV of the resolution points and the selection counts: 10 GeV wide, 0–100.
pub const ENERGY_BINS_GEV: [f64; 11] = [
    0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0,
];

/// z in cm where Algorithm 1's line gives the vertex XY: the middle of the vertex brick (z is
/// measured from its downstream end and d is uniform in [−7.5, 0] cm).
pub const VERTEX_EVAL_Z_CM: f64 = -3.75;

/// How the L2 weight decay changes over the epochs; in both the learning rate is halved every
/// `halve_every` epochs (10 in the public code; the paper's text says nothing else about it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShipSchedule {
    /// The paper's text: "L2 constant 0.01 decreased by half every ten epochs".
    Text,
    /// The public code: after the first 10 epochs the Adam optimiser is re-created without
    /// weight decay.
    Code,
}

impl ShipSchedule {
    /// The learning-rate and weight-decay schedules, halving (and for the code's, dropping the
    /// weight decay) every `every` epochs.
    pub fn schedules(self, every: usize) -> (Schedule, WeightDecaySchedule) {
        let lr = Schedule::Step { every, gamma: 0.5 };
        match self {
            ShipSchedule::Text => (lr, WeightDecaySchedule::Step { every, gamma: 0.5 }),
            ShipSchedule::Code => (lr, WeightDecaySchedule::DropAfter { epochs: every }),
        }
    }
}

impl std::str::FromStr for ShipSchedule {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "text" => Ok(ShipSchedule::Text),
            "code" => Ok(ShipSchedule::Code),
            _ => Err(format!("unknown schedule {s:?}: text or code")),
        }
    }
}

/// What the networks regress for the shower energy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnergyTarget {
    /// E × 7/100 (the public code).
    Scaled,
    /// √(E/GeV): a calorimeter's stochastic term σ_E = a√E makes σ(√E) = a/2 the same at every
    /// energy, so no energy range dominates the loss.
    Sqrt,
    /// ln(E/GeV): errors become relative.
    Log,
}

impl EnergyTarget {
    /// The target of `e_gev`.
    pub fn of(self, e_gev: f64) -> f64 {
        match self {
            EnergyTarget::Scaled => scale_energy(e_gev),
            EnergyTarget::Sqrt => e_gev.max(0.0).sqrt(),
            EnergyTarget::Log => e_gev.ln(),
        }
    }

    /// The energy in GeV of a target value.
    pub fn energy(self, target: f64) -> f64 {
        match self {
            EnergyTarget::Scaled => unscale_energy(target),
            EnergyTarget::Sqrt => target.max(0.0).powi(2),
            EnergyTarget::Log => target.exp(),
        }
    }

    /// How the report names it.
    pub fn describe(self) -> &'static str {
        match self {
            EnergyTarget::Scaled => "E × 7/100 (public SHiP code)",
            EnergyTarget::Sqrt => "√(E/GeV)",
            EnergyTarget::Log => "ln(E/GeV)",
        }
    }
}

impl std::str::FromStr for EnergyTarget {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "scaled" => Ok(EnergyTarget::Scaled),
            "sqrt" => Ok(EnergyTarget::Sqrt),
            "log" => Ok(EnergyTarget::Log),
            _ => Err(format!("unknown energy target {s:?}: scaled, sqrt or log")),
        }
    }
}

/// One network row of the paper's Table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ShipNetwork {
    /// CNN (SNDNet's blocks without coordinate channels), mean squared error.
    CnnMse,
    /// The same CNN, Huber loss.
    CnnHuber,
    /// SNDNet: CoordConv blocks, Huber loss (the public code's network).
    CoordConvHuber,
}

impl std::str::FromStr for ShipNetwork {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "cnn-mse" => Ok(ShipNetwork::CnnMse),
            "cnn-huber" => Ok(ShipNetwork::CnnHuber),
            "coordconv-huber" | "sndnet" => Ok(ShipNetwork::CoordConvHuber),
            _ => Err(format!(
                "unknown network row {s:?}: coordconv-huber (sndnet), cnn-huber or cnn-mse"
            )),
        }
    }
}

impl ShipNetwork {
    /// The three rows in the paper's order.
    pub const ALL: [ShipNetwork; 3] = [
        ShipNetwork::CnnMse,
        ShipNetwork::CnnHuber,
        ShipNetwork::CoordConvHuber,
    ];

    /// The row's name in the paper's Table 1.
    pub fn label(self) -> &'static str {
        match self {
            ShipNetwork::CnnMse => "CNN, MSE loss",
            ShipNetwork::CnnHuber => "CNN, Huber loss",
            ShipNetwork::CoordConvHuber => "CoordConv CNN (SNDNet), Huber loss",
        }
    }

    fn coordinates(self) -> bool {
        self == ShipNetwork::CoordConvHuber
    }

    fn task(self) -> Task {
        match self {
            ShipNetwork::CnnMse => Task::MeanSquared,
            _ => Task::Regression { delta: 1.0 },
        }
    }

    /// Checkpoint directory inside the run directory (SNDNet keeps the historical name).
    fn checkpoints(self) -> &'static str {
        match self {
            ShipNetwork::CnnMse => "checkpoints_cnn_mse",
            ShipNetwork::CnnHuber => "checkpoints_cnn_huber",
            ShipNetwork::CoordConvHuber => "checkpoints",
        }
    }

    fn loss(self) -> &'static str {
        match self {
            ShipNetwork::CnnMse => "MSE",
            _ => "Huber (δ = 1)",
        }
    }
}

fn ten() -> usize {
    10
}

/// Sizes and choices of a SHiP TT run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The preset these settings started from.
    pub preset: Preset,
    /// Events (generated, or read at most), before the selection.
    pub events: usize,
    /// Training epochs.
    pub epochs: usize,
    /// Hit-map pixel in cm (paper: 0.07 = 700 µm → 150 × 185 maps).
    pub pixel_cm: f64,
    /// The network blocks (with or without coordinate channels per row).
    pub blocks: Vec<SndBlock>,
    /// Batch size.
    pub batch: usize,
    /// Adam L2 weight decay at epoch 0 (public SHiP code and paper: 0.01).
    pub weight_decay: f64,
    /// How the weight decay and the learning rate change over the epochs.
    pub schedule: ShipSchedule,
    /// Epochs between halvings of the learning rate (and of the text schedule's weight decay;
    /// the code schedule drops it after the first period). Public code: 10 of 60 epochs.
    #[serde(default = "ten")]
    pub halve_every: usize,
    /// What the networks regress for the energy.
    pub energy_target: EnergyTarget,
    /// The networks regress d / `distance_unit_cm`: the unit sets the weight of the d term in
    /// the loss against the energy term (public code: 1 cm).
    pub distance_unit_cm: f64,
    /// Checkpoints kept: the network's estimate is the mean of their decoded outputs (E in GeV,
    /// d in cm), which smooths the epoch-to-epoch noise of the last one.
    pub keep_last: usize,
    /// The network rows trained; the first is the headline network (browser, `run.json`).
    pub networks: Vec<ShipNetwork>,
    /// The selection: fewest hits an event may have (public code: more than 5 → 6).
    pub min_hits: usize,
    /// Stations whose Gaussian features enter the classical fits, from the first (paper: 3 → 12
    /// features).
    pub moment_stations: usize,
    /// Also fit gradient-boosted trees on the Gaussian features (the paper's XGBoost row).
    pub boosting: bool,
    /// Train on re-simulated showers: each training batch holds fresh showers of the training
    /// events' true E and d (redrawn until they pass the selection), so every epoch sees new
    /// showers — with generated data only (a user's file has no generator behind it).
    #[serde(default)]
    pub resimulate: bool,
    /// Make the stored showers' hit maps per batch from their hits even when the maps would fit
    /// in memory (they are made per batch anyway above [`maps_in_memory_max_bytes`]).
    #[serde(default)]
    pub maps_per_batch: bool,
}

impl Settings {
    /// The preset's sizes.
    pub fn preset(preset: Preset) -> Self {
        let b = |channels, pool| SndBlock { channels, pool };
        match preset {
            // 3.5 mm pixels (30 × 37 maps) and four blocks: the same network family at 1/25 of the
            // pixels, ending like the public code's in 768 features (64 × 3 × 4; there 128 × 2 × 3)
            // — a fourth pool would leave 64 × 1 × 2, and the linear layer could no longer add up
            // the hits over the map (measured: RMSE E 8.12 against 6.99 GeV, docs/results.md).
            Preset::Quick => Settings {
                preset,
                events: 20000,
                epochs: 16,
                pixel_cm: 0.35,
                blocks: vec![b(32, true), b(32, false), b(64, true), b(64, false)],
                batch: 32,
                weight_decay: 0.0,
                schedule: ShipSchedule::Text,
                halve_every: 10,
                energy_target: EnergyTarget::Scaled,
                distance_unit_cm: 1.0,
                keep_last: 3,
                networks: vec![
                    ShipNetwork::CoordConvHuber,
                    ShipNetwork::CnnHuber,
                    ShipNetwork::CnnMse,
                ],
                min_hits: Selection::default().min_hits,
                moment_stations: 3,
                boosting: true,
                resimulate: true,
                maps_per_batch: false,
            },
            // The paper: 450,000 showers, 700 µm pixels (150 × 185), the public code's six blocks,
            // batch 512, 60 epochs, L2 0.01, target E × 7/100.
            Preset::Paper => Settings {
                preset,
                events: 450_000,
                epochs: 60,
                pixel_cm: 0.07,
                blocks: SndNetConfig::default().blocks,
                batch: 512,
                weight_decay: 0.01,
                // The paper's 405,000 training showers, each seen 60 times.
                resimulate: false,
                ..Self::preset(Preset::Quick)
            },
        }
    }

    /// Checks every setting (the maps' and the network's own fields too); the error names one
    /// field.
    pub fn validate(&self) -> Result<()> {
        if self.events < 20 {
            return Err(setting_err("ship_tt", "events", self.events, "≥ 20"));
        }
        if self.networks.is_empty() {
            return Err(setting_err(
                "ship_tt",
                "networks",
                &self.networks,
                "at least one network row",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if !self.networks.iter().all(|n| seen.insert(*n)) {
            return Err(setting_err(
                "ship_tt",
                "networks",
                &self.networks,
                "each row at most once",
            ));
        }
        if !(self.distance_unit_cm.is_finite() && self.distance_unit_cm > 0.0) {
            return Err(setting_err(
                "ship_tt",
                "distance_unit_cm",
                self.distance_unit_cm,
                "finite and > 0 cm",
            ));
        }
        if self.halve_every == 0 {
            return Err(setting_err(
                "ship_tt",
                "halve_every",
                self.halve_every,
                "≥ 1 epoch",
            ));
        }
        if self.min_hits == 0 {
            return Err(setting_err("ship_tt", "min_hits", self.min_hits, "≥ 1 hit"));
        }
        if !(1..=crate::io::tt::MAX_STATIONS).contains(&self.moment_stations) {
            return Err(setting_err(
                "ship_tt",
                "moment_stations",
                self.moment_stations,
                "1–256 stations",
            ));
        }
        let maps = HitMapConfig {
            pixel_cm: self.pixel_cm,
            ..Default::default()
        };
        let (h, w) = maps.size()?;
        self.train_config(0, false).validate()?;
        for &n in &self.networks {
            self.network([6, h, w], n).validate()?;
        }
        Ok(())
    }

    fn network(&self, input: [usize; 3], row: ShipNetwork) -> SndNetConfig {
        SndNetConfig {
            input,
            blocks: self.blocks.clone(),
            coordinates: row.coordinates(),
            ..Default::default()
        }
    }

    fn train_config(&self, seed: u64, progress: bool) -> TrainConfig {
        let (schedule, weight_decay_schedule) = self.schedule.schedules(self.halve_every);
        TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch,
            optimizer: AdamConfig {
                weight_decay: self.weight_decay,
                ..AdamConfig::ship()
            },
            schedule,
            weight_decay_schedule,
            seed,
            keep_last: self.keep_last,
            progress,
        }
    }

    /// The network's energy target of `e_gev`, and back.
    fn target(&self, e_gev: f64) -> f64 {
        self.energy_target.of(e_gev)
    }

    fn energy(&self, target: f64) -> f64 {
        self.energy_target.energy(target)
    }

    /// The network's decoded estimates (E in GeV, d in cm) per test event: the mean over the kept
    /// checkpoints of each one's decoded outputs, as `predict` averages them.
    fn estimates(&self, net: &Scored) -> (Vec<f64>, Vec<f64>) {
        let members = &net.test.0;
        let n = net.test.last().nrows();
        let k = members.len() as f64;
        let (mut e, mut d) = (vec![0.0; n], vec![0.0; n]);
        for m in members {
            for i in 0..n {
                e[i] += self.energy(m[[i, 0]] as f64) / k;
                d[i] += m[[i, 1]] as f64 * self.distance_unit_cm / k;
            }
        }
        (e, d)
    }

    fn selection(&self) -> Selection {
        Selection {
            min_hits: self.min_hits,
        }
    }
}

/// Largest hit-map sample held in memory, in bytes: a quarter of the read ceiling
/// ([`crate::io::read_limit_bytes`], half the machine's memory), leaving the rest to the network's
/// activations; larger samples make their maps per batch.
pub fn maps_in_memory_max_bytes() -> u64 {
    crate::io::read_limit_bytes() / 4
}

/// Runs the pipeline and returns the report (also written to `OUT/report.json`).
pub fn run(options: &Options, settings: &Settings) -> Result<ShipTtReport> {
    pipeline::run(&ShipTt(settings.clone()), options)
}

/// The SHiP TT experiment.
pub(crate) struct ShipTt(Settings);

/// The experiment of `settings` (for applying a trained run).
pub(crate) fn experiment(settings: Settings) -> ShipTt {
    ShipTt(settings)
}

impl ShipTt {
    /// The hit maps of training and prediction alike, on the file's geometry.
    fn maps(&self, geometry: &TtGeometry) -> TtMaps {
        TtMaps {
            n_stations: geometry.n_stations(),
            config: HitMapConfig {
                pixel_cm: self.0.pixel_cm,
                half_size_cm: geometry.half_size_cm,
                ..Default::default()
            },
            coordinates: false,
        }
    }

    /// The generator of the experiment's own data (and of the re-simulated showers).
    fn generator() -> crate::sim::tt::TtConfig {
        crate::sim::tt::TtConfig::default()
    }

    /// The stations of the classical fits' features (the first `moment_stations` of the file's).
    fn moment_stations(&self, geometry: &TtGeometry) -> Vec<usize> {
        (0..self.0.moment_stations.min(geometry.n_stations())).collect()
    }
}

/// A TT file's showers streamed for prediction: hit maps; showers the selection rejects set aside.
struct TtReader {
    file: TtFile,
    maps: TtMaps,
    selection: Selection,
}

impl EventReader for TtReader {
    fn len(&self) -> usize {
        self.file.len()
    }

    fn item_shape(&self) -> Vec<usize> {
        self.maps.item_shape()
    }

    fn read(&self, range: Range<usize>, out: &mut [f32]) -> Result<Vec<(i64, u8)>> {
        let events = self.file.read(range.clone())?;
        let mut shape = vec![events.len()];
        shape.extend(self.item_shape());
        let view = ArrayViewMutD::from_shape(shape, out).map_err(|e| Error::Data {
            path: self.file.path().to_path_buf(),
            reason: format!("batch buffer: {e}"),
        })?;
        fill_batch(&self.maps, &events, range.start as u64, view)?;
        // The network was trained on selected showers only (the training pipeline sets the
        // others aside too).
        Ok(events
            .iter()
            .map(|e| {
                (
                    -1,
                    if self.selection.keep(e) {
                        SCORED
                    } else {
                        SET_ASIDE
                    },
                )
            })
            .collect())
    }
}

/// Selected showers, their maps and targets.
pub(crate) struct Showers {
    keys: EventKeys,
    events: Arc<Vec<TtEvent>>,
    geometry: TtGeometry,
    selection: SelectionReport,
    hits_outside: usize,
    shape: [usize; 3],
    src: TrainingShowers,
}

/// The networks' training source: the stored showers, or fresh showers of the same truth.
enum TrainingShowers {
    Stored(Stored),
    Resimulated(Box<sources::Resimulated>),
}

impl Showers {
    /// True when the stored showers' hit maps are held in memory (made per batch otherwise).
    fn maps_in_memory(&self) -> bool {
        let stored = match &self.src {
            TrainingShowers::Stored(s) => s,
            TrainingShowers::Resimulated(r) => r.stored(),
        };
        matches!(stored, Stored::Maps(_))
    }

    /// What the re-simulation drew (`None` when the networks trained on the stored showers).
    fn resimulated(&self) -> Option<ResimCounts> {
        match &self.src {
            TrainingShowers::Stored(_) => None,
            TrainingShowers::Resimulated(r) => Some(r.counts()),
        }
    }
}

/// The classical methods' estimates on the test events.
pub(crate) struct Classical {
    nhits_fit: NHitsEnergy,
    nhits_e: Vec<f64>,
    moments: Vec<(f64, f64)>,
    boosted: Option<Vec<(f64, f64)>>,
    xy: XyFigures,
}

impl Experiment for ShipTt {
    const NAME: &'static str = "ship_tt";
    type Data = Showers;
    type Baseline = Classical;
    type Report = ShipTtReport;

    fn validate(&self) -> Result<()> {
        self.0.validate()
    }

    fn generate(&self, run: &Run, path: &Path) -> Result<()> {
        let n = self.0.events;
        run.say(format!("generating {n} showers into {}", path.display()));
        let opts = crate::sim::WriteOptions {
            batch: 1000,
            ..Default::default()
        };
        let cfg = Self::generator();
        Ok(crate::sim::tt::write(
            path,
            &cfg,
            run.options.seed,
            n,
            &opts,
            |_| {},
        )?)
    }

    fn load(&self, run: &Run, path: &Path) -> Result<Showers> {
        let file = TtFile::open(path)?;
        let n = self.0.events.min(file.len());
        let all = file.read(0..n)?;
        let read = all.len();
        // The study's selection: events with too few hits are set aside and counted per energy.
        let (kept, selection) = self.0.selection().apply(&all, &ENERGY_BINS_GEV)?;
        let mut all: Vec<Option<TtEvent>> = all.into_iter().map(Some).collect();
        let events: Vec<TtEvent> = kept.iter().filter_map(|&i| all[i].take()).collect();
        if events.len() < 20 {
            return Err(Error::Data {
                path: path.into(),
                reason: format!(
                    "{} of {read} events pass the selection (≥ {} hits); at least 20 are needed",
                    events.len(),
                    self.0.min_hits
                ),
            });
        }
        let geometry = file.geometry().clone();
        let maps = self.maps(&geometry);
        let item = maps.item_shape();
        let shape = [item[0], item[1], item[2]];
        let targets = Targets::Values {
            data: events
                .iter()
                .flat_map(|e| {
                    [
                        self.0.target(e.energy_gev as f64) as f32,
                        (e.distance_cm as f64 / self.0.distance_unit_cm) as f32,
                    ]
                })
                .collect(),
            width: 2,
        };
        let events = Arc::new(events);
        let values = events.len() * shape.iter().product::<usize>();
        let (bytes, ceiling) = (4 * values as u64, maps_in_memory_max_bytes());
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        let (stored, hits_outside) = if bytes <= ceiling && !self.0.maps_per_batch {
            let mut inputs = vec![0f32; values];
            let view = ArrayViewMutD::from_shape(
                vec![events.len(), shape[0], shape[1], shape[2]],
                &mut inputs,
            )
            .map_err(|e| Error::Data {
                path: path.into(),
                reason: format!("hit-map buffer: {e}"),
            })?;
            let reports = fill_batch(&maps, &events, 0, view)?;
            let outside = reports.iter().map(|r| r.outside).sum();
            (Stored::Maps(InMemory::new(inputs, item, targets)?), outside)
        } else {
            run.say(format!(
                "the hit maps ({:.1} GiB; held in memory up to {:.1} GiB, a quarter of the read \
                 ceiling) are made per batch from the hits",
                gib(bytes),
                gib(ceiling)
            ));
            let (src, outside) = OnTheFly::new(Arc::clone(&events), maps.clone(), targets)
                .map_err(|e| Error::Data {
                    path: path.into(),
                    reason: e.to_string(),
                })?;
            (Stored::OnTheFly(src), outside)
        };
        run.say(format!(
            "{} events pass the selection (≥ {} hits; {} of {read} set aside) → hit maps {shape:?}",
            events.len(),
            self.0.min_hits,
            selection.rejected
        ));
        let src = match (self.0.resimulate, &run.options.data) {
            (true, None) => {
                run.say(format!(
                    "training batches: fresh showers of the training events' E and d (rareml-sim tt, \
                     redrawn up to {MAX_DRAWS} times to pass the selection)"
                ));
                TrainingShowers::Resimulated(Box::new(sources::Resimulated::new(
                    stored,
                    &events,
                    Self::generator(),
                    maps,
                    self.0.selection(),
                )))
            }
            (true, Some(_)) => {
                run.say(
                    "re-simulation needs generated data: the networks train on the file's showers",
                );
                TrainingShowers::Stored(stored)
            }
            (false, _) => TrainingShowers::Stored(stored),
        };
        Ok(Showers {
            keys: EventKeys {
                id: vec![-1; kept.len()],
                index: kept,
            },
            events,
            geometry,
            selection,
            hits_outside,
            shape,
            src,
        })
    }

    fn source<'d>(&self, data: &'d Showers) -> &'d dyn Source {
        match &data.src {
            TrainingShowers::Stored(s) => s,
            TrainingShowers::Resimulated(r) => r.as_ref(),
        }
    }

    fn split_fractions(&self) -> (f64, f64) {
        match self.0.preset {
            Preset::Quick => (0.15, 0.15),
            // The paper: 90 % for training, 10 % for the test; 5 % of the training share
            // validates.
            Preset::Paper => (0.05, 0.10),
        }
    }

    fn baseline(&self, run: &Run, data: &Showers, split: &Split) -> Result<Classical> {
        let train: Vec<TtEvent> = split
            .train
            .iter()
            .map(|&i| data.events[i].clone())
            .collect();
        let test: Vec<TtEvent> = split.test.iter().map(|&i| data.events[i].clone()).collect();
        let energies: Vec<f64> = train.iter().map(|e| e.energy_gev as f64).collect();
        let hits: Vec<usize> = train.iter().map(|e| e.hits.len()).collect();
        let nhits_fit = NHitsEnergy::fit(&hits, &energies)?;
        let stations = self.moment_stations(&data.geometry);
        let moments = MomentRegression::fit(&train, &stations)?.predict_many(&test)?;
        pipeline::cancelled()?;
        let boosted = if self.0.boosting {
            run.say(format!(
                "gradient-boosted trees on the {} Gaussian features",
                4 * stations.len()
            ));
            let model = MomentModel::boosted(run.options.seed);
            Some(MomentRegression::fit_with(&train, &stations, &model)?.predict_many(&test)?)
        } else {
            None
        };
        let params = DbscanVertexParams {
            eval_z_cm: Some(VERTEX_EVAL_Z_CM),
            ..Default::default()
        };
        let test_refs: Vec<&TtEvent> = test.iter().collect();
        Ok(Classical {
            nhits_e: test
                .iter()
                .map(|e| nhits_fit.predict(e.hits.len()))
                .collect(),
            nhits_fit,
            moments,
            boosted,
            xy: XyFigures::of(&test_refs, &data.geometry.station_z_cm, &params)?,
        })
    }

    fn networks(&self, run: &Run, data: &Showers) -> Result<Vec<NetworkSpec>> {
        Ok(self
            .0
            .networks
            .iter()
            .map(|&row| NetworkSpec {
                label: row.label().into(),
                config: ModelConfig::SndNet(self.0.network(data.shape, row)),
                task: row.task(),
                train: self.0.train_config(run.options.seed, run.options.progress),
                checkpoints: row.checkpoints().into(),
                predict_batch: self.0.batch,
                ensemble: Ensemble::Mean,
            })
            .collect())
    }

    fn browser(
        &self,
        data: &Showers,
        split: &Split,
        net: &Scored,
        report: &ShipTtReport,
    ) -> Result<Browser> {
        let mut b = Browser::new(
            "Test showers",
            vec![
                Column::number("event", 0),
                Column::number("E [GeV]", 2),
                Column::number("network Ê [GeV]", 2),
                Column::number("(Ê − E)/E", 3),
                Column::number("d [cm]", 3),
                Column::number("network d̂ [cm]", 3),
                Column::number("hits", 0),
                Column::number("DBSCAN XY error [cm]", 3),
            ],
            "Sorted by |Ê − E|/E of the headline network, largest first. Pictures: the hits of each station              (square = one map pixel, colour = deposited energy on one scale), the true vertex XY              (white ✚), the DBSCAN vertex (red ✚, Algorithm 1) and the hits' weighted mean (orange ✚).",
        );
        let (net_e, net_d) = self.0.estimates(net);
        let g = &data.geometry;
        let xy = &report.xy;
        for (k, &i) in split.test.iter().enumerate() {
            let e = &data.events[i];
            let (te, pe) = (e.energy_gev as f64, net_e[k]);
            let rel = (pe - te) / te;
            let (tx, ty) = (e.vertex_cm[0], e.vertex_cm[1]);
            let db = xy.dbscan_xy_cm.get(k).copied().flatten();
            let mut marks = vec![mark(tx as f64, ty as f64, "true vertex", TRUE_COLOR)];
            if let Some([x, y]) = db {
                marks.push(mark(x, y, "DBSCAN vertex", RECO_COLOR));
            }
            if let Some(&[x, y]) = xy.weighted_mean_xy_cm.get(k) {
                marks.push(mark(x, y, "weighted mean", ALT_COLOR));
            }
            b.push(
                vec![
                    Cell::Num(data.keys.index[i] as f64),
                    Cell::Num(te),
                    Cell::Num(pe),
                    Cell::Num(rel),
                    Cell::Num(e.distance_cm as f64),
                    Cell::Num(net_d[k]),
                    Cell::Num(e.hits.len() as f64),
                    Cell::Num(db.map_or(f64::NAN, |[x, y]| {
                        ((x - tx as f64).powi(2) + (y - ty as f64).powi(2)).sqrt()
                    })),
                ],
                if rel.is_finite() {
                    rel.abs()
                } else {
                    f64::INFINITY
                },
                Some(tt_stations(e, g, self.0.pixel_cm, &marks)),
            );
        }
        Ok(b)
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).unwrap_or_default()
    }

    fn outputs(&self) -> Outputs {
        Outputs::Values {
            names: vec!["energy_gev".into(), "distance_cm".into()],
        }
    }

    fn criterion(&self) -> Option<Criterion> {
        None
    }

    fn decode(&self, outputs: &mut Array2<f32>) {
        outputs
            .column_mut(0)
            .mapv_inplace(|t| self.0.energy(t as f64) as f32);
        let unit = self.0.distance_unit_cm as f32;
        outputs.column_mut(1).mapv_inplace(|d| d * unit);
    }

    fn keys<'d>(&self, data: &'d Showers) -> &'d EventKeys {
        &data.keys
    }

    fn reader<'a>(&'a self, path: &Path) -> Result<Box<dyn EventReader + 'a>> {
        let file = TtFile::open(path)?;
        let maps = self.maps(file.geometry());
        Ok(Box::new(TtReader {
            file,
            maps,
            selection: self.0.selection(),
        }))
    }

    fn report(
        &self,
        run: &Run,
        data: &Showers,
        split: &Split,
        networks: &[Scored],
        classical: Classical,
    ) -> Result<ShipTtReport> {
        report::build(self, run, data, split, networks, classical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every settings rule names its field (the maps' and network's own rules name theirs).
    #[test]
    fn settings_rules_name_their_field() {
        let q = || Settings::preset(Preset::Quick);
        let bad = |s: Settings, field: &str| {
            let e = s.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        };
        bad(Settings { events: 19, ..q() }, "events");
        bad(
            Settings {
                pixel_cm: 0.0,
                ..q()
            },
            "pixel_cm",
        );
        bad(
            Settings {
                weight_decay: -0.1,
                ..q()
            },
            "optimizer.weight_decay",
        );
        bad(Settings { epochs: 0, ..q() }, "epochs");
        bad(
            Settings {
                blocks: vec![],
                ..q()
            },
            "blocks",
        );
        bad(
            Settings {
                networks: vec![],
                ..q()
            },
            "networks",
        );
        bad(
            Settings {
                networks: vec![ShipNetwork::CnnMse, ShipNetwork::CnnMse],
                ..q()
            },
            "networks",
        );
        bad(Settings { min_hits: 0, ..q() }, "min_hits");
        bad(
            Settings {
                halve_every: 0,
                ..q()
            },
            "halve_every",
        );
        bad(
            Settings {
                distance_unit_cm: 0.0,
                ..q()
            },
            "distance_unit_cm",
        );
        bad(
            Settings {
                moment_stations: 0,
                ..q()
            },
            "moment_stations",
        );
        // 3.5 mm pixels give 30 × 37 maps: too small for the paper's six blocks.
        bad(
            Settings {
                blocks: SndNetConfig::default().blocks,
                ..q()
            },
            "input",
        );
        assert!(q().validate().is_ok() && Settings::preset(Preset::Paper).validate().is_ok());
    }

    #[test]
    fn energy_targets_invert() {
        for energy_target in [EnergyTarget::Scaled, EnergyTarget::Sqrt, EnergyTarget::Log] {
            let s = Settings {
                energy_target,
                ..Settings::preset(Preset::Quick)
            };
            for e in [1.0, 37.5, 100.0] {
                assert!((s.energy(s.target(e)) - e).abs() < 1e-12);
            }
        }
    }

    /// The two L2 schedules of the study: the text's (λ halved every 10 epochs) and the public
    /// code's (λ dropped with a fresh optimiser after 10); lr halved every 10 epochs in both.
    #[test]
    fn the_two_schedules() {
        let cfg = |schedule| {
            Settings {
                schedule,
                weight_decay: 0.01,
                ..Settings::preset(Preset::Paper)
            }
            .train_config(0, false)
        };
        let text = cfg(ShipSchedule::Text);
        let code = cfg(ShipSchedule::Code);
        let at = |c: &TrainConfig, e| {
            (
                c.schedule.lr(c.optimizer.lr, e),
                c.weight_decay_schedule
                    .weight_decay(c.optimizer.weight_decay, e),
            )
        };
        assert_eq!(at(&text, 0), (1e-3, 0.01));
        assert_eq!(at(&text, 25), (2.5e-4, 0.0025));
        assert_eq!(at(&code, 9), (1e-3, 0.01));
        assert_eq!(at(&code, 10), (5e-4, 0.0));
        assert_eq!(at(&code, 59), (1e-3 * 0.5f64.powi(5), 0.0));
        assert!(code.weight_decay_schedule.resets_at(10));
        assert!(!(0..60).any(|e| text.weight_decay_schedule.resets_at(e)));
        // Another period: the same halvings every 3 epochs.
        let quick = Settings {
            weight_decay: 0.01,
            halve_every: 3,
            ..Settings::preset(Preset::Quick)
        }
        .train_config(0, false);
        assert_eq!(at(&quick, 2), (1e-3, 0.01));
        assert_eq!(at(&quick, 3), (5e-4, 0.005));
        assert_eq!(
            at(&quick, 15),
            (1e-3 * 0.5f64.powi(5), 0.01 * 0.5f64.powi(5))
        );
    }
}
