//! EfficientNet B0–B4 (torchvision's implementation and parameter names) with any number of input
//! channels, a configurable TopConv width and max or average global pooling: the PandaX-III
//! classifier of XZ/YZ track images.

use crate::ctx::Ctx;
use crate::error::{check_norm, config_err, Error, Result};
use crate::layers::{
    dropout, global_avg_pool, global_max_pool, global_pool_onnx, stochastic_depth, Act, Conv2d,
    DepthwiseConv2d, Linear, Norm, PoolKind, SqueezeExcitation,
};
use crate::onnx::{Graph, Value};
use candle_core::Tensor;
use candle_nn::{Init, VarBuilder};
use serde::{Deserialize, Serialize};

/// Global pooling before the classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GlobalPool {
    /// Maximum over the feature map (the PandaX-III paper).
    Max,
    /// Mean over the feature map (torchvision's default).
    Avg,
}

/// EfficientNet hyper-parameters; `Default` is the PandaX-III B0 of the fixtures (2 inputs,
/// TopConv n = 8, max pooling, 1 output).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EfficientNetConfig {
    /// Width multiplier (B0 1.0, B1 1.0, B2 1.1, B3 1.2, B4 1.4).
    pub width_mult: f64,
    /// Depth multiplier (B0 1.0, B1 1.1, B2 1.2, B3 1.4, B4 1.8).
    pub depth_mult: f64,
    /// Input channels (2: XZ and YZ).
    pub in_channels: usize,
    /// TopConv (`features.8`) output channels n; `None` = torchvision's 4 × last stage width
    /// (1280 for B0, 1792 for B4).
    pub top_channels: Option<usize>,
    /// Global pooling.
    pub pooling: GlobalPool,
    /// Outputs of the classifier (1: a sigmoid score).
    pub outputs: usize,
    /// Dropout before the classifier (B0/B1 0.2, B2/B3 0.3, B4 0.4).
    pub dropout: f64,
    /// Stochastic-depth probability of the last block (linearly scaled per block; 0 = off).
    pub stochastic_depth: f64,
    /// BatchNorm epsilon (torchvision B0–B4: 1e-5).
    pub bn_eps: f64,
    /// BatchNorm momentum, PyTorch convention (0.1).
    pub bn_momentum: f64,
}

impl Default for EfficientNetConfig {
    fn default() -> Self {
        Self::b(0).expect("B0 exists")
    }
}

/// torchvision's base stages: (expand ratio, kernel, stride, in, out, layers).
const STAGES: [(usize, usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
];

/// torchvision's EfficientNet init of a conv weight: Kaiming normal, fan-out mode, ReLU gain
/// (std √(2/fan_out), fan_out = out channels × kernel area, groups not divided out).
fn conv_init(cout: usize, k: usize) -> Init {
    Init::Randn {
        mean: 0.0,
        stdev: (2.0 / (cout * k * k) as f64).sqrt(),
    }
}

const ZERO: Init = Init::Const(0.0);

/// torchvision's `_make_divisible(v, 8)`.
fn make_divisible(v: f64) -> usize {
    let d = 8.0f64;
    let new = d.max(((v + d / 2.0) / d).floor() * d);
    (if new < 0.9 * v { new + d } else { new }) as usize
}

impl EfficientNetConfig {
    /// Variant B`k` (k = 0..=4) with the PandaX-III head (2 inputs, n = 8, max pooling, 1 output).
    pub fn b(k: usize) -> Result<Self> {
        let (w, d, p) = match k {
            0 => (1.0, 1.0, 0.2),
            1 => (1.0, 1.1, 0.2),
            2 => (1.1, 1.2, 0.3),
            3 => (1.2, 1.4, 0.3),
            4 => (1.4, 1.8, 0.4),
            _ => return Err(config_err("EfficientNet", "variant", k, "0–4 (B0–B4)")),
        };
        Ok(Self {
            width_mult: w,
            depth_mult: d,
            in_channels: 2,
            top_channels: Some(8),
            pooling: GlobalPool::Max,
            outputs: 1,
            dropout: p,
            stochastic_depth: 0.2,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
        })
    }

    /// The TopConv width n this configuration builds: `top_channels`, or torchvision's 4 × the
    /// last stage's width (1280 for B0, 1792 for B4, 640 for B0 at half width).
    pub fn top_width(&self) -> usize {
        self.top_channels
            .unwrap_or_else(|| 4 * self.channels(STAGES[6].4))
    }

    fn channels(&self, c: usize) -> usize {
        make_divisible(c as f64 * self.width_mult)
    }

    fn layers(&self, n: usize) -> usize {
        (n as f64 * self.depth_mult).ceil() as usize
    }

    /// Checks every field before any layer is built; the error names the first offending field.
    pub fn validate(&self) -> Result<()> {
        let bad = |f: &str, v: &dyn std::fmt::Debug, allowed: &str| {
            Err(config_err("EfficientNet", f, v, allowed))
        };
        if !(self.width_mult > 0.0 && self.width_mult.is_finite()) {
            return bad("width_mult", &self.width_mult, "> 0");
        }
        if !(self.depth_mult > 0.0 && self.depth_mult.is_finite()) {
            return bad("depth_mult", &self.depth_mult, "> 0");
        }
        if self.in_channels == 0 {
            return bad("in_channels", &self.in_channels, "≥ 1");
        }
        if self.top_channels == Some(0) {
            return bad(
                "top_channels",
                &self.top_channels,
                "≥ 1 or None (4 × last stage)",
            );
        }
        if self.outputs == 0 {
            return bad("outputs", &self.outputs, "≥ 1");
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", &self.dropout, "in [0, 1)");
        }
        if !(0.0..1.0).contains(&self.stochastic_depth) {
            return bad("stochastic_depth", &self.stochastic_depth, "in [0, 1)");
        }
        check_norm("EfficientNet", self.bn_eps, self.bn_momentum)?;
        Ok(())
    }
}

struct ConvNormAct {
    conv: Conv2d,
    bn: Norm,
    act: bool,
}

impl ConvNormAct {
    fn new(
        conv: Conv2d,
        c: usize,
        act: bool,
        cfg: &EfficientNetConfig,
        vb: VarBuilder,
    ) -> Result<Self> {
        Ok(Self {
            conv,
            bn: Norm::new(c, cfg.bn_eps, cfg.bn_momentum, vb.pp("1"))?,
            act,
        })
    }

    fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let act = if self.act { Act::Silu } else { Act::Identity };
        self.bn.forward_act(&self.conv.forward(x)?, ctx, act)
    }

    fn onnx(&self, g: &mut Graph, x: &Value) -> Result<Value> {
        let act = if self.act { Act::Silu } else { Act::Identity };
        let y = self.conv.onnx(g, x)?;
        self.bn.onnx(g, &y, act)
    }
}

