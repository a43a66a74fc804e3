//! SHiP target tracker: the paper's Table 1 on generated showers — the network rows (CNN with MSE,
//! CNN with Huber, SNDNet's CoordConv with Huber) against the Gaussian-feature regressions, the
//! N-hits line and the DBSCAN vertex.
//!
//! ```text
//! cargo run --release --example ship_tt -- --preset quick --out out/ship_tt
//! cargo run --release --example ship_tt -- --data my_showers.h5 --epochs 20 --networks sndnet
//! ```

mod common;

use clap::Parser;
use rareml::experiments::ship_tt::{self, EnergyTarget, ShipNetwork, ShipSchedule};
use std::process::ExitCode;

mod tuning;

/// SHiP TT: network regression of shower energy and vertex distance versus the classical fits.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    common: common::Common,
    /// Network rows to train, the first the headline: coordconv-huber (sndnet), cnn-huber, cnn-mse.
    #[arg(long, value_delimiter = ',')]
    networks: Option<Vec<ShipNetwork>>,
    /// L2 schedule: text (0.01 halved every 10 epochs, the paper's text) or code (dropped after
    /// 10 epochs with a fresh optimiser, the public code).
    #[arg(long)]
    schedule: Option<ShipSchedule>,
    /// Epochs between halvings of the learning rate (and of the text schedule's L2).
    #[arg(long)]
    halve_every: Option<usize>,
    /// L2 weight decay at epoch 0.
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Energy target: scaled (E × 7/100, the public code), sqrt (√E) or log (ln E).
    #[arg(long)]
    energy_target: Option<EnergyTarget>,
    /// The networks regress d in this unit (cm): it weighs the d term of the loss against E's.
    #[arg(long)]
    distance_unit_cm: Option<f64>,
    /// Batch size.
    #[arg(long)]
    batch: Option<usize>,
    /// Skip the gradient-boosted trees.
    #[arg(long)]
    no_boosting: bool,
    /// Train on fresh showers of the training events' E and d each epoch (true, the quick
    /// preset's default, generated data only) or on the stored showers (false, the paper preset).
    #[arg(long)]
    resimulate: Option<bool>,
}

fn main() -> ExitCode {
    tuning::setup();
    let args = Args::parse();
    let opts = args.common.options("ship_tt");
    let mut settings = ship_tt::Settings::preset(args.common.preset);
    common::Common::set(&mut settings.events, args.common.events);
    common::Common::set(&mut settings.epochs, args.common.epochs);
    if let Some(n) = args.networks {
        settings.networks = n;
    }
    if let Some(s) = args.schedule {
        settings.schedule = s;
    }
    common::Common::set(&mut settings.halve_every, args.halve_every);
    if let Some(w) = args.weight_decay {
        settings.weight_decay = w;
    }
    if let Some(t) = args.energy_target {
        settings.energy_target = t;
    }
    if let Some(u) = args.distance_unit_cm {
        settings.distance_unit_cm = u;
    }
    common::Common::set(&mut settings.batch, args.batch);
    settings.boosting &= !args.no_boosting;
    if let Some(r) = args.resimulate {
        settings.resimulate = r;
    }
    common::finish(&opts, ship_tt::run(&opts, &settings))
}
