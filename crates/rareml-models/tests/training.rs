//! A few optimiser steps lower each model's loss, and the same seeds give the same losses;
//! losses against hand-computed values; configurations round-trip through JSON and TOML.

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rareml_models::loss::{balanced_loss, bce_with_logits, huber};
use rareml_models::{
    Ctx, DenseNetConfig, EfficientNetConfig, GlobalPool, Model, ModelConfig, NewsNetConfig,
    NewsNetStage, Params, ResNetConfig, SndBlock, SndNetConfig,
};

fn tensor(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// Trains `steps` Adam steps on one fixed batch and returns the loss before each step.
fn train(
    cfg: &ModelConfig,
    x: &Tensor,
    loss: impl Fn(&Tensor) -> Tensor,
    steps: usize,
) -> Vec<f32> {
    let params = Params::new(7);
    let model = Model::new(cfg, &params, &Device::Cpu).unwrap();
    let mut opt = AdamW::new(
        params.trainable(),
        ParamsAdamW {
            lr: 1e-3,
            weight_decay: 0.0,
            ..Default::default()
        },
    )
    .unwrap();
    (0..steps)
        .map(|step| {
            let out = model.forward(x, &Ctx::train(100 + step as u64)).unwrap();
            let l = loss(&out);
            opt.backward_step(&l).unwrap();
            l.to_scalar::<f32>().unwrap()
        })
        .collect()
}

fn assert_learns(name: &str, losses: &[f32], again: &[f32]) {
    assert_eq!(losses, again, "{name}: same seeds, same losses");
    assert!(losses.iter().all(|l| l.is_finite()), "{name}: {losses:?}");
    assert!(
        losses.last().unwrap() < &(0.8 * losses[0]),
        "{name}: loss did not fall: {losses:?}"
    );
}

#[test]
fn newsnet_learns_a_tiny_batch() {
    let cfg = ModelConfig::NewsNet(NewsNetConfig {
        input: [9, 12, 12],
        stem_filters: [4, 8],
        stem_bn: true,
        stages: vec![
            NewsNetStage {
                filters: 4,
                identity_blocks: 1,
                stride: 2,
            },
            NewsNetStage {
                filters: 8,
                identity_blocks: 1,
                stride: 1,
            },
        ],
        dropout: 0.0,
        ..Default::default()
    });
    let x = tensor(&[8, 1, 9, 12, 12], 1);
    let labels = Tensor::new(&[0u32, 1, 2, 3, 0, 1, 2, 3], &Device::Cpu).unwrap();
    let loss = |y: &Tensor| balanced_loss(y, &labels, 0.53, 3).unwrap();
    let a = train(&cfg, &x, loss, 12);
    let b = train(&cfg, &x, loss, 12);
    assert_learns("NEWSnet", &a, &b);
}

#[test]
fn efficientnet_learns_a_tiny_batch() {
    let cfg = ModelConfig::EfficientNet(EfficientNetConfig {
        pooling: GlobalPool::Avg,
        dropout: 0.1,
        ..EfficientNetConfig::b(0).unwrap()
    });
    let x = tensor(&[4, 2, 32, 32], 2);
    let t = Tensor::new(&[[1f32], [0.], [1.], [0.]], &Device::Cpu).unwrap();
    let loss = |y: &Tensor| bce_with_logits(y, &t).unwrap();
    let a = train(&cfg, &x, loss, 8);
    let b = train(&cfg, &x, loss, 8);
    assert_learns("EfficientNet", &a, &b);
}

/// ResNet-50's and DenseNet-169's graphs (narrowed) train: every layer's backward (the padded
/// stem pooling, the shortcuts, the concatenations, the transitions' average pooling).
#[test]
fn resnet_and_densenet_learn_a_tiny_batch() {
    let resnet = ModelConfig::ResNet(ResNetConfig {
        base_channels: 4,
        ..ResNetConfig::resnet50()
    });
    let densenet = ModelConfig::DenseNet(DenseNetConfig {
        growth_rate: 4,
        block_config: vec![2, 3, 2],
        init_features: 8,
        drop_rate: 0.1,
        ..DenseNetConfig::densenet169()
    });
    // 64 × 64 (the PandaX-III images): ResNet's last stage then has 2 × 2 maps, so its batch
    // statistics are not those of a single value per event.
    let x = tensor(&[8, 2, 64, 64], 5);
    let t = Tensor::new(
        &[[1f32], [0.], [1.], [0.], [1.], [1.], [0.], [0.]],
        &Device::Cpu,
    )
    .unwrap();
    let loss = |y: &Tensor| bce_with_logits(y, &t).unwrap();
    // DenseNet's thin layers (4 channels each) learn the batch more slowly: 20 steps.
    for (name, cfg, steps) in [("ResNet", resnet, 10), ("DenseNet", densenet, 20)] {
        let a = train(&cfg, &x, loss, steps);
        let b = train(&cfg, &x, loss, steps);
        assert_learns(name, &a, &b);
    }
}

#[test]
fn sndnet_learns_a_tiny_batch() {
    let b = |channels, pool| SndBlock { channels, pool };
    let cfg = ModelConfig::SndNet(SndNetConfig {
        input: [6, 30, 37],
        blocks: vec![b(8, true), b(8, false), b(16, true)],
        ..Default::default()
    });
    let x = tensor(&[8, 6, 30, 37], 3);
    let t = tensor(&[8, 2], 4);
    let loss = |y: &Tensor| huber(y, &t, 1.0).unwrap();
    let a = train(&cfg, &x, loss, 10);
    let b = train(&cfg, &x, loss, 10);
    assert_learns("SNDNet", &a, &b);
}

#[test]
fn losses_match_hand_computed_values() {
    let dev = Device::Cpu;
    // Balanced loss: logits 0 over 4 classes → p = 1/4; CCE = ln 4; signal sum 3/4:
    // label 0 (signal) BCE = −ln 0.75, label 3 (background) BCE = −ln 0.25.
    let logits = Tensor::zeros((2, 4), DType::F64, &dev).unwrap();
    let labels = Tensor::new(&[0u32, 3], &dev).unwrap();
    let l = balanced_loss(&logits, &labels, 0.53, 3)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    let want = 0.53 * 4f64.ln() + 0.5 * (-(0.75f64.ln()) - 0.25f64.ln());
    assert!((l - want).abs() < 1e-12, "{l} vs {want}");
    // Its gradient reaches the logits and equals central differences.
    let z = [0.3f64, -1.2, 0.7, 0.1, -0.4, 0.9, 0.0, 0.2];
    let f = |v: &[f64]| {
        let t = Tensor::from_slice(v, (2, 4), &dev).unwrap();
        balanced_loss(&t, &labels, 0.53, 3)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    };
    let var = candle_core::Var::from_slice(&z, (2, 4), &dev).unwrap();
    let g = balanced_loss(var.as_tensor(), &labels, 0.53, 3)
        .unwrap()
        .backward()
        .unwrap();
    let g = g
        .get(&var)
        .expect("gradient reaches the logits")
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    for i in 0..8 {
        let (mut a, mut b) = (z.to_vec(), z.to_vec());
        a[i] += 1e-6;
        b[i] -= 1e-6;
        let numeric = (f(&a) - f(&b)) / 2e-6;
        assert!(
            (numeric - g[i]).abs() < 1e-7,
            "logit {i}: {numeric} vs {}",
            g[i]
        );
    }
    // BCE with logits against the naive formula, including a large logit (stable form).
    let x = Tensor::new(&[-3.0f64, 0.5, 40.0], &dev).unwrap();
    let y = Tensor::new(&[0.0f64, 1.0, 1.0], &dev).unwrap();
    let l = bce_with_logits(&x, &y).unwrap().to_scalar::<f64>().unwrap();
    let s = |v: f64| 1.0 / (1.0 + (-v).exp());
    let want = (-(1.0 - s(-3.0)).ln() - s(0.5).ln() - s(40.0).ln()) / 3.0;
    assert!((l - want).abs() < 1e-12, "{l} vs {want}");
    // Huber δ = 1: residuals 0.5 and 3 → 0.125 and 2.5.
    let p = Tensor::new(&[0.5f64, 3.0], &dev).unwrap();
    let t = Tensor::zeros(2, DType::F64, &dev).unwrap();
    assert!((huber(&p, &t, 1.0).unwrap().to_scalar::<f64>().unwrap() - 1.3125).abs() < 1e-15);
    // Shape errors name what was expected.
    let msg = huber(&p, &Tensor::zeros(3, DType::F64, &dev).unwrap(), 1.0)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("Huber target"), "{msg}");
    let msg = balanced_loss(&logits, &labels, 0.53, 4)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("signal classes"), "{msg}");
}

