//! Events per second of a network on this machine: eval-mode inference and training
//! (forward, backward, AdamW step) at a given batch size.
//!
//! ```text
//! cargo run --release --example throughput -- --model newsnet --batch 32
//! cargo run --release --example throughput -- --model efficientnet --config b0_n8.json --batch 32
//! ```

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use clap::Parser;
use rareml::models::{Ctx, Model, ModelConfig, Params};
use std::path::PathBuf;
use std::time::Instant;

mod tuning;

#[derive(Parser)]
#[command(about = "Inference and training events/s of a network")]
struct Args {
    /// newsnet, efficientnet, sndnet, resnet (ResNet-50) or densenet (DenseNet-169).
    #[arg(long)]
    model: String,
    /// Model configuration file (JSON/TOML); the paper's model when omitted.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Batch size.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Input size per event, e.g. 2,128,128 (default: the model's, 2×128×128 for EfficientNet).
    #[arg(long, value_delimiter = ',')]
    input: Option<Vec<usize>>,
    /// Timed iterations (after one warm-up).
    #[arg(long, default_value_t = 3)]
    iters: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tuning::setup();
    let args = Args::parse();
    let cfg = match &args.config {
        Some(p) => ModelConfig::from_file(&args.model, p)?,
        None => ModelConfig::default_for(&args.model)?,
    };
    let item: Vec<usize> = match (&args.input, &cfg) {
        (Some(v), _) => v.clone(),
        (None, ModelConfig::NewsNet(c)) => vec![1, c.input[0], c.input[1], c.input[2]],
        (None, ModelConfig::EfficientNet(c)) => vec![c.in_channels, 128, 128],
        (None, ModelConfig::SndNet(c)) => c.input.to_vec(),
        (None, ModelConfig::ResNet(c)) => vec![c.in_channels, 128, 128],
        (None, ModelConfig::DenseNet(c)) => vec![c.in_channels, 128, 128],
    };
    let params = Params::new(0);
    let model = Model::new(&cfg, &params, &Device::Cpu)?;
    let mut shape = vec![args.batch];
    shape.extend(&item);
    let x = Tensor::randn(0f32, 1.0, shape.as_slice(), &Device::Cpu)?;
    let time = |f: &mut dyn FnMut() -> Result<(), Box<dyn std::error::Error>>| -> Result<f64, Box<dyn std::error::Error>> {
        f()?;
        let t = Instant::now();
        for _ in 0..args.iters {
            f()?;
        }
        Ok(t.elapsed().as_secs_f64() / args.iters as f64)
    };
    let inf = time(&mut || {
        model.forward(&x, &Ctx::eval())?;
        Ok(())
    })?;
    let mut opt = AdamW::new(params.trainable(), ParamsAdamW::default())?;
    let mut step = 0u64;
    let train = time(&mut || {
        step += 1;
        let y = model.forward(&x, &Ctx::train(step))?;
        let loss = y.sqr()?.mean_all()?;
        opt.backward_step(&loss)?;
        Ok(())
    })?;
    if let Some(warning) = rareml::kernels::simd_mismatch() {
        eprintln!("warning: {warning}");
    }
    println!(
        "{} input {:?} batch {} ({} kernels, {} gemm): inference {:.1} events/s ({:.3} s/batch), training {:.1} events/s ({:.3} s/batch); {} trainable parameters",
        args.model,
        item,
        args.batch,
        rareml::kernels::simd_level(),
        rareml::kernels::gemm_simd_level(),
        args.batch as f64 / inf,
        inf,
        args.batch as f64 / train,
        train,
        params.trainable_count()
    );
    let _ = DType::F32;
    Ok(())
}
