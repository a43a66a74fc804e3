//! Converts a REST-for-Physics ROOT file's raw-signal events (PandaX-III) into `rareml.tpc.v1`,
//! streamed in batches (samples lossless, event ids kept), printing events/s and MB/s. After that
//! every tool here (inspect, preprocessing, `pandax3 --data`, `predict`) reads the events.
//!
//! ```text
//! cargo run --release --example convert -- run.root --out run.h5 [--readout readout.toml] [--png events.png]
//! ```
//! The readout (signal id → strip axis and position) is the file's own (`TRestReadout` /
//! `TRestDetectorReadout`, decoded from the file), or `--readout` (TOML or JSON, see
//! docs/data-formats.md) for files without one or to override it.

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rareml::io::rest::{convert_to_tpc, RestFile};
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
    /// Readout map (TOML or JSON): which strip each signal id is; default: the file's readout.
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
    /// Also write a PNG of the XZ/YZ images (the pipeline's 64 × 64 pixels of 3 mm) of the first `--png-events`
    /// converted events.
    #[arg(long)]
    png: Option<PathBuf>,
    /// Events drawn in `--png`.
    #[arg(long, default_value_t = 8)]
    png_events: usize,
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
    if args.png.is_some() && args.png_events == 0 {
        return Err("--png-events 0: expected at least one event to draw".into());
    }
    let mut rest = RestFile::open(&args.file)?;
    let readout = rest.strip_readout(args.readout.as_deref())?;
    if args.readout.is_none() {
        eprintln!("readout: the file's own, {} strips", readout.len());
    }
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
    if let Some(png) = &args.png {
        let f = rareml::io::tpc::TpcFile::open(&args.out)?;
        let events = rareml::report::display::tpc_event_projections(&f, args.png_events)?;
        let cfg = rareml::preprocess::tpc::TpcImageConfig::default();
        let title = format!(
            "{}: XZ and YZ images, {} mm pixels, colour on each event's own scale",
            args.file
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
            cfg.pixel_mm
        );
        rareml::report::plot::tpc_projections_png(png, &title, &events, cfg.size, cfg.pixel_mm)?;
        println!("{} events drawn → {}", events.len(), png.display());
    }
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
