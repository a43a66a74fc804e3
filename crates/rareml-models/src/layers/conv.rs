//! Convolution layers with PyTorch's names and default initialisation (uniform ±1/√fan_in),
//! computed by the `rareml-kernels` CPU kernels.

use crate::error::{config_err, Error, Result};
use crate::onnx::{out_len, pads_attr, Attr, Graph, Value};
use candle_core::Tensor;
use candle_nn::{Init, VarBuilder};
use rareml_kernels::{add_channel_bias, conv2d, conv3d, Conv3dConfig, Pad};

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
    name: String,
}

impl Conv2d {
    /// Creates `weight (out, in, k, k)` (and `bias (out)`) under `vb`, PyTorch's default init.
    pub fn new(
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        pad: usize,
        bias: bool,
        vb: VarBuilder,
    ) -> Result<Self> {
        let init = default_init(cin * k * k);
        Self::with_init(cin, cout, k, stride, pad, bias, init, vb)
    }

    /// As [`new`](Self::new) with the weight drawn from `init` (a bias, if any, keeps PyTorch's
    /// default init).
    #[allow(clippy::too_many_arguments)]
    pub fn with_init(
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        pad: usize,
        bias: bool,
        init: Init,
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
        let weight = vb.get_with_hints((cout, cin, k, k), "weight", init)?;
        let bias = if bias {
            Some(vb.get_with_hints(cout, "bias", default_init(cin * k * k))?)
        } else {
            None
        };
        Ok(Self {
            weight,
            bias,
            stride,
            pad,
            name: vb.prefix(),
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

    /// Adds this convolution to an ONNX graph (`Conv`, weights under the layer's names).
    pub(crate) fn onnx(&self, g: &mut Graph, x: &Value) -> Result<Value> {
        let (_, _, k, _) = self.weight.dims4()?;
        let p = (self.pad, self.pad);
        conv_node(
            g,
            x,
            &self.name,
            (&self.weight, self.bias.as_ref()),
            &[k, k],
            &[self.stride; 2],
            &[p, p],
            1,
        )
    }
}

/// A `Conv` node over `x` with `weight` (and `bias`) stored as `{name}.weight` / `{name}.bias`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_node(
    g: &mut Graph,
    x: &Value,
    name: &str,
    (weight, bias): (&Tensor, Option<&Tensor>),
    kernel: &[usize],
    strides: &[usize],
    pads: &[(usize, usize)],
    group: usize,
) -> Result<Value> {
    let cin = x.channels(name)?;
    let wdims = weight.dims();
    if wdims[1] * group != cin {
        return Err(Error::Export {
            layer: name.into(),
            reason: format!(
                "the weight {wdims:?} (groups {group}) does not take {cin} input channels"
            ),
        });
    }
    let w = g.init(&format!("{name}.weight"), weight, None)?;
    let b = bias
        .map(|b| g.init(&format!("{name}.bias"), b, None))
        .transpose()?;
    let mut inputs = vec![x.name.as_str(), w.as_str()];
    if let Some(b) = &b {
        inputs.push(b);
    }
    let ints = |v: &[usize]| v.iter().map(|&d| d as i64).collect::<Vec<_>>();
    let out = g.op(
        "Conv",
        name,
        &inputs,
        &[
            Attr::Ints("kernel_shape", ints(kernel)),
            Attr::Ints("strides", ints(strides)),
            pads_attr(pads),
            Attr::Int("group", group as i64),
        ],
    );
    let mut shape = vec![Some(wdims[0])];
    for a in 0..kernel.len() {
        shape.push(out_len(x.shape[1 + a], pads[a], kernel[a], strides[a]));
    }
    Ok(Value { name: out, shape })
}

/// A 3D convolution layer with weight `(Cout, Cin, kD, kH, kW)` and optional bias `(Cout)`.
#[derive(Debug, Clone)]
pub struct Conv3d {
    weight: Tensor,
    bias: Option<Tensor>,
    cfg: Conv3dConfig,
    name: String,
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
        Ok(Self {
            weight,
            bias,
            cfg,
            name: vb.prefix(),
        })
    }

    /// The weight `(Cout, Cin, kD, kH, kW)`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// Applies the convolution to `(N, Cin, D, H, W)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(conv3d(x, &self.weight, self.bias.as_ref(), &self.cfg)?)
    }

    /// Adds this convolution to an ONNX graph: circular axes padded by `Slice` + `Concat`, then
    /// `Conv` with the zero (or `same`) padding.
    pub(crate) fn onnx(&self, g: &mut Graph, x: &Value) -> Result<Value> {
        let dims = self.weight.dims();
        let kernel = [dims[2], dims[3], dims[4]];
        let wrap: Vec<(usize, usize)> = (0..3)
            .filter_map(|a| match self.cfg.padding[a] {
                Pad::Circular(n) => Some((a, n)),
                _ => None,
            })
            .collect();
        let x = g.circular_pad(x, &wrap, &self.name)?;
        let mut pads = [(0, 0); 3];
        for a in 0..3 {
            pads[a] = match self.cfg.padding[a] {
                Pad::Circular(_) => (0, 0),
                Pad::Zeros(n) => (n, n),
                Pad::Same => {
                    let len =
                        x.shape
                            .get(1 + a)
                            .copied()
                            .flatten()
                            .ok_or_else(|| Error::Export {
                                layer: self.name.clone(),
                                reason: "`same` padding needs the input length".into(),
                            })?;
                    Pad::Same.amounts(len, kernel[a], self.cfg.stride[a])
                }
            };
        }
        conv_node(
            g,
            &x,
            &self.name,
            (&self.weight, self.bias.as_ref()),
            &kernel,
            &self.cfg.stride,
            &pads,
            1,
        )
    }
}
