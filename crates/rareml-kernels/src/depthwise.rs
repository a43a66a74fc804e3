//! Depthwise 2D convolution (`groups = C`, one k×k filter per channel) as a direct CPU kernel
//! with its own backward; candle's grouped conv2d (which runs C separate convolutions) serves
//! other devices.

use crate::cpu::{dispatch2, simd_fn, slice, take, Slot};
use crate::error::{param_err, Error, Result};
use crate::lanes::{Lanes, L};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, DType, Layout, Shape, Tensor};
use rayon::prelude::*;
use std::mem::MaybeUninit;

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
    fn kk(&self) -> usize {
        self.kh * self.kw
    }

    /// Rows and columns of the zero-padded input window the outputs read.
    fn window(&self) -> (usize, usize) {
        (
            (self.oh - 1) * self.stride[0] + self.kh,
            (self.ow - 1) * self.stride[1] + self.kw,
        )
    }

    /// The output-gradient grid of the backward pass: the border (m0 rows, m1 columns) that lets
    /// input row r and tap i read grid row (r + p0 + s0·m0 − i) / s0 ≥ 0, and the grid's size.
    fn grad_grid(&self) -> [usize; 4] {
        let [s0, s1] = self.stride;
        let (m0, m1) = ((self.kh - 1).div_ceil(s0), (self.kw - 1).div_ceil(s1));
        let gh = (m0 + self.oh).max((self.h - 1 + self.pad[0] + s0 * m0) / s0 + 1);
        let gw = (m1 + self.ow).max((self.w - 1 + self.pad[1] + s1 * m1) / s1 + 1);
        [m0, m1, gh, gw]
    }

    /// y = x ⋆ w, `(N, C, oh, ow)`.
    fn fwd<T: Lanes>(&self, x: &[T], wt: &[T]) -> Vec<T> {
        let (pi, po, kk) = (self.h * self.w, self.oh * self.ow, self.kk());
        filled(self.n * self.c * po, |y| {
            y.par_chunks_mut(self.c * po)
                .enumerate()
                .for_each(|(b, sample)| {
                    sample
                        .par_chunks_mut(L * po)
                        .enumerate()
                        .for_each(|(k, yb)| {
                            let (c0, cl) = (k * L, yb.len() / po);
                            let p = b * self.c + c0;
                            let xb = &x[p * pi..(p + cl) * pi];
                            fwd_block(*self, xb, &wt[c0 * kk..(c0 + cl) * kk], yb)
                        })
                })
        })
    }

    /// ∂(Σ y·g)/∂x `(N, C, H, W)` and ∂(Σ y·g)/∂w `(C, 1, kh, kw)` from one pass over the
    /// (sample, channel block) pairs: samples in groups (two per thread), the weight gradient
    /// summed per group and the groups added in order — the same result on every run with the
    /// same thread count.
    fn bwd<T: Lanes>(&self, x: &[T], g: &[T], wt: &[T]) -> (Vec<T>, Vec<T>) {
        let (pi, po, kk) = (self.h * self.w, self.oh * self.ow, self.kk());
        let per = self.n.div_ceil(2 * rayon::current_num_threads()).max(1);
        let mut partial = Vec::new();
        let gx = filled(self.n * self.c * pi, |gx| {
            partial = gx
                .par_chunks_mut(per * self.c * pi)
                .enumerate()
                .map(|(grp, gxs)| {
                    let mut gw = vec![T::zero(); self.c * kk];
                    for (j, sample) in gxs.chunks_mut(self.c * pi).enumerate() {
                        let b = grp * per + j;
                        let blocks = sample.chunks_mut(L * pi).zip(gw.chunks_mut(L * kk));
                        for (k, (gxb, gwb)) in blocks.enumerate() {
                            let (c0, cl) = (k * L, gwb.len() / kk);
                            let p = b * self.c + c0;
                            bwd_block(
                                *self,
                                &x[p * pi..(p + cl) * pi],
                                &g[p * po..(p + cl) * po],
                                &wt[c0 * kk..(c0 + cl) * kk],
                                gxb,
                                gwb,
                            );
                        }
                    }
                    gw
                })
                .collect::<Vec<_>>();
        });
        let mut parts = partial.into_iter();
        let mut gw = parts.next().unwrap_or_else(|| vec![T::zero(); self.c * kk]);
        for part in parts {
            for (a, b) in gw.iter_mut().zip(part) {
                *a += b;
            }
        }
        (gx, gw)
    }
}

/// A vector of `len` values, every one written by `fill` (which is handed them uninitialised).
/// Only for fills that write every value: the kernels write every plane of every block they are
/// handed (`from_lanes` over whole planes, the blocks partitioning the vector), `to_lanes` every
/// lane of the `n` positions it is asked for.
fn filled<T>(len: usize, fill: impl FnOnce(&mut [MaybeUninit<T>])) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: `fill` wrote all `len` values (the callers above).
    unsafe { v.set_len(len) };
    v
}

