//! Whole-model parity with PyTorch: the fixtures' state_dicts load under our names and the
//! eval-mode outputs match PyTorch's float64 outputs; parameter counts to the unit.

use candle_core::{DType, Device, Tensor};
use rareml_models::{
    Ctx, DenseNetConfig, Error, Model, ModelConfig, NewsNetConfig, Params, ResNetConfig,
    SndNetConfig,
};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

const EXTRA: [&str; 3] = ["input", "logits", "logits_f64"];

/// Loads the fixture into the paper configuration of `model` and returns the relative error of
/// the eval-mode output against `logits_f64` (max |a − ref| / max |ref|).
fn parity(model: &str, file: &str) -> f64 {
    parity_of(ModelConfig::default_for(model).unwrap(), file)
}

/// [`parity`] for the configuration `cfg`.
fn parity_of(cfg: ModelConfig, file: &str) -> f64 {
    let params = Params::new(0);
    let net = Model::new(&cfg, &params, &Device::Cpu).unwrap();
    params.load(&fixture(file), &EXTRA).unwrap();
    let t = candle_core::safetensors::load(fixture(file), &Device::Cpu).unwrap();
    let out = net
        .forward(&t["input"], &Ctx::eval())
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap();
    let reference = &t["logits_f64"];
    assert_eq!(out.dims(), reference.dims());
    let diff = (&out - reference)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    let scale = reference
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    diff / scale
}

#[test]
fn newsnet_matches_pytorch() {
    let rel = parity("newsnet", "newsnet.safetensors");
    assert!(rel < 1e-4, "relative error {rel}");
}

#[test]
fn efficientnet_b0_matches_pytorch() {
    let rel = parity("efficientnet", "efficientnet_b0.safetensors");
    assert!(rel < 1e-4, "relative error {rel}");
}

#[test]
fn sndnet_matches_pytorch() {
    let rel = parity("sndnet", "sndnet.safetensors");
    assert!(rel < 1e-4, "relative error {rel}");
}

/// The nine stage outputs of the feature-map study have the shapes PyTorch traced for
/// `features.0` … `features.8` (the fixture's metadata), and the last one, max-pooled through
/// the classifier, gives the logits.
#[test]
fn efficientnet_stages_have_pytorchs_shapes() {
    let file = fixture("efficientnet_b0.safetensors");
    let bytes = std::fs::read(&file).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let info: serde_json::Value =
        serde_json::from_str(&meta.metadata().as_ref().unwrap()["info"]).unwrap();
    let params = Params::new(0);
    let cfg = ModelConfig::default_for("efficientnet").unwrap();
    let Model::EfficientNet(net) = Model::new(&cfg, &params, &Device::Cpu).unwrap() else {
        unreachable!()
    };
    params.load(&file, &EXTRA).unwrap();
    let t = candle_core::safetensors::load(&file, &Device::Cpu).unwrap();
    let stages = net.forward_stages(&t["input"], &Ctx::eval()).unwrap();
    assert_eq!(stages.len(), 9);
    for (i, s) in stages.iter().enumerate() {
        let want: Vec<usize> =
            serde_json::from_value(info["shapes"][format!("features.{i}")].clone()).unwrap();
        assert_eq!(s.dims(), want, "features.{i}");
    }
    let logits = net.forward(&t["input"], &Ctx::eval()).unwrap();
    let pooled = stages[8].flatten_from(2).unwrap().max(2).unwrap();
    let w = params.named()["classifier.1.weight"].as_tensor().clone();
    let b = params.named()["classifier.1.bias"].as_tensor().clone();
    let again = pooled
        .matmul(&w.t().unwrap())
        .unwrap()
        .broadcast_add(&b)
        .unwrap();
    let diff = (logits - again).unwrap().abs().unwrap().max_all().unwrap();
    assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
}

/// The narrowed ResNet-50 of the fixture: torchvision's graph with stem and `layer1` planes 16.
#[test]
fn resnet50_matches_pytorch() {
    let cfg = ResNetConfig {
        base_channels: 16,
        ..ResNetConfig::resnet50()
    };
    let rel = parity_of(ModelConfig::ResNet(cfg), "resnet50_narrow.safetensors");
    assert!(rel < 1e-4, "relative error {rel}");
}

/// The narrowed DenseNet-169 of the fixture: growth rate 8, 16 stem channels.
#[test]
fn densenet169_matches_pytorch() {
    let cfg = DenseNetConfig {
        growth_rate: 8,
        init_features: 16,
        ..DenseNetConfig::densenet169()
    };
    let rel = parity_of(ModelConfig::DenseNet(cfg), "densenet169_narrow.safetensors");
    assert!(rel < 1e-4, "relative error {rel}");
}

/// The full-width networks' trainable parameters equal torchvision's, as the fixtures' metadata
/// records them (`full_model_params`, counted by PyTorch).
#[test]
fn resnet50_and_densenet169_have_torchvisions_parameter_counts() {
    for (cfg, file, want) in [
        (
            ModelConfig::default_for("resnet").unwrap(),
            "resnet50_narrow.safetensors",
            23_506_945,
        ),
        (
            ModelConfig::default_for("densenet").unwrap(),
            "densenet169_narrow.safetensors",
            12_483_009,
        ),
    ] {
        let bytes = std::fs::read(fixture(file)).unwrap();
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let recorded: usize = meta.metadata().as_ref().unwrap()["full_model_params"]
            .parse()
            .unwrap();
        assert_eq!(recorded, want, "{file}");
        assert_eq!(counts(cfg).0, want, "{file}");
    }
}

