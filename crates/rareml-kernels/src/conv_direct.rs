//! Stride-1 convolution over (D, H, W) in f32 as an implicit GEMM with AVX-512 or AVX2 + FMA: no
//! im2col and no packing of the large operand.
//!
//! Each sample is copied once into a zero-padded volume of `(oD + kD − 1) × (oH + kH − 1) ×
//! (oW + kW − 1)` per channel. Output positions are numbered on that padded grid (`q = (a·Hp + b)·Wp
//! + x`), so tap `(i, j, l)` of channel `c` reads the padded input at `q + c·Vp + (i·Hp + j)·Wp + l`:
//! one fixed offset per GEMM row. A register tile of output channels × consecutive positions runs
//! over all `Cin·kD·kH·kW` rows reading a few vectors of the padded input and one broadcast weight
//! per channel and row — 8 × 48 (24 zmm accumulators) with AVX-512, 4 × 24 (12 of the 16 ymm
//! registers) with AVX2 ([`Isa`]); the positions `x ≥ oW` of each grid row are computed and
//! dropped (`kW − 1` per row). The input gradient of a stride-1 convolution is the same kernel on
//! the output gradient with the weight transposed and flipped and padding `k − 1 − pad`.

use crate::conv_kernel::ConvGeom;
use rayon::prelude::*;

/// The instruction set of the direct kernel, which fixes its register tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// AVX-512F: 8 channels × 48 positions (3 zmm per channel); weight gradient 4 × 4 sums.
    Avx512,
    /// AVX2 + FMA: 6 channels × 16 positions (2 ymm per channel: 12 accumulators, 2 input
    /// vectors and the broadcast weight in the 16 ymm registers; 4 × 24 needed all 16 and the
    /// compiler spilled one accumulator to the stack every row: 581 against 358 ms, on an
    /// AVX-512 Xeon capped to AVX2, for NEWSnet's
    /// 32 → 64 forward at 9 × 40 × 40); weight gradient 3 × 4 sums.
    Avx2,
}

/// Channels and vectors per forward tile with AVX-512 (see [`Isa::Avx512`]).
const AVX512_MR: usize = 8;
const AVX512_NV: usize = 3;
/// Channels and vectors per forward tile with AVX2 (see [`Isa::Avx2`]).
const AVX2_MR: usize = 6;
const AVX2_NV: usize = 2;
/// Rows and columns of the AVX2 weight-gradient tile (12 accumulators, 3 output-gradient vectors
/// and one input vector: the 16 ymm registers).
const AVX2_WM: usize = 3;
const AVX2_WN: usize = 4;
/// Rows and columns of the AVX-512 weight-gradient tile (4 × 4: sixteen accumulators, four
/// output-gradient and one input vector stay in registers; the 4 × 6 tile spilled accumulators to
/// the stack and ran the conv3d forward + backward bench at 256 instead of 432 GFLOP/s).
const AVX512_WM: usize = 4;
const AVX512_WN: usize = 4;
/// Grid positions per depth slice below which im2col + gemm runs instead (4 AVX-512 tiles). The
/// same for AVX2: measured per pass on NEWSnet's layers at batch 32 with AVX2 gemm (an AVX-512
/// Xeon capped to AVX2, docs/performance.md), a 10 × 10
/// slice (120 positions) ran 68.6 ms direct against 66.1 ms through gemm (128 → 128 forward), a
/// 16 × 16 one (288) 62 against 82 ms (64 → 64).
const MIN_SLICE_POSITIONS: usize = 192;
/// The largest forward tile (`mr · nr`) of any instruction set.
const MAX_TILE: usize = AVX512_MR * 16 * AVX512_NV;

impl Isa {
    /// The widest instruction set this CPU runs the kernel with under `RAREML_SIMD`, if any.
    pub(crate) fn best() -> Option<Isa> {
        #[cfg(target_arch = "x86_64")]
        {
            if crate::cpu::has_avx512() {
                return Some(Isa::Avx512);
            }
            if crate::cpu::has_avx2_fma() {
                return Some(Isa::Avx2);
            }
        }
        None
    }

