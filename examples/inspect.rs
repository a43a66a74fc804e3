//! Prints what a detector data file holds: detected format, datasets with shapes and dtypes, event
//! counts per class, whether the 9th NEWSdm polarisation is a copy of the 1st.
//!
//! ```text
//! cargo run --release --example inspect -- FILE [--json]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Print what a NEWSdm, rareml.tpc.v1 or rareml.tt.v1 HDF5 file or a REST ROOT file holds.
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
        Ok(summary) if args.json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&summary).expect("summary serialises")
            );
            ExitCode::SUCCESS
        }
        Ok(summary) => {
            print!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