/// Copies `cl` planes of `rows × cols` values (contiguous in `src`) into the lane vectors of
/// `buf`, a grid `width` positions wide, from grid row `r0`, column `q0` on; only grid positions
/// below `max_rows` × `max_cols` are written. (Rows shorter than [`L`] are transposed a whole
/// plane at a time, then copied row by row: one by one they would waste most of each transpose.)
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
    if cols >= L {
        // Rows long enough to fill the transposes: straight into the grid.
        for r in 0..nr {
            let at = ((r + r0) * width + q0) * L;
            let dst = &mut buf[at..at + nc * L];
            // SAFETY: `MaybeUninit<T>` has `T`'s layout, and only initialised values are written.
            let dst = unsafe { &mut *(dst as *mut [T] as *mut [MaybeUninit<T>]) };
            T::to_lanes(&src[r * cols..], plane, cl, nc, dst);
        }
        return;
    }
    let tmp = filled(plane * L, |t| T::to_lanes(src, plane, cl, plane, t));
    for r in 0..nr {
        let at = ((r + r0) * width + q0) * L;
        buf[at..at + nc * L].copy_from_slice(&tmp[r * cols * L..(r * cols + nc) * L]);
    }
}

/// The weights of `cl` channels (`kk` taps each) as `kk` lane vectors.
#[inline(always)]
fn tap_lanes<T: Lanes>(wt: &[T], cl: usize, kk: usize) -> Vec<T> {
    filled(kk * L, |wb| T::to_lanes(wt, kk, cl, kk, wb))
}

/// `acc += a · b`, lane by lane.
#[inline(always)]
fn mul_add<T: Lanes>(acc: &mut [T; L], a: &[T; L], b: &[T; L]) {
    for l in 0..L {
        acc[l] += a[l] * b[l];
    }
}

#[inline(always)]
fn lanes<T>(buf: &[T], at: usize) -> &[T; L] {
    buf[at..at + L].try_into().expect("L lanes")
}

simd_fn! {
    /// Output planes of one channel block: the input planes interleaved into a zero-padded grid
    /// of lane vectors, then every output position a sum of kh·kw lane products.
    fn fwd_block<T: Lanes>(d: Dw, x: &[T], wt: &[T], y: &mut [MaybeUninit<T>]) {
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
                        mul_add(&mut acc, w, v);
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
    /// Input-gradient planes of one sample's channel block into `gx`, and its weight gradient
    /// added to `gw`. The output gradients are interleaved once into a zero-bordered grid of lane
    /// vectors: every input position sums the taps that reach it (those whose offset matches its
    /// phase modulo the stride); every tap sums output gradient × the input it read.
    fn bwd_block<T: Lanes>(
        d: Dw,
        x: &[T],
        gy: &[T],
        wt: &[T],
        gx: &mut [MaybeUninit<T>],
        gw: &mut [T],
    ) {
        let (pi, kk) = (d.h * d.w, d.kk());
        let cl = gw.len() / kk;
        let [s0, s1] = d.stride;
        let [p0, p1] = d.pad;
        let [m0, m1, gh, gw_] = d.grad_grid();
        let mut grid = vec![T::zero(); gh * gw_ * L];
        interleave(gy, cl, (d.oh, d.ow), &mut grid, gw_, (m0, m1), (gh, gw_));
        let wb = tap_lanes(wt, cl, kk);
        let mut out = vec![T::zero(); pi * L];
        for r in 0..d.h {
            // Taps i0, i0 + s0, … read grid rows r_top, r_top − 1, …
            let i0 = (r + p0) % s0;
            let r_top = (r + p0 + s0 * m0 - i0) / s0;
            for q in 0..d.w {
                let j0 = (q + p1) % s1;
                let q_left = (q + p1 + s1 * m1 - j0) / s1;
                let mut acc = [T::zero(); L];
                for (a, i) in (i0..d.kh).step_by(s0).enumerate() {
                    let row = ((r_top - a) * gw_ + q_left) * L;
                    for (b, j) in (j0..d.kw).step_by(s1).enumerate() {
                        let g = lanes(&grid, row - b * L);
                        mul_add(&mut acc, lanes(&wb, (i * d.kw + j) * L), g);
                    }
                }
                let o = r * d.w + q;
                out[o * L..(o + 1) * L].copy_from_slice(&acc);
            }
        }
        T::from_lanes(&out, cl, pi, gx, pi);

        // Weight gradient: the zero-padded input window against the grid's interior.
        let (ph, pw) = d.window();
        let mut buf = out;
        buf.clear();
        buf.resize(ph * pw * L, T::zero());
        interleave(x, cl, (d.h, d.w), &mut buf, pw, (p0, p1), (ph, pw));
        for i in 0..d.kh {
            for j in 0..d.kw {
                // Four independent partial sums (four columns at a time) hide the add latency.
                let (mut a0, mut a1, mut a2, mut a3) = ([T::zero(); L], [T::zero(); L], [T::zero(); L], [T::zero(); L]);
                for oy in 0..d.oh {
                    let at = ((oy * s0 + i) * pw + j) * L;
                    let g0 = ((oy + m0) * gw_ + m1) * L;
                    let grow = &grid[g0..g0 + d.ow * L];
                    let quads = grow.chunks_exact(4 * L);
                    let rest = quads.remainder();
                    for (k, g4) in quads.enumerate() {
                        let v = at + 4 * k * s1 * L;
                        let step = s1 * L;
                        let (v0, v1) = (lanes(&buf, v), lanes(&buf, v + step));
                        let (v2, v3) = (lanes(&buf, v + 2 * step), lanes(&buf, v + 3 * step));
                        let (g0, g1) = (lanes(g4, 0), lanes(g4, L));
                        let (g2, g3) = (lanes(g4, 2 * L), lanes(g4, 3 * L));
                        mul_add(&mut a0, g0, v0);
                        mul_add(&mut a1, g1, v1);
                        mul_add(&mut a2, g2, v2);
                        mul_add(&mut a3, g3, v3);
                    }
                    let ox0 = d.ow - rest.len() / L;
                    for k in 0..rest.len() / L {
                        let (g, v) = (lanes(rest, k * L), lanes(&buf, at + (ox0 + k) * s1 * L));
                        mul_add(&mut a0, g, v);
                    }
                }
                let acc = [a0, a1, a2, a3];
                let t = i * d.kw + j;
                for l in 0..cl {
                    gw[l * kk + t] += (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]);
                }
            }
        }
    }
}

