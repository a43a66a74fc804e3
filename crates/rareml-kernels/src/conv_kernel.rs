//! Convolution over (D, H, W) as a CPU custom op: im2col (vol2col) + the `gemm` crate's sgemm/dgemm
//! (AVX-512 kernels with the `gemm-avx512` feature), with its own backward (input gradient by Wᵀ·dY and
//! col2im, weight gradient by dY·colᵀ) instead of candle's slow transposed convolution.
//!
//! Samples run in parallel (rayon), each with a single-threaded GEMM; weight-gradient partial sums
//! are formed over fixed chunks of samples and added in chunk order, so results are bit-identical
//! from run to run on a given thread count.

use crate::conv_direct;
use crate::cpu::{cpu_op2, dispatch2, slice};
use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor, WithDType};
use gemm::Parallelism;
use rayon::prelude::*;

/// Geometry of one convolution: zero padding before each axis; positions past the input's end
/// read zeros too, so any "after" padding is implied by the output size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConvGeom {
    pub n: usize,
    pub cin: usize,
    pub dims: [usize; 3],
    pub cout: usize,
    pub k: [usize; 3],
    pub stride: [usize; 3],
    pub pad: [usize; 3],
    pub out: [usize; 3],
}

impl ConvGeom {
    fn kk(&self) -> usize {
        self.cin * self.k[0] * self.k[1] * self.k[2]
    }
    fn p_in(&self) -> usize {
        self.dims.iter().product()
    }
    fn p_out(&self) -> usize {
        self.out.iter().product()
    }
    /// 1×1×1, stride 1, no padding: the columns are the input itself.
    fn pointwise(&self) -> bool {
        self.k == [1; 3] && self.stride == [1; 3] && self.pad == [0; 3] && self.out == self.dims
    }
    /// Input index along axis `a` for output `o` and tap `t`, or None in the padding.
    #[inline]
    fn src(&self, a: usize, o: usize, t: usize) -> Option<usize> {
        let p = (o * self.stride[a] + t) as isize - self.pad[a] as isize;
        (p >= 0 && p < self.dims[a] as isize).then_some(p as usize)
    }
    /// Output columns `[lo, hi)` whose tap `t` on the last axis reads inside the input.
    #[inline]
    fn cols(&self, t: usize) -> (usize, usize) {
        let (s, pad, len) = (self.stride[2], self.pad[2], self.dims[2]);
        let lo = pad.saturating_sub(t).div_ceil(s);
        let hi = if len + pad < t + 1 {
            0
        } else {
            ((len + pad - t - 1) / s + 1).min(self.out[2])
        };
        (lo.min(hi), hi)
    }

    /// Calls `f(col_row_offset, input_row_offset, lo, hi, tap_w)` for every (channel, tap,
    /// output row) pair that reads an input row.
    #[inline]
    fn rows(&self, mut f: impl FnMut(usize, usize, usize, usize, usize)) {
        let [kd, kh, kw] = self.k;
        let [_, h, w] = self.dims;
        let [od, oh, ow] = self.out;
        let p = self.p_out();
        for c in 0..self.cin {
            for i in 0..kd {
                for j in 0..kh {
                    for l in 0..kw {
                        let row = ((c * kd + i) * kh + j) * kw + l;
                        let (lo, hi) = self.cols(l);
                        for a in 0..od {
                            let Some(z) = self.src(0, a, i) else { continue };
                            for b in 0..oh {
                                let Some(y) = self.src(1, b, j) else { continue };
                                let col_off = row * p + (a * oh + b) * ow;
                                let in_off = ((c * self.dims[0] + z) * h + y) * w;
                                f(col_off, in_off, lo, hi, l);
                            }
                        }
                    }
                }
            }
        }
    }

    fn im2col<T: WithDType>(&self, x: &[T], col: &mut [T]) {
        col.fill(T::zero());
        let (s, pad) = (self.stride[2], self.pad[2]);
        self.rows(|co, io, lo, hi, l| {
            let dst = &mut col[co + lo..co + hi];
            if s == 1 {
                let start = io + lo + l - pad;
                dst.copy_from_slice(&x[start..start + (hi - lo)]);
            } else {
                for (k, v) in dst.iter_mut().enumerate() {
                    *v = x[io + (lo + k) * s + l - pad];
                }
            }
        });
    }

    fn col2im<T: WithDType>(&self, col: &[T], gx: &mut [T]) {
        let (s, pad) = (self.stride[2], self.pad[2]);
        self.rows(|co, io, lo, hi, l| {
            let src = &col[co + lo..co + hi];
            for (k, v) in src.iter().enumerate() {
                gx[io + (lo + k) * s + l - pad] += *v;
            }
        });
    }
}

