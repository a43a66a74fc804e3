//! Layer speed (criterion's elements/s = FLOP/s for the convolutions, elements for pooling):
//! `cargo bench -p rareml-kernels --bench kernels`.
//! Issue-9 targets on 2 cores: conv3d 3×3×3 32→64 on (32, 32, 9, 32, 32) ≥ 242 GFLOP/s forward and
//! ≥ 235 GFLOP/s forward + backward (PyTorch's figures on this machine).

use candle_core::{Device, Tensor, Var};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rareml_kernels::{
    conv3d, depthwise_conv2d, gemm_simd_level, pool3d, simd_level, Conv3dConfig, Pool3dConfig,
    PoolPadding,
};

// glibc returns each large output buffer to the kernel; the resulting page faults and TLB
// shootdowns cost more than the depthwise arithmetic itself (perf: > 50 % in the kernel).
// mimalloc with large freed blocks kept for reuse, as in the examples.
#[global_allocator]
static ALLOC: rareml_kernels::alloc::BlockCache<mimalloc::MiMalloc> =
    rareml_kernels::alloc::BlockCache::new(mimalloc::MiMalloc, 8 << 30);

/// `name` with the instruction sets it runs with, so that an `RAREML_SIMD=avx2` run (built with
/// `--no-default-features` for the gemm crate) keeps its own criterion history.
fn group(name: &str) -> String {
    format!(
        "{name} [{} kernels, {} gemm]",
        simd_level(),
        gemm_simd_level()
    )
}

fn conv(c: &mut Criterion) {
    if let Some(warning) = rareml_kernels::simd_mismatch() {
        eprintln!("warning: {warning}");
    }
    let dev = Device::Cpu;
    let (n, cin, cout, d, h, w) = (32, 32, 64, 9, 32, 32);
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (n, cin, d, h, w), &dev).unwrap()).unwrap();
    let wt =
        Var::from_tensor(&Tensor::randn(0f32, 0.1, (cout, cin, 3, 3, 3), &dev).unwrap()).unwrap();
    let cfg = Conv3dConfig::uniform(1, 1);
    let flop = 2 * n * cout * cin * 27 * d * h * w;
    let mut g = c.benchmark_group(group("conv3d 3x3x3 32->64 (32,32,9,32,32)"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(flop as u64));
    g.bench_function("forward", |b| {
        b.iter(|| conv3d(x.as_tensor(), wt.as_tensor(), None, &cfg).unwrap())
    });
    // Forward + backward = 3× the forward's FLOPs (input and weight gradients).
    g.throughput(Throughput::Elements(3 * flop as u64));
    g.bench_function("forward+backward", |b| {
        b.iter(|| {
            let y = conv3d(x.as_tensor(), wt.as_tensor(), None, &cfg).unwrap();
            y.sum_all().unwrap().backward().unwrap()
        })
    });
    g.finish();

    let xd = Var::from_tensor(&Tensor::randn(0f32, 1.0, (32, 96, 64, 64), &dev).unwrap()).unwrap();
    let wd = Var::from_tensor(&Tensor::randn(0f32, 0.1, (96, 1, 3, 3), &dev).unwrap()).unwrap();
    let dw_flop = (2 * 32 * 96 * 64 * 64 * 9) as u64;
    let mut g = c.benchmark_group(group("depthwise 3x3 (32,96,64,64)"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(dw_flop));
    g.bench_function("forward", |b| {
        b.iter(|| depthwise_conv2d(xd.as_tensor(), wd.as_tensor(), [1, 1], [1, 1]).unwrap())
    });
    g.throughput(Throughput::Elements(3 * dw_flop));
    g.bench_function("forward+backward", |b| {
        b.iter(|| {
            let y = depthwise_conv2d(xd.as_tensor(), wd.as_tensor(), [1, 1], [1, 1]).unwrap();
            y.sum_all().unwrap().backward().unwrap()
        })
    });
    g.finish();

    // The sixteen depthwise convolutions of EfficientNet-B0 on a 2×128×128 input at batch 32:
    // (channels, input size, kernel, stride). Mostly small planes, where per-plane loops waste
    // most of each vector.
    let b0: [(usize, usize, usize, usize); 16] = [
        (32, 64, 3, 1),
        (96, 64, 3, 2),
        (144, 32, 3, 1),
        (144, 32, 5, 2),
        (240, 16, 5, 1),
        (240, 16, 3, 2),
        (480, 8, 3, 1),
        (480, 8, 3, 1),
        (480, 8, 5, 1),
        (672, 8, 5, 1),
        (672, 8, 5, 1),
        (672, 8, 5, 2),
        (1152, 4, 5, 1),
        (1152, 4, 5, 1),
        (1152, 4, 5, 1),
        (1152, 4, 3, 1),
    ];
    let layers: Vec<(Var, Var, usize, usize)> = b0
        .iter()
        .map(|&(c, h, k, s)| {
            let x = Tensor::randn(0f32, 1.0, (32, c, h, h), &dev).unwrap();
            let w = Tensor::randn(0f32, 0.1, (c, 1, k, k), &dev).unwrap();
            (
                Var::from_tensor(&x).unwrap(),
                Var::from_tensor(&w).unwrap(),
                s,
                (k - 1) / 2,
            )
        })
        .collect();
    let b0_flop: usize = b0
        .iter()
        .map(|&(c, h, k, s)| {
            let o = (h + 2 * ((k - 1) / 2) - k) / s + 1;
            2 * 32 * c * o * o * k * k
        })
        .sum();
    let mut g = c.benchmark_group(group(
        "depthwise EfficientNet-B0 2x128x128 batch 32 (16 layers)",
    ));
    g.sample_size(10);
    g.throughput(Throughput::Elements(b0_flop as u64));
    g.bench_function("forward", |b| {
        b.iter(|| {
            for (x, w, s, p) in &layers {
                depthwise_conv2d(x.as_tensor(), w.as_tensor(), [*s; 2], [*p; 2]).unwrap();
            }
        })
    });
    g.throughput(Throughput::Elements(3 * b0_flop as u64));
    g.bench_function("forward+backward", |b| {
        b.iter(|| {
            for (x, w, s, p) in &layers {
                let y = depthwise_conv2d(x.as_tensor(), w.as_tensor(), [*s; 2], [*p; 2]).unwrap();
                y.sum_all().unwrap().backward().unwrap();
            }
        })
    });
    g.finish();

    // The sgemm every non-direct convolution runs on: the gemm crate (AVX-512 kernels through its
    // `x86-v4` feature, on with `gemm-avx512`), 2048³, both cores.
    let n = 2048;
    let a = vec![1.0f32; n * n];
    let bm = vec![0.5f32; n * n];
    let mut dst = vec![0f32; n * n];
    let mut g = c.benchmark_group(group("sgemm 2048^3 (gemm crate)"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(2 * (n * n * n) as u64));
    g.bench_function("rayon", |b| {
        b.iter(|| unsafe {
            gemm::gemm(
                n,
                n,
                n,
                dst.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                n as isize,
                bm.as_ptr(),
                1,
                n as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(0),
            )
        })
    });
    g.finish();

    let xp = Tensor::randn(0f32, 1.0, (32, 64, 8, 38, 38), &dev).unwrap();
    let mut g = c.benchmark_group(group("max_pool3d 2 (32,64,8,38,38)"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(xp.elem_count() as u64));
    g.bench_function("forward", |b| {
        b.iter(|| pool3d(&xp, &Pool3dConfig::max(2, PoolPadding::Valid)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, conv);
criterion_main!(benches);
