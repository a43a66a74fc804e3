//! The layers of the three networks, with PyTorch's parameter names and initialisation, on top
//! of the `rareml-kernels` CPU kernels (re-exported here): convolutions, depthwise convolution,
//! BatchNorm, dense layers, squeeze-excitation, coordinate channels, global pooling, seeded
//! dropout and stochastic depth.

pub(crate) mod conv;
mod coords;
mod depthwise;
mod linear;
mod norm;
mod se;

pub use conv::{Conv2d, Conv3d};
pub(crate) use coords::add_coordinates_onnx;
pub use coords::{add_coordinates, coordinate_channels};
pub use depthwise::DepthwiseConv2d;
pub use linear::Linear;
pub use norm::Norm;
pub use rareml_kernels::{
    conv2d, conv3d, conv3d_reference, depthwise_conv2d, max_pool2d, max_pool2d_padded, pool2d,
    pool3d, Act, Conv3dConfig, Pad, Pool3dConfig, PoolKind, PoolPadding,
};
pub use se::SqueezeExcitation;

use crate::ctx::Ctx;
use crate::error::{config_err, Error, Result};
use crate::onnx::{pads_attr, Attr, Graph, Value};
use candle_core::{DType, Tensor, D};

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
        return Err(config_err("dropout", "p", p, "in [0, 1)"));
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

/// Dtype used for every model's parameters unless stated.
pub const DEFAULT_DTYPE: DType = DType::F32;

/// Adds a max or average pooling over the spatial axes of `x` to an ONNX graph (`MaxPool` /
/// `AveragePool`), the padding rule turned into explicit pads. Average pooling is exported only
/// without padding (its padded windows' divisor has no single ONNX spelling).
pub(crate) fn pool_onnx(
    g: &mut Graph,
    x: &Value,
    kind: PoolKind,
    kernel: &[usize],
    stride: &[usize],
    padding: PoolPadding,
    name: &str,
) -> Result<Value> {
    let err = |reason: String| Error::Export {
        layer: name.into(),
        reason,
    };
    let mut pads = Vec::new();
    let mut shape = vec![x.shape[0]];
    for (a, (&k, &s)) in kernel.iter().zip(stride).enumerate() {
        let len = x.shape.get(1 + a).copied().flatten();
        let (p, out) = match (padding, len) {
            (PoolPadding::Valid, _) => ((0, 0), crate::onnx::out_len(len, (0, 0), k, s)),
            // Pads listed per pooled axis: a 2D pooling's are PoolPadding's (H, W) entries.
            (PoolPadding::Zeros(p), _) => {
                let pa = p[3 - kernel.len() + a];
                ((pa, pa), crate::onnx::out_len(len, (pa, pa), k, s))
            }
            (_, None) => return Err(err("padded pooling needs the input length".into())),
            (PoolPadding::Ceil, Some(l)) if l < k => {
                return Err(err(format!("window {k} longer than the axis ({l})")))
            }
            (PoolPadding::Ceil, Some(l)) => {
                let out = (l - k).div_ceil(s) + 1;
                ((0, (out - 1) * s + k - l), Some(out))
            }
            (PoolPadding::Same, Some(l)) => (Pad::Same.amounts(l, k, s), Some(l.div_ceil(s))),
        };
        pads.push(p);
        shape.push(out);
    }
    let (op, padded) = match kind {
        PoolKind::Max => ("MaxPool", false),
        PoolKind::Avg => ("AveragePool", pads.iter().any(|p| *p != (0, 0))),
    };
    if padded {
        return Err(err(
            "average pooling with padding (only unpadded windows are exported)".into(),
        ));
    }
    let ints = |v: &[usize]| v.iter().map(|&d| d as i64).collect::<Vec<_>>();
    let out = g.op(
        op,
        name,
        &[&x.name],
        &[
            Attr::Ints("kernel_shape", ints(kernel)),
            Attr::Ints("strides", ints(stride)),
            pads_attr(&pads),
        ],
    );
    Ok(Value { name: out, shape })
}

/// Adds global max or average pooling and the flattening to `(N, C)` to an ONNX graph.
pub(crate) fn global_pool_onnx(g: &mut Graph, x: &Value, kind: PoolKind, name: &str) -> Value {
    let op = match kind {
        PoolKind::Max => "GlobalMaxPool",
        PoolKind::Avg => "GlobalAveragePool",
    };
    let pooled = g.op(op, name, &[&x.name], &[]);
    g.flatten(
        &Value {
            name: pooled,
            shape: vec![x.shape[0]],
        },
        &format!("{name}.flatten"),
    )
}