    /// Output channels per forward tile.
    fn mr(self) -> usize {
        match self {
            Isa::Avx512 => AVX512_MR,
            Isa::Avx2 => AVX2_MR,
        }
    }

    /// Positions per forward tile.
    fn nr(self) -> usize {
        match self {
            Isa::Avx512 => 16 * AVX512_NV,
            Isa::Avx2 => 8 * AVX2_NV,
        }
    }

    /// f32 lanes per vector.
    fn lanes(self) -> usize {
        match self {
            Isa::Avx512 => 16,
            Isa::Avx2 => 8,
        }
    }
}

/// False when `RAREML_CONV_DIRECT=off` (read once); any other value is a warning and allows it.
fn direct_allowed() -> bool {
    use std::sync::OnceLock;
    static ALLOWED: OnceLock<bool> = OnceLock::new();
    *ALLOWED.get_or_init(|| {
        crate::cpu::env_choice("RAREML_CONV_DIRECT", &[("on", true), ("off", false)], true)
    })
}

/// True when the geometry suits the kernel at all: stride 1, padding below the kernel size and
/// not a 1×1×1 convolution (that one is a plain GEMM).
fn suits(g: &ConvGeom) -> bool {
    g.stride == [1; 3] && (0..3).all(|a| g.pad[a] < g.k[a]) && g.k != [1; 3]
}

/// Which passes of a convolution the direct kernel should run, and with which instruction set:
/// where it suits the geometry and beats im2col + GEMM (enough output channels to fill a tile,
/// grid rows mostly valid, enough positions per depth slice; the weight gradient needs long
/// position ranges to amortise its horizontal sums). Small spatial sizes stay on im2col + GEMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The instruction set of the tiles.
    pub isa: Isa,
    /// Forward pass.
    pub forward: bool,
    /// Input gradient.
    pub input: bool,
    /// Weight gradient.
    pub weight: bool,
}

impl Plan {
    /// The plan for `g` on this CPU, or `None` when no pass can run directly (another stride,
    /// padding or 1×1×1 kernel, a CPU without AVX2 + FMA, or `RAREML_CONV_DIRECT=off`: every
    /// convolution on im2col + gemm, to measure what the direct kernel gains).
    pub(crate) fn of(g: &ConvGeom) -> Option<Self> {
        if !direct_allowed() {
            return None;
        }
        Self::with(g, Isa::best()?)
    }

    /// The plan for `g` with the tiles of `isa`.
    fn with(g: &ConvGeom, isa: Isa) -> Option<Self> {
        if !suits(g) {
            return None;
        }
        let fwd = Problem::forward(g, isa);
        let bwd = Problem::input_gradient(g, isa);
        Some(Plan {
            isa,
            forward: fwd.tiles_pay(),
            input: bwd.tiles_pay(),
            weight: fwd.tiles_pay() && fwd.positions() >= WQ / 2,
        })
    }
}

/// The direct kernel's problem: `cin → cout` channels, input `dims`, kernel `k`, zero padding
/// `pad` before each axis, output `out` (stride 1), tiles of `isa`.
#[derive(Debug, Clone, Copy)]
struct Problem {
    n: usize,
    cin: usize,
    cout: usize,
    dims: [usize; 3],
    k: [usize; 3],
    pad: [usize; 3],
    out: [usize; 3],
    isa: Isa,
}

impl Problem {
    /// The forward convolution of `g`.
    fn forward(g: &ConvGeom, isa: Isa) -> Self {
        Problem {
            n: g.n,
            cin: g.cin,
            cout: g.cout,
            dims: g.dims,
            k: g.k,
            pad: g.pad,
            out: g.out,
            isa,
        }
    }

    /// The input gradient of `g` as a convolution of the output gradient.
    fn input_gradient(g: &ConvGeom, isa: Isa) -> Self {
        Problem {
            n: g.n,
            cin: g.cout,
            cout: g.cin,
            dims: g.out,
            k: g.k,
            pad: [0, 1, 2].map(|a| g.k[a] - 1 - g.pad[a]),
            out: g.dims,
            isa,
        }
    }

