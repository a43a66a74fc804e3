//! Depthwise 2D convolution (`groups = C`, one k×k filter per channel) as a direct CPU kernel
//! with its own backward; candle's grouped conv2d (which runs C separate convolutions) serves
//! other devices.

use crate::error::{config_err, Error, Result};
use crate::layers::cpu::{cpu_op2, dispatch2, simd_fn};
use crate::layers::lanes::{Lanes, L};
use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor};
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
    /// Rows and columns of the zero-padded input window the outputs read.
    fn window(&self) -> (usize, usize) {
        (
            (self.oh - 1) * self.stride[0] + self.kh,
            (self.ow - 1) * self.stride[1] + self.kw,
        )
    }

    /// y = x ⋆ w, `(N, C, oh, ow)`.
    fn fwd<T: Lanes>(&self, x: &[T], wt: &[T]) -> Vec<T> {
        let (pi, po) = (self.h * self.w, self.oh * self.ow);
        let mut y = vec![T::zero(); self.n * self.c * po];
        self.blocks(&mut y, po, |b, c0, yb| {
            let cl = yb.len() / po;
            let p = b * self.c + c0;
            fwd_block(*self, &x[p * pi..(p + cl) * pi], &wt[c0 * self.kk()..], yb)
        });
        y
    }

    /// ∂(Σ y·g)/∂x, `(N, C, H, W)`.
    fn bwd_input<T: Lanes>(&self, g: &[T], wt: &[T]) -> Vec<T> {
        let (pi, po) = (self.h * self.w, self.oh * self.ow);
        let mut gx = vec![T::zero(); self.n * self.c * pi];
        self.blocks(&mut gx, pi, |b, c0, gb| {
            let cl = gb.len() / pi;
            let p = b * self.c + c0;
            input_block(*self, &g[p * po..(p + cl) * po], &wt[c0 * self.kk()..], gb)
        });
        gx
    }

    fn kk(&self) -> usize {
        self.kh * self.kw
    }

    /// Runs `f(sample, first channel, planes)` in parallel over blocks of up to [`L`] channel
    /// planes (of `plane` values each) of every sample of `out`.
    fn blocks<T: Lanes>(
        &self,
        out: &mut [T],
        plane: usize,
        f: impl Fn(usize, usize, &mut [T]) + Sync,
    ) {
        if plane == 0 {
            return;
        }
        out.par_chunks_mut(self.c * plane)
            .enumerate()
            .for_each(|(b, sample)| {
                sample
                    .par_chunks_mut(L * plane)
                    .enumerate()
                    .for_each(|(k, block)| f(b, k * L, block))
            });
    }

    /// ∂(Σ y·g)/∂w, shape (C, 1, kh, kw): per channel block, the samples in a fixed number of
    /// groups (summed in group order, so the result does not depend on the thread count).
    fn bwd_weight<T: Lanes>(&self, x: &[T], g: &[T]) -> Vec<T> {
        let (pi, po, kk) = (self.h * self.w, self.oh * self.ow, self.kk());
        let nb = self.c.div_ceil(L);
        let groups = 16usize.div_ceil(nb).clamp(1, self.n.max(1));
        let per = self.n.div_ceil(groups);
        let mut partial = vec![T::zero(); groups * self.c * kk];
        partial
            .par_chunks_mut(self.c * kk)
            .enumerate()
            .for_each(|(grp, gw)| {
                gw.par_chunks_mut(L * kk).enumerate().for_each(|(k, gwb)| {
                    let (c0, cl) = (k * L, gwb.len() / kk);
                    for b in grp * per..((grp + 1) * per).min(self.n) {
                        let p = b * self.c + c0;
                        weight_block(
                            *self,
                            &x[p * pi..(p + cl) * pi],
                            &g[p * po..(p + cl) * po],
                            gwb,
                        );
                    }
                })
            });
        let mut gw = partial[..self.c * kk].to_vec();
        for part in partial.chunks_exact(self.c * kk).skip(1) {
            for (a, &b) in gw.iter_mut().zip(part) {
                *a += b;
            }
        }
        gw
    }
}

/// Copies `cl` planes of `rows × cols` values (contiguous in `src`) into the lane vectors of
/// `buf`, a grid `width` positions wide, from grid row `r0`, column `q0` on; only grid positions
/// below `max_rows` × `max_cols` are written. (Whole planes are transposed at once, then copied
/// row by row: transposing short rows one by one wastes most of each 16×16 transpose.)
#[inline(always)]
fn interleave<T: Lanes>(
    src: &[T],
    cl: usize,
    (rows, cols): (usize, usize),
    buf: &mut [T],
    width: usize,
    (r0, q0): (usize, usize),
    (max_rows, max_cols): (usize, usize),
) {
    let nr = rows.min(max_rows.saturating_sub(r0));
    let nc = cols.min(max_cols.saturating_sub(q0));
    let plane = rows * cols;
    if r0 == 0 && q0 == 0 && width == cols && nr == rows {
        return T::to_lanes(src, plane, cl, plane, buf);
    }
    let mut tmp = vec![T::zero(); plane * L];
    T::to_lanes(src, plane, cl, plane, &mut tmp);
    for r in 0..nr {
        let at = ((r + r0) * width + q0) * L;
        buf[at..at + nc * L].copy_from_slice(&tmp[r * cols * L..(r * cols + nc) * L]);
    }
}

/// The weights of `cl` channels (`kk` taps each) as `kk` lane vectors.
#[inline(always)]
fn tap_lanes<T: Lanes>(wt: &[T], cl: usize, kk: usize) -> Vec<T> {
    let mut wb = vec![T::zero(); kk * L];
    T::to_lanes(wt, kk, cl, kk, &mut wb);
    wb
}

