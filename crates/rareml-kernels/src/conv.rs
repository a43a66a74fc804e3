//! 3D and 2D convolution (cross-correlation, PyTorch semantics): the fast CPU kernels
//! ([`conv_kernel`](crate::conv_kernel), [`conv_direct`](crate::conv_direct)) for f32/f64 on the
//! CPU, and elsewhere a composition of one candle `conv2d` (depth moves into the batch, the kD
//! depth taps are stacked on the channel axis).

use crate::conv_kernel::{self, ConvGeom};
use crate::error::{param_err, Error, Result};
use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

/// How one axis of a convolution or pooling window is padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pad {
    /// `n` zeros before and after (PyTorch's `padding=n`).
    Zeros(usize),
    /// `n` wrapped-around slices before and after: the last `n` in front, the first `n` behind
    /// (PyTorch's `F.pad(mode='circular')`; the periodic polarisation axis).
    Circular(usize),
    /// TensorFlow/Keras `padding='same'`: output length ⌈L/stride⌉, zeros split with the odd one after.
    Same,
}

impl Pad {
    /// Padding (before, after) for an axis of length `len`, kernel `k` and stride `s`.
    pub fn amounts(self, len: usize, k: usize, s: usize) -> (usize, usize) {
        match self {
            Pad::Zeros(n) | Pad::Circular(n) => (n, n),
            Pad::Same => {
                let out = len.div_ceil(s);
                let total = ((out.saturating_sub(1)) * s + k).saturating_sub(len);
                (total / 2, total - total / 2)
            }
        }
    }
}

/// Configuration of a 3D convolution ([`conv3d`]): per-axis (D, H, W) stride and padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conv3dConfig {
    /// Stride per axis (D, H, W).
    pub stride: [usize; 3],
    /// Padding per axis (D, H, W).
    pub padding: [Pad; 3],
}

impl Default for Conv3dConfig {
    fn default() -> Self {
        Self {
            stride: [1; 3],
            padding: [Pad::Zeros(0); 3],
        }
    }
}

impl Conv3dConfig {
    /// Checks the configuration: every stride ≥ 1.
    pub fn validate(&self) -> Result<()> {
        if self.stride.contains(&0) {
            return Err(param_err("conv3d", "stride", self.stride, "every axis ≥ 1"));
        }
        Ok(())
    }

    /// Stride `s` and zero padding `p` on every axis.
    pub fn uniform(s: usize, p: usize) -> Self {
        Self {
            stride: [s; 3],
            padding: [Pad::Zeros(p); 3],
        }
    }
}

/// Output length of one axis: `floor((L + before + after − k)/s) + 1`, or an error when the
/// padded input is shorter than the kernel.
pub fn out_len(what: &str, len: usize, pad: (usize, usize), k: usize, s: usize) -> Result<usize> {
    let padded = len + pad.0 + pad.1;
    if padded < k || s == 0 {
        return Err(Error::Shape {
            what: what.to_string(),
            expected: format!("an axis of at least {k} after padding (stride ≥ 1)"),
            got: vec![len],
        });
    }
    Ok((padded - k) / s + 1)
}

/// Pads axis `dim` with `before`/`after` zeros or wrapped-around slices.
pub fn pad_axis(x: &Tensor, dim: usize, pad: (usize, usize), circular: bool) -> Result<Tensor> {
    if pad == (0, 0) {
        return Ok(x.clone());
    }
    if !circular {
        return Ok(x.pad_with_zeros(dim, pad.0, pad.1)?);
    }
    let len = x.dim(dim)?;
    if pad.0 > len || pad.1 > len {
        return Err(Error::Shape {
            what: "circular padding".into(),
            expected: format!(
                "an axis at least as long as the padding ({} / {})",
                pad.0, pad.1
            ),
            got: x.dims().to_vec(),
        });
    }
    let front = x.narrow(dim, len - pad.0, pad.0)?;
    let back = x.narrow(dim, 0, pad.1)?;
    Ok(Tensor::cat(&[&front, x, &back], dim)?)
}

/// Every `s`-th slice of axis `dim` starting at `start`, `n` of them.
pub(crate) fn strided(x: &Tensor, dim: usize, start: usize, n: usize, s: usize) -> Result<Tensor> {
    if s == 1 {
        return Ok(x.narrow(dim, start, n)?);
    }
    let idx: Vec<u32> = (0..n).map(|i| (start + i * s) as u32).collect();
    let idx = Tensor::from_vec(idx, n, x.device())?;
    Ok(x.contiguous()?.index_select(&idx, dim)?)
}

