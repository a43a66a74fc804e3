//! DenseNet-121/161/169/201 (torchvision's definitions and `state_dict` names) with any number
//! of input channels and a one-output head: one of the PandaX-III paper's compared networks
//! (Table 1: DenseNet-169).

use crate::ctx::Ctx;
use crate::efficientnet::GlobalPool;
use crate::error::{check_norm, config_err, Error, Result};
use crate::layers::{
    dropout, global_avg_pool, global_max_pool, global_pool_onnx, max_pool2d_padded, pool2d,
    pool_onnx, Act, Conv2d, Linear, Norm, PoolKind, PoolPadding,
};
use crate::onnx::{Attr, Graph, Value};
use candle_core::Tensor;
use candle_nn::{Init, VarBuilder};
use serde::{Deserialize, Serialize};

/// DenseNet hyper-parameters; `Default` is DenseNet-169 with the PandaX-III inputs (2: XZ and YZ)
/// and one output (12,483,009 trainable parameters, as torchvision's
/// `densenet169(num_classes=1)` with a two-channel `conv0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DenseNetConfig {
    /// Channels each dense layer adds (k; DenseNet-169: 32).
    pub growth_rate: usize,
    /// Dense layers per block (DenseNet-169: [6, 12, 32, 32]).
    pub block_config: Vec<usize>,
    /// Channels of the stem convolution (`conv0`; DenseNet-169: 64).
    pub init_features: usize,
    /// Bottleneck width of a dense layer in units of the growth rate (4: a 1 × 1 convolution to
    /// 4k channels before the 3 × 3).
    pub bn_size: usize,
    /// Dropout after each dense layer in training (torchvision: 0).
    pub drop_rate: f64,
    /// Input channels.
    pub in_channels: usize,
    /// Outputs of the classifier (1: a sigmoid score).
    pub outputs: usize,
    /// Global pooling before the classifier (torchvision: average).
    pub pooling: GlobalPool,
    /// BatchNorm epsilon (torchvision: 1e-5).
    pub bn_eps: f64,
    /// BatchNorm momentum, PyTorch convention (0.1).
    pub bn_momentum: f64,
}

impl Default for DenseNetConfig {
    fn default() -> Self {
        Self::densenet169()
    }
}

impl DenseNetConfig {
    fn with(growth_rate: usize, block_config: &[usize], init_features: usize) -> Self {
        Self {
            growth_rate,
            block_config: block_config.to_vec(),
            init_features,
            bn_size: 4,
            drop_rate: 0.0,
            in_channels: 2,
            outputs: 1,
            pooling: GlobalPool::Avg,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
        }
    }

    /// DenseNet-121 (k = 32, [6, 12, 24, 16], 64 stem channels) with the PandaX-III head.
    pub fn densenet121() -> Self {
        Self::with(32, &[6, 12, 24, 16], 64)
    }

    /// DenseNet-161 (k = 48, [6, 12, 36, 24], 96 stem channels) with the PandaX-III head.
    pub fn densenet161() -> Self {
        Self::with(48, &[6, 12, 36, 24], 96)
    }

    /// DenseNet-169 (k = 32, [6, 12, 32, 32], 64 stem channels) with the PandaX-III head: the
    /// paper's Table 1 row.
    pub fn densenet169() -> Self {
        Self::with(32, &[6, 12, 32, 32], 64)
    }

    /// DenseNet-201 (k = 32, [6, 12, 48, 32], 64 stem channels) with the PandaX-III head.
    pub fn densenet201() -> Self {
        Self::with(32, &[6, 12, 48, 32], 64)
    }

    /// Checks every field before any layer is built; the error names the first offending field.
    pub fn validate(&self) -> Result<()> {
        let bad = |f: &str, v: &dyn std::fmt::Debug, allowed: &str| {
            Err(config_err("DenseNet", f, v, allowed))
        };
        if self.growth_rate == 0 {
            return bad("growth_rate", &self.growth_rate, "≥ 1");
        }
        if self.block_config.is_empty() || self.block_config.contains(&0) {
            return bad(
                "block_config",
                &self.block_config,
                "one block at least, each of ≥ 1 layer",
            );
        }
        if self.init_features < 2 {
            // Each transition halves the channels.
            return bad("init_features", &self.init_features, "≥ 2");
        }
        if self.bn_size == 0 {
            return bad("bn_size", &self.bn_size, "≥ 1");
        }
        if !(0.0..1.0).contains(&self.drop_rate) {
            return bad("drop_rate", &self.drop_rate, "in [0, 1)");
        }
        if self.in_channels == 0 {
            return bad("in_channels", &self.in_channels, "≥ 1");
        }
        if self.outputs == 0 {
            return bad("outputs", &self.outputs, "≥ 1");
        }
        check_norm("DenseNet", self.bn_eps, self.bn_momentum)?;
        Ok(())
    }
}

