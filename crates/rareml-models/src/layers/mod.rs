//! Layers candle lacks or gets wrong: conv3d, 3D/2D pooling with a correct backward, depthwise
//! conv2d, squeeze-excitation, coordinate channels, global pooling and seeded dropout.

mod act;
mod bias;
pub mod conv3d;
mod conv_direct;
mod conv_kernel;
mod cpu;
pub mod depthwise;
mod lanes;
mod norm;
pub mod pool;

pub use act::Act;
pub use conv3d::{conv2d_exact, conv3d, conv3d_reference, Conv3d, Conv3dConfig, Pad};
pub use depthwise::{depthwise_conv2d, DepthwiseConv2d};
pub use norm::Norm;
pub use pool::{max_pool2d, pool2d, pool3d, Pool3dConfig, PoolKind, PoolPadding};

use crate::ctx::Ctx;
use crate::error::{config_err, Error, Result};
use candle_core::{DType, Tensor, D};
use candle_nn::{Init, VarBuilder};

/// `x · sigmoid(x)` (SiLU, Keras' swish); one fused pass each way on CPU.
pub fn silu(x: &Tensor) -> Result<Tensor> {
    Ok(Act::Silu.apply(x)?)
}

/// Maximum over every axis after the first two: `(N, C, ...)` → `(N, C)`.
pub fn global_max_pool(x: &Tensor) -> Result<Tensor> {
    check_rank_min("global max pool", x, 3)?;
    Ok(x.flatten_from(2)?.max(D::Minus1)?)
}

/// Mean over every axis after the first two: `(N, C, ...)` → `(N, C)`.
pub fn global_avg_pool(x: &Tensor) -> Result<Tensor> {
    check_rank_min("global average pool", x, 3)?;
    Ok(x.flatten_from(2)?.mean(D::Minus1)?)
}

fn check_rank_min(what: &str, x: &Tensor, rank: usize) -> Result<()> {
    if x.rank() < rank {
        return Err(Error::Shape {
            what: what.into(),
            expected: format!("a tensor of rank ≥ {rank}"),
            got: x.dims().to_vec(),
        });
    }
    Ok(())
}

/// Inverted dropout with probability `p` drawn from the context's seeded generator; the
/// identity in evaluation mode.
pub fn dropout(x: &Tensor, p: f64, ctx: &Ctx) -> Result<Tensor> {
    if !ctx.is_train() || p == 0.0 {
        return Ok(x.clone());
    }
    if !(0.0..1.0).contains(&p) {
        return Err(config_err(
            "dropout",
            "p",
            format!("must be in [0, 1), got {p}"),
        ));
    }
    let mask = Tensor::from_vec(ctx.keep_mask(x.elem_count(), p), x.shape(), x.device())?;
    Ok((x * mask.to_dtype(x.dtype())?)?)
}

/// Stochastic depth ("row" mode, torchvision): each sample's residual branch is dropped with
/// probability `p` and the kept ones scaled by 1/(1−p); the identity in evaluation mode.
pub fn stochastic_depth(x: &Tensor, p: f64, ctx: &Ctx) -> Result<Tensor> {
    if !ctx.is_train() || p == 0.0 {
        return Ok(x.clone());
    }
    let n = x.dim(0)?;
    let mut shape = vec![1; x.rank()];
    shape[0] = n;
    let mask = Tensor::from_vec(ctx.keep_mask(n, p), shape, x.device())?;
    Ok(x.broadcast_mul(&mask.to_dtype(x.dtype())?)?)
}

/// A dense layer `y = x·Wᵀ + b` with PyTorch's names (`weight (out, in)`, `bias (out)`) and init.
#[derive(Debug, Clone)]
pub struct Linear(candle_nn::Linear);

impl Linear {
    /// Creates `weight` and `bias` under `vb` (uniform ±1/√in).
    pub fn new(inputs: usize, outputs: usize, vb: VarBuilder) -> Result<Self> {
        if inputs == 0 || outputs == 0 {
            return Err(config_err(
                "linear",
                vb.prefix(),
                format!("sizes must be ≥ 1 ({inputs} → {outputs})"),
            ));
        }
        let bound = 1.0 / (inputs as f64).sqrt();
        let init = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let w = vb.get_with_hints((outputs, inputs), "weight", init)?;
        let b = vb.get_with_hints(outputs, "bias", init)?;
        Ok(Self(candle_nn::Linear::new(w, Some(b))))
    }

