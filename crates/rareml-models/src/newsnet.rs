//! NEWSnet: the NEWSdm 3D ResNet (public Keras code `cnn_utils.py`, BN over channels) that
//! separates carbon recoils (C30, C60, C100) from background on `(1, P, H, W)` polarisation stacks.

use crate::ctx::Ctx;
use crate::error::{check_norm, config_err, Error, Result};
use crate::layers::{
    dropout, pool3d, pool_onnx, silu, Act, Conv3d, Conv3dConfig, Linear, Norm, Pad, Pool3dConfig,
    PoolPadding,
};
use crate::onnx::{Graph, Value};
use candle_core::Tensor;
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

/// One residual stage: a bottleneck block with a convolutional shortcut, then identity blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewsNetStage {
    /// Bottleneck width N (the block outputs 4·N channels).
    pub filters: usize,
    /// Identity blocks after the conv-shortcut block.
    pub identity_blocks: usize,
    /// Stride of the first block's 1×1×1 conv and its shortcut.
    pub stride: usize,
}

/// NEWSnet hyper-parameters; `Default` is the paper's model (6,927,044 trainable parameters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewsNetConfig {
    /// Input (polarisations P, height H, width W) in pixels: (9, 40, 40) with the 9th image a copy
    /// of the 1st, or (8, 40, 40) with `circular_polarisation`.
    pub input: [usize; 3],
    /// Filters of the two stem convolutions (3×3×3, the first valid, the second same).
    pub stem_filters: [usize; 2],
    /// BatchNorm after each stem convolution (the paper's table; the public code has none).
    pub stem_bn: bool,
    /// Residual stages, separated by max-pool 2 (same) + dropout.
    pub stages: Vec<NewsNetStage>,
    /// Dropout probability after the stem, after each stage's first block and after each
    /// inter-stage pooling.
    pub dropout: f64,
    /// Output classes (C30, C60, C100, background).
    pub classes: usize,
    /// Pad every 3×3×3 convolution circularly along the polarisation axis (P = 8, no 9th copy);
    /// the first stem convolution then keeps P.
    pub circular_polarisation: bool,
    /// BatchNorm epsilon (Keras default 1e-3).
    pub bn_eps: f64,
    /// BatchNorm momentum in PyTorch's convention (Keras 0.99 ≡ 0.01).
    pub bn_momentum: f64,
}

impl Default for NewsNetConfig {
    fn default() -> Self {
        Self {
            input: [9, 40, 40],
            stem_filters: [32, 64],
            stem_bn: false,
            stages: vec![
                NewsNetStage {
                    filters: 64,
                    identity_blocks: 3,
                    stride: 2,
                },
                NewsNetStage {
                    filters: 128,
                    identity_blocks: 3,
                    stride: 1,
                },
            ],
            dropout: 0.4,
            classes: 4,
            circular_polarisation: false,
            bn_eps: 1e-3,
            bn_momentum: 0.01,
        }
    }
}

