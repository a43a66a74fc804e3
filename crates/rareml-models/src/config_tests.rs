//! One test per configuration rule of the networks: each names its field.

use crate::{
    DenseNetConfig, EfficientNetConfig, ModelConfig, NewsNetConfig, NewsNetStage, ResNetConfig,
    SndBlock, SndNetConfig,
};

fn names(cfg: ModelConfig, field: &str) {
    let e = cfg.validate().unwrap_err().to_string();
    assert!(e.contains(field), "{field}: {e}");
}

#[test]
fn newsnet_rules() {
    let d = NewsNetConfig::default;
    let n = |c: NewsNetConfig, f: &str| names(ModelConfig::NewsNet(c), f);
    n(
        NewsNetConfig {
            input: [9, 0, 40],
            ..d()
        },
        "input",
    );
    n(
        NewsNetConfig {
            input: [9, 3, 3],
            ..d()
        },
        "input",
    );
    n(
        NewsNetConfig {
            stem_filters: [0, 64],
            ..d()
        },
        "stem_filters",
    );
    n(NewsNetConfig { classes: 1, ..d() }, "classes");
    n(
        NewsNetConfig {
            stages: vec![],
            ..d()
        },
        "stages",
    );
    let stage = |filters, stride| NewsNetStage {
        filters,
        identity_blocks: 1,
        stride,
    };
    n(
        NewsNetConfig {
            stages: vec![stage(0, 1)],
            ..d()
        },
        "stages[0].filters",
    );
    n(
        NewsNetConfig {
            stages: vec![stage(8, 1), stage(8, 0)],
            ..d()
        },
        "stages[1].stride",
    );
    n(
        NewsNetConfig {
            dropout: 1.0,
            ..d()
        },
        "dropout",
    );
    n(NewsNetConfig { bn_eps: 0.0, ..d() }, "bn_eps");
    n(
        NewsNetConfig {
            bn_momentum: 1.5,
            ..d()
        },
        "bn_momentum",
    );
    assert!(ModelConfig::NewsNet(d()).validate().is_ok());
}

#[test]
fn efficientnet_rules() {
    let d = EfficientNetConfig::default;
    let n = |c: EfficientNetConfig, f: &str| names(ModelConfig::EfficientNet(c), f);
    n(
        EfficientNetConfig {
            width_mult: 0.0,
            ..d()
        },
        "width_mult",
    );
    n(
        EfficientNetConfig {
            depth_mult: f64::NAN,
            ..d()
        },
        "depth_mult",
    );
    n(
        EfficientNetConfig {
            in_channels: 0,
            ..d()
        },
        "in_channels",
    );
    n(
        EfficientNetConfig {
            top_channels: Some(0),
            ..d()
        },
        "top_channels",
    );
    n(EfficientNetConfig { outputs: 0, ..d() }, "outputs");
    n(
        EfficientNetConfig {
            dropout: -0.1,
            ..d()
        },
        "dropout",
    );
    n(
        EfficientNetConfig {
            stochastic_depth: 1.0,
            ..d()
        },
        "stochastic_depth",
    );
    n(
        EfficientNetConfig {
            bn_eps: -1.0,
            ..d()
        },
        "bn_eps",
    );
    n(
        EfficientNetConfig {
            bn_momentum: -0.5,
            ..d()
        },
        "bn_momentum",
    );
    assert!(EfficientNetConfig::b(5)
        .unwrap_err()
        .to_string()
        .contains("variant"));
    assert!(ModelConfig::EfficientNet(d()).validate().is_ok());
}

#[test]
fn sndnet_rules() {
    let d = SndNetConfig::default;
    let n = |c: SndNetConfig, f: &str| names(ModelConfig::SndNet(c), f);
    n(
        SndNetConfig {
            input: [0, 150, 185],
            ..d()
        },
        "input",
    );
    n(
        SndNetConfig {
            input: [6, 20, 20],
            ..d()
        },
        "input",
    );
    n(
        SndNetConfig {
            blocks: vec![],
            ..d()
        },
        "blocks",
    );
    n(
        SndNetConfig {
            blocks: vec![SndBlock {
                channels: 0,
                pool: false,
            }],
            ..d()
        },
        "blocks[0].channels",
    );
    n(SndNetConfig { outputs: 0, ..d() }, "outputs");
    n(
        SndNetConfig {
            bn_eps: f64::NAN,
            ..d()
        },
        "bn_eps",
    );
    n(
        SndNetConfig {
            bn_momentum: 2.0,
            ..d()
        },
        "bn_momentum",
    );
    assert!(ModelConfig::SndNet(d()).validate().is_ok());
    assert!(ModelConfig::default_for("inception")
        .unwrap_err()
        .to_string()
        .contains("name"));
}

#[test]
fn resnet_rules() {
    let d = ResNetConfig::default;
    let n = |c: ResNetConfig, f: &str| names(ModelConfig::ResNet(c), f);
    n(
        ResNetConfig {
            layers: [3, 0, 6, 3],
            ..d()
        },
        "layers",
    );
    n(
        ResNetConfig {
            base_channels: 0,
            ..d()
        },
        "base_channels",
    );
    n(
        ResNetConfig {
            in_channels: 0,
            ..d()
        },
        "in_channels",
    );
    n(ResNetConfig { outputs: 0, ..d() }, "outputs");
    n(ResNetConfig { bn_eps: 0.0, ..d() }, "bn_eps");
    n(
        ResNetConfig {
            bn_momentum: -0.1,
            ..d()
        },
        "bn_momentum",
    );
    for c in [
        ResNetConfig::resnet18(),
        ResNetConfig::resnet34(),
        ResNetConfig::resnet101(),
        ResNetConfig::resnet152(),
    ] {
        assert!(ModelConfig::ResNet(c).validate().is_ok());
    }
}

#[test]
fn densenet_rules() {
    let d = DenseNetConfig::default;
    let n = |c: DenseNetConfig, f: &str| names(ModelConfig::DenseNet(c), f);
    n(
        DenseNetConfig {
            growth_rate: 0,
            ..d()
        },
        "growth_rate",
    );
    n(
        DenseNetConfig {
            block_config: vec![],
            ..d()
        },
        "block_config",
    );
    n(
        DenseNetConfig {
            block_config: vec![6, 0],
            ..d()
        },
        "block_config",
    );
    n(
        DenseNetConfig {
            init_features: 1,
            ..d()
        },
        "init_features",
    );
    n(DenseNetConfig { bn_size: 0, ..d() }, "bn_size");
    n(
        DenseNetConfig {
            drop_rate: 1.0,
            ..d()
        },
        "drop_rate",
    );
    n(
        DenseNetConfig {
            in_channels: 0,
            ..d()
        },
        "in_channels",
    );
    n(DenseNetConfig { outputs: 0, ..d() }, "outputs");
    n(
        DenseNetConfig {
            bn_eps: f64::NAN,
            ..d()
        },
        "bn_eps",
    );
    n(
        DenseNetConfig {
            bn_momentum: 1.5,
            ..d()
        },
        "bn_momentum",
    );
    for c in [
        DenseNetConfig::densenet121(),
        DenseNetConfig::densenet161(),
        DenseNetConfig::densenet201(),
    ] {
        assert!(ModelConfig::DenseNet(c).validate().is_ok());
    }
}