    /// As [`new`](Self::new) with explicit initialisations of the weight and the bias.
    pub fn with_init(
        inputs: usize,
        outputs: usize,
        weight: Init,
        bias: Init,
        vb: VarBuilder,
    ) -> Result<Self> {
        if inputs == 0 || outputs == 0 {
            return Err(config_err(
                "linear",
                vb.prefix(),
                format!("sizes must be ≥ 1 ({inputs} → {outputs})"),
            ));
        }
        let w = vb.get_with_hints((outputs, inputs), "weight", weight)?;
        let b = vb.get_with_hints(outputs, "bias", bias)?;
        Ok(Self(candle_nn::Linear::new(w, Some(b))))
    }

    /// Applies the layer to `(N, in)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_core::Module::forward(&self.0, x)?)
    }
}

/// A 2D convolution with PyTorch's names and default init (uniform ±1/√fan_in), one stride and
/// one symmetric zero padding for both axes.
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
        if cin == 0 || cout == 0 || k == 0 || stride == 0 {
            return Err(config_err(
                "conv2d",
                vb.prefix(),
                format!("channels, kernel, stride must be ≥ 1 ({cin} → {cout}, k {k}, s {stride})"),
            ));
        }
        let bound = 1.0 / ((cin * k * k) as f64).sqrt();
        let init = Init::Uniform {
            lo: -bound,
            up: bound,
        };
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
        let (_, cin, _, _) = x.dims4().map_err(|_| Error::Shape {
            what: "conv2d input".into(),
            expected: "(N, C, H, W)".into(),
            got: x.dims().to_vec(),
        })?;
        let (_, wcin, _, _) = self.weight.dims4()?;
        if cin != wcin {
            return Err(Error::Shape {
                what: "conv2d input".into(),
                expected: format!("{wcin} channels"),
                got: x.dims().to_vec(),
            });
        }
        let y = conv2d_exact(x, &self.weight, self.pad, self.stride)?;
        Ok(match &self.bias {
            Some(b) => bias::add_channel_bias(&y, b)?,
            None => y,
        })
    }
}

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
            Ok(Linear(candle_nn::Linear::new(
                w.reshape((cout, cin))?,
                Some(b),
            )))
        };
        if channels == 0 || squeeze == 0 {
            return Err(config_err(
                "squeeze-excitation",
                vb.prefix(),
                "channels and squeeze must be ≥ 1",
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
        Ok(bias::scale_planes(x, &s)?)
    }
}

/// Prepends the public SHiP code's CoordConv channels `[y, x, r]` to `(N, C, H, W)`:
/// `y = 2i/(H−1) − 1` (rows), `x = 2j/(W−1) − 1` (columns), `r = √(y²+x²) / max r`, computed in
/// f32 as the original code does.
pub fn add_coordinates(x: &Tensor) -> Result<Tensor> {
    let (n, _, h, w) = x.dims4().map_err(|_| Error::Shape {
        what: "coordinate channels".into(),
        expected: "(N, C, H, W)".into(),
        got: x.dims().to_vec(),
    })?;
    let coords = coordinate_channels(h, w);
    let c = Tensor::from_vec(coords, (1, 3, h, w), x.device())?
        .to_dtype(x.dtype())?
        .broadcast_as((n, 3, h, w))?;
    Ok(Tensor::cat(&[&c, x], 1)?)
}

/// The three coordinate planes `[y, x, r]`, each `h × w`, row-major.
pub fn coordinate_channels(h: usize, w: usize) -> Vec<f32> {
    let lin = |i: usize, len: usize| -> f32 {
        if len > 1 {
            2.0 * i as f32 / (len as f32 - 1.0) - 1.0
        } else {
            -1.0
        }
    };
    let mut out = vec![0f32; 3 * h * w];
    let mut rmax = 0f32;
    for i in 0..h {
        for j in 0..w {
            let (y, x) = (lin(i, h), lin(j, w));
            let r = (y * y + x * x).sqrt();
            out[i * w + j] = y;
            out[h * w + i * w + j] = x;
            out[2 * h * w + i * w + j] = r;
            rmax = rmax.max(r);
        }
    }
    if rmax > 0.0 {
        for v in &mut out[2 * h * w..] {
            *v /= rmax;
        }
    }
    out
}

/// Dtype used for every model's parameters unless stated.
pub const DEFAULT_DTYPE: DType = DType::F32;
