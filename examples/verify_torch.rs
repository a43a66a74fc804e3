//! Loads a PyTorch checkpoint (safetensors with `state_dict` names plus `input` and `logits`),
//! runs the model in eval mode and compares with the stored logits.
//!
//! ```text
//! cargo run --release --example verify_torch -- --model newsnet --weights tests/fixtures/newsnet.safetensors
//! ```
//! Exit status 0 when the relative error is below 1e-4, 1 otherwise (2 on a bad file or config).

use candle_core::{DType, Device};
use clap::Parser;
use rareml::models::{Ctx, Model, ModelConfig, Params};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Check a PyTorch checkpoint against rareml's implementation of its model")]
struct Args {
    /// Model: newsnet, efficientnet or sndnet.
    #[arg(long)]
    model: String,
    /// Model configuration (JSON or TOML, the model's fields); the paper's model when omitted.
    #[arg(long)]
    config: Option<PathBuf>,
    /// safetensors file holding the state_dict, `input` and `logits`.
    #[arg(long)]
    weights: PathBuf,
    /// Largest accepted relative error max|ours − logits| / max|logits|.
    #[arg(long, default_value_t = 1e-4)]
    tolerance: f64,
}

fn run(args: &Args) -> rareml::models::Result<f64> {
    let cfg = match &args.config {
        Some(p) => ModelConfig::from_file(&args.model, p)?,
        None => ModelConfig::default_for(&args.model)?,
    };
    let params = Params::new(0);
    let model = Model::new(&cfg, &params, &Device::Cpu)?;
    params.load(&args.weights, &["input", "logits", "logits_f64"])?;
    let file = candle_core::safetensors::load(&args.weights, &Device::Cpu)?;
    let get = |name: &str| {
        file.get(name)
            .cloned()
            .ok_or_else(|| rareml::models::Error::File {
                path: args.weights.clone(),
                reason: format!(
                    "no tensor {name:?} (the input and the PyTorch output to compare with)"
                ),
            })
    };
    let (input, logits) = (get("input")?, get("logits")?);
    let out = model.forward(&input.to_dtype(DType::F32)?, &Ctx::eval())?;
    if out.dims() != logits.dims() {
        return Err(rareml::models::Error::Shape {
            what: format!("{}: stored logits", args.weights.display()),
            expected: format!("the model's output shape {:?}", out.dims()),
            got: logits.dims().to_vec(),
        });
    }
    let (out, logits) = (out.to_dtype(DType::F64)?, logits.to_dtype(DType::F64)?);
    let abs = (&out - &logits)?.abs()?.max_all()?.to_scalar::<f64>()?;
    let scale = logits.abs()?.max_all()?.to_scalar::<f64>()?;
    let rel = abs / scale.max(f64::MIN_POSITIVE);
    println!(
        "model {}  parameters {} trainable ({} with BN statistics)",
        args.model,
        params.trainable_count(),
        params.total_count()
    );
    println!("max absolute error {abs:.3e}  relative error {rel:.3e}  (max |logits| {scale:.4})");
    if let Some(f64_ref) = file.get("logits_f64") {
        let d = (&out - f64_ref.to_dtype(DType::F64)?)?
            .abs()?
            .max_all()?
            .to_scalar::<f64>()?;
        println!("against PyTorch's float64 logits: max absolute error {d:.3e}");
    }
    Ok(rel)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(rel) if rel < args.tolerance => {
            println!("OK: relative error below {:.0e}", args.tolerance);
            ExitCode::SUCCESS
        }
        Ok(_) => {
            println!("FAIL: relative error above {:.0e}", args.tolerance);
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
