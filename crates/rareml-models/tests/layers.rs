//! The layers built on the kernels: squeeze-excitation, coordinate channels and BatchNorm (the
//! fused kernel against candle's composition, finite-difference gradients, bad inputs).

use candle_core::{DType, Device, Tensor, Var};
use rareml_models::layers::{add_coordinates, silu, Act, Norm, SqueezeExcitation};
use rareml_models::{Ctx, Params};

/// Checks the analytic gradient of `Σ f(x)·r` against central differences for every input element.
fn check_gradient(what: &str, x: &Tensor, f: impl Fn(&Tensor) -> Tensor) {
    if let Err(e) = rareml_kernels::gradcheck::check_gradient(x, |x| Ok(f(x)), 1e-6, 1e-6) {
        panic!("{what}: {e}");
    }
}

fn randn(shape: &[usize]) -> Tensor {
    Tensor::randn(0f64, 1.0, shape, &Device::Cpu).unwrap()
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

/// A `Norm` under `bn` with random weight and bias (and running statistics), f64.
fn random_norm(c: usize, seed: u64) -> (Params, Norm) {
    let params = Params::new(seed);
    let norm = Norm::new(
        c,
        1e-3,
        0.1,
        params.var_builder(DType::F64, &Device::Cpu).pp("bn"),
    )
    .unwrap();
    let named = params.named();
    // Fixed, distinct values (candle's CPU generator cannot be seeded).
    for (k, (name, lo)) in [
        ("weight", 0.5),
        ("bias", -1.0),
        ("running_mean", -1.0),
        ("running_var", 0.5),
    ]
    .into_iter()
    .enumerate()
    {
        let v: Vec<f64> = (0..c)
            .map(|i| lo + ((i * 7 + k * 3 + seed as usize) % 11) as f64 / 10.0)
            .collect();
        named[&format!("bn.{name}")]
            .set(&Tensor::new(v, &Device::Cpu).unwrap())
            .unwrap();
    }
    (params, norm)
}

/// The fused BatchNorm (+ activation) against candle's composition, the previous implementation:
/// outputs, input/weight/bias gradients and the running-statistics update, training and
/// evaluation, ranks 2 to 5.
#[test]
fn batch_norm_fused_matches_candle_composition() {
    for (shape, act, train) in [
        (vec![4, 3], Act::Identity, true),
        (vec![2, 3, 5, 4], Act::Silu, true),
        (vec![2, 3, 5, 4], Act::Relu, true),
        (vec![3, 2, 3, 4, 2], Act::Silu, true),
        (vec![2, 3, 5, 4], Act::Silu, false),
        (vec![2, 3, 7], Act::Identity, false),
    ] {
        let what = format!("{shape:?} {act:?} train {train}");
        let c = shape[1];
        let x = randn(&shape).affine(3.0, 5.0).unwrap();
        let r = randn(&shape);
        let ctx = if train { Ctx::train(1) } else { Ctx::eval() };
        let run = |fused: bool| {
            let (params, norm) = random_norm(c, 7);
            let named = params.named();
            let xv = Var::from_tensor(&x).unwrap();
            let y = if fused {
                norm.forward_act(xv.as_tensor(), &ctx, act).unwrap()
            } else {
                // candle's BatchNorm on the same variables, then candle's activation.
                let vb = params.var_builder(DType::F64, &Device::Cpu).pp("bn");
                let cfg = candle_nn::BatchNormConfig {
                    eps: 1e-3,
                    remove_mean: true,
                    affine: true,
                    momentum: 0.1,
                };
                let bn = candle_nn::batch_norm(c, cfg, vb).unwrap();
                let y = candle_nn::ModuleT::forward_t(&bn, xv.as_tensor(), train).unwrap();
                match act {
                    Act::Identity => y,
                    Act::Relu => y.relu().unwrap(),
                    Act::Silu => candle_nn::ops::silu(&y).unwrap(),
                }
            };
            let grads = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
            let get = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let mut out = vec![get(&y), get(grads.get(&xv).unwrap())];
            for name in ["weight", "bias"] {
                out.push(get(grads
                    .get(named[&format!("bn.{name}")].as_tensor())
                    .unwrap()));
            }
            for name in ["running_mean", "running_var"] {
                out.push(get(named[&format!("bn.{name}")].as_tensor()));
            }
            out
        };
        let (fused, reference) = (run(true), run(false));
        for (k, part) in ["y", "dx", "dweight", "dbias", "running_mean", "running_var"]
            .iter()
            .enumerate()
        {
            let scale = reference[k].iter().fold(1f64, |m, v| m.max(v.abs()));
            for (i, (a, b)) in fused[k].iter().zip(&reference[k]).enumerate() {
                assert!(
                    (a - b).abs() < 1e-10 * scale,
                    "{what} {part}[{i}]: fused {a} vs candle {b}"
                );
            }
        }
    }
}

#[test]
fn batch_norm_finite_difference_gradients() {
    let (_params, norm) = random_norm(3, 3);
    for act in [Act::Identity, Act::Silu] {
        check_gradient(
            &format!("batch norm {act:?} (train)"),
            &randn(&[3, 3, 2, 3]),
            |x| norm.forward_act(x, &Ctx::train(1), act).unwrap(),
        );
        check_gradient(
            &format!("batch norm {act:?} (eval)"),
            &randn(&[2, 3, 4]),
            |x| norm.forward_act(x, &Ctx::eval(), act).unwrap(),
        );
    }
    check_gradient("silu", &randn(&[2, 3, 4]), |x| silu(x).unwrap());
}

#[test]
fn batch_norm_rejects_bad_inputs() {
    let (_params, norm) = random_norm(3, 3);
    let err = norm
        .forward(&randn(&[2, 4, 5]), &Ctx::eval())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("(N, 3, ...)") && err.contains("[2, 4, 5]"),
        "{err}"
    );
    let err = norm
        .forward(&randn(&[1, 3]), &Ctx::train(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than one value per channel"), "{err}");
    // f32 input with f32 parameters runs the fused kernel; it agrees with f64 to f32 precision.
    let params = Params::new(0);
    let n32 = Norm::new(3, 1e-3, 0.1, params.var_builder(DType::F32, &Device::Cpu)).unwrap();
    let x = randn(&[4, 3, 6]);
    let y32 = n32
        .forward_act(&x.to_dtype(DType::F32).unwrap(), &Ctx::train(1), Act::Silu)
        .unwrap();
    let params = Params::new(0);
    let n64 = Norm::new(3, 1e-3, 0.1, params.var_builder(DType::F64, &Device::Cpu)).unwrap();
    let y64 = n64.forward_act(&x, &Ctx::train(1), Act::Silu).unwrap();
    let d = (y32.to_dtype(DType::F64).unwrap() - y64)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!(d < 1e-5, "f32 vs f64: {d}");
}
