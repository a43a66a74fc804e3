//! Losses: the NEWSdm balanced loss, binary cross-entropy with logits, Huber.

use crate::error::{Error, Result};
use candle_core::{DType, Tensor, D};

/// Keras' probability clip (`epsilon()`), used by the balanced loss's cross-entropies.
const PROB_EPS: f64 = 1e-7;

/// NEWSdm balanced loss `μ·CCE(y, p) + BCE(Σ_signal y, Σ_signal p)` with p = softmax(logits):
/// the categorical cross-entropy over all classes plus a binary cross-entropy of "any signal
/// class" (the first `signal_classes` classes). `logits (N, K)`, `labels (N)` class indices (u32
/// or i64). Mean over the batch. The paper uses μ = 0.53 and 3 signal classes (C30, C60, C100).
pub fn balanced_loss(
    logits: &Tensor,
    labels: &Tensor,
    mu: f64,
    signal_classes: usize,
) -> Result<Tensor> {
    let (n, k) = logits
        .dims2()
        .map_err(|_| shape("balanced loss logits", "(N, K)", logits))?;
    if labels.dims() != [n] || signal_classes == 0 || signal_classes >= k {
        return Err(Error::Shape {
            what: "balanced loss labels".into(),
            expected: format!(
                "(N = {n}) labels and 1 ≤ signal classes ({signal_classes}) < K = {k}"
            ),
            got: labels.dims().to_vec(),
        });
    }
    let labels = labels.to_dtype(DType::U32)?;
    let one_hot =
        candle_nn::encoding::one_hot(labels.clone(), k, 1f32, 0f32)?.to_dtype(logits.dtype())?;
    let p = candle_nn::ops::softmax(logits, D::Minus1)?;
    let cce = (p.clamp(PROB_EPS, 1.0 - PROB_EPS)?.log()? * &one_hot)?
        .sum(D::Minus1)?
        .neg()?;
    let ps = p
        .narrow(1, 0, signal_classes)?
        .sum(D::Minus1)?
        .clamp(PROB_EPS, 1.0 - PROB_EPS)?;
    let ys = one_hot.narrow(1, 0, signal_classes)?.sum(D::Minus1)?;
    let bce = ((&ys * ps.log()?)? + ((1.0 - &ys)? * (1.0 - &ps)?.log()?)?)?.neg()?;
    Ok(((cce * mu)? + bce)?.mean_all()?)
}

/// Binary cross-entropy with logits, mean over all elements, computed stably as
/// `max(x, 0) − x·y + log(1 + e^{−|x|})`.
pub fn bce_with_logits(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    if logits.dims() != targets.dims() {
        return Err(shape(
            "BCE targets",
            &format!("{:?} like the logits", logits.dims()),
            targets,
        ));
    }
    let t = targets.to_dtype(logits.dtype())?;
    let l = (logits.relu()? - (logits * t)?)? + (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    Ok(l?.mean_all()?)
}

/// Huber loss with threshold `delta`, mean over all elements: ½r² for |r| ≤ δ, δ(|r| − ½δ) above.
pub fn huber(pred: &Tensor, target: &Tensor, delta: f64) -> Result<Tensor> {
    if pred.dims() != target.dims() {
        return Err(shape(
            "Huber target",
            &format!("{:?} like the prediction", pred.dims()),
            target,
        ));
    }
    let r = (pred - target.to_dtype(pred.dtype())?)?.abs()?;
    let quad = r.clamp(0.0, delta)?;
    let lin = (&r - &quad)?;
    // ½·q² + δ·(|r| − q): equals ½r² below δ and δ(|r| − ½δ) above.
    let l = ((quad.sqr()? * 0.5)? + (lin * delta)?)?;
    Ok(l.mean_all()?)
}

/// Mean squared error, mean over all elements: r².
pub fn mse(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
    if pred.dims() != target.dims() {
        return Err(shape(
            "MSE target",
            &format!("{:?} like the prediction", pred.dims()),
            target,
        ));
    }
    Ok((pred - target.to_dtype(pred.dtype())?)?.sqr()?.mean_all()?)
}

fn shape(what: &str, expected: &str, t: &Tensor) -> Error {
    Error::Shape {
        what: what.into(),
        expected: expected.into(),
        got: t.dims().to_vec(),
    }
}
