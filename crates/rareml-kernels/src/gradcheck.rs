//! Finite-difference gradient checks for candle operations (in the spirit of PyTorch's
//! `torch.autograd.gradcheck`): the analytic gradient of a scalar `Σ f(x)·r` against central
//! differences, element by element, in f64.

use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor, Var};

/// Fixed, smooth weights `r` for `Σ y·r` (cosine of a running index along the last axis): every
/// output element matters, with a different weight.
pub fn weights_like(y: &Tensor) -> Result<Tensor> {
    let r = Tensor::ones(y.shape(), DType::F64, y.device())?;
    let last = y.rank().saturating_sub(1);
    Ok(r.cumsum(last)?.cos()?)
}

/// Checks the gradient of `Σ f(x)·r` (`r` from [`weights_like`]) with respect to the f64 CPU
/// tensor `x` against central differences of step `h`, for every element of `x`: an element whose
/// analytic and numeric derivatives differ by more than `tol · (1 + |numeric|)` is an error naming
/// it. Returns the largest such relative difference.
///
/// # Examples
///
/// ```
/// use candle_core::{Device, Tensor};
/// use rareml_kernels::{gradcheck::check_gradient, pool3d, Pool3dConfig, PoolPadding};
/// let x = Tensor::randn(0f64, 1.0, (1, 2, 4, 4, 4), &Device::Cpu)?;
/// let cfg = Pool3dConfig::max(2, PoolPadding::Valid);
/// let err = check_gradient(&x, |x| pool3d(x, &cfg), 1e-6, 1e-6)?;
/// assert!(err < 1e-6);
/// # Ok::<(), rareml_kernels::Error>(())
/// ```
pub fn check_gradient(
    x: &Tensor,
    f: impl Fn(&Tensor) -> Result<Tensor>,
    h: f64,
    tol: f64,
) -> Result<f64> {
    if x.dtype() != DType::F64 || !x.device().is_cpu() {
        return Err(Error::Shape {
            what: format!("gradient check input of {:?}", x.dtype()),
            expected: "an f64 CPU tensor".into(),
            got: x.dims().to_vec(),
        });
    }
    let var = Var::from_tensor(x)?;
    let y = f(var.as_tensor())?;
    let r = weights_like(&y)?;
    let grads = (&y * &r)?.sum_all()?.backward()?;
    let analytic = match grads.get(&var) {
        Some(g) => g.flatten_all()?.to_vec1::<f64>()?,
        None => vec![0.0; x.elem_count()],
    };
    let base = x.flatten_all()?.to_vec1::<f64>()?;
    let mut worst = 0f64;
    for i in 0..base.len() {
        let eval = |d: f64| -> Result<f64> {
            let mut v = base.clone();
            v[i] += d;
            let xt = Tensor::from_vec(v, x.shape(), &Device::Cpu)?;
            Ok((f(&xt)? * &r)?.sum_all()?.to_scalar::<f64>()?)
        };
        let numeric = (eval(h)? - eval(-h)?) / (2.0 * h);
        let rel = (numeric - analytic[i]).abs() / (1.0 + numeric.abs());
        if rel.is_nan() || rel > tol {
            return Err(Error::Shape {
                what: format!(
                    "gradient of element {i}: numeric {numeric} vs analytic {}",
                    analytic[i]
                ),
                expected: format!("agreement within {tol} (relative)"),
                got: x.dims().to_vec(),
            });
        }
        worst = worst.max(rel);
    }
    Ok(worst)
}