/// 2D convolution, one stride and symmetric zero padding for both axes, no bias: the fast CPU
/// kernel for f32/f64 on the CPU, otherwise candle's `conv2d` with its backward made right for
/// strides that leave trailing input rows unread (candle's transposed convolution then returns a
/// gradient one row short): the input is padded and cut to the extent the windows read first.
pub fn conv2d(x: &Tensor, w: &Tensor, pad: usize, stride: usize) -> Result<Tensor> {
    let (n, cin, h, wd) = x.dims4()?;
    let (cout, _, kh, kw) = w.dims4()?;
    if conv_kernel::usable(x, w) {
        let geom = ConvGeom {
            n,
            cin,
            dims: [1, h, wd],
            cout,
            k: [1, kh, kw],
            stride: [1, stride, stride],
            pad: [0, pad, pad],
            out: [
                1,
                out_len("conv2d height", h, (pad, pad), kh, stride)?,
                out_len("conv2d width", wd, (pad, pad), kw, stride)?,
            ],
        };
        let y = conv_kernel::conv(&x.unsqueeze(2)?, &w.unsqueeze(2)?, geom)?;
        return Ok(y.squeeze(2)?);
    }
    conv2d_candle(x, w, pad, stride)
}

/// candle's conv2d with the strided-backward fix (see [`conv2d`]).
fn conv2d_candle(x: &Tensor, w: &Tensor, pad: usize, stride: usize) -> Result<Tensor> {
    let (_, _, h, wd) = x.dims4()?;
    let (_, _, kh, kw) = w.dims4()?;
    if stride == 1 {
        return Ok(x.conv2d(w, pad, 1, 1, 1)?);
    }
    let oh = out_len("conv2d height", h, (pad, pad), kh, stride)?;
    let ow = out_len("conv2d width", wd, (pad, pad), kw, stride)?;
    let (nh, nw) = ((oh - 1) * stride + kh, (ow - 1) * stride + kw);
    if nh == h + 2 * pad && nw == wd + 2 * pad {
        return Ok(x.conv2d(w, pad, stride, 1, 1)?);
    }
    // Pad explicitly and cut to what the windows read; the convolution itself is unpadded.
    let xp = x.pad_with_zeros(2, pad, pad)?.pad_with_zeros(3, pad, pad)?;
    let xp = xp.narrow(2, 0, nh)?.narrow(3, 0, nw)?;
    Ok(xp.conv2d(w, 0, stride, 1, 1)?)
}

/// `y = conv3d(x, w) + b` for x `(N, Cin, D, H, W)`, w `(Cout, Cin, kD, kH, kW)`, b `(Cout)`.
///
/// # Examples
///
/// ```
/// use candle_core::{Device, Tensor};
/// use rareml_kernels::{conv3d, Conv3dConfig};
/// let x = Tensor::randn(0f32, 1.0, (2, 1, 9, 40, 40), &Device::Cpu)?;
/// let w = Tensor::randn(0f32, 0.1, (8, 1, 3, 3, 3), &Device::Cpu)?;
/// let y = conv3d(&x, &w, None, &Conv3dConfig::uniform(1, 1))?;
/// assert_eq!(y.dims(), &[2, 8, 9, 40, 40]);
/// # Ok::<(), rareml_kernels::Error>(())
/// ```
pub fn conv3d(x: &Tensor, w: &Tensor, b: Option<&Tensor>, cfg: &Conv3dConfig) -> Result<Tensor> {
    conv3d_with(x, w, b, cfg, conv_kernel::usable(x, w))
}

