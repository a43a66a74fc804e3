//! Command-line options shared by the experiment examples (`newsdm`, `pandax3`, `ship_tt`).

use clap::Args;
use rareml::experiments::{Options, Preset};
use std::path::PathBuf;
use std::process::ExitCode;

/// The flags every experiment example takes.
#[derive(Args)]
pub struct Common {
    /// The user's own file; without it, data are generated with rareml-sim into a temporary directory.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Events to generate (or to read at most; NEWSdm: clusters per sample).
    #[arg(long)]
    pub events: Option<usize>,
    /// Training epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// quick (minutes on 2 cores) or paper (the paper's sizes).
    #[arg(long, default_value = "quick")]
    pub preset: Preset,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Seed of generation, split, weights and shuffling.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory: report.json, report.md, plots, checkpoints.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
    /// Resume the checkpoints in the output directory although they were made with another
    /// training configuration (refused otherwise, naming what changed).
    #[arg(long)]
    pub resume_with_new_config: bool,
}

impl Common {
    /// The pipeline options; the output directory defaults to `out/<experiment>`.
    pub fn options(&self, experiment: &str) -> Options {
        Options {
            data: self.data.clone(),
            seed: self.seed,
            out: self
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from("out").join(experiment)),
            device: self.device.clone(),
            progress: !self.quiet,
            resume_with_new_config: self.resume_with_new_config,
        }
    }

    /// `value` replaced by the flag when given.
    pub fn set<T>(value: &mut T, flag: Option<T>) {
        if let Some(v) = flag {
            *value = v;
        }
    }
}

/// Prints the markdown report (or the error) and turns the outcome into the exit status.
pub fn finish<R: rareml::report::Report>(
    opts: &Options,
    result: rareml::experiments::Result<R>,
) -> ExitCode {
    match result {
        Ok(report) => {
            println!(
                "{}\nreport: {}",
                report.markdown(),
                opts.out.join("report.json").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
