//! Reading speed of REST ROOT raw-signal events: opens the file and reads every raw-signal event,
//! `--repeat` times, printing events/s and MB/s (of the file and of the decoded samples).
//!
//! ```text
//! cargo run --release --example rest_throughput -- tests/fixtures/rest_v2.2.30_hits.root --repeat 200
//! ```

use clap::Parser;
use rareml::io::rest::RestFile;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Events/s reading a REST ROOT file's raw-signal events")]
struct Args {
    /// The REST ROOT file.
    file: PathBuf,
    /// Times the file is opened and read.
    #[arg(long, default_value_t = 100)]
    repeat: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.repeat == 0 {
        return Err("--repeat 0: expected at least 1".into());
    }
    let (mut events, mut sample_bytes) = (0usize, 0usize);
    let t = Instant::now();
    for _ in 0..args.repeat {
        let mut f = RestFile::open(&args.file)?;
        f.for_each_raw_signal_batch(1024, |b| {
            events += b.len();
            sample_bytes += b.iter().map(|e| 2 * e.samples.len()).sum::<usize>();
            Ok(())
        })?;
    }
    let secs = t.elapsed().as_secs_f64();
    let file_mb = std::fs::metadata(&args.file)?.len() as f64 * args.repeat as f64 / 1e6;
    println!(
        "{events} events in {secs:.3} s: {:.0} events/s, file {:.1} MB/s, samples {:.1} MB/s (open + read, {} passes)",
        events as f64 / secs,
        file_mb / secs,
        sample_bytes as f64 / 1e6 / secs,
        args.repeat
    );
    Ok(())
}
