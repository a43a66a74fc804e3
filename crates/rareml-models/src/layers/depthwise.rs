//! Depthwise 2D convolution (`groups = C`, one k×k filter per channel) as a direct CPU kernel
//! with its own backward; candle's grouped conv2d (which runs C separate convolutions) serves
//! other devices.

use crate::error::{config_err, Error, Result};
use crate::layers::cpu::{cpu_op2, dispatch2, simd_fn};
use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor, WithDType};
use candle_nn::{Init, VarBuilder};
use rayon::prelude::*;

/// Geometry of one depthwise convolution.
#[derive(Debug, Clone, Copy)]
struct Dw {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    stride: [usize; 2],
    pad: [usize; 2],
    oh: usize,
    ow: usize,
}

impl Dw {
    /// Input row/column for output `o` and tap `k` along axis `a`, or None in the padding.
    #[inline(always)]
    fn src(&self, a: usize, o: usize, k: usize) -> Option<usize> {
        let p = (o * self.stride[a] + k) as isize - self.pad[a] as isize;
        let len = if a == 0 { self.h } else { self.w } as isize;
        (p >= 0 && p < len).then_some(p as usize)
    }

    /// Output columns `[lo, hi)` whose tap `k` stays inside the input row (the rest read padding).
    #[inline(always)]
    fn valid_cols(&self, k: usize) -> (usize, usize) {
        let s = self.stride[1];
        let lo = self.pad[1].saturating_sub(k).div_ceil(s);
        // largest o with o·s + k − pad ≤ w − 1
        let hi = if self.w + self.pad[1] < k + 1 {
            0
        } else {
            ((self.w + self.pad[1] - k - 1) / s + 1).min(self.ow)
        };
        (lo.min(hi), hi)
    }

    /// For tap column `j`: the valid output columns `[lo, hi)` (None when empty) and the input
    /// column `first` read by output column `lo`. (The kernels loop over the rows themselves: a
    /// closure here would be compiled apart from their AVX2 build.)
    #[inline(always)]
    fn tap_cols(&self, j: usize) -> Option<(usize, usize, usize)> {
        let (lo, hi) = self.valid_cols(j);
        (lo < hi).then(|| (lo, hi, lo * self.stride[1] + j - self.pad[1]))
    }

    fn fwd<T: WithDType>(&self, x: &[T], wt: &[T]) -> Vec<T> {
        let (pi, po) = (self.h * self.w, self.oh * self.ow);
        self.planes(x, pi, po, wt, fwd_plane)
    }

    /// ∂(Σ y·g)/∂x.
    fn bwd_input<T: WithDType>(&self, g: &[T], wt: &[T]) -> Vec<T> {
        let (pi, po) = (self.h * self.w, self.oh * self.ow);
        self.planes(g, po, pi, wt, input_plane)
    }

    /// `kernel(self, source plane, channel's weights, destination plane)` over every (sample,
    /// channel) plane in parallel, into zeroed destination planes of `dst_len` values.
    fn planes<T: WithDType>(
        &self,
        src: &[T],
        src_len: usize,
        dst_len: usize,
        wt: &[T],
        kernel: fn(Dw, &[T], &[T], &mut [T]),
    ) -> Vec<T> {
        let kk = self.kh * self.kw;
        let mut out = vec![T::zero(); self.n * self.c * dst_len];
        out.par_chunks_mut(dst_len)
            .enumerate()
            .for_each(|(p, dst)| {
                let ch = p % self.c;
                let plane = &src[p * src_len..(p + 1) * src_len];
                kernel(*self, plane, &wt[ch * kk..(ch + 1) * kk], dst)
            });
        out
    }

    /// ∂(Σ y·g)/∂w, shape (C, 1, kh, kw).
    fn bwd_weight<T: WithDType>(&self, x: &[T], g: &[T]) -> Vec<T> {
        let (pi, po, kk) = (self.h * self.w, self.oh * self.ow, self.kh * self.kw);
        let mut gw = vec![T::zero(); self.c * kk];
        gw.par_chunks_mut(kk).enumerate().for_each(|(ch, gwc)| {
            for b in 0..self.n {
                let p = b * self.c + ch;
                weight_plane(
                    *self,
                    &x[p * pi..(p + 1) * pi],
                    &g[p * po..(p + 1) * po],
                    gwc,
                );
            }
        });
        gw
    }
}