fn counts(cfg: ModelConfig) -> (usize, usize) {
    let params = Params::new(0);
    Model::new(&cfg, &params, &Device::Cpu).unwrap();
    (params.trainable_count(), params.total_count())
}

#[test]
fn parameter_counts_match_the_papers() {
    assert_eq!(
        counts(ModelConfig::NewsNet(NewsNetConfig::default())),
        (6_927_044, 6_937_796)
    );
    let stem_bn = NewsNetConfig {
        stem_bn: true,
        ..Default::default()
    };
    assert_eq!(counts(ModelConfig::NewsNet(stem_bn)).0, 6_927_236);
    assert_eq!(
        counts(ModelConfig::SndNet(SndNetConfig::default())),
        (302_402, 302_402 + 896)
    );
    // Without the coordinate channels each 3×3 conv has 3 input channels fewer:
    // 3·9·(32 + 32 + 64 + 64 + 128 + 128) = 12,096 weights fewer.
    let plain = SndNetConfig {
        coordinates: false,
        ..Default::default()
    };
    assert_eq!(counts(ModelConfig::SndNet(plain)).0, 302_402 - 12_096);
    assert_eq!(
        counts(ModelConfig::default_for("efficientnet").unwrap()),
        (3_597_685, 3_637_157)
    );
    assert_eq!(
        SndNetConfig::default()
            .feature_shape()
            .unwrap()
            .iter()
            .product::<usize>(),
        768
    );
}

#[test]
fn circular_newsnet_takes_eight_polarisations() {
    let cfg = NewsNetConfig {
        input: [8, 40, 40],
        circular_polarisation: true,
        ..Default::default()
    };
    let params = Params::new(1);
    let net = Model::new(&ModelConfig::NewsNet(cfg), &params, &Device::Cpu).unwrap();
    let x = Tensor::randn(0f32, 1.0, (1, 1, 8, 40, 40), &Device::Cpu).unwrap();
    let y = net.forward(&x, &Ctx::eval()).unwrap();
    assert_eq!(y.dims(), [1, 4]);
    // Rolling the polarisation axis by two (a 45° rotation of the polariser) leaves the
    // pooled features of a periodic network close but the input genuinely changes.
    let rolled = Tensor::cat(
        &[&x.narrow(2, 2, 6).unwrap(), &x.narrow(2, 0, 2).unwrap()],
        2,
    )
    .unwrap();
    let y2 = net.forward(&rolled, &Ctx::eval()).unwrap();
    assert_eq!(y2.dims(), [1, 4]);
}

#[test]
fn mismatched_weights_name_every_offending_tensor() {
    // NEWSnet weights into a stem-BN NEWSnet: the stem BatchNorms are missing from the file.
    let cfg = ModelConfig::NewsNet(NewsNetConfig {
        stem_bn: true,
        ..Default::default()
    });
    let params = Params::new(0);
    Model::new(&cfg, &params, &Device::Cpu).unwrap();
    let err = params
        .load(&fixture("newsnet.safetensors"), &EXTRA)
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::WeightsMismatch { .. }));
    assert!(
        msg.contains("newsnet.safetensors")
            && msg.contains("stem.bn1.running_var")
            && msg.contains("missing"),
        "{msg}"
    );
    // A smaller head: shape mismatch names the tensor and both shapes; the fixture's extra
    // tensors are unexpected when not ignored.
    let cfg = ModelConfig::NewsNet(NewsNetConfig {
        classes: 3,
        ..Default::default()
    });
    let params = Params::new(0);
    Model::new(&cfg, &params, &Device::Cpu).unwrap();
    let msg = params
        .load(&fixture("newsnet.safetensors"), &[])
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("head.weight: file [4, 12800] vs model [3, 12800]"),
        "{msg}"
    );
    assert!(
        msg.contains("logits_f64") && msg.contains("not in the model"),
        "{msg}"
    );
    // Not a safetensors file at all.
    let msg = params
        .load(&fixture("tt_v1.h5"), &[])
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("tt_v1.h5") && msg.contains("safetensors"),
        "{msg}"
    );
}

#[test]
fn wrong_input_shape_is_a_clear_error() {
    let params = Params::new(0);
    let net = Model::new(
        &ModelConfig::default_for("sndnet").unwrap(),
        &params,
        &Device::Cpu,
    )
    .unwrap();
    let x = Tensor::zeros((1, 5, 150, 185), DType::F32, &Device::Cpu).unwrap();
    let msg = net.forward(&x, &Ctx::eval()).err().unwrap().to_string();
    assert!(
        msg.contains("SNDNet input") && msg.contains("(N, 6, 150, 185)"),
        "{msg}"
    );
    let cfg = NewsNetConfig {
        input: [9, 3, 3],
        ..Default::default()
    };
    let msg = Model::new(&ModelConfig::NewsNet(cfg), &params, &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("input = [9, 3, 3]") && msg.contains("large enough"),
        "{msg}"
    );
}
