//! Layers against the PyTorch fixtures (outputs and gradients) and finite differences in f64.

use candle_core::{DType, Device, Tensor, Var};
use rareml::models::layers::{
    add_coordinates, conv3d, conv3d_reference, depthwise_conv2d, max_pool2d, pool2d, pool3d,
    Conv3dConfig, Pad, Pool3dConfig, PoolKind, PoolPadding, SqueezeExcitation,
};
use rareml::models::Params;
use std::collections::HashMap;

fn fixture(name: &str) -> HashMap<String, Tensor> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
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
        diff <= 1e-4 * scale,
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
    let var = Var::from_tensor(x).unwrap();
    let y = f(var.as_tensor());
    let r = Tensor::randn(0f64, 1.0, y.shape(), &Device::Cpu).unwrap();
    let grads = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
    let analytic = grads
        .get(&var)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    let base = x.flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let h = 1e-6;
    for i in 0..base.len() {
        let eval = |d: f64| {
            let mut v = base.clone();
            v[i] += d;
            let xt = Tensor::from_vec(v, x.shape(), &Device::Cpu).unwrap();
            (f(&xt) * &r)
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
        };
        let numeric = (eval(h) - eval(-h)) / (2.0 * h);
        assert!(
            (numeric - analytic[i]).abs() < 1e-6 * (1.0 + numeric.abs()),
            "{what}: element {i}: numeric {numeric} vs analytic {}",
            analytic[i]
        );
    }
}

fn randn(shape: &[usize]) -> Tensor {
    Tensor::randn(0f64, 1.0, shape, &Device::Cpu).unwrap()
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
    for padding in [PoolPadding::Valid, PoolPadding::Ceil, PoolPadding::Same] {
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
    for (k, s, p) in [(3, 1, 1), (5, 2, 2), (3, 2, 1)] {
        let x = randn(&[2, 3, 7, 6]);
        let w = randn(&[3, 1, k, k]);
        check_gradient("depthwise dx", &x, |x| {
            depthwise_conv2d(x, &w, [s, s], [p, p]).unwrap()
        });
        check_gradient("depthwise dw", &w, |w| {
            depthwise_conv2d(&x, w, [s, s], [p, p]).unwrap()
        });
    }
}

#[test]
fn squeeze_excitation_and_coordinates() {
    let params = Params::new(3);
    let vb = params.var_builder(DType::F64, &Device::Cpu);
    let se = SqueezeExcitation::new(4, 2, vb.pp("se")).unwrap();
    let names: Vec<String> = params.named().keys().cloned().collect();
    assert_eq!(
        names,
        [
            "se.fc1.bias",
            "se.fc1.weight",
            "se.fc2.bias",
            "se.fc2.weight"
        ]
    );
    assert_eq!(params.named()["se.fc1.weight"].dims(), [2, 4, 1, 1]);
    check_gradient("squeeze-excitation", &randn(&[2, 4, 3, 3]), |x| {
        se.forward(x).unwrap()
    });
    // A constant input: every channel is scaled by the same sigmoid of its own mean.
    let x = Tensor::ones((1, 4, 2, 2), DType::F64, &Device::Cpu).unwrap();
    let y = se
        .forward(&x)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    for c in 0..4 {
        assert!(y[4 * c..4 * c + 4]
            .iter()
            .all(|v| (v - y[4 * c]).abs() < 1e-15 && *v > 0.0 && *v < 1.0));
    }

    // Coordinates: [y, x, r] prepended, y over rows, x over columns, r = 1 at the corners.
    let x = Tensor::zeros((2, 1, 3, 5), DType::F32, &Device::Cpu).unwrap();
    let c = add_coordinates(&x).unwrap();
    assert_eq!(c.dims(), [2, 4, 3, 5]);
    let c0 = c.get(0).unwrap();
    let yy = c0.get(0).unwrap().to_vec2::<f32>().unwrap();
    let xx = c0.get(1).unwrap().to_vec2::<f32>().unwrap();
    let rr = c0.get(2).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(yy[0], vec![-1.0; 5]);
    assert_eq!(yy[2], vec![1.0; 5]);
    assert_eq!(xx[1], vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
    assert_eq!(rr[0][0], 1.0);
    assert_eq!(rr[1][2], 0.0);
    assert!((rr[1][4] - 1.0 / 2f32.sqrt()).abs() < 1e-7);
}