/// `dst (m×n, row-major) = [dst +] A·B` with A, B given by pointer and (row, column) strides.
#[allow(clippy::too_many_arguments)]
fn gemm_rm<T: WithDType>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    accumulate: bool,
    a: &[T],
    a_rs: isize,
    a_cs: isize,
    b: &[T],
    b_rs: isize,
    b_cs: isize,
) {
    debug_assert!(dst.len() >= m * n);
    // SAFETY: every index the kernel touches lies inside the slices (checked by the callers'
    // shapes: A is m×k, B is k×n, dst is m×n with the given strides).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            T::one(),
            T::one(),
            false,
            false,
            false,
            Parallelism::None,
        )
    }
}

/// Fixed split of `n` samples into chunks (one per thread), the same on every run.
fn chunks(n: usize) -> usize {
    n.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

impl ConvGeom {
    pub(crate) fn fwd<T: WithDType>(&self, x: &[T], w: &[T]) -> Vec<T> {
        let (kk, pi, po) = (self.kk(), self.p_in(), self.p_out());
        let mut y = vec![T::zero(); self.n * self.cout * po];
        let per = chunks(self.n);
        y.par_chunks_mut(per * self.cout * po)
            .enumerate()
            .for_each(|(ci, ys)| {
                let mut col = if self.pointwise() {
                    Vec::new()
                } else {
                    vec![T::zero(); kk * po]
                };
                for (j, yn) in ys.chunks_mut(self.cout * po).enumerate() {
                    let s = ci * per + j;
                    let xn = &x[s * self.cin * pi..(s + 1) * self.cin * pi];
                    let cols: &[T] = if self.pointwise() {
                        xn
                    } else {
                        self.im2col(xn, &mut col);
                        &col
                    };
                    gemm_rm(
                        self.cout,
                        po,
                        kk,
                        yn,
                        false,
                        w,
                        kk as isize,
                        1,
                        cols,
                        po as isize,
                        1,
                    );
                }
            });
        y
    }

    pub(crate) fn bwd_input<T: WithDType>(&self, g: &[T], w: &[T]) -> Vec<T> {
        let (kk, pi, po) = (self.kk(), self.p_in(), self.p_out());
        let mut gx = vec![T::zero(); self.n * self.cin * pi];
        let per = chunks(self.n);
        gx.par_chunks_mut(per * self.cin * pi)
            .enumerate()
            .for_each(|(ci, gxs)| {
                let mut col = vec![T::zero(); if self.pointwise() { 0 } else { kk * po }];
                for (j, gxn) in gxs.chunks_mut(self.cin * pi).enumerate() {
                    let s = ci * per + j;
                    let gn = &g[s * self.cout * po..(s + 1) * self.cout * po];
                    // Wᵀ (kk × cout) · dY (cout × po)
                    if self.pointwise() {
                        gemm_rm(
                            kk,
                            po,
                            self.cout,
                            gxn,
                            false,
                            w,
                            1,
                            kk as isize,
                            gn,
                            po as isize,
                            1,
                        );
                    } else {
                        gemm_rm(
                            kk,
                            po,
                            self.cout,
                            &mut col,
                            false,
                            w,
                            1,
                            kk as isize,
                            gn,
                            po as isize,
                            1,
                        );
                        self.col2im(&col, gxn);
                    }
                }
            });
        gx
    }

    pub(crate) fn bwd_weight<T: WithDType>(&self, x: &[T], g: &[T]) -> Vec<T> {
        let (kk, pi, po) = (self.kk(), self.p_in(), self.p_out());
        let per = chunks(self.n);
        let nchunks = self.n.div_ceil(per);
        let partial: Vec<Vec<T>> = (0..nchunks)
            .into_par_iter()
            .map(|ci| {
                let mut gw = vec![T::zero(); self.cout * kk];
                let mut col = vec![T::zero(); if self.pointwise() { 0 } else { kk * po }];
                for s in ci * per..((ci + 1) * per).min(self.n) {
                    let xn = &x[s * self.cin * pi..(s + 1) * self.cin * pi];
                    let gn = &g[s * self.cout * po..(s + 1) * self.cout * po];
                    let cols: &[T] = if self.pointwise() {
                        xn
                    } else {
                        self.im2col(xn, &mut col);
                        &col
                    };
                    // dY (cout × po) · colᵀ (po × kk)
                    gemm_rm(
                        self.cout,
                        kk,
                        po,
                        &mut gw,
                        true,
                        gn,
                        po as isize,
                        1,
                        cols,
                        1,
                        po as isize,
                    );
                }
                gw
            })
            .collect();
        let mut it = partial.into_iter();
        let mut gw = it.next().unwrap_or_else(|| vec![T::zero(); self.cout * kk]);
        for p in it {
            for (a, b) in gw.iter_mut().zip(p) {
                *a += b;
            }
        }
        gw
    }
}

pub(crate) struct ConvFwd(pub ConvGeom);
struct ConvBwdInput(ConvGeom);
struct ConvBwdWeight(ConvGeom);

impl CustomOp2 for ConvFwd {
    fn name(&self) -> &'static str {
        "conv3d-gemm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = self.0;
        if let Some((isa, x, w)) = direct_operands(&g, |p| p.forward, s1, l1, s2, l2)? {
            let y = CpuStorage::F32(conv_direct::forward(&g, isa, x, w));
            return Ok((
                y,
                Shape::from(vec![g.n, g.cout, g.out[0], g.out[1], g.out[2]]),
            ));
        }
        let y = dispatch2!("convolution", s1, l1, s2, l2, |x, w| g.fwd(x, w));
        Ok((
            y,
            Shape::from(vec![g.n, g.cout, g.out[0], g.out[1], g.out[2]]),
        ))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        g: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = g.contiguous()?;
        // No input gradient for data (an input that is neither a variable nor computed).
        let gx = if x.track_op() {
            Some(g.apply_op2_no_bwd(w, &ConvBwdInput(self.0))?)
        } else {
            None
        };
        let gw = x.apply_op2_no_bwd(&g, &ConvBwdWeight(self.0))?;
        Ok((gx, Some(gw)))
    }
}

