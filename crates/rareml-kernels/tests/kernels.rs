//! The kernels against the PyTorch fixtures (outputs and gradients), finite differences in f64,
//! and the f32 kernels against the f64 ones.

use candle_core::{DType, Device, Tensor, Var};
use rareml_kernels::{
    conv3d, conv3d_reference, depthwise_conv2d, max_pool2d, pool2d, pool3d, Conv3dConfig, Pad,
    Pool3dConfig, PoolKind, PoolPadding,
};
use std::collections::HashMap;

fn fixture(name: &str) -> HashMap<String, Tensor> {
    let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    candle_core::safetensors::load(&path, &Device::Cpu).unwrap()
}

fn ints(t: &Tensor) -> Vec<usize> {
    t.to_vec1::<i64>()
        .unwrap()
        .into_iter()
        .map(|v| v as usize)
        .collect()
}

/// Fixture bound: |a − ref| ≤ 1e-4 · max(1, max|ref|).
fn assert_close(what: &str, a: &Tensor, r: &Tensor) {
    assert_close_within(what, a, r, 1e-4);
}

/// |a − ref| ≤ tol · max(1, max|ref|), element by element.
fn assert_close_within(what: &str, a: &Tensor, r: &Tensor, tol: f64) {
    assert_eq!(a.dims(), r.dims(), "{what}: shape");
    let a = a.to_dtype(DType::F64).unwrap();
    let r = r.to_dtype(DType::F64).unwrap();
    let diff = (&a - &r)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    let scale = r
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
        .max(1.0);
    assert!(
        diff <= tol * scale,
        "{what}: max |diff| {diff} (scale {scale})"
    );
}

fn prefixes(f: &HashMap<String, Tensor>, suffix: &str) -> Vec<String> {
    let mut p: Vec<String> = f
        .keys()
        .filter_map(|k| k.strip_suffix(suffix).map(String::from))
        .collect();
    p.sort();
    p
}

#[test]
fn conv3d_matches_pytorch_forward_and_gradients() {
    let f = fixture("conv3d.safetensors");
    let cases = prefixes(&f, "_x");
    assert!(cases.len() >= 5);
    for p in cases {
        let g = |s: &str| f[&format!("{p}_{s}")].clone();
        let stride = ints(&g("stride"));
        let pad = ints(&g("padding"));
        let circ = ints(&g("circular"));
        let padding: Vec<Pad> = (0..3)
            .map(|a| {
                if circ[a] > 0 {
                    assert_eq!(pad[a], 0);
                    Pad::Circular(circ[a])
                } else {
                    Pad::Zeros(pad[a])
                }
            })
            .collect();
        let cfg = Conv3dConfig {
            stride: [stride[0], stride[1], stride[2]],
            padding: [padding[0], padding[1], padding[2]],
        };
        let x = Var::from_tensor(&g("x")).unwrap();
        let w = Var::from_tensor(&g("weight")).unwrap();
        let b = Var::from_tensor(&g("bias")).unwrap();
        let y = conv3d(x.as_tensor(), w.as_tensor(), Some(b.as_tensor()), &cfg).unwrap();
        assert_close(&format!("{p} y"), &y, &g("y"));
        let reference = conv3d_reference(&g("x"), &g("weight"), Some(&g("bias")), &cfg).unwrap();
        assert_close(&format!("{p} brute force"), &reference, &g("y"));
        let loss = (y * g("r")).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        assert_close(&format!("{p} gx"), grads.get(&x).unwrap(), &g("gx"));
        assert_close(&format!("{p} gw"), grads.get(&w).unwrap(), &g("gw"));
        assert_close(&format!("{p} gb"), grads.get(&b).unwrap(), &g("gb"));
    }
}