impl NewsNetConfig {
    /// Checks every field before any layer is built: sizes ≥ 1, probabilities in range, an input
    /// large enough for the network; the error names the first offending field.
    pub fn validate(&self) -> Result<()> {
        let bad = |f: &str, v: &dyn std::fmt::Debug, allowed: &str| {
            Err(config_err("NEWSnet", f, v, allowed))
        };
        if self.input.contains(&0) {
            return bad("input", &self.input, "every size ≥ 1");
        }
        if self.stem_filters.contains(&0) {
            return bad("stem_filters", &self.stem_filters, "≥ 1");
        }
        if self.classes < 2 {
            return bad("classes", &self.classes, "≥ 2");
        }
        if self.stages.is_empty() {
            return bad("stages", &self.stages, "at least one stage");
        }
        for (i, s) in self.stages.iter().enumerate() {
            if s.filters == 0 {
                return bad(&format!("stages[{i}].filters"), &s.filters, "≥ 1");
            }
            if s.stride == 0 {
                return bad(&format!("stages[{i}].stride"), &s.stride, "≥ 1");
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", &self.dropout, "in [0, 1)");
        }
        check_norm("NEWSnet", self.bn_eps, self.bn_momentum)?;
        self.feature_shape().map(|_| ())
    }

    fn k3(&self, padding_hw: usize) -> Conv3dConfig {
        let d = if self.circular_polarisation {
            Pad::Circular(1)
        } else {
            Pad::Zeros(padding_hw)
        };
        Conv3dConfig {
            stride: [1; 3],
            padding: [d, Pad::Zeros(padding_hw), Pad::Zeros(padding_hw)],
        }
    }

    /// Shape (C, D, H, W) of the features entering the head, or an error when the input is too small.
    pub fn feature_shape(&self) -> Result<[usize; 4]> {
        let [mut d, mut h, mut w] = self.input;
        let too_small = || {
            config_err(
                "NEWSnet",
                "input",
                self.input,
                "large enough for the stem convolution and pooling (at least 4 × 4 × 4)",
            )
        };
        let conv = |l: usize, k: usize, p: usize, s: usize| -> Result<usize> {
            if l + 2 * p < k {
                Err(too_small())
            } else {
                Ok((l + 2 * p - k) / s + 1)
            }
        };
        let dp = |valid: usize| if self.circular_polarisation { 1 } else { valid };
        d = conv(d, 3, dp(0), 1)?;
        h = conv(h, 3, 0, 1)?;
        w = conv(w, 3, 0, 1)?;
        // stem max-pool 2 (floor)
        if d < 2 || h < 2 || w < 2 {
            return Err(too_small());
        }
        (d, h, w) = (d / 2, h / 2, w / 2);
        let mut c = 0;
        for (i, s) in self.stages.iter().enumerate() {
            if i > 0 {
                (d, h, w) = (d.div_ceil(2), h.div_ceil(2), w.div_ceil(2));
            }
            (d, h, w) = (
                (d - 1) / s.stride + 1,
                (h - 1) / s.stride + 1,
                (w - 1) / s.stride + 1,
            );
            c = 4 * s.filters;
        }
        Ok([c, d, h, w])
    }
}

struct ConvBn {
    conv: Conv3d,
    bn: Norm,
}

impl ConvBn {
    #[allow(clippy::too_many_arguments)]
    fn new(
        cin: usize,
        cout: usize,
        k: usize,
        cfg: Conv3dConfig,
        net: &NewsNetConfig,
        vb: VarBuilder,
        conv: &str,
        bn: &str,
    ) -> Result<Self> {
        Ok(Self {
            conv: Conv3d::new(cin, cout, [k; 3], cfg, true, vb.pp(conv))?,
            bn: Norm::new(cout, net.bn_eps, net.bn_momentum, vb.pp(bn))?,
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

struct Bottleneck {
    c1: ConvBn,
    c2: ConvBn,
    c3: ConvBn,
    shortcut: Option<ConvBn>,
}

impl Bottleneck {
    fn new(
        cin: usize,
        n: usize,
        stride: usize,
        shortcut: bool,
        net: &NewsNetConfig,
        vb: VarBuilder,
    ) -> Result<Self> {
        let one = Conv3dConfig::uniform(stride, 0);
        let mut k3s = net.k3(1);
        k3s.stride = [stride; 3];
        Ok(Self {
            c1: ConvBn::new(cin, n, 1, one, net, vb.clone(), "conv1", "bn1")?,
            c2: ConvBn::new(n, n, 3, net.k3(1), net, vb.clone(), "conv2", "bn2")?,
            c3: ConvBn::new(
                n,
                4 * n,
                1,
                Conv3dConfig::default(),
                net,
                vb.clone(),
                "conv3",
                "bn3",
            )?,
            shortcut: if shortcut {
                Some(ConvBn::new(
                    cin,
                    4 * n,
                    3,
                    k3s,
                    net,
                    vb.pp("shortcut"),
                    "conv",
                    "bn",
                )?)
            } else {
                None
            },
        })
    }

    fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let y = self.c1.forward(x, ctx, Act::Silu)?;
        let y = self.c2.forward(&y, ctx, Act::Silu)?;
        let y = self.c3.forward(&y, ctx, Act::Identity)?;
        let s = match &self.shortcut {
            Some(sc) => sc.forward(x, ctx, Act::Identity)?,
            None => x.clone(),
        };
        silu(&(y + s)?)
    }

    fn onnx(&self, g: &mut Graph, x: &Value, name: &str) -> Result<Value> {
        let y = self.c1.onnx(g, x, Act::Silu)?;
        let y = self.c2.onnx(g, &y, Act::Silu)?;
        let y = self.c3.onnx(g, &y, Act::Identity)?;
        let s = match &self.shortcut {
            Some(sc) => sc.onnx(g, x, Act::Identity)?,
            None => x.clone(),
        };
        let sum = g.op("Add", &format!("{name}.add"), &[&y.name, &s.name], &[]);
        let out = g.act(&sum, Act::Silu, name);
        Ok(y.renamed(out))
    }
}

/// The NEWSnet model; parameters named as `../shared/fixtures/newsnet.safetensors`
/// (`stem.conv1.weight`, `stage1.0.bn1.running_var`, `head.weight`, …).
pub struct NewsNet {
    cfg: NewsNetConfig,
    stem: [Conv3d; 2],
    stem_bn: Option<[Norm; 2]>,
    stages: Vec<Vec<Bottleneck>>,
    head: Linear,
}

impl NewsNet {
    /// Builds the network, creating its parameters under `vb`.
    pub fn new(cfg: &NewsNetConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let [f1, f2] = cfg.stem_filters;
        let stem = [
            Conv3d::new(1, f1, [3; 3], cfg.k3(0), true, vb.pp("stem.conv1"))?,
            Conv3d::new(f1, f2, [3; 3], cfg.k3(1), true, vb.pp("stem.conv2"))?,
        ];
        let stem_bn = if cfg.stem_bn {
            Some([
                Norm::new(f1, cfg.bn_eps, cfg.bn_momentum, vb.pp("stem.bn1"))?,
                Norm::new(f2, cfg.bn_eps, cfg.bn_momentum, vb.pp("stem.bn2"))?,
            ])
        } else {
            None
        };
        let mut cin = f2;
        let mut stages = Vec::new();
        for (i, s) in cfg.stages.iter().enumerate() {
            let vb = vb.pp(format!("stage{}", i + 1));
            let mut blocks = vec![Bottleneck::new(
                cin,
                s.filters,
                s.stride,
                true,
                cfg,
                vb.pp("0"),
            )?];
            cin = 4 * s.filters;
            for b in 0..s.identity_blocks {
                blocks.push(Bottleneck::new(
                    cin,
                    s.filters,
                    1,
                    false,
                    cfg,
                    vb.pp(format!("{}", b + 1)),
                )?);
            }
            stages.push(blocks);
        }
        let flat: usize = cfg.feature_shape()?.iter().product();
        let head = Linear::new(flat, cfg.classes, vb.pp("head"))?;
        Ok(Self {
            cfg: cfg.clone(),
            stem,
            stem_bn,
            stages,
            head,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &NewsNetConfig {
        &self.cfg
    }

    /// Class logits `(N, classes)` for images `(N, 1, P, H, W)`.
    pub fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let want = [1, self.cfg.input[0], self.cfg.input[1], self.cfg.input[2]];
        if x.rank() != 5 || x.dims()[1..] != want {
            return Err(Error::Shape {
                what: "NEWSnet input".into(),
                expected: format!("(N, {}, {}, {}, {})", want[0], want[1], want[2], want[3]),
                got: x.dims().to_vec(),
            });
        }
        let mut y = x.clone();
        for (i, conv) in self.stem.iter().enumerate() {
            y = conv.forward(&y)?;
            y = match &self.stem_bn {
                Some(bn) => bn[i].forward_act(&y, ctx, Act::Silu)?,
                None => silu(&y)?,
            };
        }
        y = pool3d(&y, &Pool3dConfig::max(2, PoolPadding::Valid))?;
        y = dropout(&y, self.cfg.dropout, ctx)?;
        for (i, blocks) in self.stages.iter().enumerate() {
            if i > 0 {
                y = pool3d(&y, &Pool3dConfig::max(2, PoolPadding::Same))?;
                y = dropout(&y, self.cfg.dropout, ctx)?;
            }
            for (b, block) in blocks.iter().enumerate() {
                y = block.forward(&y, ctx)?;
                if b == 0 {
                    y = dropout(&y, self.cfg.dropout, ctx)?;
                }
            }
        }
        self.head.forward(&y.flatten_from(1)?)
    }

    /// Adds the network (evaluation mode) to an ONNX graph; see [`crate::onnx`].
    pub(crate) fn onnx(&self, g: &mut Graph, x: Value) -> Result<Value> {
        let mut y = x;
        for (i, conv) in self.stem.iter().enumerate() {
            y = conv.onnx(g, &y)?;
            y = match &self.stem_bn {
                Some(bn) => bn[i].onnx(g, &y, Act::Silu)?,
                None => {
                    let out = g.act(&y.name, Act::Silu, &format!("stem.conv{}", i + 1));
                    y.renamed(out)
                }
            };
        }
        let pool = |g: &mut Graph, y: &Value, padding, name: &str| {
            let c = Pool3dConfig::max(2, padding);
            pool_onnx(g, y, c.kind, &c.kernel, &c.stride, c.padding, name)
        };
        y = pool(g, &y, PoolPadding::Valid, "stem.pool")?;
        for (i, blocks) in self.stages.iter().enumerate() {
            if i > 0 {
                y = pool(g, &y, PoolPadding::Same, &format!("stage{}.pool", i + 1))?;
            }
            for (b, block) in blocks.iter().enumerate() {
                y = block.onnx(g, &y, &format!("stage{}.{b}", i + 1))?;
            }
        }
        let flat = g.flatten(&y, "flatten");
        self.head.onnx(g, &flat)
    }
}
