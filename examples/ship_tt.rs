//! SHiP target tracker: SNDNet versus the N-hits and Gaussian-moment regressions.
//!
//! ```text
//! cargo run --release --example ship_tt -- --preset quick --out out/ship_tt
//! cargo run --release --example ship_tt -- --data my_showers.h5 --epochs 20
//! ```

mod common;

use clap::Parser;
use rareml::experiments::ship_tt;
use std::process::ExitCode;

mod tuning;

/// SHiP TT: SNDNet regression of shower energy and vertex distance versus the classical regressions.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: common::Common,
}

fn main() -> ExitCode {
    tuning::setup();
    let opts = Args::parse().common.options("ship_tt");
    common::finish(&opts, ship_tt::run(&opts))
}
