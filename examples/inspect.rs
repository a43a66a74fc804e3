//! Prints what a detector data file holds: detected format, datasets with shapes and dtypes, event
//! counts per class, whether the 9th NEWSdm polarisation is a copy of the 1st. Reads NEWSdm,
//! rareml.tpc.v1, rareml.tt.v1 and rareml.scores.v1 HDF5 files, REST ROOT files and DECAY0 text
//! files, every event once: a damaged file (an error, or forbidden values counted) exits 1.
//!
//! ```text
//! cargo run --release --example inspect -- FILE [--json]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Print what a NEWSdm, rareml.tpc.v1, rareml.tt.v1 or rareml.scores.v1 HDF5 file, a REST ROOT
/// file or a DECAY0 file holds; exit 1 when it is damaged.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The HDF5 or ROOT file to inspect.
    file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match rareml::io::inspect::inspect(&args.file) {
        Ok(summary) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&summary).expect("summary serialises")
                );
            } else {
                print!("{summary}");
            }
            // Values the format forbids were counted: the file is damaged.
            if summary.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                for p in &summary.problems {
                    eprintln!("error: {}: {p}", args.file.display());
                }
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