struct MbConv {
    expand: Option<ConvNormAct>,
    dw: DepthwiseConv2d,
    dw_bn: Norm,
    se: SqueezeExcitation,
    project: ConvNormAct,
    residual: bool,
    sd_prob: f64,
}

impl MbConv {
    #[allow(clippy::too_many_arguments)]
    fn new(
        cin: usize,
        cout: usize,
        expand: usize,
        k: usize,
        stride: usize,
        sd_prob: f64,
        cfg: &EfficientNetConfig,
        vb: VarBuilder,
    ) -> Result<Self> {
        let hidden = make_divisible((cin * expand) as f64);
        let mut i = 0;
        let expand = if hidden != cin {
            let vbi = vb.pp(i.to_string());
            i += 1;
            Some(ConvNormAct::new(
                Conv2d::new(cin, hidden, 1, 1, 0, false, vbi.pp("0"))?,
                hidden,
                true,
                cfg,
                vbi,
            )?)
        } else {
            None
        };
        let vbd = vb.pp(i.to_string());
        let dw = DepthwiseConv2d::with_init(
            hidden,
            k,
            stride,
            false,
            conv_init(hidden, k),
            ZERO,
            vbd.pp("0"),
        )?;
        let dw_bn = Norm::new(hidden, cfg.bn_eps, cfg.bn_momentum, vbd.pp("1"))?;
        let se = SqueezeExcitation::with_init(
            hidden,
            (cin / 4).max(1),
            |_, cout| (conv_init(cout, 1), ZERO),
            vb.pp((i + 1).to_string()),
        )?;
        let vbp = vb.pp((i + 2).to_string());
        let project = ConvNormAct::new(
            Conv2d::new(hidden, cout, 1, 1, 0, false, vbp.pp("0"))?,
            cout,
            false,
            cfg,
            vbp,
        )?;
        Ok(Self {
            expand,
            dw,
            dw_bn,
            se,
            project,
            residual: stride == 1 && cin == cout,
            sd_prob,
        })
    }

    fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let mut y = match &self.expand {
            Some(e) => e.forward(x, ctx)?,
            None => x.clone(),
        };
        y = self
            .dw_bn
            .forward_act(&self.dw.forward(&y)?, ctx, Act::Silu)?;
        y = self.se.forward(&y)?;
        y = self.project.forward(&y, ctx)?;
        if self.residual {
            y = (stochastic_depth(&y, self.sd_prob, ctx)? + x)?;
        }
        Ok(y)
    }

    fn onnx(&self, g: &mut Graph, x: &Value, name: &str) -> Result<Value> {
        let mut y = match &self.expand {
            Some(e) => e.onnx(g, x)?,
            None => x.clone(),
        };
        y = self.dw.onnx(g, &y)?;
        y = self.dw_bn.onnx(g, &y, Act::Silu)?;
        y = self.se.onnx(g, &y)?;
        y = self.project.onnx(g, &y)?;
        if self.residual {
            let out = g.op("Add", &format!("{name}.add"), &[&y.name, &x.name], &[]);
            y = y.renamed(out);
        }
        Ok(y)
    }
}