simd_fn! {
    /// One output plane: `yp += Σ_taps w · shifted xp`.
    fn fwd_plane<T: WithDType>(d: Dw, xp: &[T], wp: &[T], yp: &mut [T]) {
        let s = d.stride[1];
        for i in 0..d.kh {
            for j in 0..d.kw {
                let wv = wp[i * d.kw + j];
                let Some((lo, hi, first)) = d.tap_cols(j) else { continue };
                for oy in 0..d.oh {
                    let Some(iy) = d.src(0, oy, i) else { continue };
                    let row = &xp[iy * d.w..(iy + 1) * d.w];
                    let out = &mut yp[oy * d.ow..(oy + 1) * d.ow];
                    if s == 1 {
                        // Contiguous on both sides: a loop the compiler vectorises.
                        let src = &row[first..first + (hi - lo)];
                        for (o, &x) in out[lo..hi].iter_mut().zip(src) {
                            *o += wv * x;
                        }
                    } else {
                        for (o, &x) in out[lo..hi].iter_mut().zip(row[first..].iter().step_by(s)) {
                            *o += wv * x;
                        }
                    }
                }
            }
        }
    }
}

simd_fn! {
    /// One input-gradient plane: `gp += Σ_taps w · shifted gy`.
    fn input_plane<T: WithDType>(d: Dw, gy: &[T], wp: &[T], gp: &mut [T]) {
        let s = d.stride[1];
        for i in 0..d.kh {
            for j in 0..d.kw {
                let wv = wp[i * d.kw + j];
                let Some((lo, hi, first)) = d.tap_cols(j) else { continue };
                for oy in 0..d.oh {
                    let Some(iy) = d.src(0, oy, i) else { continue };
                    let row = &mut gp[iy * d.w..(iy + 1) * d.w];
                    let gr = &gy[oy * d.ow..(oy + 1) * d.ow];
                    if s == 1 {
                        for (r, &g) in row[first..first + (hi - lo)].iter_mut().zip(&gr[lo..hi]) {
                            *r += wv * g;
                        }
                    } else {
                        for (r, &g) in row[first..].iter_mut().step_by(s).zip(&gr[lo..hi]) {
                            *r += wv * g;
                        }
                    }
                }
            }
        }
    }
}

simd_fn! {
    /// Adds one sample's weight gradient of a channel to `gwc` (kh·kw taps).
    fn weight_plane<T: WithDType>(d: Dw, xp: &[T], gy: &[T], gwc: &mut [T]) {
        const L: usize = 8;
        let s = d.stride[1];
        for i in 0..d.kh {
            for j in 0..d.kw {
                // Eight partial sums carried across the rows, summed once per tap.
                let mut lanes = [T::zero(); L];
                let mut tail = T::zero();
                let Some((lo, hi, first)) = d.tap_cols(j) else { continue };
                for oy in 0..d.oh {
                    let Some(iy) = d.src(0, oy, i) else { continue };
                    let row = &xp[iy * d.w..(iy + 1) * d.w];
                    let gr = &gy[oy * d.ow..(oy + 1) * d.ow];
                    if s == 1 {
                        let (a, b) = (&gr[lo..hi], &row[first..first + (hi - lo)]);
                        let (ca, cb) = (a.chunks_exact(L), b.chunks_exact(L));
                        let (ra, rb) = (ca.remainder(), cb.remainder());
                        for (x, y) in ca.zip(cb) {
                            for k in 0..L {
                                lanes[k] += x[k] * y[k];
                            }
                        }
                        for (&x, &y) in ra.iter().zip(rb) {
                            tail += x * y;
                        }
                    } else {
                        for (&g, &x) in gr[lo..hi].iter().zip(row[first..].iter().step_by(s)) {
                            tail += g * x;
                        }
                    }
                }
                gwc[i * d.kw + j] += lanes.iter().fold(tail, |a, &v| a + v);
            }
        }
    }
}

struct DwFwd(Dw);
struct DwBwdInput(Dw);
struct DwBwdWeight(Dw);