    /// At least a full tile of output channels, ≥ 3/4 of each grid row valid and ≥
    /// [`MIN_SLICE_POSITIONS`] positions per depth slice.
    fn tiles_pay(&self) -> bool {
        let [_, _, gw] = self.grid();
        self.cout >= self.isa.mr()
            && 4 * self.out[2] >= 3 * gw
            && self.out[1] * gw >= MIN_SLICE_POSITIONS
    }

    /// Padded grid `(oD + kD − 1, oH + kH − 1, oW + kW − 1)`.
    fn grid(&self) -> [usize; 3] {
        [0, 1, 2].map(|a| self.out[a] + self.k[a] - 1)
    }
    fn vp(&self) -> usize {
        self.grid().iter().product()
    }
    /// Distance between channels in the padded buffer.
    fn stride_c(&self) -> usize {
        self.vp()
    }
    /// Padded channels plus slack for the last tile's reads past the grid (at most
    /// `nr + kW` values).
    fn buffer_len(&self) -> usize {
        self.cin * self.stride_c() + self.isa.nr() + self.grid()[2] + 16
    }

    /// Copies sample `x` (cin × dims) into `buf` on the padded grid.
    fn pad_input(&self, x: &[f32], buf: &mut [f32]) {
        let [gd, gh, gw] = self.grid();
        let [d, h, w] = self.dims;
        buf.fill(0.0);
        // Grid index g reads input index g − pad when that lies in [0, len).
        let src = |g: usize, a: usize, len: usize| g.checked_sub(self.pad[a]).filter(|&s| s < len);
        for c in 0..self.cin {
            for z in 0..gd {
                let Some(sz) = src(z, 0, d) else { continue };
                for y in 0..gh {
                    let Some(sy) = src(y, 1, h) else { continue };
                    // Columns x of the grid read input column x − pad.
                    let x0 = self.pad[2];
                    let len = w.min(gw.saturating_sub(x0));
                    let src = ((c * d + sz) * h + sy) * w;
                    let dst = c * self.stride_c() + (z * gh + y) * gw + x0;
                    buf[dst..dst + len].copy_from_slice(&x[src..src + len]);
                }
            }
        }
    }

    /// Offset of every GEMM row `(c, i, j, l)` into the padded buffer.
    fn row_offsets(&self) -> Vec<usize> {
        let [_, gh, gw] = self.grid();
        let [kd, kh, kw] = self.k;
        let mut off = Vec::with_capacity(self.cin * kd * kh * kw);
        for c in 0..self.cin {
            for i in 0..kd {
                for j in 0..kh {
                    for l in 0..kw {
                        off.push(c * self.stride_c() + (i * gh + j) * gw + l);
                    }
                }
            }
        }
        off
    }

    /// Runs the convolution of every sample; `w_packed` from [`pack`] with this problem's `mr`.
    fn run(&self, x: &[f32], w_packed: &[f32]) -> Vec<f32> {
        let pi = self.cin * self.dims.iter().product::<usize>();
        let po: usize = self.out.iter().product();
        let offsets = self.row_offsets();
        let mut y = vec![0f32; self.n * self.cout * po];
        y.par_chunks_mut(self.cout * po)
            .zip(x.par_chunks(pi))
            .for_each_init(
                || vec![0f32; self.buffer_len()],
                |buf, (ys, xs)| {
                    self.pad_input(xs, buf);
                    // SAFETY: the CPU has the tiles' instruction set (`Isa::best` or the tests
                    // checked it); every read stays inside `buf` (its slack covers the last
                    // tile) and `w_packed`.
                    unsafe { self.sample(buf, w_packed, &offsets, ys) };
                },
            );
        y
    }