/// `conv3d` through the fast CPU kernel (`fast`) or through candle's `conv2d` (any device).
pub(crate) fn conv3d_with(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    cfg: &Conv3dConfig,
    fast: bool,
) -> Result<Tensor> {
    cfg.validate()?;
    let (n, cin, d, h, wd) = x.dims5().map_err(|_| Error::Shape {
        what: "conv3d input".into(),
        expected: "(N, C, D, H, W)".into(),
        got: x.dims().to_vec(),
    })?;
    let (cout, wcin, kd, kh, kw) = w.dims5()?;
    if wcin != cin {
        return Err(Error::Shape {
            what: "conv3d input".into(),
            expected: format!("{wcin} channels (weight {:?})", w.dims()),
            got: x.dims().to_vec(),
        });
    }
    let [sd, sh, sw] = cfg.stride;
    let pd = cfg.padding[0].amounts(d, kd, sd);
    let ph = cfg.padding[1].amounts(h, kh, sh);
    let pw = cfg.padding[2].amounts(wd, kw, sw);
    let od = out_len("conv3d depth", d, pd, kd, sd)?;
    out_len("conv3d height", h, ph, kh, sh)?;
    out_len("conv3d width", wd, pw, kw, sw)?;
    let circ = |p: Pad| matches!(p, Pad::Circular(_));
    if fast {
        // Circular axes are padded explicitly; zero padding is the kernel's.
        let mut x = x.clone();
        let mut pads = [pd, ph, pw];
        for (a, p) in pads.iter_mut().enumerate() {
            if circ(cfg.padding[a]) {
                x = pad_axis(&x, 2 + a, *p, true)?;
                *p = (0, 0);
            }
        }
        let dims = [x.dim(2)?, x.dim(3)?, x.dim(4)?];
        let k = [kd, kh, kw];
        let mut out = [0; 3];
        for a in 0..3 {
            out[a] = out_len("conv3d", dims[a], pads[a], k[a], cfg.stride[a])?;
        }
        let geom = ConvGeom {
            n,
            cin,
            dims,
            cout,
            k,
            stride: cfg.stride,
            pad: [pads[0].0, pads[1].0, pads[2].0],
            out,
        };
        let y = conv_kernel::conv(&x, w, geom)?;
        return Ok(match b {
            Some(b) => crate::bias::add_channel_bias(&y, b)?,
            None => y,
        });
    }
    let x = pad_axis(x, 2, pd, circ(cfg.padding[0]))?;
    // H and W: symmetric zero padding and equal strides go straight to conv2d.
    let direct = ph.0 == ph.1 && pw.0 == pw.1 && ph.0 == pw.0 && sh == sw;
    let direct = direct && !circ(cfg.padding[1]) && !circ(cfg.padding[2]);
    let (x, p2) = if direct {
        (x, ph.0)
    } else {
        let x = pad_axis(&x, 3, ph, circ(cfg.padding[1]))?;
        (pad_axis(&x, 4, pw, circ(cfg.padding[2]))?, 0)
    };
    let (hp, wp) = (x.dim(3)?, x.dim(4)?);
    // (N, C, kD, oD, H, W) -> (N·oD, C·kD, H, W): channel index c·kD + i matches w's reshape.
    let cols = if kd == 1 {
        strided(&x, 2, 0, od, sd)?.permute((0, 2, 1, 3, 4))?
    } else {
        let taps = (0..kd)
            .map(|i| strided(&x, 2, i, od, sd))
            .collect::<Result<Vec<_>>>()?;
        Tensor::stack(&taps, 2)?.permute((0, 3, 1, 2, 4, 5))?
    };
    let cols = cols.contiguous()?.reshape((n * od, cin * kd, hp, wp))?;
    let w2 = w.reshape((cout, cin * kd, kh, kw))?;
    let s2 = if direct { sh } else { 1 };
    let mut y = conv2d_candle(&cols, &w2, p2, s2)?;
    if !direct && (sh > 1 || sw > 1) {
        let (oh, ow) = ((hp - kh) / sh + 1, (wp - kw) / sw + 1);
        y = strided(&y, 2, 0, oh, sh)?;
        y = strided(&y, 3, 0, ow, sw)?;
    }
    let (_, _, oh, ow) = y.dims4()?;
    let y = y
        .reshape((n, od, cout, oh, ow))?
        .permute((0, 2, 1, 3, 4))?
        .contiguous()?;
    Ok(match b {
        Some(b) => crate::bias::add_channel_bias(&y, b)?,
        None => y,
    })
}

