//! The settings of a SHiP TT run: sizes, the network rows, the schedules and targets, the
//! presets, and the checks of every field.

use super::super::pipeline::Scored;
use super::super::{setting_err, Preset, Result};
use crate::models::{SndBlock, SndNetConfig};
use crate::preprocess::tt::{scale_energy, unscale_energy, HitMapConfig, Selection};
use crate::train::{AdamConfig, Schedule, Task, TrainConfig, WeightDecaySchedule};
use serde::{Deserialize, Serialize};

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

    pub(super) fn coordinates(self) -> bool {
        self == ShipNetwork::CoordConvHuber
    }

    pub(super) fn task(self) -> Task {
        match self {
            ShipNetwork::CnnMse => Task::MeanSquared,
            _ => Task::Regression { delta: 1.0 },
        }
    }

    /// Checkpoint directory inside the run directory (SNDNet keeps the historical name).
    pub(super) fn checkpoints(self) -> &'static str {
        match self {
            ShipNetwork::CnnMse => "checkpoints_cnn_mse",
            ShipNetwork::CnnHuber => "checkpoints_cnn_huber",
            ShipNetwork::CoordConvHuber => "checkpoints",
        }
    }

    pub(super) fn loss(self) -> &'static str {
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
    /// in memory (they are made per batch anyway above [`super::maps_in_memory_max_bytes`]).
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

    pub(super) fn network(&self, input: [usize; 3], row: ShipNetwork) -> SndNetConfig {
        SndNetConfig {
            input,
            blocks: self.blocks.clone(),
            coordinates: row.coordinates(),
            ..Default::default()
        }
    }

    pub(super) fn train_config(&self, seed: u64, progress: bool) -> TrainConfig {
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
            ensemble: crate::train::EnsembleRule::Last,
            progress,
        }
    }

    /// The network's energy target of `e_gev`, and back.
    pub(super) fn target(&self, e_gev: f64) -> f64 {
        self.energy_target.of(e_gev)
    }

    pub(super) fn energy(&self, target: f64) -> f64 {
        self.energy_target.energy(target)
    }

    /// The network's decoded estimates (E in GeV, d in cm) per test event: the mean over the kept
    /// checkpoints of each one's decoded outputs, as `predict` averages them.
    pub(super) fn estimates(&self, net: &Scored) -> (Vec<f64>, Vec<f64>) {
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

    pub(super) fn selection(&self) -> Selection {
        Selection {
            min_hits: self.min_hits,
        }
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
