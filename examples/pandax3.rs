//! PandaX-III: EfficientNet on XZ/YZ images versus the Bragg-blob cut (Ξ = εs/√εb).
//!
//! ```text
//! cargo run --release --example pandax3 -- --preset quick --out out/pandax3
//! cargo run --release --example pandax3 -- --data my_events.h5 --epochs 20
//! ```

use clap::Parser;
use rareml::experiments::{pandax3, Options, Preset};
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    about = "PandaX-III: EfficientNet versus the Bragg-blob topology cut, figure of merit εs/√εb"
)]
struct Args {
    /// A rareml.tpc.v1 file; without it, events are generated with rareml-sim into a temporary directory.
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
    #[arg(long, default_value = "out/pandax3")]
    out: PathBuf,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
    /// TopConv widths to sweep, e.g. 2,4,8,16,full (default: none in quick, these five in paper).
    #[arg(long, value_delimiter = ',')]
    sweep: Option<Vec<String>>,
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
    let sweep = match a.sweep.map(|v| {
        v.iter()
            .map(|s| {
                if s == "full" {
                    Ok(None)
                } else {
                    s.parse::<usize>().map(Some)
                }
            })
            .collect::<Result<Vec<_>, _>>()
    }) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => {
            eprintln!("error: --sweep takes numbers or `full`: {e}");
            return ExitCode::FAILURE;
        }
    };
    match pandax3::run(&opts, sweep) {
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
