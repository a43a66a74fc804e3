//! NEWSdm: NEWSnet versus the barycenter-shift cut (per-class efficiencies, fog and gamma reduction).
//!
//! ```text
//! cargo run --release --example newsdm -- --preset quick --out out/newsdm
//! cargo run --release --example newsdm -- --data my_clusters.h5 --epochs 20
//! ```

use clap::Parser;
use rareml::experiments::{newsdm, Options, Preset};
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    about = "NEWSdm: NEWSnet classification of carbon recoils versus the barycenter-shift cut"
)]
struct Args {
    /// A NEWSdm HDF5 file (raw or processed layout); without it, clusters are generated with rareml-sim into a temporary directory.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Clusters per sample to generate (or to read at most per group).
    #[arg(long)]
    events: Option<usize>,
    /// Training epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// quick (minutes on 2 cores) or paper (the paper's sizes).
    #[arg(long, default_value = "quick")]
    preset: Preset,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Seed of generation, split, weights and shuffling.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output directory: report.json, report.md, plots, checkpoints.
    #[arg(long, default_value = "out/newsdm")]
    out: PathBuf,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
    /// Train with random rotations of whole clusters (−90…90° in 15° steps).
    #[arg(long)]
    rotations: bool,
}

fn main() -> ExitCode {
    let a = Args::parse();
    let opts = Options {
        data: a.data,
        events: a.events,
        epochs: a.epochs,
        preset: a.preset,
        seed: a.seed,
        out: a.out.clone(),
        device: a.device,
        progress: !a.quiet,
    };
    match newsdm::run(&opts, Some(a.rotations)) {
        Ok(_) => {
            let md = std::fs::read_to_string(a.out.join("report.md")).unwrap_or_default();
            println!("{md}\nreport: {}", a.out.join("report.json").display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