/// torchvision's DenseNet init of a convolution: Kaiming normal, fan-in mode (std √(2/fan_in)).
fn fan_in_init(cin: usize, k: usize) -> Init {
    Init::Randn {
        mean: 0.0,
        stdev: (2.0 / (cin * k * k) as f64).sqrt(),
    }
}

/// BatchNorm → ReLU → convolution (no bias), the unit of dense layers and transitions.
struct NormReluConv {
    norm: Norm,
    conv: Conv2d,
}

impl NormReluConv {
    fn new(
        cin: usize,
        cout: usize,
        k: usize,
        cfg: &DenseNetConfig,
        norm: VarBuilder,
        conv: VarBuilder,
    ) -> Result<Self> {
        Ok(Self {
            norm: Norm::new(cin, cfg.bn_eps, cfg.bn_momentum, norm)?,
            conv: Conv2d::with_init(cin, cout, k, 1, k / 2, false, fan_in_init(cin, k), conv)?,
        })
    }

    fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        self.conv
            .forward(&self.norm.forward_act(x, ctx, Act::Relu)?)
    }

    fn onnx(&self, g: &mut Graph, x: &Value) -> Result<Value> {
        let y = self.norm.onnx(g, x, Act::Relu)?;
        self.conv.onnx(g, &y)
    }
}

/// A dense layer (`denseblock{i}.denselayer{j}`): 1 × 1 to `bn_size · k`, 3 × 3 to `k`; its output
/// is concatenated to its input.
struct DenseLayer {
    bottleneck: NormReluConv,
    conv: NormReluConv,
    name: String,
}

/// A transition (`transition{i}`): 1 × 1 halving the channels, then 2 × 2 average pooling.
struct Transition {
    unit: NormReluConv,
    name: String,
}

/// DenseNet with torchvision's parameter names (`features.conv0.weight`,
/// `features.denseblock2.denselayer7.conv2.weight`, `features.transition1.norm.running_var`,
/// `features.norm5.bias`, `classifier.weight`, …) and initialisation (convolutions Kaiming normal
/// fan-in, BatchNorm 1 and 0, classifier bias 0).
pub struct DenseNet {
    cfg: DenseNetConfig,
    conv0: Conv2d,
    norm0: Norm,
    blocks: Vec<(Vec<DenseLayer>, Option<Transition>)>,
    norm5: Norm,
    classifier: Linear,
}