/// A brute-force 3D convolution (six nested loops, f64) used by tests as the reference.
pub fn conv3d_reference(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    cfg: &Conv3dConfig,
) -> Result<Tensor> {
    let (n, cin, d, h, wd) = x.dims5()?;
    let (cout, _, kd, kh, kw) = w.dims5()?;
    let dims = [d, h, wd];
    let ks = [kd, kh, kw];
    let pads: Vec<(usize, usize)> = (0..3)
        .map(|a| cfg.padding[a].amounts(dims[a], ks[a], cfg.stride[a]))
        .collect();
    let outs: Vec<usize> = (0..3)
        .map(|a| out_len("reference", dims[a], pads[a], ks[a], cfg.stride[a]))
        .collect::<Result<_>>()?;
    let xv = x.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
    let wv = w.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
    let bv = match b {
        Some(b) => b.to_dtype(DType::F64)?.to_vec1::<f64>()?,
        None => vec![0.0; cout],
    };
    // Source index along axis `a` for output position o and tap k, or None when it falls in zeros.
    let src = |a: usize, o: usize, k: usize| -> Option<usize> {
        let p = (o * cfg.stride[a] + k) as isize - pads[a].0 as isize;
        let len = dims[a] as isize;
        if matches!(cfg.padding[a], Pad::Circular(_)) {
            Some(p.rem_euclid(len) as usize)
        } else if p < 0 || p >= len {
            None
        } else {
            Some(p as usize)
        }
    };
    let mut y = vec![0.0f64; n * cout * outs[0] * outs[1] * outs[2]];
    let mut idx = 0;
    for ni in 0..n {
        for o in 0..cout {
            for a in 0..outs[0] {
                for bb in 0..outs[1] {
                    for c in 0..outs[2] {
                        let mut acc = bv[o];
                        for ci in 0..cin {
                            for i in 0..kd {
                                let Some(zi) = src(0, a, i) else { continue };
                                for j in 0..kh {
                                    let Some(yi) = src(1, bb, j) else { continue };
                                    for k in 0..kw {
                                        let Some(xi) = src(2, c, k) else { continue };
                                        let xv =
                                            xv[(((ni * cin + ci) * d + zi) * h + yi) * wd + xi];
                                        let wv = wv[(((o * cin + ci) * kd + i) * kh + j) * kw + k];
                                        acc += xv * wv;
                                    }
                                }
                            }
                        }
                        y[idx] = acc;
                        idx += 1;
                    }
                }
            }
        }
    }
    let t = Tensor::from_vec(y, (n, cout, outs[0], outs[1], outs[2]), &Device::Cpu)?;
    Ok(t.to_dtype(x.dtype())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stride_rule() {
        let e = Conv3dConfig::uniform(0, 1)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("stride"), "{e}");
        assert!(Conv3dConfig::default().validate().is_ok());
    }
    use candle_core::Var;

    /// The fast kernel and the candle composition agree in value and gradients.
    #[test]
    fn kernel_equals_composition() {
        let dev = Device::Cpu;
        let cfgs = [
            Conv3dConfig::uniform(1, 1),
            Conv3dConfig::uniform(2, 1),
            Conv3dConfig {
                stride: [1, 2, 2],
                padding: [Pad::Circular(1), Pad::Same, Pad::Same],
            },
            Conv3dConfig {
                stride: [2, 1, 3],
                padding: [Pad::Zeros(0), Pad::Zeros(2), Pad::Zeros(1)],
            },
        ];
        for (ci, cfg) in cfgs.iter().enumerate() {
            for k in [[3, 3, 3], [1, 1, 1], [2, 3, 1]] {
                let x = Var::from_tensor(&Tensor::randn(0f64, 1.0, (3, 2, 5, 8, 7), &dev).unwrap())
                    .unwrap();
                let w = Var::from_tensor(
                    &Tensor::randn(0f64, 1.0, (4, 2, k[0], k[1], k[2]), &dev).unwrap(),
                )
                .unwrap();
                let run = |fast| {
                    let y = conv3d_with(x.as_tensor(), w.as_tensor(), None, cfg, fast).unwrap();
                    let g = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
                    (y, g.get(&x).unwrap().clone(), g.get(&w).unwrap().clone())
                };
                let (a, b) = (run(true), run(false));
                for (u, v) in [(a.0, b.0), (a.1, b.1), (a.2, b.2)] {
                    assert_eq!(u.dims(), v.dims(), "cfg {ci} k {k:?}");
                    let d = (u - v)
                        .unwrap()
                        .abs()
                        .unwrap()
                        .max_all()
                        .unwrap()
                        .to_scalar::<f64>()
                        .unwrap();
                    assert!(d < 1e-10, "cfg {ci} k {k:?}: {d}");
                }
            }
        }
    }
}