#[test]
fn configs_round_trip_and_default_to_the_papers() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["newsnet", "efficientnet", "sndnet"] {
        let cfg = ModelConfig::default_for(name).unwrap();
        let json = serde_json::to_string_pretty(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<ModelConfig>(&json).unwrap(), cfg);
    }
    // A config file holds the model's own fields; missing ones take the defaults.
    let p = dir.path().join("n.json");
    std::fs::write(&p, r#"{"stem_bn": true, "classes": 5}"#).unwrap();
    let ModelConfig::NewsNet(c) = ModelConfig::from_file("newsnet", &p).unwrap() else {
        panic!()
    };
    assert_eq!(
        c,
        NewsNetConfig {
            stem_bn: true,
            classes: 5,
            ..Default::default()
        }
    );
    let p = dir.path().join("e.toml");
    std::fs::write(
        &p,
        "top_channels = 16\npooling = \"Avg\"\nwidth_mult = 1.4\ndepth_mult = 1.8\n",
    )
    .unwrap();
    let ModelConfig::EfficientNet(c) = ModelConfig::from_file("efficientnet", &p).unwrap() else {
        panic!()
    };
    assert_eq!(
        (c.top_channels, c.pooling, c.in_channels),
        (Some(16), GlobalPool::Avg, 2)
    );
    let p = dir.path().join("bad.json");
    std::fs::write(&p, r#"{"blocks": 3}"#).unwrap();
    let msg = ModelConfig::from_file("sndnet", &p)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("bad.json") && msg.contains("sndnet"), "{msg}");
    // B4's TopConv default is torchvision's 1792 and its counts follow from the multipliers.
    let b4 = EfficientNetConfig {
        top_channels: None,
        ..EfficientNetConfig::b(4).unwrap()
    };
    let params = Params::new(0);
    Model::new(&ModelConfig::EfficientNet(b4), &params, &Device::Cpu).unwrap();
    assert_eq!(params.named()["classifier.1.weight"].dims(), [1, 1792]);
}
