//! The three experiments' pipelines end to end — data (generated with `rareml-sim` or the user's
//! file), preprocessing, training, the classical baseline, metrics, report and plots — as
//! implementations of one skeleton, [`pipeline::Experiment`]. The `newsdm`, `pandax3` and
//! `ship_tt` examples are thin command-line wrappers around [`newsdm::run`], [`pandax3::run`] and
//! [`ship_tt::run`].

pub mod feature_maps;
pub mod newsdm;
pub mod pandax3;
pub mod pipeline;
pub mod predict;
pub mod ship_tt;

use candle_core::Device;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Everything that can go wrong in a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing detector files.
    #[error(transparent)]
    Io(#[from] rareml_io::Error),
    /// Generating data.
    #[error(transparent)]
    Sim(#[from] rareml_sim::Error),
    /// Preprocessing.
    #[error(transparent)]
    Preprocess(#[from] rareml_preprocess::Error),
    /// The networks.
    #[error(transparent)]
    Model(#[from] rareml_models::Error),
    /// Training and prediction.
    #[error(transparent)]
    Train(#[from] rareml_train::Error),
    /// Metrics.
    #[error(transparent)]
    Metrics(#[from] rareml_metrics::Error),
    /// The classical analyses.
    #[error(transparent)]
    Baselines(#[from] rareml_baselines::Error),
    /// Writing the report or the plots.
    #[error(transparent)]
    Report(#[from] crate::report::Error),
    /// A candle error.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// A setting outside its allowed range.
    #[error("invalid {experiment} setting: {field} = {value} ({allowed})")]
    Setting {
        /// The experiment.
        experiment: &'static str,
        /// The offending field.
        field: &'static str,
        /// Its value.
        value: String,
        /// The allowed values.
        allowed: &'static str,
    },
    /// Data unfit for the experiment (too few events, one class only).
    #[error("{}: {reason}", .path.display())]
    Data {
        /// The input file.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// An analysis given input it cannot use (empty or non-finite feature maps).
    #[error("{0}")]
    Analysis(String),
    /// Data that would not fit in the machine's available memory, refused before the run spends
    /// time generating or reading them.
    #[error(
        "{what} need ≈ {:.1} GB in memory, but {:.1} GB are available (MemAvailable in /proc/meminfo): {advice}",
        *.need_bytes as f64 / 1e9,
        *.available_bytes as f64 / 1e9
    )]
    Memory {
        /// What would be held in memory.
        what: String,
        /// Bytes it needs.
        need_bytes: u64,
        /// Bytes available.
        available_bytes: u64,
        /// What to change.
        advice: &'static str,
    },
    /// A file or directory that cannot be created or written.
    #[error("{}: {reason}", .path.display())]
    File {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Result with the pipelines' [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// The [`Error::Setting`] of `experiment.field = value`, allowed `allowed`.
pub(crate) fn setting_err(
    experiment: &'static str,
    field: &'static str,
    value: impl std::fmt::Debug,
    allowed: &'static str,
) -> Error {
    Error::Setting {
        experiment,
        field,
        value: format!("{value:?}"),
        allowed,
    }
}

/// Size preset of a pipeline's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Minutes on a 2-core CPU: smaller data, narrower networks, few epochs.
    Quick,
    /// The papers' sizes (networks, image sizes, epochs): hours on a CPU.
    Paper,
}

impl std::str::FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "quick" => Ok(Preset::Quick),
            "paper" => Ok(Preset::Paper),
            _ => Err(format!("unknown preset {s:?} (quick, paper)")),
        }
    }
}

/// How a pipeline runs, whatever the experiment: where its data come from and its results go,
/// the seed, the device. The experiment's sizes are its `Settings`.
#[derive(Debug, Clone)]
pub struct Options {
    /// The user's own file; `None` generates data with `rareml-sim` into a temporary directory.
    pub data: Option<PathBuf>,
    /// Seed of generation, split, initial weights, shuffling and augmentation.
    pub seed: u64,
    /// Output directory (report, plots, checkpoints).
    pub out: PathBuf,
    /// Device name: `cpu` or `cuda` (`cuda:N`).
    pub device: String,
    /// Progress bars and messages on standard error.
    pub progress: bool,
    /// Resume checkpoints in `out` made with another training configuration (refused otherwise,
    /// naming what changed).
    pub resume_with_new_config: bool,
}

impl Options {
    /// Defaults: generated data, seed 42, output `out`, CPU, progress shown.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        Self {
            data: None,
            seed: 42,
            out: out.into(),
            device: "cpu".into(),
            progress: true,
            resume_with_new_config: false,
        }
    }

    /// The candle device named by `device`.
    pub fn device(&self) -> Result<Device> {
        let bad = || setting_err("pipeline", "device", &self.device, "cpu, cuda or cuda:N");
        match self.device.as_str() {
            "cpu" => Ok(Device::Cpu),
            d if d.starts_with("cuda") => {
                let n = match d.strip_prefix("cuda") {
                    Some("") => 0,
                    Some(rest) => rest
                        .strip_prefix(':')
                        .and_then(|n| n.parse::<usize>().ok())
                        .ok_or_else(bad)?,
                    None => unreachable!("starts with cuda"),
                };
                Ok(Device::new_cuda(n)?)
            }
            _ => Err(bad()),
        }
    }
}
