//! CoordConv's coordinate channels (public SHiP code).

use crate::error::{Error, Result};
use crate::onnx::{Attr, Graph, Value};
use candle_core::Tensor;

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

/// Adds the coordinate channels to an ONNX graph: the `[y, x, r]` planes as a constant
/// `{name}.coords` of shape `(1, 3, H, W)`, broadcast to the batch (`Shape`, `Slice`, `Concat`,
/// `Expand`) and concatenated in front of `x`.
pub(crate) fn add_coordinates_onnx(g: &mut Graph, x: &Value, name: &str) -> Result<Value> {
    let (c, h, w) = match x.shape[..] {
        [Some(c), Some(h), Some(w)] => (c, h, w),
        _ => {
            return Err(Error::Export {
                layer: name.into(),
                reason: format!(
                    "coordinate channels need a known (C, H, W), got {:?}",
                    x.shape
                ),
            })
        }
    };
    let coords = g.constant_f32(
        &format!("{name}.coords"),
        &[1, 3, h, w],
        &coordinate_channels(h, w),
    );
    let shape = g.op("Shape", &format!("{name}.input_shape"), &[&x.name], &[]);
    let (start, end, axes) = (
        g.constant_i64(&format!("{name}.batch_start"), &[0]),
        g.constant_i64(&format!("{name}.batch_end"), &[1]),
        g.constant_i64(&format!("{name}.batch_axes"), &[0]),
    );
    let n = g.op(
        "Slice",
        &format!("{name}.batch"),
        &[&shape, &start, &end, &axes],
        &[],
    );
    let rest = g.constant_i64(&format!("{name}.coords_dims"), &[3, h as i64, w as i64]);
    let full = g.op(
        "Concat",
        &format!("{name}.coords_shape"),
        &[&n, &rest],
        &[Attr::Int("axis", 0)],
    );
    let batch = g.op(
        "Expand",
        &format!("{name}.coords_batch"),
        &[&coords, &full],
        &[],
    );
    let out = g.op(
        "Concat",
        &format!("{name}.with_coords"),
        &[&batch, &x.name],
        &[Attr::Int("axis", 1)],
    );
    Ok(Value {
        name: out,
        shape: vec![Some(c + 3), Some(h), Some(w)],
    })
}