struct DwFwd(Dw);

/// Backward op on (x, dy, w) → dx; leaves dw in its slot.
struct DwBwd {
    d: Dw,
    gw: Slot<CpuStorage>,
}

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
        let d = self.0;
        let op = DwBwd {
            d,
            gw: Default::default(),
        };
        let gx = x.apply_op3_no_bwd(&g.contiguous()?, w, &op)?;
        let shape = (d.c, 1, d.kh, d.kw);
        let gw = match take(&op.gw, "depthwise conv2d weight gradients")? {
            CpuStorage::F32(v) => Tensor::from_vec(v, shape, w.device())?,
            CpuStorage::F64(v) => Tensor::from_vec(v, shape, w.device())?,
            s => candle_core::bail!("depthwise conv2d weight gradient of {:?}", s.dtype()),
        };
        Ok((Some(gx), Some(gw)))
    }
}

impl CustomOp3 for DwBwd {
    fn name(&self) -> &'static str {
        "depthwise-conv2d-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let d = self.d;
        let (gx, gw) = match (s1.dtype(), s2.dtype(), s3.dtype()) {
            (DType::F32, DType::F32, DType::F32) => {
                let (gx, gw) = d.bwd(slice(s1, l1)?, slice(s2, l2)?, slice::<f32>(s3, l3)?);
                (CpuStorage::F32(gx), CpuStorage::F32(gw))
            }
            (DType::F64, DType::F64, DType::F64) => {
                let (gx, gw) = d.bwd(slice(s1, l1)?, slice(s2, l2)?, slice::<f64>(s3, l3)?);
                (CpuStorage::F64(gx), CpuStorage::F64(gw))
            }
            (a, b, c) => candle_core::bail!(
                "depthwise conv2d backward supports f32 and f64 (the same for all operands), got {a:?}, {b:?}, {c:?}"
            ),
        };
        *self.gw.lock().expect("depthwise weight-gradient lock") = Some(gw);
        Ok((gx, Shape::from((d.n, d.c, d.h, d.w))))
    }
}

/// Depthwise conv2d of x `(N, C, H, W)` with w `(C, 1, kH, kW)`, per-axis (H, W) stride and
/// symmetric zero padding; no bias.
///
/// # Examples
///
/// ```
/// use candle_core::{Device, Tensor};
/// use rareml_kernels::depthwise_conv2d;
/// let x = Tensor::randn(0f32, 1.0, (2, 32, 16, 16), &Device::Cpu)?;
/// let w = Tensor::randn(0f32, 0.1, (32, 1, 3, 3), &Device::Cpu)?;
/// let y = depthwise_conv2d(&x, &w, [2, 2], [1, 1])?;
/// assert_eq!(y.dims(), &[2, 32, 8, 8]);
/// # Ok::<(), rareml_kernels::Error>(())
/// ```
pub fn depthwise_conv2d(
    x: &Tensor,
    w: &Tensor,
    stride: [usize; 2],
    pad: [usize; 2],
) -> Result<Tensor> {
    if stride.contains(&0) {
        return Err(param_err(
            "depthwise conv2d",
            "stride",
            stride,
            "every axis ≥ 1",
        ));
    }
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
    let oh = crate::conv::out_len("depthwise height", h, (pad[0], pad[0]), kh, stride[0])?;
    let ow = crate::conv::out_len("depthwise width", wd, (pad[1], pad[1]), kw, stride[1])?;
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
