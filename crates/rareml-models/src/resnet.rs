//! ResNet-18/34/50/101/152 (torchvision's definitions, "v1.5": the stride in the 3 × 3
//! convolution of a bottleneck, and torchvision's `state_dict` names) with any number of input
//! channels and a one-output head: one of the PandaX-III paper's compared networks (Table 1).

use crate::ctx::Ctx;
use crate::efficientnet::GlobalPool;
use crate::error::{check_norm, config_err, Error, Result};
use crate::layers::{
    global_avg_pool, global_max_pool, global_pool_onnx, max_pool2d_padded, pool_onnx, Act, Conv2d,
    Linear, Norm, PoolKind, PoolPadding,
};
use crate::onnx::{Graph, Value};
use candle_core::Tensor;
use candle_nn::{Init, VarBuilder};
use serde::{Deserialize, Serialize};

/// The residual block of a ResNet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResBlock {
    /// Two 3 × 3 convolutions (ResNet-18/34), output width = planes.
    Basic,
    /// 1 × 1 → 3 × 3 → 1 × 1 (ResNet-50/101/152), output width = 4 × planes.
    Bottleneck,
}

impl ResBlock {
    /// Output channels per plane (torchvision's `expansion`).
    fn expansion(self) -> usize {
        match self {
            Self::Basic => 1,
            Self::Bottleneck => 4,
        }
    }
}

/// ResNet hyper-parameters; `Default` is ResNet-50 with the PandaX-III inputs (2: XZ and YZ) and
/// one output (23,506,945 trainable parameters, as torchvision's `resnet50(num_classes=1)` with a
/// two-channel `conv1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResNetConfig {
    /// Residual block type.
    pub block: ResBlock,
    /// Blocks per stage (`layer1` … `layer4`); ResNet-50: [3, 4, 6, 3].
    pub layers: [usize; 4],
    /// Stem width and planes of `layer1` (torchvision: 64); `layer2`–`layer4` have 2, 4, 8 ×
    /// this. Narrower values give the same graph with fewer channels (the parity fixture: 16).
    pub base_channels: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Outputs of the classifier `fc` (1: a sigmoid score).
    pub outputs: usize,
    /// Global pooling before `fc` (torchvision: average).
    pub pooling: GlobalPool,
    /// BatchNorm epsilon (torchvision: 1e-5).
    pub bn_eps: f64,
    /// BatchNorm momentum, PyTorch convention (0.1).
    pub bn_momentum: f64,
}

impl Default for ResNetConfig {
    fn default() -> Self {
        Self::resnet50()
    }
}

impl ResNetConfig {
    fn with(block: ResBlock, layers: [usize; 4]) -> Self {
        Self {
            block,
            layers,
            base_channels: 64,
            in_channels: 2,
            outputs: 1,
            pooling: GlobalPool::Avg,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
        }
    }

    /// ResNet-18 (basic blocks [2, 2, 2, 2]) with the PandaX-III head.
    pub fn resnet18() -> Self {
        Self::with(ResBlock::Basic, [2, 2, 2, 2])
    }

    /// ResNet-34 (basic blocks [3, 4, 6, 3]) with the PandaX-III head.
    pub fn resnet34() -> Self {
        Self::with(ResBlock::Basic, [3, 4, 6, 3])
    }

    /// ResNet-50 (bottlenecks [3, 4, 6, 3]) with the PandaX-III head: the paper's Table 1 row.
    pub fn resnet50() -> Self {
        Self::with(ResBlock::Bottleneck, [3, 4, 6, 3])
    }

    /// ResNet-101 (bottlenecks [3, 4, 23, 3]) with the PandaX-III head.
    pub fn resnet101() -> Self {
        Self::with(ResBlock::Bottleneck, [3, 4, 23, 3])
    }

    /// ResNet-152 (bottlenecks [3, 8, 36, 3]) with the PandaX-III head.
    pub fn resnet152() -> Self {
        Self::with(ResBlock::Bottleneck, [3, 8, 36, 3])
    }

