//! Writes an event display of any supported file: `OUT/index.html`, one self-contained page with
//! the reports' event browser (NEWSdm polarisation images, PandaX-III XZ/YZ images and waveforms,
//! SHiP TT hits per station), with the scores of a `predict` output when given.
//!
//! ```text
//! cargo run --release --example display -- FILE [--scores SCORES.h5] --out DIR [--limit N] [--pictures-mib M]
//!     [--readout MAP.toml   (REST ROOT files)]
//! ```

use clap::Parser;
use rareml::report::browser::PICTURE_BUDGET_BYTES;
use rareml::report::display::{write_display, DisplayOptions, DEFAULT_LIMIT};
use std::path::PathBuf;
use std::process::ExitCode;

/// Write DIR/index.html: an event browser of a NEWSdm, rareml.tpc.v1 or rareml.tt.v1 HDF5 file or
/// a REST ROOT file's raw signals.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The data file.
    file: PathBuf,
    /// Scores of the file's events (the output of the predict example).
    #[arg(long)]
    scores: Option<PathBuf>,
    /// Output directory (created).
    #[arg(long)]
    out: PathBuf,
    /// Most events shown (the first ones, or with scores the most confidently wrong).
    #[arg(long, default_value_t = DEFAULT_LIMIT)]
    limit: usize,
    /// For a REST ROOT file: readout map (TOML or JSON), which strip each signal id is.
    #[arg(long)]
    readout: Option<PathBuf>,
    /// Cap on the page's stored pictures in MiB (the events past it are listed without pictures).
    #[arg(long, default_value_t = PICTURE_BUDGET_BYTES >> 20)]
    pictures_mib: usize,
}

fn main() -> ExitCode {
    let a = Args::parse();
    let opts = DisplayOptions {
        file: a.file,
        scores: a.scores,
        limit: a.limit,
        picture_budget_bytes: a.pictures_mib.saturating_mul(1 << 20),
        readout: a.readout,
    };
    match write_display(&opts, &a.out) {
        Ok(s) => {
            println!(
                "{}: {} file, {} of {} events shown",
                a.out.join("index.html").display(),
                s.format,
                s.shown,
                s.total
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
