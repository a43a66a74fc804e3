//! The three experiments' pipelines end to end — data (generated with `rareml-sim` or the user's
//! file), preprocessing, training, the classical baseline, metrics, report and plots. The
//! `newsdm`, `pandax3` and `ship_tt` examples are thin command-line wrappers around these.

pub mod newsdm;
pub mod pandax3;
pub mod ship_tt;

use candle_core::Device;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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
    /// Training and evaluation.
    #[error(transparent)]
    Train(#[from] rareml_train::Error),
    /// Metrics.
    #[error(transparent)]
    Metrics(#[from] rareml_metrics::Error),
    /// The classical analyses.
    #[error(transparent)]
    Baselines(#[from] rareml_baselines::Error),
    /// A candle error.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// Options that cannot run, or data unfit for the experiment.
    #[error("{0}")]
    Invalid(String),
    /// A file or directory that cannot be written.
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

/// Size preset of a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// Options common to the three pipelines.
#[derive(Debug, Clone)]
pub struct Options {
    /// The user's own file; `None` generates data with `rareml-sim` into a temporary directory.
    pub data: Option<PathBuf>,
    /// Events to generate (or to read at most from `data`); `None` = the preset's.
    pub events: Option<usize>,
    /// Training epochs; `None` = the preset's.
    pub epochs: Option<usize>,
    /// Size preset.
    pub preset: Preset,
    /// Seed of generation, split, initial weights, shuffling and augmentation.
    pub seed: u64,
    /// Output directory (report, plots, checkpoints).
    pub out: PathBuf,
    /// Device name: `cpu` or `cuda` (`cuda:N`).
    pub device: String,
    /// Progress bars.
    pub progress: bool,
}

impl Options {
    /// Defaults: generated data, quick preset, seed 42, output `out`, CPU, progress bars.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        Self {
            data: None,
            events: None,
            epochs: None,
            preset: Preset::Quick,
            seed: 42,
            out: out.into(),
            device: "cpu".into(),
            progress: true,
        }
    }

    /// The candle device named by `device`.
    pub fn device(&self) -> Result<Device> {
        match self.device.as_str() {
            "cpu" => Ok(Device::Cpu),
            d if d.starts_with("cuda") => {
                let n = d
                    .strip_prefix("cuda:")
                    .map(|n| n.parse::<usize>())
                    .transpose()
                    .map_err(|_| Error::Invalid(format!("bad device {d:?}")))?;
                Ok(Device::new_cuda(n.unwrap_or(0))?)
            }
            d => Err(Error::Invalid(format!(
                "unknown device {d:?} (cpu, cuda, cuda:N)"
            ))),
        }
    }

    pub(crate) fn out_dir(&self) -> Result<&Path> {
        std::fs::create_dir_all(&self.out).map_err(|e| Error::File {
            path: self.out.clone(),
            reason: format!("cannot create the output directory: {e}"),
        })?;
        Ok(&self.out)
    }
}

/// Prints a line when progress is on.
pub(crate) fn say(opts: &Options, msg: impl AsRef<str>) {
    if opts.progress {
        eprintln!("{}", msg.as_ref());
    }
}
