//! CoordConv's coordinate channels (public SHiP code).

use crate::error::{Error, Result};
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