    /// Checks every field before any layer is built; the error names the first offending field.
    pub fn validate(&self) -> Result<()> {
        let bad = |f: &str, v: &dyn std::fmt::Debug, allowed: &str| {
            Err(config_err("ResNet", f, v, allowed))
        };
        if self.layers.contains(&0) {
            return bad("layers", &self.layers, "≥ 1 block in every stage");
        }
        if self.base_channels == 0 {
            return bad("base_channels", &self.base_channels, "≥ 1");
        }
        if self.in_channels == 0 {
            return bad("in_channels", &self.in_channels, "≥ 1");
        }
        if self.outputs == 0 {
            return bad("outputs", &self.outputs, "≥ 1");
        }
        check_norm("ResNet", self.bn_eps, self.bn_momentum)?;
        Ok(())
    }
}

/// torchvision's ResNet init of a convolution: Kaiming normal, fan-out mode, ReLU gain.
fn fan_out_init(cout: usize, k: usize) -> Init {
    Init::Randn {
        mean: 0.0,
        stdev: (2.0 / (cout * k * k) as f64).sqrt(),
    }
}

/// A convolution (no bias) and its BatchNorm, named `{conv}` and `{bn}` under the block.
struct ConvBn {
    conv: Conv2d,
    bn: Norm,
}

impl ConvBn {
    #[allow(clippy::too_many_arguments)]
    fn new(
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        cfg: &ResNetConfig,
        conv: VarBuilder,
        bn: VarBuilder,
    ) -> Result<Self> {
        let init = fan_out_init(cout, k);
        Ok(Self {
            conv: Conv2d::with_init(cin, cout, k, stride, k / 2, false, init, conv)?,
            bn: Norm::new(cout, cfg.bn_eps, cfg.bn_momentum, bn)?,
        })
    }

    fn forward(&self, x: &Tensor, ctx: &Ctx, act: Act) -> Result<Tensor> {
        self.bn.forward_act(&self.conv.forward(x)?, ctx, act)
    }

    fn onnx(&self, g: &mut Graph, x: &Value, act: Act) -> Result<Value> {
        let y = self.conv.onnx(g, x)?;
        self.bn.onnx(g, &y, act)
    }
}

/// One residual block: `convs` (ReLU after each but the last), the shortcut (a strided 1 × 1
/// convolution and BatchNorm where the shape changes), the sum, ReLU.
struct Block {
    convs: Vec<ConvBn>,
    downsample: Option<ConvBn>,
    name: String,
}

impl Block {
    fn new(
        cin: usize,
        planes: usize,
        stride: usize,
        cfg: &ResNetConfig,
        vb: VarBuilder,
    ) -> Result<Self> {
        let cout = planes * cfg.block.expansion();
        let layer = |i: usize, a: usize, b: usize, k: usize, s: usize| {
            ConvBn::new(
                a,
                b,
                k,
                s,
                cfg,
                vb.pp(format!("conv{i}")),
                vb.pp(format!("bn{i}")),
            )
        };
        let convs = match cfg.block {
            ResBlock::Basic => vec![
                layer(1, cin, planes, 3, stride)?,
                layer(2, planes, planes, 3, 1)?,
            ],
            ResBlock::Bottleneck => vec![
                layer(1, cin, planes, 1, 1)?,
                layer(2, planes, planes, 3, stride)?,
                layer(3, planes, cout, 1, 1)?,
            ],
        };
        let downsample = if stride != 1 || cin != cout {
            let d = vb.pp("downsample");
            Some(ConvBn::new(
                cin,
                cout,
                1,
                stride,
                cfg,
                d.pp("0"),
                d.pp("1"),
            )?)
        } else {
            None
        };
        Ok(Self {
            convs,
            downsample,
            name: vb.prefix(),
        })
    }

    fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let last = self.convs.len() - 1;
        let mut y = x.clone();
        for (i, c) in self.convs.iter().enumerate() {
            let act = if i == last { Act::Identity } else { Act::Relu };
            y = c.forward(&y, ctx, act)?;
        }
        let shortcut = match &self.downsample {
            Some(d) => d.forward(x, ctx, Act::Identity)?,
            None => x.clone(),
        };
        Ok(Act::Relu.apply(&(y + shortcut)?)?)
    }

    fn onnx(&self, g: &mut Graph, x: &Value) -> Result<Value> {
        let last = self.convs.len() - 1;
        let mut y = x.clone();
        for (i, c) in self.convs.iter().enumerate() {
            let act = if i == last { Act::Identity } else { Act::Relu };
            y = c.onnx(g, &y, act)?;
        }
        let shortcut = match &self.downsample {
            Some(d) => d.onnx(g, x, Act::Identity)?,
            None => x.clone(),
        };
        let sum = g.op(
            "Add",
            &format!("{}.add", self.name),
            &[&y.name, &shortcut.name],
            &[],
        );
        let out = g.act(&sum, Act::Relu, &self.name);
        Ok(y.renamed(out))
    }
}

/// ResNet with torchvision's parameter names (`conv1.weight`, `bn1.running_var`,
/// `layer3.2.conv2.weight`, `layer2.0.downsample.1.bias`, `fc.weight`, …) and initialisation
/// (convolutions Kaiming normal fan-out, BatchNorm 1 and 0, `fc` PyTorch's default).
pub struct ResNet {
    cfg: ResNetConfig,
    stem: ConvBn,
    blocks: Vec<Block>,
    fc: Linear,
}

impl ResNet {
    /// Builds the network, creating its parameters under `vb`.
    pub fn new(cfg: &ResNetConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let base = cfg.base_channels;
        let stem = ConvBn::new(
            cfg.in_channels,
            base,
            7,
            2,
            cfg,
            vb.pp("conv1"),
            vb.pp("bn1"),
        )?;
        let mut blocks = Vec::new();
        let mut cin = base;
        for (s, &n) in cfg.layers.iter().enumerate() {
            let planes = base << s;
            let stride = if s == 0 { 1 } else { 2 };
            let vbs = vb.pp(format!("layer{}", s + 1));
            for b in 0..n {
                let st = if b == 0 { stride } else { 1 };
                blocks.push(Block::new(cin, planes, st, cfg, vbs.pp(b.to_string()))?);
                cin = planes * cfg.block.expansion();
            }
        }
        let fc = Linear::new(cin, cfg.outputs, vb.pp("fc"))?;
        Ok(Self {
            cfg: cfg.clone(),
            stem,
            blocks,
            fc,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ResNetConfig {
        &self.cfg
    }

    /// Logits `(N, outputs)` for images `(N, in_channels, H, W)`.
    pub fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        if x.rank() != 4 || x.dim(1)? != self.cfg.in_channels {
            return Err(Error::Shape {
                what: "ResNet input".into(),
                expected: format!("(N, {}, H, W)", self.cfg.in_channels),
                got: x.dims().to_vec(),
            });
        }
        let mut y = self.stem.forward(x, ctx, Act::Relu)?;
        y = max_pool2d_padded(&y, 3, 2, 1)?;
        for b in &self.blocks {
            y = b.forward(&y, ctx)?;
        }
        y = match self.cfg.pooling {
            GlobalPool::Max => global_max_pool(&y)?,
            GlobalPool::Avg => global_avg_pool(&y)?,
        };
        self.fc.forward(&y)
    }

    /// Adds the network (evaluation mode) to an ONNX graph; see [`crate::onnx`].
    pub(crate) fn onnx(&self, g: &mut Graph, x: Value) -> Result<Value> {
        let mut y = self.stem.onnx(g, &x, Act::Relu)?;
        y = pool_onnx(
            g,
            &y,
            PoolKind::Max,
            &[3, 3],
            &[2, 2],
            PoolPadding::Zeros([0, 1, 1]),
            "maxpool",
        )?;
        for b in &self.blocks {
            y = b.onnx(g, &y)?;
        }
        let kind = match self.cfg.pooling {
            GlobalPool::Max => PoolKind::Max,
            GlobalPool::Avg => PoolKind::Avg,
        };
        let pooled = global_pool_onnx(g, &y, kind, "avgpool");
        self.fc.onnx(g, &pooled)
    }
}