#[inline(always)]
fn lanes<T>(buf: &[T], at: usize) -> &[T; L] {
    buf[at..at + L].try_into().expect("L lanes")
}

simd_fn! {
    /// Output planes of one channel block: the input planes interleaved into a zero-padded grid
    /// of lane vectors, then every output position a sum of kh·kw lane products.
    fn fwd_block<T: Lanes>(d: Dw, x: &[T], wt: &[T], y: &mut [T]) {
        let (po, kk) = (d.oh * d.ow, d.kk());
        let cl = y.len() / po;
        let (ph, pw) = d.window();
        let mut buf = vec![T::zero(); ph * pw * L];
        interleave(x, cl, (d.h, d.w), &mut buf, pw, (d.pad[0], d.pad[1]), (ph, pw));
        let wb = tap_lanes(wt, cl, kk);
        let mut out = vec![T::zero(); po * L];
        let [s0, s1] = d.stride;
        for oy in 0..d.oh {
            for ox in 0..d.ow {
                let mut acc = [T::zero(); L];
                for i in 0..d.kh {
                    let at = ((oy * s0 + i) * pw + ox * s1) * L;
                    for j in 0..d.kw {
                        let (v, w) = (lanes(&buf, at + j * L), lanes(&wb, (i * d.kw + j) * L));
                        for l in 0..L {
                            acc[l] += w[l] * v[l];
                        }
                    }
                }
                let o = oy * d.ow + ox;
                out[o * L..(o + 1) * L].copy_from_slice(&acc);
            }
        }
        T::from_lanes(&out, cl, po, y, po);
    }
}

simd_fn! {
    /// Input-gradient planes of one channel block: the output gradients interleaved into a
    /// zero-bordered grid of lane vectors, every input position the sum over the taps that
    /// reach it (those whose offset matches its phase modulo the stride).
    fn input_block<T: Lanes>(d: Dw, gy: &[T], wt: &[T], gx: &mut [T]) {
        let (pi, kk) = (d.h * d.w, d.kk());
        let cl = gx.len() / pi;
        let [s0, s1] = d.stride;
        let [p0, p1] = d.pad;
        // Border of m0 rows, m1 columns: input row r and tap i read grid row
        // (r + p0 + s0·m0 − i) / s0 ≥ 0.
        let (m0, m1) = ((d.kh - 1).div_ceil(s0), (d.kw - 1).div_ceil(s1));
        let gh = (m0 + d.oh).max((d.h - 1 + p0 + s0 * m0) / s0 + 1);
        let gw = (m1 + d.ow).max((d.w - 1 + p1 + s1 * m1) / s1 + 1);
        let mut grid = vec![T::zero(); gh * gw * L];
        interleave(gy, cl, (d.oh, d.ow), &mut grid, gw, (m0, m1), (gh, gw));
        let wb = tap_lanes(wt, cl, kk);
        let mut out = vec![T::zero(); pi * L];
        for r in 0..d.h {
            let (ry, i0) = (r + p0 + s0 * m0, (r + p0) % s0);
            for q in 0..d.w {
                let (qx, j0) = (q + p1 + s1 * m1, (q + p1) % s1);
                let mut acc = [T::zero(); L];
                for i in (i0..d.kh).step_by(s0) {
                    let row = (ry - i) / s0 * gw;
                    for j in (j0..d.kw).step_by(s1) {
                        let g = lanes(&grid, (row + (qx - j) / s1) * L);
                        let w = lanes(&wb, (i * d.kw + j) * L);
                        for l in 0..L {
                            acc[l] += w[l] * g[l];
                        }
                    }
                }
                let o = r * d.w + q;
                out[o * L..(o + 1) * L].copy_from_slice(&acc);
            }
        }
        T::from_lanes(&out, cl, pi, gx, pi);
    }
}

simd_fn! {
    /// Adds one sample's weight gradient of a channel block to `gw` (`kk` taps per channel).
    fn weight_block<T: Lanes>(d: Dw, x: &[T], gy: &[T], gw: &mut [T]) {
        let (po, kk) = (d.oh * d.ow, d.kk());
        let cl = gw.len() / kk;
        let (ph, pw) = d.window();
        let mut buf = vec![T::zero(); ph * pw * L];
        interleave(x, cl, (d.h, d.w), &mut buf, pw, (d.pad[0], d.pad[1]), (ph, pw));
        let mut gyb = vec![T::zero(); po * L];
        interleave(gy, cl, (d.oh, d.ow), &mut gyb, d.ow, (0, 0), (d.oh, d.ow));
        let [s0, s1] = d.stride;
        for i in 0..d.kh {
            for j in 0..d.kw {
                // Four independent partial sums (columns ox mod 4) hide the add latency.
                let mut acc = [[T::zero(); L]; 4];
                for oy in 0..d.oh {
                    let at = ((oy * s0 + i) * pw + j) * L;
                    let grow = &gyb[oy * d.ow * L..(oy + 1) * d.ow * L];
                    for (ox, g) in grow.chunks_exact(L).enumerate() {
                        let v = lanes(&buf, at + ox * s1 * L);
                        let a = &mut acc[ox % 4];
                        for l in 0..L {
                            a[l] += g[l] * v[l];
                        }
                    }
                }
                let mut sum = acc[0];
                for a in &acc[1..] {
                    for l in 0..L {
                        sum[l] += a[l];
                    }
                }
                let acc = sum;
                let t = i * d.kw + j;
                for (l, &a) in acc.iter().enumerate().take(cl) {
                    gw[l * kk + t] += a;
                }
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