impl DenseNet {
    /// Builds the network, creating its parameters under `vb`.
    pub fn new(cfg: &DenseNetConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let f = vb.pp("features");
        let c0 = cfg.init_features;
        let conv0 = Conv2d::with_init(
            cfg.in_channels,
            c0,
            7,
            2,
            3,
            false,
            fan_in_init(cfg.in_channels, 7),
            f.pp("conv0"),
        )?;
        let norm0 = Norm::new(c0, cfg.bn_eps, cfg.bn_momentum, f.pp("norm0"))?;
        let (k, wide) = (cfg.growth_rate, cfg.bn_size * cfg.growth_rate);
        let mut c = c0;
        let mut blocks = Vec::new();
        for (i, &n) in cfg.block_config.iter().enumerate() {
            let vbb = f.pp(format!("denseblock{}", i + 1));
            let mut layers = Vec::with_capacity(n);
            for j in 0..n {
                let vbl = vbb.pp(format!("denselayer{}", j + 1));
                layers.push(DenseLayer {
                    bottleneck: NormReluConv::new(
                        c,
                        wide,
                        1,
                        cfg,
                        vbl.pp("norm1"),
                        vbl.pp("conv1"),
                    )?,
                    conv: NormReluConv::new(wide, k, 3, cfg, vbl.pp("norm2"), vbl.pp("conv2"))?,
                    name: vbl.prefix(),
                });
                c += k;
            }
            let transition = if i + 1 < cfg.block_config.len() {
                let vbt = f.pp(format!("transition{}", i + 1));
                let t = Transition {
                    unit: NormReluConv::new(c, c / 2, 1, cfg, vbt.pp("norm"), vbt.pp("conv"))?,
                    name: vbt.prefix(),
                };
                c /= 2;
                Some(t)
            } else {
                None
            };
            blocks.push((layers, transition));
        }
        let norm5 = Norm::new(c, cfg.bn_eps, cfg.bn_momentum, f.pp("norm5"))?;
        let bound = 1.0 / (c as f64).sqrt();
        let classifier = Linear::with_init(
            c,
            cfg.outputs,
            Init::Uniform {
                lo: -bound,
                up: bound,
            },
            Init::Const(0.0),
            vb.pp("classifier"),
        )?;
        Ok(Self {
            cfg: cfg.clone(),
            conv0,
            norm0,
            blocks,
            norm5,
            classifier,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DenseNetConfig {
        &self.cfg
    }

    /// Logits `(N, outputs)` for images `(N, in_channels, H, W)`.
    pub fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        if x.rank() != 4 || x.dim(1)? != self.cfg.in_channels {
            return Err(Error::Shape {
                what: "DenseNet input".into(),
                expected: format!("(N, {}, H, W)", self.cfg.in_channels),
                got: x.dims().to_vec(),
            });
        }
        let y = self
            .norm0
            .forward_act(&self.conv0.forward(x)?, ctx, Act::Relu)?;
        let mut y = max_pool2d_padded(&y, 3, 2, 1)?;
        for (layers, transition) in &self.blocks {
            for l in layers {
                let new = l.conv.forward(&l.bottleneck.forward(&y, ctx)?, ctx)?;
                let new = dropout(&new, self.cfg.drop_rate, ctx)?;
                y = Tensor::cat(&[&y, &new], 1)?;
            }
            if let Some(t) = transition {
                y = t.unit.forward(&y, ctx)?;
                y = pool2d(&y, PoolKind::Avg, [2, 2], [2, 2], PoolPadding::Valid)?;
            }
        }
        y = self.norm5.forward_act(&y, ctx, Act::Relu)?;
        y = match self.cfg.pooling {
            GlobalPool::Max => global_max_pool(&y)?,
            GlobalPool::Avg => global_avg_pool(&y)?,
        };
        self.classifier.forward(&y)
    }

    /// Adds the network (evaluation mode) to an ONNX graph; see [`crate::onnx`].
    pub(crate) fn onnx(&self, g: &mut Graph, x: Value) -> Result<Value> {
        let y = self.conv0.onnx(g, &x)?;
        let y = self.norm0.onnx(g, &y, Act::Relu)?;
        let mut y = pool_onnx(
            g,
            &y,
            PoolKind::Max,
            &[3, 3],
            &[2, 2],
            PoolPadding::Zeros([0, 1, 1]),
            "features.pool0",
        )?;
        for (layers, transition) in &self.blocks {
            for l in layers {
                let b = l.bottleneck.onnx(g, &y)?;
                let new = l.conv.onnx(g, &b)?;
                let cat = g.op(
                    "Concat",
                    &format!("{}.concat", l.name),
                    &[&y.name, &new.name],
                    &[Attr::Int("axis", 1)],
                );
                let mut shape = y.shape.clone();
                shape[0] = Some(y.channels(&l.name)? + new.channels(&l.name)?);
                y = Value { name: cat, shape };
            }
            if let Some(t) = transition {
                y = t.unit.onnx(g, &y)?;
                y = pool_onnx(
                    g,
                    &y,
                    PoolKind::Avg,
                    &[2, 2],
                    &[2, 2],
                    PoolPadding::Valid,
                    &format!("{}.pool", t.name),
                )?;
            }
        }
        y = self.norm5.onnx(g, &y, Act::Relu)?;
        let kind = match self.cfg.pooling {
            GlobalPool::Max => PoolKind::Max,
            GlobalPool::Avg => PoolKind::Avg,
        };
        let pooled = global_pool_onnx(g, &y, kind, "avgpool");
        self.classifier.onnx(g, &pooled)
    }
}
