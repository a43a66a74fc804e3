//! Converts a REST-for-Physics ROOT file's raw-signal events (PandaX-III) into `rareml.tpc.v1`,
//! streamed in batches (samples lossless, event ids kept), printing events/s and MB/s. After that
//! every tool here (inspect, preprocessing, `pandax3 --data`, `predict`) reads the events.
//!
//! ```text
//! cargo run --release --example convert -- run.root --out run.h5 --readout readout.toml
//! ```
//! The readout (signal id → strip axis and position) comes from `--readout` (TOML or JSON, see
//! docs/data-formats.md); reading it from the file's own TRestReadout is not implemented yet.

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rareml::io::rest::{convert_to_tpc, read_readout_map, RestFile};
use rareml::io::tpc::TpcMeta;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Convert a REST ROOT file's raw-signal events to rareml.tpc.v1")]
struct Args {
    /// The REST ROOT file.
    file: PathBuf,
    /// Output HDF5 file (overwritten).
    #[arg(long)]
    out: PathBuf,
    /// Readout map (TOML or JSON): which strip each signal id is.
    #[arg(long)]
    readout: Option<PathBuf>,
    /// Events per batch.
    #[arg(long, default_value_t = 1024)]
    batch: usize,
    /// Sampling period in ns (stored as the file's `sampling_ns`).
    #[arg(long, default_value_t = rareml::io::tpc::PANDAX3_SAMPLING_NS)]
    sampling_ns: f64,
    /// Drift velocity in mm/µs.
    #[arg(long, default_value_t = rareml::io::tpc::PANDAX3_DRIFT_VELOCITY_MM_PER_US)]
    drift_velocity_mm_per_us: f64,
    /// Strip pitch in mm.
    #[arg(long, default_value_t = rareml::io::tpc::PANDAX3_PITCH_MM)]
    pitch_mm: f64,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    for (name, v) in [
        ("--sampling-ns", args.sampling_ns),
        ("--drift-velocity-mm-per-us", args.drift_velocity_mm_per_us),
        ("--pitch-mm", args.pitch_mm),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(format!("{name} {v}: expected a positive number").into());
        }
    }
    if args.batch == 0 {
        return Err("--batch 0: expected at least one event per batch".into());
    }
    let mut rest = RestFile::open(&args.file)?;
    let Some(map) = &args.readout else {
        let held = rest.readout_status();
        return Err(format!(
            "{}: {held}: give --readout MAP.toml (signal id → axis, position; docs/data-formats.md)",
            args.file.display()
        )
        .into());
    };
    let readout = read_readout_map(map)?;
    let (entries, _) = rest.event_branches()?;
    let bar = (!args.quiet).then(|| {
        let b = ProgressBar::new(entries);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} events  {per_sec}  eta {eta}")
                .expect("valid template"),
        );
        b
    });
    let meta = TpcMeta {
        sampling_ns: args.sampling_ns,
        drift_velocity_mm_per_us: args.drift_velocity_mm_per_us,
        pitch_mm: args.pitch_mm,
    };
    let t0 = Instant::now();
    let stats = convert_to_tpc(&mut rest, &readout, &meta, &args.out, args.batch, |n| {
        if let Some(b) = &bar {
            b.set_position(n as u64);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let secs = t0.elapsed().as_secs_f64().max(1e-9);
    let mb_in = std::fs::metadata(&args.file)?.len() as f64 / 1e6;
    let mb_samples = (stats.signals * stats.samples_per_signal * 2) as f64 / 1e6;
    println!(
        "{} events, {} signals × {} samples in {secs:.2} s ({:.0} events/s; file {:.1} MB/s, samples {:.1} MB/s) → {}",
        stats.events,
        stats.signals,
        stats.samples_per_signal,
        stats.events as f64 / secs,
        mb_in / secs,
        mb_samples / secs,
        args.out.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("convert: {e}");
            ExitCode::from(2)
        }
    }
}
