//! The depthwise convolution layer of MBConv (torchvision's names and padding).

use crate::error::{config_err, Result};
use crate::layers::conv::conv_node;
use crate::onnx::{Graph, Value};
use candle_core::Tensor;
use candle_nn::{Init, VarBuilder};
use rareml_kernels::{add_channel_bias, depthwise_conv2d};

/// A depthwise conv2d layer: weight `(C, 1, k, k)` (PyTorch init ±1/√(k²)), optional bias `(C)`,
/// "same" padding (k−1)/2 as torchvision's MBConv.
#[derive(Debug, Clone)]
pub struct DepthwiseConv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    pad: usize,
    name: String,
}

impl DepthwiseConv2d {
    /// Creates `weight` (and `bias`) under `vb`.
    pub fn new(
        channels: usize,
        k: usize,
        stride: usize,
        bias: bool,
        vb: VarBuilder,
    ) -> Result<Self> {
        let bound = 1.0 / (k.max(1) as f64);
        let init = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        Self::with_init(channels, k, stride, bias, init, init, vb)
    }

    /// As [`new`](Self::new) with explicit initialisations of the weight and the bias.
    pub fn with_init(
        channels: usize,
        k: usize,
        stride: usize,
        bias: bool,
        init: Init,
        bias_init: Init,
        vb: VarBuilder,
    ) -> Result<Self> {
        for (name, v) in [("channels", channels), ("kernel", k), ("stride", stride)] {
            if v == 0 {
                return Err(config_err(
                    "depthwise conv2d",
                    format!("{} ({name})", vb.prefix()),
                    v,
                    "≥ 1",
                ));
            }
        }
        let weight = vb.get_with_hints((channels, 1, k, k), "weight", init)?;
        let bias = if bias {
            Some(vb.get_with_hints(channels, "bias", bias_init)?)
        } else {
            None
        };
        Ok(Self {
            weight,
            bias,
            stride,
            pad: (k - 1) / 2,
            name: vb.prefix(),
        })
    }

    /// Applies the convolution to `(N, C, H, W)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = depthwise_conv2d(x, &self.weight, [self.stride; 2], [self.pad; 2])?;
        Ok(match &self.bias {
            Some(b) => add_channel_bias(&y, b)?,
            None => y,
        })
    }

    /// Adds this convolution to an ONNX graph (`Conv` with one group per channel).
    pub(crate) fn onnx(&self, g: &mut Graph, x: &Value) -> Result<Value> {
        let (c, _, k, _) = self.weight.dims4()?;
        let p = (self.pad, self.pad);
        conv_node(
            g,
            x,
            &self.name,
            (&self.weight, self.bias.as_ref()),
            &[k, k],
            &[self.stride; 2],
            &[p, p],
            c,
        )
    }
}
