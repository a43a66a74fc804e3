//! Squeeze-excitation (torchvision's names): global average → 1×1 conv → SiLU → 1×1 conv →
//! sigmoid → channel-wise scale.

use crate::error::{config_err, Result};
use crate::layers::conv::conv_node;
use crate::layers::{global_avg_pool, silu, Linear};
use crate::onnx::{Graph, Value};
use candle_core::Tensor;
use candle_nn::{Init, VarBuilder};
use rareml_kernels::scale_planes;
use rareml_kernels::Act;

/// Squeeze-excitation (torchvision): global average → `fc1` (1×1 conv) → SiLU → `fc2` (1×1
/// conv) → sigmoid → channel-wise scale of the input.
#[derive(Debug, Clone)]
pub struct SqueezeExcitation {
    fc1: Linear,
    fc2: Linear,
    fc_shapes: [usize; 2],
}

impl SqueezeExcitation {
    /// `fc1.{weight,bias}` (squeeze, channels, 1, 1) and `fc2.{weight,bias}` (channels, squeeze, 1, 1)
    /// under `vb`, PyTorch's default init (uniform ±1/√fan_in).
    pub fn new(channels: usize, squeeze: usize, vb: VarBuilder) -> Result<Self> {
        let default = |cin: usize, _: usize| {
            let bound = 1.0 / (cin as f64).sqrt();
            let init = Init::Uniform {
                lo: -bound,
                up: bound,
            };
            (init, init)
        };
        Self::with_init(channels, squeeze, default, vb)
    }

    /// As [`new`](Self::new) with `init(fan_in, fan_out)` giving the (weight, bias) initialisations.
    pub fn with_init(
        channels: usize,
        squeeze: usize,
        init: impl Fn(usize, usize) -> (Init, Init),
        vb: VarBuilder,
    ) -> Result<Self> {
        let conv1x1 = |cin: usize, cout: usize, vb: VarBuilder| -> Result<Linear> {
            let (wi, bi) = init(cin, cout);
            let w = vb.get_with_hints((cout, cin, 1, 1), "weight", wi)?;
            let b = vb.get_with_hints(cout, "bias", bi)?;
            Ok(Linear::from_parts(w.reshape((cout, cin))?, b, vb.prefix()))
        };
        if channels == 0 || squeeze == 0 {
            return Err(config_err(
                "squeeze-excitation",
                vb.prefix(),
                (channels, squeeze),
                "channels and squeeze ≥ 1",
            ));
        }
        Ok(Self {
            fc1: conv1x1(channels, squeeze, vb.pp("fc1"))?,
            fc2: conv1x1(squeeze, channels, vb.pp("fc2"))?,
            fc_shapes: [channels, squeeze],
        })
    }

    /// Scales each channel of `(N, C, H, W)` by its excitation.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, c, _, _) = x.dims4()?;
        debug_assert_eq!(c, self.fc_shapes[0]);
        let s = global_avg_pool(x)?;
        let s = silu(&self.fc1.forward(&s)?)?;
        let s = candle_nn::ops::sigmoid(&self.fc2.forward(&s)?)?;
        debug_assert_eq!(s.dims(), [n, c]);
        Ok(scale_planes(x, &s)?)
    }

    /// Adds squeeze-excitation to an ONNX graph: `GlobalAveragePool`, the two 1×1 `Conv`s with
    /// PyTorch's `(out, in, 1, 1)` weights, SiLU, `Sigmoid`, `Mul` with the input.
    pub(crate) fn onnx(&self, g: &mut Graph, x: &Value) -> Result<Value> {
        let base = self.fc1.name().trim_end_matches(".fc1").to_string();
        let pooled = g.op(
            "GlobalAveragePool",
            &format!("{base}.avgpool"),
            &[&x.name],
            &[],
        );
        let mut s = Value {
            name: pooled,
            shape: vec![Some(self.fc_shapes[0]), Some(1), Some(1)],
        };
        for (i, fc) in [&self.fc1, &self.fc2].into_iter().enumerate() {
            let (w, b) = fc.parts();
            let (cout, cin) = w.dims2()?;
            let w4 = w.reshape((cout, cin, 1, 1))?;
            s = conv_node(
                g,
                &s,
                fc.name(),
                (&w4, Some(b)),
                &[1, 1],
                &[1, 1],
                &[(0, 0); 2],
                1,
            )?;
            s.name = if i == 0 {
                g.act(&s.name, Act::Silu, fc.name())
            } else {
                g.op(
                    "Sigmoid",
                    &format!("{base}.scale_activation"),
                    &[&s.name],
                    &[],
                )
            };
        }
        let out = g.op("Mul", &format!("{base}.scale"), &[&x.name, &s.name], &[]);
        Ok(x.renamed(out))
    }
}
