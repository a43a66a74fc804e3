//! SNDNet: the public SHiP target-tracker CoordConv regressor of shower energy and vertex
//! distance from per-station hit maps (SND_trackers `net.py`, `coord_conv.py`).

use crate::ctx::Ctx;
use crate::error::{check_norm, config_err, Error, Result};
use crate::layers::{
    add_coordinates, add_coordinates_onnx, max_pool2d, pool_onnx, Act, Conv2d, Linear, Norm,
    PoolKind, PoolPadding,
};
use crate::onnx::{Graph, Value};
use candle_core::Tensor;
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

/// One CoordConv block: 3×3 conv on [y, x, r, input] (no padding) → optional max-pool 2 → BN → ReLU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SndBlock {
    /// Output channels.
    pub channels: usize,
    /// Max-pool 2 (floor) after the convolution.
    pub pool: bool,
}

/// SNDNet hyper-parameters; `Default` is the public code's model on `(6, 150, 185)` maps
/// (302,402 trainable parameters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SndNetConfig {
    /// Input (stations, height, width) in pixels.
    pub input: [usize; 3],
    /// The CoordConv blocks.
    pub blocks: Vec<SndBlock>,
    /// Add the y, x, r coordinate channels before each convolution (CoordConv, the public code);
    /// `false` gives plain convolutions (the study's "CNN" rows of Table 1).
    pub coordinates: bool,
    /// Regression outputs (E and d).
    pub outputs: usize,
    /// BatchNorm epsilon (PyTorch default 1e-5).
    pub bn_eps: f64,
    /// BatchNorm momentum (PyTorch default 0.1).
    pub bn_momentum: f64,
}

impl Default for SndNetConfig {
    fn default() -> Self {
        let b = |channels, pool| SndBlock { channels, pool };
        Self {
            input: [6, 150, 185],
            blocks: vec![
                b(32, true),
                b(32, false),
                b(64, true),
                b(64, true),
                b(128, true),
                b(128, true),
            ],
            coordinates: true,
            outputs: 2,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
        }
    }
}

impl SndNetConfig {
    /// Checks every field before any layer is built; the error names the first offending field.
    pub fn validate(&self) -> Result<()> {
        let bad = |f: &str, v: &dyn std::fmt::Debug, allowed: &str| {
            Err(config_err("SNDNet", f, v, allowed))
        };
        if self.input.contains(&0) {
            return bad("input", &self.input, "every size ≥ 1");
        }
        if self.blocks.is_empty() {
            return bad("blocks", &self.blocks, "at least one block");
        }
        for (i, b) in self.blocks.iter().enumerate() {
            if b.channels == 0 {
                return bad(&format!("blocks[{i}].channels"), &b.channels, "≥ 1");
            }
        }
        if self.outputs == 0 {
            return bad("outputs", &self.outputs, "≥ 1");
        }
        check_norm("SNDNet", self.bn_eps, self.bn_momentum)?;
        self.feature_shape().map(|_| ())
    }

    /// Feature shape (C, H, W) entering the linear layer, or an error when the input is too small.
    pub fn feature_shape(&self) -> Result<[usize; 3]> {
        let [mut c, mut h, mut w] = self.input;
        for (i, b) in self.blocks.iter().enumerate() {
            if h < 3 || w < 3 {
                return Err(config_err(
                    "SNDNet",
                    "input",
                    self.input,
                    format!("large enough for the blocks (block {i} sees {h}×{w}, needs 3×3)"),
                ));
            }
            (h, w) = (h - 2, w - 2);
            if b.pool {
                if h < 2 || w < 2 {
                    return Err(config_err(
                        "SNDNet",
                        "input",
                        self.input,
                        format!("large enough for the blocks (the pool of block {i} sees {h}×{w}, needs 2×2)"),
                    ));
                }
                (h, w) = (h / 2, w / 2);
            }
            c = b.channels;
        }
        Ok([c, h, w])
    }
}

struct Block {
    conv: Conv2d,
    pool: bool,
    bn: Norm,
}

/// SNDNet with the public code's parameter names (`model.0.block.conv.conv_layer.weight`,
/// `model.0.block.BN.running_mean`, `model.7.weight`, …).
pub struct SndNet {
    cfg: SndNetConfig,
    blocks: Vec<Block>,
    head: Linear,
}

impl SndNet {
    /// Builds the network, creating its parameters under `vb`.
    pub fn new(cfg: &SndNetConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let flat: usize = cfg.feature_shape()?.iter().product();
        let vb = vb.pp("model");
        let mut cin = cfg.input[0];
        let mut blocks = Vec::new();
        for (i, b) in cfg.blocks.iter().enumerate() {
            let vbb = vb.pp(i.to_string()).pp("block");
            blocks.push(Block {
                conv: Conv2d::new(
                    cin + if cfg.coordinates { 3 } else { 0 },
                    b.channels,
                    3,
                    1,
                    0,
                    true,
                    vbb.pp("conv").pp("conv_layer"),
                )?,
                pool: b.pool,
                bn: Norm::new(b.channels, cfg.bn_eps, cfg.bn_momentum, vbb.pp("BN"))?,
            });
            cin = b.channels;
        }
        // model.{blocks} is the parameter-free Flatten; the linear layer follows it.
        let head = Linear::new(flat, cfg.outputs, vb.pp((cfg.blocks.len() + 1).to_string()))?;
        Ok(Self {
            cfg: cfg.clone(),
            blocks,
            head,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SndNetConfig {
        &self.cfg
    }

    /// Outputs `(N, outputs)` (no activation) for maps `(N, stations, H, W)`.
    pub fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        if x.rank() != 4 || x.dims()[1..] != self.cfg.input {
            return Err(Error::Shape {
                what: "SNDNet input".into(),
                expected: format!(
                    "(N, {}, {}, {})",
                    self.cfg.input[0], self.cfg.input[1], self.cfg.input[2]
                ),
                got: x.dims().to_vec(),
            });
        }
        let mut y = x.clone();
        for b in &self.blocks {
            if self.cfg.coordinates {
                y = add_coordinates(&y)?;
            }
            y = b.conv.forward(&y)?;
            if b.pool {
                y = max_pool2d(&y, 2)?;
            }
            y = b.bn.forward_act(&y, ctx, Act::Relu)?;
        }
        self.head.forward(&y.flatten_from(1)?)
    }

    /// Adds the network (evaluation mode) to an ONNX graph; see [`crate::onnx`].
    pub(crate) fn onnx(&self, g: &mut Graph, x: Value) -> Result<Value> {
        let mut y = x;
        for (i, b) in self.blocks.iter().enumerate() {
            let name = format!("model.{i}.block");
            if self.cfg.coordinates {
                y = add_coordinates_onnx(g, &y, &format!("{name}.conv"))?;
            }
            y = b.conv.onnx(g, &y)?;
            if b.pool {
                y = pool_onnx(
                    g,
                    &y,
                    PoolKind::Max,
                    &[2, 2],
                    &[2, 2],
                    PoolPadding::Valid,
                    &format!("{name}.pool"),
                )?;
            }
            y = b.bn.onnx(g, &y, Act::Relu)?;
        }
        let flat = g.flatten(&y, &format!("model.{}", self.blocks.len()));
        self.head.onnx(g, &flat)
    }
}