#[test]
fn max_pool3d_matches_pytorch_exactly() {
    let f = fixture("pool3d.safetensors");
    let cases = prefixes(&f, "_x");
    assert!(cases.len() >= 2);
    for p in cases {
        let g = |s: &str| f[&format!("{p}_{s}")].clone();
        let k = ints(&g("kernel"));
        let s = ints(&g("stride"));
        assert_eq!(ints(&g("padding")), vec![0, 0, 0]);
        let ceil = ints(&g("ceil_mode"))[0] == 1;
        let cfg = Pool3dConfig {
            kind: PoolKind::Max,
            kernel: [k[0], k[1], k[2]],
            stride: [s[0], s[1], s[2]],
            padding: if ceil {
                PoolPadding::Ceil
            } else {
                PoolPadding::Valid
            },
        };
        let x = Var::from_tensor(&g("x")).unwrap();
        let y = pool3d(x.as_tensor(), &cfg).unwrap();
        assert_eq!(y.dims(), g("y").dims(), "{p}");
        let eq = |a: &Tensor, b: &Tensor| {
            a.flatten_all().unwrap().to_vec1::<f32>().unwrap()
                == b.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        assert!(eq(&y, &g("y")), "{p}: y");
        let grads = (y * g("r")).unwrap().sum_all().unwrap().backward().unwrap();
        assert!(eq(grads.get(&x).unwrap(), &g("gx")), "{p}: gx");
    }
}

#[test]
fn depthwise_matches_pytorch_forward_and_gradients() {
    let f = fixture("depthwise.safetensors");
    let cases = prefixes(&f, "_x");
    assert!(cases.len() >= 4);
    for p in cases {
        let g = |s: &str| f[&format!("{p}_{s}")].clone();
        let s = ints(&g("stride"));
        let pad = ints(&g("padding"));
        assert_eq!(ints(&g("groups"))[0], g("x").dim(1).unwrap());
        let x = Var::from_tensor(&g("x")).unwrap();
        let w = Var::from_tensor(&g("weight")).unwrap();
        let b = Var::from_tensor(&g("bias")).unwrap();
        let y =
            depthwise_conv2d(x.as_tensor(), w.as_tensor(), [s[0], s[1]], [pad[0], pad[1]]).unwrap();
        let y = y
            .broadcast_add(&b.as_tensor().reshape((1, (), 1, 1)).unwrap())
            .unwrap();
        assert_close(&format!("{p} y"), &y, &g("y"));
        let grads = (y * g("r")).unwrap().sum_all().unwrap().backward().unwrap();
        assert_close(&format!("{p} gx"), grads.get(&x).unwrap(), &g("gx"));
        assert_close(&format!("{p} gw"), grads.get(&w).unwrap(), &g("gw"));
        assert_close(&format!("{p} gb"), grads.get(&b).unwrap(), &g("gb"));
    }
}

/// Checks the analytic gradient of `Σ f(x)·r` against central differences for every input element.
fn check_gradient(what: &str, x: &Tensor, f: impl Fn(&Tensor) -> Tensor) {
    if let Err(e) = rareml_kernels::gradcheck::check_gradient(x, |x| Ok(f(x)), 1e-6, 1e-6) {
        panic!("{what}: {e}");
    }
}

fn randn(shape: &[usize]) -> Tensor {
    Tensor::randn(0f64, 1.0, shape, &Device::Cpu).unwrap()
}

/// `(y, ∂(Σ y·r)/∂x, ∂(Σ y·r)/∂w)` of `op(x, w)` computed in `dtype` and returned in f64, with the
/// same smooth weights `r` (cosine of a running index along the last axis) for every dtype.
fn grads_in(
    dtype: DType,
    x: &Tensor,
    w: &Tensor,
    op: impl Fn(&Tensor, &Tensor) -> Tensor,
) -> (Tensor, Tensor, Tensor) {
    let xv = Var::from_tensor(&x.to_dtype(dtype).unwrap()).unwrap();
    let wv = Var::from_tensor(&w.to_dtype(dtype).unwrap()).unwrap();
    let y = op(xv.as_tensor(), wv.as_tensor());
    let r = Tensor::ones(y.shape(), DType::F64, &Device::Cpu).unwrap();
    let r = r.cumsum(y.rank() - 1).unwrap().cos().unwrap();
    let g = (&y * &r.to_dtype(dtype).unwrap())
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let f = |t: &Tensor| t.to_dtype(DType::F64).unwrap();
    (f(&y), f(g.get(&xv).unwrap()), f(g.get(&wv).unwrap()))
}

#[test]
fn conv3d_finite_difference_gradients() {
    let w = randn(&[2, 3, 3, 2, 3]);
    let cfgs = [
        Conv3dConfig {
            stride: [2, 1, 2],
            padding: [Pad::Zeros(1), Pad::Zeros(0), Pad::Zeros(1)],
        },
        Conv3dConfig {
            stride: [1, 2, 1],
            padding: [Pad::Circular(1), Pad::Same, Pad::Zeros(1)],
        },
        // Equal H/W strides go straight to conv2d; even lengths leave the last row unread.
        Conv3dConfig::uniform(2, 1),
        Conv3dConfig::uniform(2, 0),
    ];
    for cfg in cfgs {
        let x = randn(&[2, 3, 4, 6, 4]);
        // Forward against the brute-force loops, then gradients of input and weight.
        let a = conv3d(&x, &w, None, &cfg).unwrap();
        let b = conv3d_reference(&x, &w, None, &cfg).unwrap();
        assert_close("conv3d vs brute force", &a, &b);
        check_gradient("conv3d dx", &x, |x| conv3d(x, &w, None, &cfg).unwrap());
        check_gradient("conv3d dw", &w, |w| conv3d(&x, w, None, &cfg).unwrap());
    }
}

#[test]
fn pooling_finite_difference_gradients() {
    let x = randn(&[1, 2, 3, 5, 4]);
    for padding in [
        PoolPadding::Valid,
        PoolPadding::Ceil,
        PoolPadding::Same,
        PoolPadding::Zeros([1, 1, 0]),
    ] {
        for kind in [PoolKind::Max, PoolKind::Avg] {
            let cfg = Pool3dConfig {
                kind,
                kernel: [2, 3, 2],
                stride: [1, 2, 2],
                padding,
            };
            check_gradient(&format!("{kind:?} {padding:?}"), &x, |x| {
                pool3d(x, &cfg).unwrap()
            });
        }
    }
}

#[test]
fn max_pool2d_backward_is_correct_where_candles_is_not() {
    // kernel = stride = 2: every window's maximum gets the full upstream gradient (candle's own
    // max_pool2d divides it by 4).
    let x = Tensor::new(
        &[[[
            [1f32, 2., 3., 4.],
            [8., 7., 6., 5.],
            [0., 9., 1., 1.5],
            [2., 3., 4., 5.],
        ]]],
        &Device::Cpu,
    )
    .unwrap();
    let v = Var::from_tensor(&x).unwrap();
    let y = max_pool2d(v.as_tensor(), 2).unwrap();
    assert_eq!(
        y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        vec![8., 6., 9., 5.]
    );
    let g = y.sum_all().unwrap().backward().unwrap();
    let gx = g
        .get(&v)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let mut want = vec![0f32; 16];
    for i in [4, 6, 9, 15] {
        want[i] = 1.0;
    }
    assert_eq!(gx, want);
    // kernel ≠ stride (candle's errors): overlapping windows accumulate.
    check_gradient("max_pool2d k3 s1", &randn(&[2, 2, 5, 6]), |x| {
        pool2d(x, PoolKind::Max, [3, 3], [1, 1], PoolPadding::Valid).unwrap()
    });
}

#[test]
fn depthwise_finite_difference_gradients() {
    // (kernel, stride, padding) per axis: equal and mixed strides, padding 0 to k/2.
    for (k, s, p) in [
        (3, [1, 1], [1, 1]),
        (5, [2, 2], [2, 2]),
        (3, [2, 2], [1, 1]),
        (3, [2, 1], [0, 1]),
        (5, [1, 3], [2, 0]),
    ] {
        let x = randn(&[2, 3, 7, 6]);
        let w = randn(&[3, 1, k, k]);
        check_gradient("depthwise dx", &x, |x| {
            depthwise_conv2d(x, &w, s, p).unwrap()
        });
        check_gradient("depthwise dw", &w, |w| {
            depthwise_conv2d(&x, w, s, p).unwrap()
        });
    }
    // More channels than one 16-lane block of the kernels.
    let x = randn(&[2, 18, 5, 4]);
    let w = randn(&[18, 1, 3, 3]);
    check_gradient("depthwise dx (18 channels)", &x, |x| {
        depthwise_conv2d(x, &w, [1, 2], [1, 1]).unwrap()
    });
    check_gradient("depthwise dw (18 channels)", &w, |w| {
        depthwise_conv2d(&x, w, [1, 2], [1, 1]).unwrap()
    });
}

#[test]
fn depthwise_f32_kernels_match_f64() {
    // (input shape, kernel, stride, padding): full and partial 16-channel blocks, several
    // samples, strides 1–3, padding 0 to beyond k − 1, planes from 1×1 to wider than 16.
    type Case<'a> = (&'a [usize], usize, [usize; 2], [usize; 2]);
    let cases: [Case; 7] = [
        (&[3, 20, 9, 9], 3, [1, 1], [1, 1]),
        (&[2, 33, 8, 8], 5, [2, 2], [2, 2]),
        (&[5, 16, 4, 4], 5, [1, 1], [2, 2]),
        (&[1, 7, 1, 1], 3, [1, 1], [1, 1]),
        (&[2, 17, 6, 37], 3, [2, 3], [0, 1]),
        (&[2, 16, 5, 6], 3, [1, 1], [3, 2]),
        (&[40, 32, 3, 3], 3, [2, 2], [1, 1]),
    ];
    for (shape, k, s, p) in cases {
        let what = format!("{shape:?} k {k} stride {s:?} padding {p:?}");
        let x = randn(shape);
        let w = randn(&[shape[1], 1, k, k]);
        let op = |x: &Tensor, w: &Tensor| depthwise_conv2d(x, w, s, p).unwrap();
        let (a, b) = (
            grads_in(DType::F32, &x, &w, op),
            grads_in(DType::F64, &x, &w, op),
        );
        if s[0] == s[1] && p[0] == p[1] {
            let want = x.conv2d(&w, p[0], s[0], 1, shape[1]).unwrap();
            assert_close_within(&format!("{what} y vs candle"), &b.0, &want, 1e-12);
        }
        for (part, u, v) in [("y", &a.0, &b.0), ("dx", &a.1, &b.1), ("dw", &a.2, &b.2)] {
            assert_close_within(&format!("{what} {part}"), u, v, 2e-5);
        }
    }
}

