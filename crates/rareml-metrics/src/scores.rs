//! Scores from network outputs: probabilities from logits (softmax, sigmoid), the signal score of
//! an event (sum of the signal-class probabilities, or the sigmoid of a single logit) and the
//! ensemble mean of several networks' scores.

use ndarray::{Array2, ArrayBase, Data, Ix2};

use crate::error::{Error, Result};

/// Row-wise softmax of `logits (N, C)` in f64 (the row maximum subtracted first).
///
/// # Examples
///
/// ```
/// let p = rareml_metrics::softmax(&ndarray::array![[0f32, 0.0], [1.0, 1.0 + 2f32.ln()]]);
/// assert!((p[[1, 1]] - 2.0 / 3.0).abs() < 1e-6);
/// ```
pub fn softmax<S: Data<Elem = f32>>(logits: &ArrayBase<S, Ix2>) -> Array2<f64> {
    let mut out = Array2::zeros(logits.raw_dim());
    for (row, mut o) in logits.outer_iter().zip(out.outer_iter_mut()) {
        let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
        let mut sum = 0.0;
        for (v, &x) in o.iter_mut().zip(row.iter()) {
            *v = (x as f64 - m).exp();
            sum += *v;
        }
        o.mapv_inplace(|v| v / sum);
    }
    out
}

/// The logistic function `1/(1 + e^−x)` in f64.
pub fn sigmoid(x: f32) -> f64 {
    1.0 / (1.0 + (-(x as f64)).exp())
}

/// The signal score of each row of `logits (N, C)`: the sigmoid of the logit when C = 1 (a binary
/// network), otherwise the sum of the softmax probabilities of `signal_classes` (NEWSdm: C30, C60
/// and C100 among four classes). Errors on an empty class list, a class out of range or a
/// non-finite logit.
///
/// # Examples
///
/// ```
/// use rareml_metrics::signal_scores;
/// let binary = signal_scores(&ndarray::array![[0f32], [2.0]], &[0]).unwrap();
/// assert_eq!(binary[0], 0.5);
/// let four = signal_scores(&ndarray::array![[1f32, 1.0, 1.0, 1.0]], &[0, 1, 2]).unwrap();
/// assert!((four[0] - 0.75).abs() < 1e-12);
/// ```
pub fn signal_scores<S: Data<Elem = f32>>(
    logits: &ArrayBase<S, Ix2>,
    signal_classes: &[usize],
) -> Result<Vec<f64>> {
    if let Some((index, &value)) = logits.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "logits",
            index,
            value: value as f64,
        });
    }
    if logits.ncols() == 1 {
        return Ok(logits.column(0).iter().map(|&x| sigmoid(x)).collect());
    }
    if signal_classes.is_empty() {
        return Err(Error::InvalidArgument {
            what: "signal classes",
            reason: "none given".into(),
        });
    }
    if let Some(&bad) = signal_classes.iter().find(|&&k| k >= logits.ncols()) {
        return Err(Error::InvalidArgument {
            what: "signal class",
            reason: format!("class {bad} but the logits have {} columns", logits.ncols()),
        });
    }
    let p = softmax(logits);
    Ok(p.outer_iter()
        .map(|row| signal_classes.iter().map(|&k| row[k]).sum())
        .collect())
}

/// The mean score of an ensemble, event by event: `Σ_k s_k / K` over the members' score lists
/// (added member by member in order, so the result does not depend on threads).
///
/// # Examples
///
/// ```
/// let m = rareml_metrics::ensemble_mean(&[vec![0.2, 0.8], vec![0.4, 0.6]]).unwrap();
/// assert!((m[0] - 0.3).abs() < 1e-15 && (m[1] - 0.7).abs() < 1e-15);
/// ```
pub fn ensemble_mean(members: &[Vec<f64>]) -> Result<Vec<f64>> {
    let first = members.first().ok_or(Error::Empty {
        what: "ensemble members",
    })?;
    if let Some(m) = members.iter().find(|m| m.len() != first.len()) {
        return Err(Error::LengthMismatch {
            left_name: "first member's scores",
            left: first.len(),
            right_name: "another member's scores",
            right: m.len(),
        });
    }
    let k = members.len() as f64;
    let mut mean = vec![0.0; first.len()];
    for m in members {
        for (a, s) in mean.iter_mut().zip(m) {
            *a += s / k;
        }
    }
    Ok(mean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn softmax_rows_sum_to_one_and_resist_overflow() {
        let p = softmax(&array![[1000f32, 1000.0, 999.0], [-5.0, 0.0, 5.0]]);
        for row in p.outer_iter() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        assert!(p[[0, 0]] > p[[0, 2]]);
    }

    #[test]
    fn bad_logits_and_classes_are_errors() {
        assert!(signal_scores(&array![[f32::NAN, 0.0]], &[0]).is_err());
        assert!(signal_scores(&array![[0f32, 0.0]], &[]).is_err());
        assert!(signal_scores(&array![[0f32, 0.0]], &[2]).is_err());
        assert!(ensemble_mean(&[]).is_err());
        assert!(ensemble_mean(&[vec![1.0], vec![1.0, 2.0]]).is_err());
    }
}
