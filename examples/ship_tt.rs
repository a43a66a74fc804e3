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
    let args = Args::parse();
    let opts = args.common.options("ship_tt");
    let mut settings = ship_tt::Settings::preset(args.common.preset);
    common::Common::set(&mut settings.events, args.common.events);
    common::Common::set(&mut settings.epochs, args.common.epochs);
    common::finish(&opts, ship_tt::run(&opts, &settings))
}
