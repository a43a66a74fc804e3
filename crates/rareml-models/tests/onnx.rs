//! ONNX export checked by an independent runtime: every exported graph runs in tract and
//! matches candle's eval-mode forward (relative error ≤ 1e-4) at batch sizes 1 and 3, for several
//! configurations of each network; the PyTorch fixtures exported give PyTorch's logits; the files
//! declare opset 17, IR 8 and a dynamic batch, and keep the PyTorch parameter names and values.

use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};
use rareml_models::onnx::{self, Dim};
use rareml_models::{
    Ctx, DenseNetConfig, EfficientNetConfig, GlobalPool, Model, ModelConfig, NewsNetConfig,
    NewsNetStage, Params, ResNetConfig, SndBlock, SndNetConfig,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use tract_onnx::prelude::{tvec, Framework, InferenceModelExt, IntoRunnable, IntoTValue};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

/// A model of `cfg` with seeded random weights; BatchNorm weights, biases and running statistics
/// randomised too (they start at 1, 0, 0, 1, which would hide a misplaced tensor).
fn random_model(cfg: &ModelConfig, seed: u64) -> (Model, Params) {
    let params = Params::new(seed);
    let model = Model::new(cfg, &params, &Device::Cpu).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let named = params.named();
    let norms: Vec<String> = named
        .keys()
        .filter_map(|k| k.strip_suffix(".running_mean").map(str::to_string))
        .collect();
    for prefix in norms {
        for (suffix, lo, hi) in [
            ("weight", 0.6, 1.4),
            ("bias", -0.3, 0.3),
            ("running_mean", -0.3, 0.3),
            ("running_var", 0.5, 2.0),
        ] {
            let var = &named[&format!("{prefix}.{suffix}")];
            let v: Vec<f32> = (0..var.elem_count())
                .map(|_| rng.random_range(lo..hi))
                .collect();
            var.set(&Tensor::from_vec(v, var.dims(), &Device::Cpu).unwrap())
                .unwrap();
        }
    }
    (model, params)
}

fn random_input(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// Runs the exported bytes in tract on `x`; returns the output's shape and values.
fn tract_run(bytes: &[u8], x: &Tensor) -> (Vec<usize>, Vec<f32>) {
    let model = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .expect("tract reads the file")
        .into_optimized()
        .expect("tract types and optimises the graph")
        .into_runnable()
        .unwrap();
    let data = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let input = tract_onnx::prelude::Tensor::from_shape(x.dims(), &data).unwrap();
    let out = model.run(tvec!(input.into_tvalue())).unwrap();
    let view = out[0].to_plain_array_view::<f32>().unwrap();
    (view.shape().to_vec(), view.iter().copied().collect())
}

/// max |a − b| / max |b|.
fn relative_error(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .fold(0.0, f64::max);
    let scale = b.iter().map(|y| (*y as f64).abs()).fold(0.0, f64::max);
    diff / scale.max(f64::MIN_POSITIVE)
}

/// Exports `cfg` with random weights and compares tract with candle on inputs of `item` shape at
/// batch sizes 1 and 3; returns the export.
fn check(cfg: ModelConfig, item: &[usize], seed: u64) -> onnx::Export {
    let (model, _) = random_model(&cfg, seed);
    let export = onnx::export(&model, &[]).unwrap();
    for batch in [1, 3] {
        let mut shape = vec![batch];
        shape.extend_from_slice(item);
        let x = random_input(&shape, seed + batch as u64);
        let ours = model.forward(&x, &Ctx::eval()).unwrap();
        let ours_v = ours.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let (tshape, tv) = tract_run(&export.bytes, &x);
        assert_eq!(tshape, ours.dims(), "{cfg:?}: output shape");
        let rel = relative_error(&tv, &ours_v);
        assert!(
            rel <= 1e-4,
            "{cfg:?} batch {batch}: relative error {rel:.2e}"
        );
    }
    export
}

fn small_newsnet() -> NewsNetConfig {
    NewsNetConfig {
        input: [9, 16, 16],
        stem_filters: [4, 8],
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
        ..NewsNetConfig::default()
    }
}

#[test]
fn newsnet_exports_match_candle() {
    let cfg = small_newsnet();
    let e = check(ModelConfig::NewsNet(cfg.clone()), &[1, 9, 16, 16], 1);
    assert_eq!(
        e.input,
        [
            Dim::Named("N".into()),
            Dim::Fixed(1),
            Dim::Fixed(9),
            Dim::Fixed(16),
            Dim::Fixed(16)
        ]
    );
    assert_eq!(e.output, [Dim::Named("N".into()), Dim::Fixed(4)]);
    for op in [
        "Conv",
        "BatchNormalization",
        "Sigmoid",
        "Mul",
        "MaxPool",
        "Add",
        "Gemm",
    ] {
        assert!(
            e.operators.iter().any(|o| o == op),
            "{op} in {:?}",
            e.operators
        );
    }
    // Circular padding along the polarisations, BatchNorm in the stem, three stages.
    let circular = NewsNetConfig {
        input: [8, 12, 12],
        circular_polarisation: true,
        stem_bn: true,
        ..cfg.clone()
    };
    let e = check(ModelConfig::NewsNet(circular), &[1, 8, 12, 12], 2);
    assert!(e.operators.iter().any(|o| o == "Slice") && e.operators.iter().any(|o| o == "Concat"));
    // Odd sizes: the `same` pooling between stages pads one side only.
    let odd = NewsNetConfig {
        input: [9, 15, 13],
        stages: vec![
            NewsNetStage {
                filters: 4,
                identity_blocks: 0,
                stride: 1,
            },
            NewsNetStage {
                filters: 4,
                identity_blocks: 2,
                stride: 2,
            },
            NewsNetStage {
                filters: 6,
                identity_blocks: 0,
                stride: 1,
            },
        ],
        ..cfg
    };
    check(ModelConfig::NewsNet(odd), &[1, 9, 15, 13], 3);
}

#[test]
fn efficientnet_exports_match_candle() {
    let narrow = EfficientNetConfig {
        width_mult: 0.5,
        depth_mult: 0.5,
        ..EfficientNetConfig::b(0).unwrap()
    };
    let e = check(ModelConfig::EfficientNet(narrow.clone()), &[2, 64, 64], 4);
    assert_eq!(
        e.input,
        [
            Dim::Named("N".into()),
            Dim::Fixed(2),
            Dim::Named("H".into()),
            Dim::Named("W".into())
        ]
    );
    for op in ["GlobalMaxPool", "GlobalAveragePool", "Conv", "Gemm"] {
        assert!(
            e.operators.iter().any(|o| o == op),
            "{op} in {:?}",
            e.operators
        );
    }
    // Average pooling, torchvision's TopConv width, three inputs, a non-square image.
    let avg = EfficientNetConfig {
        in_channels: 3,
        top_channels: None,
        pooling: GlobalPool::Avg,
        outputs: 2,
        ..narrow
    };
    check(ModelConfig::EfficientNet(avg), &[3, 48, 40], 5);
    // Full-width B0 and B2 (B2: width 1.1, depth 1.2), n = 8 and n = 2.
    check(
        ModelConfig::EfficientNet(EfficientNetConfig::b(0).unwrap()),
        &[2, 32, 32],
        6,
    );
    let b2 = EfficientNetConfig {
        top_channels: Some(2),
        ..EfficientNetConfig::b(2).unwrap()
    };
    check(ModelConfig::EfficientNet(b2), &[2, 32, 32], 7);
}

#[test]
fn one_efficientnet_export_takes_any_image_size() {
    let cfg = EfficientNetConfig {
        width_mult: 0.5,
        depth_mult: 0.5,
        ..EfficientNetConfig::b(0).unwrap()
    };
    let (model, _) = random_model(&ModelConfig::EfficientNet(cfg), 8);
    let e = onnx::export(&model, &[]).unwrap();
    for (h, w) in [(32, 32), (40, 72)] {
        let x = random_input(&[2, 2, h, w], 9);
        let ours = model.forward(&x, &Ctx::eval()).unwrap();
        let (_, tv) = tract_run(&e.bytes, &x);
        let rel = relative_error(&tv, &ours.flatten_all().unwrap().to_vec1::<f32>().unwrap());
        assert!(rel <= 1e-4, "{h}×{w}: {rel:.2e}");
    }
}

#[test]
fn sndnet_exports_match_candle() {
    let small = SndNetConfig {
        input: [3, 20, 24],
        blocks: vec![
            SndBlock {
                channels: 6,
                pool: true,
            },
            SndBlock {
                channels: 8,
                pool: false,
            },
            SndBlock {
                channels: 8,
                pool: true,
            },
        ],
        ..SndNetConfig::default()
    };
    let e = check(ModelConfig::SndNet(small.clone()), &[3, 20, 24], 10);
    for op in ["Expand", "Shape", "Concat", "Relu", "MaxPool"] {
        assert!(
            e.operators.iter().any(|o| o == op),
            "{op} in {:?}",
            e.operators
        );
    }
    // The plain CNN (no coordinate channels): no coordinate nodes, 3 fewer input channels per conv.
    let plain = SndNetConfig {
        coordinates: false,
        ..small
    };
    let e = check(ModelConfig::SndNet(plain), &[3, 20, 24], 12);
    assert!(
        !e.operators.iter().any(|o| o == "Expand"),
        "{:?}",
        e.operators
    );
    check(
        ModelConfig::SndNet(SndNetConfig::default()),
        &[6, 150, 185],
        11,
    );
}

#[test]
fn resnet_exports_match_candle() {
    // Bottlenecks (ResNet-50's graph, narrowed) on a non-square image with odd sides: the stem
    // pooling's padding and every strided shortcut.
    let narrow = ResNetConfig {
        base_channels: 4,
        ..ResNetConfig::resnet50()
    };
    let e = check(ModelConfig::ResNet(narrow), &[2, 45, 38], 13);
    for op in ["MaxPool", "Add", "Relu", "GlobalAveragePool", "Gemm"] {
        assert!(
            e.operators.iter().any(|o| o == op),
            "{op} in {:?}",
            e.operators
        );
    }
    // Basic blocks (ResNet-18's graph), max pooling, three inputs, two outputs.
    let basic = ResNetConfig {
        base_channels: 8,
        in_channels: 3,
        outputs: 2,
        pooling: GlobalPool::Max,
        ..ResNetConfig::resnet18()
    };
    check(ModelConfig::ResNet(basic), &[3, 32, 32], 14);
}

#[test]
fn densenet_exports_match_candle() {
    let small = DenseNetConfig {
        growth_rate: 4,
        block_config: vec![2, 3, 2],
        init_features: 8,
        ..DenseNetConfig::densenet169()
    };
    let e = check(ModelConfig::DenseNet(small.clone()), &[2, 40, 36], 15);
    for op in ["Concat", "AveragePool", "MaxPool", "GlobalAveragePool"] {
        assert!(
            e.operators.iter().any(|o| o == op),
            "{op} in {:?}",
            e.operators
        );
    }
    let max = DenseNetConfig {
        pooling: GlobalPool::Max,
        outputs: 3,
        ..small
    };
    check(ModelConfig::DenseNet(max), &[2, 32, 32], 16);
}

/// The PyTorch fixture of `model` exported: tract's output against PyTorch's float64 logits.
fn torch_fixture(model: &str, file: &str) -> f64 {
    torch_fixture_of(ModelConfig::default_for(model).unwrap(), file)
}

/// [`torch_fixture`] for the configuration `cfg`.
fn torch_fixture_of(cfg: ModelConfig, file: &str) -> f64 {
    let params = Params::new(0);
    let net = Model::new(&cfg, &params, &Device::Cpu).unwrap();
    params
        .load(&fixture(file), &["input", "logits", "logits_f64"])
        .unwrap();
    let t = candle_core::safetensors::load(fixture(file), &Device::Cpu).unwrap();
    let x = t["input"].to_dtype(DType::F32).unwrap();
    let e = onnx::export(&net, &[]).unwrap();
    let (shape, out) = tract_run(&e.bytes, &x);
    let reference = &t["logits_f64"];
    assert_eq!(shape, reference.dims());
    let r: Vec<f32> = reference
        .to_dtype(DType::F32)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    relative_error(&out, &r)
}

#[test]
fn pytorch_fixtures_exported_give_pytorch_logits() {
    for (model, file) in [
        ("newsnet", "newsnet.safetensors"),
        ("efficientnet", "efficientnet_b0.safetensors"),
        ("sndnet", "sndnet.safetensors"),
    ] {
        let rel = torch_fixture(model, file);
        // verify_torch's tolerance.
        assert!(rel < 1e-4, "{model}: relative error {rel:.2e}");
    }
    // The narrowed torchvision ResNet-50 and DenseNet-169 of the parity tests.
    let resnet = ResNetConfig {
        base_channels: 16,
        ..ResNetConfig::resnet50()
    };
    let densenet = DenseNetConfig {
        growth_rate: 8,
        init_features: 16,
        ..DenseNetConfig::densenet169()
    };
    for (cfg, file) in [
        (ModelConfig::ResNet(resnet), "resnet50_narrow.safetensors"),
        (
            ModelConfig::DenseNet(densenet),
            "densenet169_narrow.safetensors",
        ),
    ] {
        let rel = torch_fixture_of(cfg, file);
        assert!(rel < 1e-4, "{file}: relative error {rel:.2e}");
    }
}

#[test]
fn files_declare_opset_ir_metadata_and_pytorch_names() {
    let cfg = ModelConfig::SndNet(SndNetConfig {
        input: [2, 12, 12],
        blocks: vec![SndBlock {
            channels: 4,
            pool: true,
        }],
        ..SndNetConfig::default()
    });
    let (model, params) = random_model(&cfg, 12);
    let meta = [("run".to_string(), "abc123".to_string())];
    let e = onnx::export(&model, &meta).unwrap();
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut &e.bytes[..])
        .unwrap();
    assert_eq!(proto.ir_version, onnx::IR_VERSION);
    assert_eq!(proto.opset_import.len(), 1);
    assert_eq!(proto.opset_import[0].version, 17);
    assert_eq!(proto.producer_name, "rareml");
    assert_eq!(proto.metadata_props[0].key, "run");
    assert_eq!(proto.metadata_props[0].value, "abc123");
    let graph = proto.graph.unwrap();
    assert_eq!(graph.input[0].name, onnx::INPUT);
    assert_eq!(graph.output[0].name, onnx::OUTPUT);
    // Every parameter is an initializer under its PyTorch name with the same values.
    let inits: BTreeMap<String, Vec<u8>> = graph
        .initializer
        .iter()
        .map(|t| (t.name.clone(), t.raw_data.clone()))
        .collect();
    for (name, var) in params.named() {
        let raw = inits
            .get(&name)
            .unwrap_or_else(|| panic!("{name} not an initializer"));
        let values: Vec<u8> = var
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(raw, &values, "{name}");
    }
}
