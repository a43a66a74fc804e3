//! Applies a trained run (the output directory of `newsdm`, `pandax3` or `ship_tt`) to a file of
//! that experiment, or a shard of it, and writes a `rareml.scores.v1` file; `--merge` joins shards.
//!
//! ```text
//! cargo run --release --example predict -- --run out/pandax3 --data new_events.h5 --out scores.h5
//! cargo run --release --example predict -- --run out/pandax3 --data big.h5 --out part-3.h5 --shard 3/8 --quiet
//! cargo run --release --example predict -- --merge --out scores.h5 part-*.h5
//! ```
//!
//! Without `--shard`, `SLURM_ARRAY_TASK_ID` / `SLURM_ARRAY_TASK_COUNT` choose the shard when set
//! (a Slurm job array: `scripts/slurm/run-sharded`).

use clap::Parser;
use rareml::experiments::predict::{merge, predict, PredictOptions};
use rareml::io::Shard;
use std::path::PathBuf;
use std::process::ExitCode;

mod tuning;

/// Apply a trained run to new data (or merge shard outputs).
#[derive(Parser)]
struct Args {
    /// The run directory (holding run.json and the checkpoints).
    #[arg(long, required_unless_present = "merge")]
    run: Option<PathBuf>,
    /// The input file (NEWSdm HDF5, rareml.tpc.v1 or rareml.tt.v1, as the run's experiment reads).
    #[arg(long, required_unless_present = "merge")]
    data: Option<PathBuf>,
    /// The scores file to write (rareml.scores.v1).
    #[arg(long)]
    out: PathBuf,
    /// Process shard I of N of the events: ⌊I·n/N⌋ .. ⌊(I+1)·n/N⌋.
    #[arg(long, conflicts_with = "merge")]
    shard: Option<Shard>,
    /// Events per batch (default: the run's evaluation batch).
    #[arg(long)]
    batch: Option<usize>,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// No progress bar (batch jobs).
    #[arg(long)]
    quiet: bool,
    /// Merge the shard files given after the flags into --out.
    #[arg(long)]
    merge: bool,
    /// Shard files to merge.
    #[arg(requires = "merge")]
    shards: Vec<PathBuf>,
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    if args.merge {
        let m = merge(&args.out, &args.shards)?;
        if !args.quiet {
            eprintln!(
                "{} shards, {} events of {} → {}",
                args.shards.len(),
                m.source_events,
                m.source,
                args.out.display()
            );
        }
        return Ok(());
    }
    if args.batch == Some(0) {
        return Err("--batch 0: expected at least one event per batch".into());
    }
    let shard = match args.shard {
        Some(s) => s,
        None => Shard::from_slurm()?.unwrap_or(Shard::ALL),
    };
    let options = PredictOptions {
        run: args.run.expect("clap requires --run"),
        data: args.data.expect("clap requires --data"),
        out: args.out,
        shard,
        batch: args.batch,
        device: args.device,
        progress: !args.quiet,
    };
    predict(&options)?;
    Ok(())
}

fn main() -> ExitCode {
    tuning::setup();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
