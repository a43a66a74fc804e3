//! Convolution layers with PyTorch's names and default initialisation (uniform ±1/√fan_in),
//! computed by the `rareml-kernels` CPU kernels.

use crate::error::{config_err, Error, Result};
use candle_core::Tensor;
use candle_nn::{Init, VarBuilder};
use rareml_kernels::{add_channel_bias, conv2d, conv3d, Conv3dConfig};

/// PyTorch's default init of a convolution of fan-in `fan_in`.
fn default_init(fan_in: usize) -> Init {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    Init::Uniform {
        lo: -bound,
        up: bound,
    }
}

/// A 2D convolution, one stride and one symmetric zero padding for both axes.
#[derive(Debug, Clone)]
pub struct Conv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    pad: usize,
}

impl Conv2d {
    /// Creates `weight (out, in, k, k)` (and `bias (out)`) under `vb`.
    pub fn new(
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        pad: usize,
        bias: bool,
        vb: VarBuilder,
    ) -> Result<Self> {
        for (name, v) in [
            ("in channels", cin),
            ("out channels", cout),
            ("kernel", k),
            ("stride", stride),
        ] {
            if v == 0 {
                return Err(config_err(
                    "conv2d",
                    format!("{} ({name})", vb.prefix()),
                    v,
                    "≥ 1",
                ));
            }
        }
        let init = default_init(cin * k * k);
        let weight = vb.get_with_hints((cout, cin, k, k), "weight", init)?;
        let bias = if bias {
            Some(vb.get_with_hints(cout, "bias", init)?)
        } else {
            None
        };
        Ok(Self {
            weight,
            bias,
            stride,
            pad,
        })
    }

    /// Applies the convolution to `(N, in, H, W)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, wcin, _, _) = self.weight.dims4()?;
        if x.rank() != 4 || x.dim(1)? != wcin {
            return Err(Error::Shape {
                what: "conv2d input".into(),
                expected: format!("(N, {wcin}, H, W)"),
                got: x.dims().to_vec(),
            });
        }
        let y = conv2d(x, &self.weight, self.pad, self.stride)?;
        Ok(match &self.bias {
            Some(b) => add_channel_bias(&y, b)?,
            None => y,
        })
    }
}

/// A 3D convolution layer with weight `(Cout, Cin, kD, kH, kW)` and optional bias `(Cout)`.
#[derive(Debug, Clone)]
pub struct Conv3d {
    weight: Tensor,
    bias: Option<Tensor>,
    cfg: Conv3dConfig,
}

impl Conv3d {
    /// Creates `weight` (and `bias` when `bias`) under `vb`.
    pub fn new(
        cin: usize,
        cout: usize,
        kernel: [usize; 3],
        cfg: Conv3dConfig,
        bias: bool,
        vb: VarBuilder,
    ) -> Result<Self> {
        for (name, v) in [("in channels", cin), ("out channels", cout)] {
            if v == 0 {
                return Err(config_err(
                    "conv3d",
                    format!("{} ({name})", vb.prefix()),
                    v,
                    "≥ 1",
                ));
            }
        }
        if kernel.contains(&0) {
            return Err(config_err(
                "conv3d",
                format!("{} (kernel)", vb.prefix()),
                kernel,
                "every axis ≥ 1",
            ));
        }
        cfg.validate()?;
        let init = default_init(cin * kernel.iter().product::<usize>());
        let weight =
            vb.get_with_hints((cout, cin, kernel[0], kernel[1], kernel[2]), "weight", init)?;
        let bias = if bias {
            Some(vb.get_with_hints(cout, "bias", init)?)
        } else {
            None
        };
        Ok(Self { weight, bias, cfg })
    }

    /// The weight `(Cout, Cin, kD, kH, kW)`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// Applies the convolution to `(N, Cin, D, H, W)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(conv3d(x, &self.weight, self.bias.as_ref(), &self.cfg)?)
    }
}
