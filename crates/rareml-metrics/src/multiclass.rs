//! Multi-class selection as the NEWSdm analysis does it: the score of a cluster is the sum of its
//! signal-class probabilities; the threshold is chosen on a validation set for a target signal
//! efficiency and then applied on the test set, where each class's selected fraction is reported
//! with its interval (efficiencies for C30/C60/C100, reduction factors for fog and gamma).

use ndarray::{ArrayBase, Data, Ix2};
use serde::Serialize;

use crate::error::{check_cl, check_same_len, Error, Result};
use crate::input::{finite_f64, BinaryLabel, Real, Values};
use crate::intervals::Efficiency;
use crate::roc::{choose_threshold, upper_limit_zero, Bound, Criterion};

/// Score = Σ over `signal_classes` of the class probabilities, per row of `probs (N, C)`.
///
/// # Examples
///
/// ```
/// let p = ndarray::array![[0.7f32, 0.1, 0.1, 0.1], [0.0, 0.0, 0.2, 0.8]];
/// let s = rareml_metrics::signal_score(&p, &[0, 1, 2]).unwrap();
/// assert!((s[0] - 0.9).abs() < 1e-6 && (s[1] - 0.2).abs() < 1e-6);
/// ```
pub fn signal_score<S: Data<Elem = f32>>(
    probs: &ArrayBase<S, Ix2>,
    signal_classes: &[usize],
) -> Result<Vec<f64>> {
    let c = probs.ncols();
    if let Some(&bad) = signal_classes.iter().find(|&&k| k >= c) {
        return Err(Error::InvalidArgument {
            what: "signal class",
            reason: format!("class {bad} but probabilities have {c} columns"),
        });
    }
    if signal_classes.is_empty() {
        return Err(Error::InvalidArgument {
            what: "signal classes",
            reason: "none given".into(),
        });
    }
    let mut out = Vec::with_capacity(probs.nrows());
    for (i, row) in probs.outer_iter().enumerate() {
        let s: f64 = signal_classes.iter().map(|&k| row[k] as f64).sum();
        if !s.is_finite() {
            return Err(Error::NonFinite {
                what: "probs",
                index: i,
                value: s,
            });
        }
        out.push(s);
    }
    Ok(out)
}

/// The highest threshold that keeps at least `target` of the signal on a (validation) sample.
///
/// # Examples
///
/// ```
/// let thr = rareml_metrics::threshold_for_efficiency(&[1, 0, 1, 0], &[0.9, 0.8, 0.7, 0.1], 1.0);
/// assert_eq!(thr.unwrap(), 0.7);
/// ```
pub fn threshold_for_efficiency<L, S, YT, YS>(y_true: &YT, y_score: &YS, target: f64) -> Result<f64>
where
    L: BinaryLabel,
    S: Real,
    YT: Values<L> + ?Sized,
    YS: Values<S> + ?Sized,
{
    choose_threshold(y_true, y_score, Criterion::Efficiency(target))
}

/// What a threshold does to one class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassSelection {
    /// Class index.
    pub class: usize,
    /// Class name.
    pub name: String,
    /// Whether the class is signal.
    pub is_signal: bool,
    /// Selected fraction with its interval: the efficiency of a signal class, the reduction factor of
    /// a background class.
    pub selected: Efficiency,
    /// For background classes: rejection 1/fraction, a lower limit when nothing is selected.
    pub rejection: Option<Bound>,
}

/// Applies `score >= threshold` to a (test) sample and reports each class; classes absent from the
/// sample are skipped. `class_names[k]` names class k; `signal_classes` lists the signal ones.
///
/// # Examples
///
/// ```
/// use rareml_metrics::{per_class_selection, Bound};
/// let names = ["C30", "C60", "C100", "fog", "gamma"];
/// let rows = per_class_selection(&[0.9, 0.2, 0.7, 0.1], &[0, 3, 2, 4], &names, &[0, 1, 2], 0.5, 0.95)
///     .unwrap();
/// // C60 is absent from the sample, so it has no row.
/// assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["C30", "C100", "fog", "gamma"]);
/// assert_eq!(rows[0].selected.value, 1.0);
/// // No fog cluster passes: its rejection is a lower limit.
/// assert!(matches!(rows[2].rejection, Some(Bound::LowerLimit(_))));
/// ```
pub fn per_class_selection<S: Real>(
    scores: &[S],
    classes: &[usize],
    class_names: &[&str],
    signal_classes: &[usize],
    threshold: f64,
    cl: f64,
) -> Result<Vec<ClassSelection>> {
    check_cl(cl)?;
    check_same_len("scores", scores.len(), "classes", classes.len())?;
    if scores.is_empty() {
        return Err(Error::Empty { what: "scores" });
    }
    let scores = finite_f64("scores", scores)?;
    let k = class_names.len();
    let mut n = vec![0u64; k];
    let mut sel = vec![0u64; k];
    for (i, (&c, &s)) in classes.iter().zip(&scores).enumerate() {
        if c >= k {
            return Err(Error::InvalidArgument {
                what: "class",
                reason: format!("classes[{i}] = {c} but only {k} class names"),
            });
        }
        n[c] += 1;
        if s >= threshold {
            sel[c] += 1;
        }
    }
    (0..k)
        .filter(|&c| n[c] > 0)
        .map(|c| {
            let selected = Efficiency::new(sel[c], n[c], cl)?;
            let is_signal = signal_classes.contains(&c);
            let rejection = if is_signal {
                None
            } else if sel[c] == 0 {
                Some(Bound::LowerLimit(1.0 / upper_limit_zero(n[c], cl)?))
            } else {
                Some(Bound::Value(1.0 / selected.value))
            };
            Ok(ClassSelection {
                class: c,
                name: class_names[c].to_string(),
                is_signal,
                selected,
                rejection,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn newsdm_style_selection() {
        let probs = array![
            [0.7f32, 0.1, 0.1, 0.1],
            [0.0, 0.0, 0.2, 0.8],
            [0.1, 0.1, 0.1, 0.7],
            [0.3, 0.3, 0.3, 0.1]
        ];
        let s = signal_score(&probs, &[0, 1, 2]).unwrap();
        assert!((s[0] - 0.9).abs() < 1e-6 && (s[1] - 0.2).abs() < 1e-6);
        let thr = threshold_for_efficiency(&[1, 0, 0, 1], &s, 1.0).unwrap();
        assert!((thr - 0.9f32 as f64).abs() < 1e-6 || thr <= s[3]);
        let rows = per_class_selection(
            &s,
            &[0, 3, 4, 2],
            &["C30", "C60", "C100", "fog", "gamma"],
            &[0, 1, 2],
            0.5,
            0.95,
        )
        .unwrap();
        assert_eq!(rows.len(), 4, "C60 absent from the sample");
        assert_eq!(rows[0].selected.k, 1);
        let fog = rows.iter().find(|r| r.name == "fog").unwrap();
        assert_eq!(fog.selected.k, 0);
        assert!(matches!(fog.rejection, Some(Bound::LowerLimit(_))));
        assert!(signal_score(&probs, &[4]).is_err());
        assert!(per_class_selection(&s, &[0, 9, 0, 0], &["a"], &[0], 0.5, 0.95).is_err());
    }
}