cpu_op2!(
    ConvBwdInput,
    "conv3d-gemm-bwd-input",
    |this, s1, l1, s2, l2| {
        let g = this.0;
        let gx = match direct_operands(&g, |p| p.input, s1, l1, s2, l2)? {
            Some((isa, gy, w)) => CpuStorage::F32(conv_direct::backward_input(&g, isa, gy, w)),
            None => dispatch2!("convolution", s1, l1, s2, l2, |gy, w| g.bwd_input(gy, w)),
        };
        Ok((
            gx,
            Shape::from(vec![g.n, g.cin, g.dims[0], g.dims[1], g.dims[2]]),
        ))
    }
);

cpu_op2!(
    ConvBwdWeight,
    "conv3d-gemm-bwd-weight",
    |this, s1, l1, s2, l2| {
        let g = this.0;
        let gw = match direct_operands(&g, |p| p.weight, s1, l1, s2, l2)? {
            Some((isa, x, gy)) => CpuStorage::F32(conv_direct::backward_weight(&g, isa, x, gy)),
            None => dispatch2!("convolution", s1, l1, s2, l2, |x, gy| g.bwd_weight(x, gy)),
        };
        Ok((gw, Shape::from(vec![g.cout, g.cin, g.k[0], g.k[1], g.k[2]])))
    }
);

/// The instruction set of the direct kernel and a pass's two f32 operands.
type DirectOperands<'a> = (conv_direct::Isa, &'a [f32], &'a [f32]);

/// The instruction set and the two f32 operands when the direct kernel runs this pass (`pass`
/// picks it from the geometry's [`Plan`](conv_direct::Plan)).
fn direct_operands<'a>(
    g: &ConvGeom,
    pass: fn(&conv_direct::Plan) -> bool,
    s1: &'a CpuStorage,
    l1: &Layout,
    s2: &'a CpuStorage,
    l2: &Layout,
) -> candle_core::Result<Option<DirectOperands<'a>>> {
    use candle_core::backend::BackendStorage;
    if s1.dtype() != DType::F32 || s2.dtype() != DType::F32 {
        return Ok(None);
    }
    match conv_direct::Plan::of(g) {
        Some(plan) if pass(&plan) => Ok(Some((plan.isa, slice(s1, l1)?, slice(s2, l2)?))),
        _ => Ok(None),
    }
}

/// True when the fast kernel can run these operands (CPU, f32 or f64, same dtype).
pub(crate) fn usable(x: &Tensor, w: &Tensor) -> bool {
    x.device().is_cpu()
        && w.device().is_cpu()
        && matches!(x.dtype(), DType::F32 | DType::F64)
        && x.dtype() == w.dtype()
}

/// Runs the kernel on x `(N, Cin, D, H, W)` and w `(Cout, Cin, kD, kH, kW)`.
pub(crate) fn conv(x: &Tensor, w: &Tensor, geom: ConvGeom) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op2(&w.contiguous()?, ConvFwd(geom))
}
