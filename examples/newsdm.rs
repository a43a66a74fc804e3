//! NEWSdm: NEWSnet versus the barycenter-shift cut (per-class efficiencies, fog and gamma reduction).
//!
//! ```text
//! cargo run --release --example newsdm -- --preset quick --out out/newsdm
//! cargo run --release --example newsdm -- --data my_clusters.h5 --epochs 20 --rotations
//! ```

mod common;

use clap::Parser;
use rareml::experiments::newsdm;
use std::process::ExitCode;

mod tuning;

/// NEWSdm: NEWSnet classification of carbon recoils versus the barycenter-shift cut.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: common::Common,
    /// Train with random rotations of whole clusters (−90…90° in 15° steps).
    #[arg(long)]
    rotations: bool,
}

fn main() -> ExitCode {
    tuning::setup();
    let args = Args::parse();
    let opts = args.common.options("newsdm");
    let mut settings = newsdm::Settings::preset(args.common.preset);
    common::Common::set(&mut settings.per_sample, args.common.events);
    common::Common::set(&mut settings.epochs, args.common.epochs);
    settings.rotations |= args.rotations;
    common::finish(&opts, newsdm::run(&opts, &settings))
}