/// EfficientNet with torchvision's parameter names and initialisation (convolutions Kaiming normal
/// fan-out, classifier uniform ±1/√outputs, biases zero) (`features.0.0.weight`,
/// `features.2.0.block.1.0.weight`, `classifier.1.weight`, …).
pub struct EfficientNet {
    cfg: EfficientNetConfig,
    stem: ConvNormAct,
    blocks: Vec<MbConv>,
    block_names: Vec<String>,
    /// The MBConv stage (0–6) of each block.
    block_stage: Vec<usize>,
    top: ConvNormAct,
    classifier: Linear,
}

impl EfficientNet {
    /// Builds the network, creating its parameters under `vb`.
    pub fn new(cfg: &EfficientNetConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let f = vb.pp("features");
        let c0 = cfg.channels(STAGES[0].3);
        let stem = ConvNormAct::new(
            Conv2d::new(cfg.in_channels, c0, 3, 2, 1, false, f.pp("0").pp("0"))?,
            c0,
            true,
            cfg,
            f.pp("0"),
        )?;
        let total: usize = STAGES.iter().map(|s| cfg.layers(s.5)).sum();
        let mut blocks = Vec::new();
        let mut block_names = Vec::new();
        let mut block_stage = Vec::new();
        let mut id = 0;
        let mut last = c0;
        for (si, &(e, k, s, cin, cout, n)) in STAGES.iter().enumerate() {
            let (cin, cout) = (cfg.channels(cin), cfg.channels(cout));
            for b in 0..cfg.layers(n) {
                let sd = cfg.stochastic_depth * id as f64 / total as f64;
                let (bin, bs) = if b == 0 { (cin, s) } else { (cout, 1) };
                let vbb = f.pp((si + 1).to_string()).pp(b.to_string()).pp("block");
                block_names.push(vbb.prefix());
                block_stage.push(si);
                blocks.push(MbConv::new(bin, cout, e, k, bs, sd, cfg, vbb)?);
                id += 1;
            }
            last = cout;
        }
        let top_c = cfg.top_width();
        debug_assert!(cfg.top_channels.is_some() || top_c == 4 * last);
        let f8 = f.pp("8");
        let top = ConvNormAct::new(
            Conv2d::new(last, top_c, 1, 1, 0, false, f8.pp("0"))?,
            top_c,
            true,
            cfg,
            f8,
        )?;
        let classifier = Linear::new(top_c, cfg.outputs, vb.pp("classifier").pp("1"))?;
        Ok(Self {
            cfg: cfg.clone(),
            stem,
            blocks,
            block_names,
            block_stage,
            top,
            classifier,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EfficientNetConfig {
        &self.cfg
    }

    fn check_input(&self, x: &Tensor) -> Result<()> {
        if x.rank() != 4 || x.dim(1)? != self.cfg.in_channels || x.dim(2)? < 32 || x.dim(3)? < 32 {
            return Err(Error::Shape {
                what: "EfficientNet input".into(),
                expected: format!("(N, {}, H ≥ 32, W ≥ 32)", self.cfg.in_channels),
                got: x.dims().to_vec(),
            });
        }
        Ok(())
    }

    /// The outputs of the nine stages `features.0` … `features.8` (the stem, the seven MBConv
    /// stages, the TopConv; the PandaX-III paper's Stages 1–9), each `(N, C, H, W)`, for the
    /// feature-map study.
    pub fn forward_stages(&self, x: &Tensor, ctx: &Ctx) -> Result<Vec<Tensor>> {
        self.check_input(x)?;
        let mut y = self.stem.forward(x, ctx)?;
        let mut out = vec![y.clone()];
        for (i, b) in self.blocks.iter().enumerate() {
            if i > 0 && self.block_stage[i] != self.block_stage[i - 1] {
                out.push(y.clone());
            }
            y = b.forward(&y, ctx)?;
        }
        out.push(y.clone());
        out.push(self.top.forward(&y, ctx)?);
        Ok(out)
    }

    /// Logits `(N, outputs)` for images `(N, in_channels, H, W)`.
    pub fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        self.check_input(x)?;
        let mut y = self.stem.forward(x, ctx)?;
        for b in &self.blocks {
            y = b.forward(&y, ctx)?;
        }
        y = self.top.forward(&y, ctx)?;
        y = match self.cfg.pooling {
            GlobalPool::Max => global_max_pool(&y)?,
            GlobalPool::Avg => global_avg_pool(&y)?,
        };
        y = dropout(&y, self.cfg.dropout, ctx)?;
        self.classifier.forward(&y)
    }

    /// Adds the network (evaluation mode) to an ONNX graph; see [`crate::onnx`].
    pub(crate) fn onnx(&self, g: &mut Graph, x: Value) -> Result<Value> {
        let mut y = self.stem.onnx(g, &x)?;
        for (b, name) in self.blocks.iter().zip(&self.block_names) {
            y = b.onnx(g, &y, name)?;
        }
        y = self.top.onnx(g, &y)?;
        let kind = match self.cfg.pooling {
            GlobalPool::Max => PoolKind::Max,
            GlobalPool::Avg => PoolKind::Avg,
        };
        let pooled = global_pool_onnx(g, &y, kind, "avgpool");
        self.classifier.onnx(g, &pooled)
    }
}
