//! PandaX-III: EfficientNet on XZ/YZ images versus the Bragg-blob cut (Ξ = εs/√εb).
//!
//! ```text
//! cargo run --release --example pandax3 -- --preset quick --out out/pandax3
//! cargo run --release --example pandax3 -- --data my_events.h5 --sweep 2,4,8,16,full
//! ```

mod common;

use clap::Parser;
use rareml::experiments::pandax3;
use std::process::ExitCode;

mod tuning;

/// PandaX-III: EfficientNet versus the Bragg-blob topology cut, figure of merit εs/√εb.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: common::Common,
    /// TopConv widths to sweep, e.g. 2,4,8,16,full (default: none in quick, these five in paper).
    #[arg(long, value_delimiter = ',', value_parser = parse_width)]
    sweep: Option<Vec<Option<usize>>>,
}

/// A TopConv width: a number, or `full` for torchvision's default.
fn parse_width(s: &str) -> Result<Option<usize>, String> {
    if s == "full" {
        Ok(None)
    } else {
        s.parse()
            .map(Some)
            .map_err(|e| format!("{s:?}: a number or `full` ({e})"))
    }
}

fn main() -> ExitCode {
    tuning::setup();
    let args = Args::parse();
    let opts = args.common.options("pandax3");
    let mut settings = pandax3::Settings::preset(args.common.preset);
    common::Common::set(&mut settings.events, args.common.events);
    common::Common::set(&mut settings.epochs, args.common.epochs);
    if let Some(sweep) = args.sweep {
        settings.sweep = sweep;
    }
    common::finish(&opts, pandax3::run(&opts, &settings))
}