/// The f32 kernels (the direct AVX-512 kernel for stride 1 where the CPU has it, im2col + GEMM
/// otherwise) against the f64 im2col path: outputs and both gradients, including tiles cut by
/// the channel count (not a multiple of 8), rows longer than a tile, even kernels ('same'
/// padding split unevenly), circular padding and valid convolutions.
#[test]
fn conv3d_f32_kernels_match_f64() {
    // (input shape, output channels, kernel, padding, stride)
    type Case = (Vec<usize>, usize, [usize; 3], [Pad; 3], usize);
    let cases: Vec<Case> = vec![
        (vec![2, 3, 4, 5, 7], 10, [3, 3, 3], [Pad::Zeros(1); 3], 1),
        (vec![1, 4, 3, 6, 53], 9, [3, 3, 3], [Pad::Same; 3], 1),
        (
            vec![2, 2, 1, 6, 6],
            8,
            [1, 3, 3],
            [Pad::Zeros(0), Pad::Zeros(1), Pad::Zeros(1)],
            1,
        ),
        (vec![1, 3, 5, 6, 7], 5, [2, 2, 2], [Pad::Same; 3], 1),
        (vec![1, 2, 4, 5, 6], 16, [3, 3, 3], [Pad::Zeros(0); 3], 1),
        (
            vec![2, 3, 8, 4, 5],
            7,
            [3, 3, 3],
            [Pad::Circular(1), Pad::Same, Pad::Same],
            1,
        ),
        (vec![1, 3, 5, 7, 9], 6, [3, 3, 3], [Pad::Same; 3], 2),
        // More grid positions than one weight-gradient block (2048).
        (vec![3, 2, 6, 20, 30], 5, [3, 3, 3], [Pad::Same; 3], 1),
        // Large enough for the direct kernel in all three passes (with AVX-512).
        (vec![2, 8, 4, 12, 20], 9, [3, 3, 3], [Pad::Same; 3], 1),
    ];
    for (shape, cout, k, padding, s) in cases {
        let what = format!("{shape:?} → {cout}, k {k:?}, {padding:?}, stride {s}");
        let cfg = Conv3dConfig {
            stride: [s; 3],
            padding,
        };
        let x = randn(&shape);
        let w = randn(&[cout, shape[1], k[0], k[1], k[2]]);
        let op = |x: &Tensor, w: &Tensor| conv3d(x, w, None, &cfg).unwrap();
        let (a, b) = (
            grads_in(DType::F32, &x, &w, op),
            grads_in(DType::F64, &x, &w, op),
        );
        for (part, p, q) in [("y", &a.0, &b.0), ("dx", &a.1, &b.1), ("dw", &a.2, &b.2)] {
            assert_close_within(&format!("{what} {part}"), p, q, 2e-5);
        }
    }
}
