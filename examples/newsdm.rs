//! NEWSdm: NEWSnet versus the barycenter-shift cut (per-class efficiencies, fog and gamma reduction).
//!
//! ```text
//! cargo run --release --example newsdm -- --preset quick --out out/newsdm
//! cargo run --release --example newsdm -- --data my_clusters.h5 --epochs 20 --rotations
//! cargo run --release --example newsdm -- --search 20 --out out/newsdm-search
//! cargo run --release --example newsdm -- --settings out/newsdm-search/search/best.json
//! ```

mod common;

use clap::Parser;
use rareml::experiments::newsdm;
use std::path::PathBuf;
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
    /// Settings from a JSON file (e.g. a search's `search/best.json`) instead of the preset's;
    /// --events, --epochs and --rotations still apply on top.
    #[arg(long)]
    settings: Option<PathBuf>,
    /// Run the Bayesian hyper-parameter search with this many trials in all (resumes the trials
    /// already in OUT/search) instead of one training.
    #[arg(long)]
    search: Option<usize>,
    /// Folds of the search's cross-validation.
    #[arg(long, default_value_t = 3)]
    folds: usize,
    /// Random trials before the Gaussian process proposes (≥ 9, the space's dimension + 1).
    #[arg(long, default_value_t = 9)]
    initial: usize,
}

fn main() -> ExitCode {
    tuning::setup();
    let args = Args::parse();
    let opts = args.common.options("newsdm");
    let mut settings = match &args.settings {
        Some(p) => match newsdm::Settings::read(p) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => newsdm::Settings::preset(args.common.preset),
    };
    common::Common::set(&mut settings.per_sample, args.common.events);
    common::Common::set(&mut settings.epochs, args.common.epochs);
    settings.rotations |= args.rotations;
    match args.search {
        None => common::finish(&opts, newsdm::run(&opts, &settings)),
        #[cfg(feature = "search")]
        Some(trials) => {
            use rareml::experiments::newsdm::search::{search, SearchSettings};
            let how = SearchSettings {
                trials,
                folds: args.folds,
                initial: args.initial,
                ..Default::default()
            };
            match search(&opts, &settings, &how) {
                Ok(r) => {
                    println!("{}", r.markdown());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        #[cfg(not(feature = "search"))]
        Some(_) => {
            eprintln!("error: --search: this build has no `search` feature (cargo's default)");
            ExitCode::FAILURE
        }
    }
}
