//! PandaX-III: EfficientNet on XZ/YZ images versus the Bragg-blob cut (Ξ = εs/√εb).
//!
//! ```text
//! cargo run --release --example pandax3 -- --preset quick --out out/pandax3
//! cargo run --release --example pandax3 -- --data my_events.h5 --sweep 2,4,8,16,full
//! cargo run --release --example pandax3 -- --preset quick --sweep 2,8,full --repeats 2
//! cargo run --release --example pandax3 -- --preset quick --compare resnet50,densenet169,b0 --image-size 128
//! ```

mod common;

use clap::Parser;
use rareml::experiments::pandax3;
use rareml::train::EnsembleRule;
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
    /// Independent trainings per sweep width (other seeds): Ξ's mean and spread (paper: 6).
    #[arg(long)]
    repeats: Option<usize>,
    /// The paper's other networks to train beside the headline one on the same events:
    /// resnet50, densenet169, b0, b4 (its Tables 1 and 3).
    #[arg(long, value_delimiter = ',', value_parser = pandax3::Architecture::parse)]
    compare: Option<Vec<pandax3::Architecture>>,
    /// Image side the networks see, in pixels: 64, 128 or 256 (the 64 × 64 images of 3 mm
    /// pixels upsampled ×1, ×2 or ×4; the paper's Table 3).
    #[arg(long, value_parser = parse_side)]
    image_size: Option<usize>,
    /// Which checkpoints make a network's score: `paper` (the 3 smallest validation losses among
    /// the epochs within 0.001 of the best validation accuracy) or `last` (the last 3).
    #[arg(long, value_parser = parse_rule)]
    score_rule: Option<EnsembleRule>,
    /// The feature-map study of the headline network: maps of stages 2, 4 and 8 of the first
    /// test events of each class (feature_maps.h5 and PNG grids), the Stage-8 maps grouped by
    /// DBSCAN, the classifier's weights (the paper's Figs. 6–10).
    #[arg(long)]
    features: bool,
    /// Stages of the feature-map study (1 stem, 2–8 MBConv, 9 TopConv); implies --features.
    #[arg(long, value_delimiter = ',')]
    feature_stages: Option<Vec<usize>>,
    /// Test events of each class in the feature-map study; implies --features.
    #[arg(long)]
    feature_events: Option<usize>,
}

/// 64, 128 or 256 pixels: the upsampling of the 64 × 64 images.
fn parse_side(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(side @ (64 | 128 | 256)) => Ok(side / 64),
        _ => Err(format!("{s:?}: 64, 128 or 256")),
    }
}

/// `paper` or `last`.
fn parse_rule(s: &str) -> Result<EnsembleRule, String> {
    match s {
        "paper" => Ok(EnsembleRule::paper()),
        "last" => Ok(EnsembleRule::Last),
        _ => Err(format!("{s:?}: paper or last")),
    }
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
    common::Common::set(&mut settings.repeats, args.repeats);
    common::Common::set(&mut settings.compare, args.compare);
    common::Common::set(&mut settings.image.upsample, args.image_size);
    common::Common::set(&mut settings.ensemble, args.score_rule);
    if args.features || args.feature_stages.is_some() || args.feature_events.is_some() {
        let mut f = settings.features.take().unwrap_or_default();
        common::Common::set(&mut f.stages, args.feature_stages);
        common::Common::set(&mut f.events, args.feature_events);
        settings.features = Some(f);
    }
    common::finish(&opts, pandax3::run(&opts, &settings))
}
