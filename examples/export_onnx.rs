//! Writes a network as an ONNX file (opset 17, dynamic batch; see docs/models.md): from a weights
//! file (the same safetensors `verify_torch` reads, or a checkpoint) and a config, or from a
//! trained run directory (its run.json: the ensemble's checkpoints with the working point in the
//! file's metadata).
//!
//! ```text
//! cargo run --release --example export_onnx -- --model sndnet --weights tests/fixtures/sndnet.safetensors --out sndnet.onnx
//! cargo run --release --example export_onnx -- --run out/newsdm --out newsnet.onnx
//! ```

use candle_core::Device;
use clap::Parser;
use rareml::experiments::predict::export_onnx;
use rareml::models::{onnx, Model, ModelConfig, Params};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Export NEWSnet, EfficientNet or SNDNet to ONNX")]
struct Args {
    /// Model: newsnet, efficientnet or sndnet (with --weights).
    #[arg(long, conflicts_with = "run")]
    model: Option<String>,
    /// Model configuration (JSON or TOML, the model's fields); the paper's model when omitted.
    #[arg(long, requires = "model")]
    config: Option<PathBuf>,
    /// safetensors file with the model's parameters under their PyTorch names (a fixture's
    /// `input` and `logits` are ignored).
    #[arg(long, requires = "model")]
    weights: Option<PathBuf>,
    /// A trained run directory (holding run.json) instead of --model/--weights.
    #[arg(long)]
    run: Option<PathBuf>,
    /// Output ONNX file (with an ensemble of several networks: one file per member, `.k` before
    /// the extension).
    #[arg(long)]
    out: PathBuf,
}

fn describe(path: &std::path::Path, e: &onnx::Export) {
    let dims = |d: &[onnx::Dim]| {
        d.iter()
            .map(|d| match d {
                onnx::Dim::Fixed(v) => v.to_string(),
                onnx::Dim::Named(s) => s.clone(),
            })
            .collect::<Vec<_>>()
            .join(" × ")
    };
    println!(
        "{}: {:.1} MB, input {:?} ({}), output {:?} ({}), operators {}",
        path.display(),
        e.bytes.len() as f64 / 1e6,
        onnx::INPUT,
        dims(&e.input),
        onnx::OUTPUT,
        dims(&e.output),
        e.operators.join(", ")
    );
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(dir) = &args.run {
        for (path, e) in export_onnx(dir, &args.out)? {
            describe(&path, &e);
        }
        return Ok(());
    }
    let (Some(name), Some(weights)) = (&args.model, &args.weights) else {
        return Err("give --run DIR, or --model and --weights".into());
    };
    let cfg = match &args.config {
        Some(p) => ModelConfig::from_file(name, p)?,
        None => ModelConfig::default_for(name)?,
    };
    let params = Params::new(0);
    let model = Model::new(&cfg, &params, &Device::Cpu)?;
    params.load(weights, &["input", "logits", "logits_f64"])?;
    let meta = vec![
        ("rareml.weights".to_string(), weights.display().to_string()),
        (
            "rareml.model_config".to_string(),
            serde_json::to_string(&cfg)?,
        ),
    ];
    let e = onnx::export(&model, &meta)?;
    std::fs::write(&args.out, &e.bytes).map_err(|err| format!("{}: {err}", args.out.display()))?;
    describe(&args.out, &e);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("export_onnx: {e}");
            ExitCode::from(2)
        }
    }
}
