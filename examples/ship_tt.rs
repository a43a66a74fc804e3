//! SHiP target tracker: SNDNet versus the N-hits and Gaussian-moment regressions.
//!
//! ```text
//! cargo run --release --example ship_tt -- --preset quick --out out/ship_tt
//! cargo run --release --example ship_tt -- --data my_showers.h5 --epochs 20
//! ```

use clap::Parser;
use rareml::experiments::{ship_tt, Options, Preset};
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    about = "SHiP TT: SNDNet regression of shower energy and vertex distance versus the classical regressions"
)]
struct Args {
    /// A rareml.tt.v1 file; without it, showers are generated with rareml-sim into a temporary directory.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Events to generate (or to read at most).
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
    #[arg(long, default_value = "out/ship_tt")]
    out: PathBuf,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
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
    match ship_tt::run(&opts) {
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