    /// One sample's output channels into `y` (`cout × out` values) from its padded input `buf`.
    ///
    /// # Safety
    ///
    /// The CPU must have the instruction set `self.isa`; `buf` must be [`Problem::buffer_len`]
    /// long (the slack past the grid covers the last tile's reads), `w` packed by [`pack`] for
    /// this problem, `offsets` [`Problem::row_offsets`].
    unsafe fn sample(&self, buf: &[f32], w: &[f32], offsets: &[usize], y: &mut [f32]) {
        let [_, gh, gw] = self.grid();
        let [od, oh, ow] = self.out;
        let (mr, nr) = (self.isa.mr(), self.isa.nr());
        let po = od * oh * ow;
        let kk = offsets.len();
        let blocks = self.cout.div_ceil(mr);
        let mut tile = [0f32; MAX_TILE];
        for a in 0..od {
            let start = a * gh * gw;
            let end = start + oh * gw;
            let mut q0 = start;
            while q0 < end {
                let base = buf.as_ptr().add(q0);
                for blk in 0..blocks {
                    let wb = w.as_ptr().add(blk * kk * mr);
                    match self.isa {
                        Isa::Avx512 => {
                            kernel_avx512::<AVX512_MR, AVX512_NV>(kk, wb, base, offsets, &mut tile)
                        }
                        Isa::Avx2 => {
                            kernel_avx2::<AVX2_MR, AVX2_NV>(kk, wb, base, offsets, &mut tile)
                        }
                    }
                    // Scatter the valid positions of the tile into the output.
                    let rows = mr.min(self.cout - blk * mr);
                    let mut t = 0;
                    while t < nr && q0 + t < end {
                        let local = q0 + t - start;
                        let (b, xx) = (local / gw, local % gw);
                        let run = (gw - xx).min(nr - t).min(end - q0 - t);
                        if xx < ow {
                            let len = run.min(ow - xx);
                            for r in 0..rows {
                                let dst = (blk * mr + r) * po + (a * oh + b) * ow + xx;
                                y[dst..dst + len]
                                    .copy_from_slice(&tile[r * nr + t..r * nr + t + len]);
                            }
                        }
                        t += run;
                    }
                }
                q0 += nr;
            }
        }
    }
}