impl CustomOp2 for DwFwd {
    fn name(&self) -> &'static str {
        "depthwise-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let d = self.0;
        let y = dispatch2!("depthwise conv2d", s1, l1, s2, l2, |x, w| d.fwd(x, w));
        Ok((y, Shape::from((d.n, d.c, d.oh, d.ow))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        g: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = g.contiguous()?;
        let gx = g.apply_op2_no_bwd(w, &DwBwdInput(self.0))?;
        let gw = x.apply_op2_no_bwd(&g, &DwBwdWeight(self.0))?;
        Ok((Some(gx), Some(gw)))
    }
}

cpu_op2!(
    DwBwdInput,
    "depthwise-conv2d-bwd-input",
    |this, s1, l1, s2, l2| {
        let d = this.0;
        let gx = dispatch2!("depthwise conv2d", s1, l1, s2, l2, |g, w| d.bwd_input(g, w));
        Ok((gx, Shape::from((d.n, d.c, d.h, d.w))))
    }
);

cpu_op2!(
    DwBwdWeight,
    "depthwise-conv2d-bwd-weight",
    |this, s1, l1, s2, l2| {
        let d = this.0;
        let gw = dispatch2!("depthwise conv2d", s1, l1, s2, l2, |x, g| d
            .bwd_weight(x, g));
        Ok((gw, Shape::from((d.c, 1, d.kh, d.kw))))
    }
);

/// Depthwise conv2d of x `(N, C, H, W)` with w `(C, 1, kH, kW)`, per-axis (H, W) stride and
/// symmetric zero padding; no bias.
pub fn depthwise_conv2d(
    x: &Tensor,
    w: &Tensor,
    stride: [usize; 2],
    pad: [usize; 2],
) -> Result<Tensor> {
    let (n, c, h, wd) = x.dims4().map_err(|_| Error::Shape {
        what: "depthwise conv2d input".into(),
        expected: "(N, C, H, W)".into(),
        got: x.dims().to_vec(),
    })?;
    let (wc, one, kh, kw) = w.dims4()?;
    if wc != c || one != 1 {
        return Err(Error::Shape {
            what: "depthwise conv2d input".into(),
            expected: format!(
                "{wc} channels and a (C, 1, k, k) weight, weight is {:?}",
                w.dims()
            ),
            got: x.dims().to_vec(),
        });
    }
    let oh =
        crate::layers::conv3d::out_len("depthwise height", h, (pad[0], pad[0]), kh, stride[0])?;
    let ow =
        crate::layers::conv3d::out_len("depthwise width", wd, (pad[1], pad[1]), kw, stride[1])?;
    let cpu = x.device().is_cpu()
        && matches!(x.dtype(), DType::F32 | DType::F64)
        && x.dtype() == w.dtype();
    if cpu {
        let d = Dw {
            n,
            c,
            h,
            w: wd,
            kh,
            kw,
            stride,
            pad,
            oh,
            ow,
        };
        Ok(x.contiguous()?.apply_op2(&w.contiguous()?, DwFwd(d))?)
    } else if stride[0] == stride[1] && pad[0] == pad[1] {
        Ok(x.conv2d(w, pad[0], stride[0], 1, c)?)
    } else {
        Err(Error::Shape {
            what: "depthwise conv2d on this device".into(),
            expected: "equal strides and paddings on H and W".into(),
            got: x.dims().to_vec(),
        })
    }
}

/// A depthwise conv2d layer: weight `(C, 1, k, k)` (PyTorch init ±1/√(k²)), optional bias `(C)`,
/// "same" padding (k−1)/2 as torchvision's MBConv.
#[derive(Debug, Clone)]
pub struct DepthwiseConv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    pad: usize,
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
        if channels == 0 || k == 0 || stride == 0 {
            return Err(config_err(
                "depthwise conv2d",
                vb.prefix(),
                format!("channels {channels}, kernel {k}, stride {stride} must be ≥ 1"),
            ));
        }
        let bound = 1.0 / (k as f64);
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
        if channels == 0 || k == 0 || stride == 0 {
            return Err(config_err(
                "depthwise conv2d",
                vb.prefix(),
                format!("channels {channels}, kernel {k}, stride {stride} must be ≥ 1"),
            ));
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
        })
    }

    /// Applies the convolution to `(N, C, H, W)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = depthwise_conv2d(x, &self.weight, [self.stride; 2], [self.pad; 2])?;
        Ok(match &self.bias {
            Some(b) => crate::layers::bias::add_channel_bias(&y, b)?,
            None => y,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn equals_grouped_conv() {
        let dev = Device::Cpu;
        for (k, s, p, h, w) in [
            (3, 1, 1, 9, 9),
            (5, 2, 2, 11, 10),
            (3, 2, 1, 6, 7),
            (3, 1, 0, 5, 5),
            (1, 1, 0, 4, 3),
        ] {
            let x = Tensor::randn(0f64, 1.0, (2, 4, h, w), &dev).unwrap();
            let wt = Tensor::randn(0f64, 1.0, (4, 1, k, k), &dev).unwrap();
            let a = depthwise_conv2d(&x, &wt, [s, s], [p, p]).unwrap();
            let b = x.conv2d(&wt, p, s, 1, 4).unwrap();
            assert_eq!(a.dims(), b.dims());
            let d = (a - b)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f64>()
                .unwrap();
            assert!(d < 1e-12, "k{k} s{s} p{p}: {d}");
        }
    }
}
