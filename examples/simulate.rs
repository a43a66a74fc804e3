//! Generates toy Monte Carlo events into an HDF5 file in the detector's own format.
//!
//! ```text
//! cargo run --release --example simulate -- --detector emulsion|tpc|tt --events N --seed S --out FILE.h5
//! cargo run --release --example simulate -- --detector tt --events 1000000 --shard 3/8 --out part3.h5
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rareml::io::decay0::Decay0Reader;
use rareml::sim::{emulsion, tpc, tt, WriteOptions};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Detector {
    /// NEWSdm emulsion clusters (raw layout; N clusters per sample: C30, C60, C100, fog, gamma).
    Emulsion,
    /// PandaX-III strip waveforms (rareml.tpc.v1; half 0νββ signal, half gamma background).
    Tpc,
    /// SHiP target-tracker shower hits (rareml.tt.v1).
    Tt,
}

/// Generate toy Monte Carlo events in the detector's file format (see docs/sim-*.md).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Which detector to simulate.
    #[arg(long, value_enum)]
    detector: Detector,
    /// Number of events (for emulsion: clusters per sample).
    #[arg(long, default_value_t = 1000)]
    events: usize,
    /// Random seed: the same seed gives the same events whatever the thread count.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output HDF5 file (overwritten).
    #[arg(long)]
    out: PathBuf,
    /// Events generated and written per batch (a multiple of a dataset's chunk rows, e.g. 18
    /// for emulsion crops, lets every chunk be compressed in parallel).
    #[arg(long, default_value_t = 360)]
    batch: usize,
    /// Dataset compression: `deflate:N` (shuffle + gzip level N = 1..9, h5py-readable; chunks are
    /// compressed on all cores), `deflate` (= deflate:4) or `none` (fastest, largest files).
    #[arg(long, default_value = "deflate:4")]
    compression: rareml::io::Compression,
    /// TPC only: a DECAY0 file with the 0νββ kinematics (default: the built-in two-electron spectrum).
    #[arg(long)]
    decay0: Option<PathBuf>,
    /// Write only shard I of N of the events (events ⌊I·n/N⌋ .. ⌊(I+1)·n/N⌋; for emulsion, of each
    /// sample's). Events are seeded by their index, so the N files hold, in order, the events of one
    /// unsharded run. Without it, SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT are honoured.
    #[arg(long)]
    shard: Option<rareml::io::Shard>,
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let shard = match args.shard {
        Some(s) => s,
        None => rareml::io::Shard::from_slurm()?.unwrap_or(rareml::io::Shard::ALL),
    };
    let range = shard.range(args.events);
    let events = range.len();
    let bar = ProgressBar::new(events as u64);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} events  {per_sec}  eta {eta}",
    )?);
    let t0 = Instant::now();
    let progress = |k: usize| bar.inc(k as u64);
    let opts = WriteOptions {
        batch: args.batch,
        compression: args.compression,
        first: range.start as u64,
    };
    match args.detector {
        Detector::Tt => tt::write(
            &args.out,
            &tt::TtConfig::default(),
            args.seed,
            events,
            &opts,
            progress,
        )?,
        Detector::Tpc => {
            let decay0 = match &args.decay0 {
                Some(p) => Some(Decay0Reader::open(p)?.collect::<Result<Vec<_>, _>>()?),
                None => None,
            };
            tpc::write(
                &args.out,
                &tpc::TpcConfig::default(),
                decay0.as_deref(),
                args.seed,
                events,
                &opts,
                progress,
            )?
        }
        Detector::Emulsion => {
            let samples = emulsion::Sample::ALL;
            bar.set_length((events * samples.len()) as u64);
            emulsion::write(
                &args.out,
                &emulsion::EmulsionConfig::default(),
                &samples,
                args.seed,
                events,
                &opts,
                progress,
            )?
        }
    }
    bar.finish();
    let total = bar.length().unwrap_or(0);
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "{total} events (shard {shard}: events {}..{}) in {secs:.2} s ({:.0} events/s) → {}",
        range.start,
        range.end,
        total as f64 / secs,
        args.out.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