/// Defines the forward register tile of one instruction set, `$name::<MR, NV>`:
/// `tile[r·L·NV + t] = Σ_k w[k][r] · base[offsets[k] + t]` for `MR` channels and `L·NV` positions
/// (`L` = `$lanes` f32 per vector): `NV` input vectors and `MR` broadcast weights per GEMM row.
/// The same code for AVX-512 and AVX2; only the intrinsics and the tile shape differ.
macro_rules! tile_kernel {
    ($name:ident, $feature:literal, $lanes:literal, $zero:ident, $load:ident, $set1:ident, $fma:ident, $store:ident) => {
        /// One forward register tile (see `tile_kernel!`).
        ///
        /// # Safety
        ///
        #[doc = concat!("The CPU must have ", $feature, "; `w` must point to `kk × MR` readable")]
        /// values and `base + offsets[k] + lanes·NV − 1` be readable for every `k < kk`;
        /// `MR · lanes · NV ≤ MAX_TILE`.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        #[inline]
        unsafe fn $name<const MR: usize, const NV: usize>(
            kk: usize,
            w: *const f32,
            base: *const f32,
            offsets: &[usize],
            tile: &mut [f32; MAX_TILE],
        ) {
            use std::arch::x86_64::*;
            let mut acc = [[$zero(); NV]; MR];
            for (k, &off) in offsets[..kk].iter().enumerate() {
                let p = base.add(off);
                let mut b = [$zero(); NV];
                for (j, b) in b.iter_mut().enumerate() {
                    *b = $load(p.add($lanes * j));
                }
                let wk = w.add(k * MR);
                for (r, acc) in acc.iter_mut().enumerate() {
                    let wr = $set1(*wk.add(r));
                    for j in 0..NV {
                        acc[j] = $fma(wr, b[j], acc[j]);
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                for (j, v) in acc.iter().enumerate() {
                    $store(tile.as_mut_ptr().add((r * NV + j) * $lanes), *v);
                }
            }
        }

        /// # Safety
        ///
        /// Never called: the direct kernel exists only on x86-64.
        #[cfg(not(target_arch = "x86_64"))]
        unsafe fn $name<const MR: usize, const NV: usize>(
            _: usize,
            _: *const f32,
            _: *const f32,
            _: &[usize],
            _: &mut [f32; MAX_TILE],
        ) {
            unreachable!("the direct kernel runs only where `Isa::best()` finds an instruction set")
        }
    };
}

tile_kernel!(
    kernel_avx512,
    "avx512f",
    16,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_storeu_ps
);
tile_kernel!(
    kernel_avx2,
    "avx2,fma",
    8,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps,
    _mm256_storeu_ps
);

/// Packs `w (cout × kk)` into blocks of `mr` output channels, row k of a block holding its `mr`
/// weights (zeros past `cout`).
fn pack(cout: usize, kk: usize, mr: usize, w: impl Fn(usize, usize) -> f32) -> Vec<f32> {
    let blocks = cout.div_ceil(mr);
    let mut p = vec![0f32; blocks * kk * mr];
    for blk in 0..blocks {
        for k in 0..kk {
            for r in 0..mr.min(cout - blk * mr) {
                p[(blk * kk + k) * mr + r] = w(blk * mr + r, k);
            }
        }
    }
    p
}

/// Forward convolution `x (n × cin × dims) → y (n × cout × out)` with `w (cout × cin × k)`, with
/// the tiles of `isa` (which the CPU must have: [`Plan::of`] chooses it).
pub(crate) fn forward(g: &ConvGeom, isa: Isa, x: &[f32], w: &[f32]) -> Vec<f32> {
    let kk = g.cin * g.k.iter().product::<usize>();
    let packed = pack(g.cout, kk, isa.mr(), |co, k| w[co * kk + k]);
    Problem::forward(g, isa).run(x, &packed)
}

/// Input gradient `dy (n × cout × out) → dx (n × cin × dims)`: the forward kernel on `dy` with
/// the weight transposed (cin ← cout) and flipped, padding `k − 1 − pad`.
pub(crate) fn backward_input(g: &ConvGeom, isa: Isa, dy: &[f32], w: &[f32]) -> Vec<f32> {
    let [kd, kh, kw] = g.k;
    let taps = kd * kh * kw;
    let kk = g.cout * taps;
    // Row k = (co, i, j, l) of output channel c reads w[co][c][kd−1−i][kh−1−j][kw−1−l].
    let packed = pack(g.cin, kk, isa.mr(), |c, k| {
        let (co, t) = (k / taps, k % taps);
        let (i, j, l) = (t / (kh * kw), (t / kw) % kh, t % kw);
        let flipped = ((kd - 1 - i) * kh + (kh - 1 - j)) * kw + (kw - 1 - l);
        w[(co * g.cin + c) * taps + flipped]
    });
    Problem::input_gradient(g, isa).run(dy, &packed)
}

/// Grid positions per weight-gradient block (the output-gradient rows and input rows of a block
/// stay in L2 across the tiles).
const WQ: usize = 2048;

/// A weight-gradient tile kernel: `sums[r][s] = Σ_q d[r][q] · p[s][q]` over `lanes · vectors`
/// positions.
type WeightKernel<const WM: usize, const WN: usize> =
    unsafe fn(usize, [*const f32; WM], [*const f32; WN]) -> [[f32; WN]; WM];

impl Problem {
    /// Length of the grid range that holds every output position, rounded up to whole 16-float
    /// vectors (so to whole vectors of either instruction set).
    fn positions(&self) -> usize {
        let [_, gh, gw] = self.grid();
        let [od, oh, _] = self.out;
        ((od - 1) * gh * gw + oh * gw).div_ceil(16) * 16
    }

    /// Copies `dy (cout × out)` onto the grid positions (zeros elsewhere), `rows` rows.
    fn grid_output(&self, dy: &[f32], rows: usize, buf: &mut [f32]) {
        let [_, gh, gw] = self.grid();
        let [od, oh, ow] = self.out;
        let lq = self.positions();
        buf.fill(0.0);
        for co in 0..self.cout.min(rows) {
            for a in 0..od {
                for b in 0..oh {
                    let src = ((co * od + a) * oh + b) * ow;
                    let dst = co * lq + (a * gh + b) * gw;
                    buf[dst..dst + ow].copy_from_slice(&dy[src..src + ow]);
                }
            }
        }
    }

    /// Weight gradient `Σ_samples dy · colᵀ` as `(cout × cin·k)`, f32.
    fn weight_gradient(&self, x: &[f32], dy: &[f32]) -> Vec<f32> {
        match self.isa {
            Isa::Avx512 => self.weight_gradient_with::<AVX512_WM, AVX512_WN>(
                x,
                dy,
                weight_kernel_avx512::<AVX512_WM, AVX512_WN>,
            ),
            Isa::Avx2 => self.weight_gradient_with::<AVX2_WM, AVX2_WN>(
                x,
                dy,
                weight_kernel_avx2::<AVX2_WM, AVX2_WN>,
            ),
        }
    }

    /// [`Problem::weight_gradient`] with `WM × WN` tiles of `kernel`.
    fn weight_gradient_with<const WM: usize, const WN: usize>(
        &self,
        x: &[f32],
        dy: &[f32],
        kernel: WeightKernel<WM, WN>,
    ) -> Vec<f32> {
        let pi = self.cin * self.dims.iter().product::<usize>();
        let po: usize = self.out.iter().product();
        let mut offsets = self.row_offsets();
        let kk = offsets.len();
        // Whole tiles: extra rows read offset 0 and are dropped.
        offsets.resize(kk.div_ceil(WN) * WN, 0);
        let rows = self.cout.div_ceil(WM) * WM;
        let lq = self.positions();
        let per = self.n.div_ceil(rayon::current_num_threads().max(1)).max(1);
        let partial: Vec<Vec<f32>> = (0..self.n.div_ceil(per))
            .into_par_iter()
            .map(|t| {
                let mut gw = vec![0f32; rows * offsets.len()];
                let mut buf = vec![0f32; self.buffer_len()];
                let mut grid_dy = vec![0f32; rows * lq];
                for s in t * per..((t + 1) * per).min(self.n) {
                    self.pad_input(&x[s * pi..(s + 1) * pi], &mut buf);
                    self.grid_output(
                        &dy[s * self.cout * po..(s + 1) * self.cout * po],
                        rows,
                        &mut grid_dy,
                    );
                    // SAFETY: the CPU has the instruction set of `kernel` (callers check); reads
                    // stay in `grid_dy` (lq per row) and `buf` (offsets + lq ≤ its length, slack
                    // included).
                    unsafe { self.weight_tiles(&buf, &grid_dy, lq, &offsets, &mut gw, kernel) };
                }
                gw
            })
            .collect();
        let width = offsets.len();
        let mut out = vec![0f32; self.cout * kk];
        for p in &partial {
            for co in 0..self.cout {
                for (o, v) in out[co * kk..(co + 1) * kk]
                    .iter_mut()
                    .zip(&p[co * width..co * width + kk])
                {
                    *o += v;
                }
            }
        }
        out
    }

    /// Adds the weight-gradient sums of one sample's rows into `gw` (`rows × offsets.len()`).
    ///
    /// # Safety
    ///
    /// The CPU must have the instruction set of `kernel`; `dy` must hold `rows × lq` values and
    /// `buf` be readable at `offsets[c] + q` for every column `c` and every `q` below `lq`
    /// rounded up to a whole tile (the padded buffer's slack); `rows` must be a multiple of `WM`
    /// and `offsets.len()` of `WN`.
    unsafe fn weight_tiles<const WM: usize, const WN: usize>(
        &self,
        buf: &[f32],
        dy: &[f32],
        lq: usize,
        offsets: &[usize],
        gw: &mut [f32],
        kernel: WeightKernel<WM, WN>,
    ) {
        let width = offsets.len();
        let rows = gw.len() / width;
        let mut q0 = 0;
        while q0 < lq {
            let vectors = (lq - q0).min(WQ) / self.isa.lanes();
            for r0 in (0..rows).step_by(WM) {
                let d: [*const f32; WM] =
                    std::array::from_fn(|r| dy.as_ptr().add((r0 + r) * lq + q0));
                for c0 in (0..width).step_by(WN) {
                    let p: [*const f32; WN] =
                        std::array::from_fn(|s| buf.as_ptr().add(offsets[c0 + s] + q0));
                    let sums = kernel(vectors, d, p);
                    for (r, row) in sums.iter().enumerate() {
                        for (s, v) in row.iter().enumerate() {
                            gw[(r0 + r) * width + c0 + s] += v;
                        }
                    }
                }
            }
            q0 += WQ;
        }
    }
}

/// Defines the weight-gradient tile of one instruction set, `$name::<WM, WN>`:
/// `sums[r][s] = Σ_v d[r][Lv..Lv+L] · p[s][Lv..Lv+L]` for `WM × WN` sums (`L` = `$lanes`), the
/// `WM` output-gradient vectors and one input vector in registers. No closures inside: a closure
/// is compiled without the function's target feature, so the final reductions had become calls
/// (5 % of a NEWSnet training run in `perf`).
macro_rules! weight_kernel {
    ($name:ident, $feature:literal, $lanes:literal, $zero:ident, $load:ident, $fma:ident, $sum:ident) => {
        /// One weight-gradient tile (see `weight_kernel!`).
        ///
        /// # Safety
        ///
        #[doc = concat!("The CPU must have ", $feature, "; every `d[r]` and `p[s]` must point to")]
        /// `lanes · vectors` readable values.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        unsafe fn $name<const WM: usize, const WN: usize>(
            vectors: usize,
            d: [*const f32; WM],
            p: [*const f32; WN],
        ) -> [[f32; WN]; WM] {
            use std::arch::x86_64::*;
            let mut acc = [[$zero(); WN]; WM];
            for v in 0..vectors {
                let o = $lanes * v;
                let mut dv = [$zero(); WM];
                for r in 0..WM {
                    dv[r] = $load(d[r].add(o));
                }
                for s in 0..WN {
                    let b = $load(p[s].add(o));
                    for r in 0..WM {
                        acc[r][s] = $fma(dv[r], b, acc[r][s]);
                    }
                }
            }
            let mut sums = [[0f32; WN]; WM];
            for r in 0..WM {
                for s in 0..WN {
                    sums[r][s] = $sum(acc[r][s]);
                }
            }
            sums
        }

        /// # Safety
        ///
        /// Never called: the direct kernel exists only on x86-64.
        #[cfg(not(target_arch = "x86_64"))]
        unsafe fn $name<const WM: usize, const WN: usize>(
            _: usize,
            _: [*const f32; WM],
            _: [*const f32; WN],
        ) -> [[f32; WN]; WM] {
            unreachable!("the direct kernel runs only where `Isa::best()` finds an instruction set")
        }
    };
}

/// The sum of the eight lanes of `v`: the two 128-bit halves, then the four lanes.
///
/// # Safety
///
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn sum256(v: std::arch::x86_64::__m256) -> f32 {
    use std::arch::x86_64::*;
    let h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    let h = _mm_add_ss(h, _mm_shuffle_ps::<0b01>(h, h));
    _mm_cvtss_f32(h)
}

weight_kernel!(
    weight_kernel_avx512,
    "avx512f",
    16,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_fmadd_ps,
    _mm512_reduce_add_ps
);
weight_kernel!(
    weight_kernel_avx2,
    "avx2,fma",
    8,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_fmadd_ps,
    sum256
);

/// Weight gradient `(cout × cin × k)` from `x (n × cin × dims)` and `dy (n × cout × out)`, with
/// the tiles of `isa`.
pub(crate) fn backward_weight(g: &ConvGeom, isa: Isa, x: &[f32], dy: &[f32]) -> Vec<f32> {
    Problem::forward(g, isa).weight_gradient(x, dy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [−1, 1).
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    fn geom(
        n: usize,
        cin: usize,
        cout: usize,
        dims: [usize; 3],
        k: [usize; 3],
        pad: [usize; 3],
        after: [usize; 3],
    ) -> ConvGeom {
        let out = [0, 1, 2].map(|a| dims[a] + pad[a] + after[a] + 1 - k[a]);
        ConvGeom {
            n,
            cin,
            dims,
            cout,
            k,
            stride: [1; 3],
            pad,
            out,
        }
    }

    fn assert_close(what: &str, a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len(), "{what}: length");
        let scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 2e-5 * scale,
                "{what}[{i}]: direct {x} vs im2col {y}"
            );
        }
    }

    /// The instruction sets this CPU runs under `RAREML_SIMD`: both on an AVX-512 machine.
    fn isas() -> Vec<Isa> {
        let mut v = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if crate::cpu::has_avx512() {
                v.push(Isa::Avx512);
            }
            if crate::cpu::has_avx2_fma() {
                v.push(Isa::Avx2);
            }
        }
        v
    }

    /// The three passes against im2col + GEMM, with the tiles of every instruction set the CPU
    /// has, on geometries with partial tiles (channels not a multiple of 8, 4 or 3, rows not a
    /// multiple of 48 or 24), several weight-gradient blocks, an even kernel padded unevenly, a
    /// 1×3×3 kernel and a valid convolution.
    #[test]
    fn direct_kernels_match_im2col_gemm() {
        if isas().is_empty() {
            eprintln!("no AVX2 + FMA: the direct kernel is not used on this CPU");
            return;
        }
        for isa in isas() {
            for g in [
                geom(2, 3, 10, [4, 5, 7], [3, 3, 3], [1; 3], [1; 3]),
                geom(1, 9, 11, [3, 12, 53], [3, 3, 3], [1; 3], [1; 3]),
                geom(2, 2, 5, [6, 20, 30], [3, 3, 3], [1; 3], [1; 3]),
                geom(1, 3, 8, [5, 6, 7], [2, 2, 2], [0; 3], [1; 3]),
                geom(2, 4, 9, [1, 9, 17], [1, 3, 3], [0, 1, 1], [0, 1, 1]),
                geom(1, 2, 16, [4, 5, 6], [3, 3, 3], [0; 3], [0; 3]),
                geom(3, 5, 7, [3, 13, 29], [3, 3, 3], [1; 3], [1; 3]),
            ] {
                let what = format!("{isa:?} {g:?}");
                let x = values(g.n * g.cin * g.dims.iter().product::<usize>(), 1);
                let w = values(g.cout * g.cin * g.k.iter().product::<usize>(), 2);
                let dy = values(g.n * g.cout * g.out.iter().product::<usize>(), 3);
                assert_close(
                    &format!("{what} y"),
                    &forward(&g, isa, &x, &w),
                    &g.fwd(&x, &w),
                );
                assert_close(
                    &format!("{what} dx"),
                    &backward_input(&g, isa, &dy, &w),
                    &g.bwd_input(&dy, &w),
                );
                assert_close(
                    &format!("{what} dw"),
                    &backward_weight(&g, isa, &x, &dy),
                    &g.bwd_weight(&x, &dy),
                );
            }
        }
    }

    #[test]
    fn plan_keeps_small_grids_on_gemm() {
        for isa in isas() {
            let all = |on| Plan {
                isa,
                forward: on,
                input: on,
                weight: on,
            };
            // NEWSnet's stem (9×40×40, 32 → 64): every pass direct.
            let stem = geom(32, 32, 64, [9, 40, 40], [3; 3], [1; 3], [1; 3]);
            assert_eq!(Plan::with(&stem, isa), Some(all(true)), "{isa:?}");
            // Its first layer (1 input channel): the input gradient would fill 1 row of a tile.
            let first = geom(32, 1, 32, [9, 40, 40], [3; 3], [1; 3], [1; 3]);
            assert!(!Plan::with(&first, isa).unwrap().input, "{isa:?}");
            // 2×10×10 grids are mostly padding: im2col + GEMM.
            let small = geom(32, 64, 64, [2, 10, 10], [3; 3], [1; 3], [1; 3]);
            assert_eq!(Plan::with(&small, isa), Some(all(false)), "{isa:?}");
            // Strided and 1×1×1 convolutions are never direct.
            let mut strided = stem;
            strided.stride = [2; 3];
            assert_eq!(Plan::with(&strided, isa), None);
            let point = geom(32, 64, 64, [9, 40, 40], [1; 3], [0; 3], [0; 3]);
            assert_eq!(Plan::with(&point, isa), None);
        }
    }
}
