//! ROC curve and AUC with scikit-learn's semantics, the significance Ξ = εs/√εb (PandaX-III's figure
//! of merit) and working points (rejection at a signal efficiency, efficiency at a rejection) with
//! Clopper–Pearson intervals.
//!
//! Conventions (scikit-learn ≥ 1.3): an item is selected (predicted signal) when `score >= threshold`;
//! thresholds are the distinct scores in decreasing order preceded by +∞, so the curve starts at
//! (fpr, tpr) = (0, 0); tied scores enter together (one point per distinct score), which makes every
//! quantity exact with ties.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{check_cl, check_same_len, Error, Result};
use crate::input::{finite_f64, labels, BinaryLabel, Real, Values};
use crate::intervals::Efficiency;

/// A ROC curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Roc {
    /// False-positive rate (background efficiency εb) at each threshold.
    pub fpr: Vec<f64>,
    /// True-positive rate (signal efficiency εs) at each threshold.
    pub tpr: Vec<f64>,
    /// Thresholds, strictly decreasing; `thresholds[0] = +∞`.
    pub thresholds: Vec<f64>,
    /// Selected background items at each threshold.
    pub fps: Vec<u64>,
    /// Selected signal items at each threshold.
    pub tps: Vec<u64>,
    /// Signal items in the sample.
    pub n_pos: u64,
    /// Background items in the sample.
    pub n_neg: u64,
}

/// Order-preserving map of a finite f64 to u64, reversed so that an ascending sort of keys is a
/// descending sort of scores; −0.0 and 0.0 share a key (they tie, as in numpy).
fn desc_key(x: f64) -> u64 {
    let bits = (x + 0.0).to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    !ordered
}

fn key_value(key: u64) -> f64 {
    let ordered = !key;
    let bits = if ordered >> 63 == 1 {
        ordered & !(1 << 63)
    } else {
        !ordered
    };
    f64::from_bits(bits)
}

/// Validated input: labels as bools, scores as finite f64.
pub(crate) struct Binary {
    pub(crate) is_signal: Vec<bool>,
    pub(crate) score: Vec<f64>,
    pub(crate) n_pos: u64,
    pub(crate) n_neg: u64,
}

pub(crate) fn validate<L: BinaryLabel, S: Real>(y_true: &[L], y_score: &[S]) -> Result<Binary> {
    let b = validate_classes(y_true, y_score)?;
    if b.score.iter().all(|&s| s == b.score[0]) {
        return Err(Error::ConstantScores {
            n: b.score.len(),
            value: b.score[0],
        });
    }
    Ok(b)
}

/// [`validate`] without the constant-score check: a fixed threshold is well defined on any scores.
fn validate_classes<L: BinaryLabel, S: Real>(y_true: &[L], y_score: &[S]) -> Result<Binary> {
    check_same_len("y_true", y_true.len(), "y_score", y_score.len())?;
    if y_true.is_empty() {
        return Err(Error::Empty {
            what: "y_true / y_score",
        });
    }
    let is_signal = labels(y_true)?;
    let score = finite_f64("y_score", y_score)?;
    let n_pos = is_signal.iter().filter(|&&s| s).count() as u64;
    let n_neg = is_signal.len() as u64 - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(Error::OneClass {
            n_pos: n_pos as usize,
            n_neg: n_neg as usize,
        });
    }
    Ok(Binary {
        is_signal,
        score,
        n_pos,
        n_neg,
    })
}

impl Binary {
    /// Selected (signal, background) counts for `score >= threshold`.
    pub(crate) fn selected(&self, threshold: f64) -> (u64, u64) {
        self.is_signal
            .par_iter()
            .zip(self.score.par_iter())
            .fold(
                || (0u64, 0u64),
                |(s, b), (&sig, &x)| {
                    if x >= threshold {
                        if sig {
                            (s + 1, b)
                        } else {
                            (s, b + 1)
                        }
                    } else {
                        (s, b)
                    }
                },
            )
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    /// The full curve (one point per distinct score) as counts.
    fn curve(&self) -> (Vec<u64>, Vec<u64>, Vec<f64>) {
        // Sort signal and background keys separately (8 bytes per item), then merge.
        let (mut pos, mut neg): (Vec<u64>, Vec<u64>) = rayon::join(
            || {
                self.score
                    .par_iter()
                    .zip(self.is_signal.par_iter())
                    .filter(|(_, &s)| s)
                    .map(|(&x, _)| desc_key(x))
                    .collect()
            },
            || {
                self.score
                    .par_iter()
                    .zip(self.is_signal.par_iter())
                    .filter(|(_, &s)| !s)
                    .map(|(&x, _)| desc_key(x))
                    .collect()
            },
        );
        rayon::join(|| pos.par_sort_unstable(), || neg.par_sort_unstable());
        let (mut i, mut j) = (0usize, 0usize);
        let (mut fps, mut tps, mut thr) = (Vec::new(), Vec::new(), Vec::new());
        while i < pos.len() || j < neg.len() {
            let k = match (pos.get(i), neg.get(j)) {
                (Some(&a), Some(&b)) => a.min(b),
                (Some(&a), None) => a,
                (None, Some(&b)) => b,
                (None, None) => unreachable!(),
            };
            while i < pos.len() && pos[i] == k {
                i += 1;
            }
            while j < neg.len() && neg[j] == k {
                j += 1;
            }
            tps.push(i as u64);
            fps.push(j as u64);
            thr.push(key_value(k));
        }
        (fps, tps, thr)
    }
}

impl Roc {
    fn from_counts(
        mut fps: Vec<u64>,
        mut tps: Vec<u64>,
        mut thr: Vec<f64>,
        n_pos: u64,
        n_neg: u64,
        drop_intermediate: bool,
    ) -> Self {
        if drop_intermediate && fps.len() > 2 {
            // scikit-learn: keep the ends and every point where the second difference of fps or
            // tps is non-zero (drops collinear points of horizontal and vertical runs).
            let n = fps.len();
            let keep: Vec<usize> = (0..n)
                .filter(|&i| {
                    i == 0 || i == n - 1 || {
                        let d2 = |v: &[u64]| v[i + 1] as i128 - 2 * v[i] as i128 + v[i - 1] as i128;
                        d2(&fps) != 0 || d2(&tps) != 0
                    }
                })
                .collect();
            fps = keep.iter().map(|&i| fps[i]).collect();
            tps = keep.iter().map(|&i| tps[i]).collect();
            thr = keep.iter().map(|&i| thr[i]).collect();
        }
        fps.insert(0, 0);
        tps.insert(0, 0);
        thr.insert(0, f64::INFINITY);
        Self {
            fpr: fps.iter().map(|&f| f as f64 / n_neg as f64).collect(),
            tpr: tps.iter().map(|&t| t as f64 / n_pos as f64).collect(),
            thresholds: thr,
            fps,
            tps,
            n_pos,
            n_neg,
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.thresholds.len()
    }

    /// Never true: a curve has at least the (0, 0) point and one threshold.
    pub fn is_empty(&self) -> bool {
        self.thresholds.is_empty()
    }

    /// Area under the curve by the trapezoid rule, computed exactly in integers then divided once.
    pub fn auc(&self) -> f64 {
        let twice: u128 = (1..self.len())
            .map(|i| {
                (self.fps[i] - self.fps[i - 1]) as u128 * (self.tps[i] + self.tps[i - 1]) as u128
            })
            .sum();
        twice as f64 / (2.0 * self.n_pos as f64 * self.n_neg as f64)
    }

    /// Ξ = max εs/√εb over the points with εb > 0; ties go to the smallest index (highest threshold).
    /// On a `drop_intermediate = false` curve this is the PandaX-III figure of merit with the index
    /// convention of the fixtures; dropping intermediate points keeps the same maximum value.
    pub fn significance(&self) -> Significance {
        let mut best = Significance {
            xi: f64::NEG_INFINITY,
            index: 0,
            threshold: f64::NAN,
            tpr: 0.0,
            fpr: 0.0,
        };
        for i in 0..self.len() {
            if self.fps[i] == 0 {
                continue;
            }
            let xi = self.tpr[i] / self.fpr[i].sqrt();
            if xi > best.xi {
                best = Significance {
                    xi,
                    index: i,
                    threshold: self.thresholds[i],
                    tpr: self.tpr[i],
                    fpr: self.fpr[i],
                };
            }
        }
        best
    }

    /// Smallest index with tpr ≥ `target` (the highest threshold reaching the target efficiency).
    pub fn index_at_tpr(&self, target: f64) -> Result<usize> {
        if target.is_nan() || target <= 0.0 || target > 1.0 {
            return Err(Error::InvalidArgument {
                what: "target signal efficiency",
                reason: format!("{target}: expected 0 < ε ≤ 1"),
            });
        }
        Ok(self
            .tpr
            .iter()
            .position(|&t| t >= target)
            .expect("tpr reaches 1 at the last point"))
    }

    /// Largest index with fpr ≤ `max_fpr` (the highest efficiency within a background budget).
    pub fn index_at_fpr(&self, max_fpr: f64) -> usize {
        self.fpr
            .iter()
            .rposition(|&f| f <= max_fpr)
            .expect("fpr[0] = 0")
    }
}

/// `sklearn.metrics.roc_curve(y_true, y_score, drop_intermediate=...)`.
///
/// Errors on empty input, a length mismatch, a label other than 0/1, a NaN or infinite score, one
/// class only, and scores that are all equal (scikit-learn would return the diagonal; a constant
/// score is reported instead so that a collapsed model is noticed).
///
/// # Examples
///
/// scikit-learn's own example (labels 0/1 instead of 1/2):
///
/// ```
/// use rareml_metrics::roc_curve;
/// let roc = roc_curve(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8], true).unwrap();
/// assert_eq!(roc.fpr, [0.0, 0.0, 0.5, 0.5, 1.0]);
/// assert_eq!(roc.tpr, [0.0, 0.5, 0.5, 1.0, 1.0]);
/// assert_eq!(roc.thresholds, [f64::INFINITY, 0.8, 0.4, 0.35, 0.1]);
/// // One class only, NaN scores or constant scores are errors, not NaN curves.
/// assert!(roc_curve(&[1, 1], &[0.1, 0.2], true).is_err());
/// assert!(roc_curve(&[0, 1], &[0.3, 0.3], true).is_err());
/// ```
pub fn roc_curve<L, S, YT, YS>(y_true: &YT, y_score: &YS, drop_intermediate: bool) -> Result<Roc>
where
    L: BinaryLabel,
    S: Real,
    YT: Values<L> + ?Sized,
    YS: Values<S> + ?Sized,
{
    let b = validate(&y_true.values(), &y_score.values())?;
    let (fps, tps, thr) = b.curve();
    Ok(Roc::from_counts(
        fps,
        tps,
        thr,
        b.n_pos,
        b.n_neg,
        drop_intermediate,
    ))
}

/// `sklearn.metrics.roc_auc_score(y_true, y_score)` for binary labels.
///
/// # Examples
///
/// ```
/// let auc = rareml_metrics::roc_auc_score(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]).unwrap();
/// assert_eq!(auc, 0.75);
/// // Ties count one half, exactly (the pair (0.5, 0.5) below).
/// assert_eq!(rareml_metrics::roc_auc_score(&[0, 1, 1], &[0.5, 0.5, 0.9]).unwrap(), 0.75);
/// ```
pub fn roc_auc_score<L, S, YT, YS>(y_true: &YT, y_score: &YS) -> Result<f64>
where
    L: BinaryLabel,
    S: Real,
    YT: Values<L> + ?Sized,
    YS: Values<S> + ?Sized,
{
    Ok(roc_curve(y_true, y_score, false)?.auc())
}

/// The best threshold by Ξ = εs/√εb.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Significance {
    /// Ξ = εs/√εb at the best threshold.
    pub xi: f64,
    /// Index of that point in the ROC curve.
    pub index: usize,
    /// The threshold (select `score >= threshold`).
    pub threshold: f64,
    /// εs there.
    pub tpr: f64,
    /// εb there (> 0).
    pub fpr: f64,
}

/// Ξ = max over thresholds of εs/√εb, on the full curve.
///
/// # Examples
///
/// ```
/// let s = rareml_metrics::significance(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]).unwrap();
/// // εs = 1 at εb = 0.5 (threshold 0.35): Ξ = 1/√0.5; the point εb = 0 has no Ξ.
/// assert_eq!(s.threshold, 0.35);
/// assert!((s.xi - 2f64.sqrt()).abs() < 1e-12);
/// ```
pub fn significance<L, S, YT, YS>(y_true: &YT, y_score: &YS) -> Result<Significance>
where
    L: BinaryLabel,
    S: Real,
    YT: Values<L> + ?Sized,
    YS: Values<S> + ?Sized,
{
    Ok(roc_curve(y_true, y_score, false)?.significance())
}

/// A value, or a lower limit when it would be infinite (no background selected).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Bound {
    /// A measured value.
    Value(f64),
    /// Zero background selected: the quantity is at least this, from the one-sided
    /// Clopper–Pearson upper limit on εb at the working point's confidence level,
    /// [`upper_limit_zero`].
    LowerLimit(f64),
}

impl Bound {
    /// The measured value, `None` for a lower limit.
    pub fn value(self) -> Option<f64> {
        match self {
            Bound::Value(v) => Some(v),
            Bound::LowerLimit(_) => None,
        }
    }

    /// The lower limit, `None` for a measured value.
    pub fn lower_limit(self) -> Option<f64> {
        match self {
            Bound::Value(_) => None,
            Bound::LowerLimit(v) => Some(v),
        }
    }
}

/// One-sided Clopper–Pearson upper limit on a fraction when none of `n` items pass, at confidence
/// level `cl`: `1 − (1 − cl)^(1/n)` (the upper end of the two-sided interval at level 2·cl − 1).
///
/// # Examples
///
/// ```
/// // The "rule of three": 0 of 1000 → ε < 0.3 % at 95 % CL.
/// let u = rareml_metrics::roc::upper_limit_zero(1000, 0.95).unwrap();
/// assert!((u - 0.002991).abs() < 1e-6);
/// ```
pub fn upper_limit_zero(n: u64, cl: f64) -> Result<f64> {
    check_cl(cl)?;
    if n == 0 {
        return Err(Error::Empty {
            what: "binomial trials (n = 0)",
        });
    }
    Ok(1.0 - (1.0 - cl).powf(1.0 / n as f64))
}

/// A selection `score >= threshold` and what it does to signal and background.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct WorkingPoint {
    /// The threshold.
    pub threshold: f64,
    /// Signal efficiency εs with its interval.
    pub signal: Efficiency,
    /// Background efficiency εb (the reduction factor) with its interval.
    pub background: Efficiency,
    /// Background rejection 1/εb (a lower limit 1/εb_upper when no background is selected).
    pub rejection: Bound,
    /// Interval on the rejection, [1/εb_upper, 1/εb_lower], when εb > 0.
    pub rejection_interval: Option<(f64, f64)>,
    /// Ξ = εs/√εb (a lower limit εs/√εb_upper when no background is selected).
    pub significance: Bound,
}

impl WorkingPoint {
    /// The point on the ROC plane: (background efficiency εb, signal efficiency εs).
    pub fn efficiencies(&self) -> (f64, f64) {
        (self.background.value, self.signal.value)
    }

    fn from_counts(threshold: f64, s: u64, n_s: u64, b: u64, n_b: u64, cl: f64) -> Result<Self> {
        let signal = Efficiency::new(s, n_s, cl)?;
        let background = Efficiency::new(b, n_b, cl)?;
        let (rejection, rejection_interval, significance) = if b == 0 {
            let upper = upper_limit_zero(n_b, cl)?;
            (
                Bound::LowerLimit(1.0 / upper),
                None,
                Bound::LowerLimit(signal.value / upper.sqrt()),
            )
        } else {
            (
                Bound::Value(1.0 / background.value),
                Some((1.0 / background.upper, 1.0 / background.lower)),
                Bound::Value(signal.value / background.value.sqrt()),
            )
        };
        Ok(Self {
            threshold,
            signal,
            background,
            rejection,
            rejection_interval,
            significance,
        })
    }
}

/// The working point of a fixed threshold (select `score >= threshold`), intervals at level `cl`.
///
/// # Examples
///
/// ```
/// use rareml_metrics::{working_point, Bound};
/// let y = [0, 0, 1, 1];
/// let s = [0.1, 0.4, 0.35, 0.8];
/// let wp = working_point(&y, &s, 0.35, 0.95).unwrap();
/// assert_eq!((wp.signal.value, wp.background.value), (1.0, 0.5));
/// assert_eq!(wp.rejection, Bound::Value(2.0));
/// // No background selected: the rejection and Ξ are lower limits (95 % CL, one-sided).
/// let tight = working_point(&y, &s, 0.8, 0.95).unwrap();
/// assert!(matches!(tight.rejection, Bound::LowerLimit(r) if r > 1.0 && r.is_finite()));
/// ```
pub fn working_point<L, S, YT, YS>(
    y_true: &YT,
    y_score: &YS,
    threshold: f64,
    cl: f64,
) -> Result<WorkingPoint>
where
    L: BinaryLabel,
    S: Real,
    YT: Values<L> + ?Sized,
    YS: Values<S> + ?Sized,
{
    check_cl(cl)?;
    if threshold.is_nan() {
        return Err(Error::InvalidArgument {
            what: "threshold",
            reason: "NaN".into(),
        });
    }
    let b = validate_classes(&y_true.values(), &y_score.values())?;
    let (s, bk) = b.selected(threshold);
    WorkingPoint::from_counts(threshold, s, b.n_pos, bk, b.n_neg, cl)
}

/// How a working point is chosen (on a validation sample).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// The highest threshold keeping at least this signal efficiency (0 < ε ≤ 1).
    Efficiency(f64),
    /// The threshold of maximum Ξ = εs/√εb ([`Roc::significance`]).
    MaxSignificance,
}

/// The threshold `criterion` picks on `(y_true, y_score)` — typically the validation sample; apply
/// it to the test sample with [`working_point`].
///
/// # Examples
///
/// ```
/// use rareml_metrics::{choose_threshold, Criterion};
/// let y = [1, 1, 0, 1, 0, 0];
/// let s = [0.9, 0.8, 0.7, 0.6, 0.3, 0.1];
/// assert_eq!(choose_threshold(&y, &s, Criterion::Efficiency(2.0 / 3.0)).unwrap(), 0.8);
/// // Ξ at 0.6 is 1/√(1/3) = 1.73, at 0.8 (εb = 0) undefined: the best is 0.6.
/// assert_eq!(choose_threshold(&y, &s, Criterion::MaxSignificance).unwrap(), 0.6);
/// ```
pub fn choose_threshold<L, S, YT, YS>(
    y_true: &YT,
    y_score: &YS,
    criterion: Criterion,
) -> Result<f64>
where
    L: BinaryLabel,
    S: Real,
    YT: Values<L> + ?Sized,
    YS: Values<S> + ?Sized,
{
    let roc = roc_curve(y_true, y_score, false)?;
    match criterion {
        Criterion::Efficiency(target) => Ok(roc.thresholds[roc.index_at_tpr(target)?]),
        Criterion::MaxSignificance => Ok(roc.significance().threshold),
    }
}

/// Background rejection at a target signal efficiency: the highest threshold whose εs ≥ `target`
/// (the smallest such index of the full ROC curve), with intervals at level `cl`.
///
/// # Examples
///
/// ```
/// use rareml_metrics::{rejection_at_efficiency, Bound};
/// let wp = rejection_at_efficiency(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8], 1.0, 0.95).unwrap();
/// assert_eq!((wp.threshold, wp.rejection), (0.35, Bound::Value(2.0)));
/// // An efficiency above 1 is an error.
/// assert!(rejection_at_efficiency(&[0, 1], &[0.1, 0.2], 1.5, 0.95).is_err());
/// ```
pub fn rejection_at_efficiency<L, S, YT, YS>(
    y_true: &YT,
    y_score: &YS,
    target: f64,
    cl: f64,
) -> Result<WorkingPoint>
where
    L: BinaryLabel,
    S: Real,
    YT: Values<L> + ?Sized,
    YS: Values<S> + ?Sized,
{
    check_cl(cl)?;
    let roc = roc_curve(y_true, y_score, false)?;
    let i = roc.index_at_tpr(target)?;
    WorkingPoint::from_counts(
        roc.thresholds[i],
        roc.tps[i],
        roc.n_pos,
        roc.fps[i],
        roc.n_neg,
        cl,
    )
}

/// Signal efficiency at a target background rejection R: the lowest threshold whose εb ≤ 1/R, with
/// intervals at level `cl`. Errors when only "select nothing" reaches R.
///
/// # Examples
///
/// ```
/// use rareml_metrics::efficiency_at_rejection;
/// let wp = efficiency_at_rejection(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8], 2.0, 0.95).unwrap();
/// assert_eq!((wp.threshold, wp.signal.value), (0.35, 1.0));
/// // A rejection below 1 is an error.
/// assert!(efficiency_at_rejection(&[0, 1], &[0.1, 0.2], 0.5, 0.95).is_err());
/// ```
pub fn efficiency_at_rejection<L, S, YT, YS>(
    y_true: &YT,
    y_score: &YS,
    rejection: f64,
    cl: f64,
) -> Result<WorkingPoint>
where
    L: BinaryLabel,
    S: Real,
    YT: Values<L> + ?Sized,
    YS: Values<S> + ?Sized,
{
    check_cl(cl)?;
    if rejection.is_nan() || rejection < 1.0 {
        return Err(Error::InvalidArgument {
            what: "target rejection",
            reason: format!("{rejection}: expected ≥ 1"),
        });
    }
    let roc = roc_curve(y_true, y_score, false)?;
    let i = roc.index_at_fpr(1.0 / rejection);
    if i == 0 {
        return Err(Error::Unreachable(format!(
            "no threshold that selects anything reaches a rejection of {rejection}"
        )));
    }
    WorkingPoint::from_counts(
        roc.thresholds[i],
        roc.tps[i],
        roc.n_pos,
        roc.fps[i],
        roc.n_neg,
        cl,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_scores_descending_and_invert() {
        let xs = [-1e300, -2.5, -0.0, 0.0, 1e-300, 0.5, 3.0, 1e300];
        for w in xs.windows(2) {
            assert!(desc_key(w[0]) >= desc_key(w[1]), "{w:?}");
        }
        assert_eq!(desc_key(-0.0), desc_key(0.0));
        for x in xs {
            assert_eq!(key_value(desc_key(x)), x + 0.0);
        }
    }

    #[test]
    fn small_case_by_hand() {
        // scores 0.9(s) 0.8(b) 0.8(s) 0.3(b): thresholds inf, 0.9, 0.8, 0.3.
        let roc = roc_curve(&[1, 0, 1, 0], &[0.9, 0.8, 0.8, 0.3], false).unwrap();
        assert_eq!(roc.thresholds, vec![f64::INFINITY, 0.9, 0.8, 0.3]);
        assert_eq!(roc.tpr, vec![0.0, 0.5, 1.0, 1.0]);
        assert_eq!(roc.fpr, vec![0.0, 0.0, 0.5, 1.0]);
        // Pairs (s, b): (0.9, 0.8) win, (0.9, 0.3) win, (0.8, 0.8) tie, (0.8, 0.3) win → 3.5/4.
        assert_eq!(roc.auc(), 0.875);
        let s = roc.significance();
        assert_eq!((s.index, s.xi), (2, 1.0 / 0.5f64.sqrt()));
    }

    #[test]
    fn degenerate_inputs_are_errors() {
        assert!(matches!(
            roc_curve(&[1, 1], &[0.1, 0.2], false),
            Err(Error::OneClass { .. })
        ));
        assert!(matches!(
            roc_curve(&[1, 0], &[0.2, 0.2], false),
            Err(Error::ConstantScores { .. })
        ));
        assert!(matches!(
            roc_curve(&[1, 0], &[f32::NAN, 0.2], false),
            Err(Error::NonFinite { index: 0, .. })
        ));
        assert!(matches!(
            roc_curve::<i32, f64, _, _>(&[] as &[i32], &[] as &[f64], false),
            Err(Error::Empty { .. })
        ));
        assert!(matches!(
            roc_curve(&[1, 0, 1], &[0.2, 0.1], false),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            roc_curve(&[1, 2], &[0.2, 0.1], false),
            Err(Error::BadLabel { index: 1, .. })
        ));
        assert!(rejection_at_efficiency(&[1, 0], &[0.2, 0.1], 1.5, 0.95).is_err());
        assert!(efficiency_at_rejection(&[1, 0], &[0.2, 0.1], 0.5, 0.95).is_err());
    }

    #[test]
    fn accepts_slices_vecs_and_ndarray_views() {
        let y = ndarray::array![1u8, 0, 1, 0];
        let s = ndarray::array![[0.9f32, 0.0], [0.8, 0.0], [0.8, 0.0], [0.3, 0.0]];
        let col = s.column(0); // a non-contiguous view
        let from_view = roc_auc_score(&y, &col).unwrap();
        let from_vec = roc_auc_score(
            &vec![true, false, true, false],
            &vec![0.9f64, 0.8, 0.8, 0.3],
        )
        .unwrap();
        assert_eq!(from_view, 0.875);
        assert_eq!(from_vec, 0.875);
    }

    /// A threshold chosen on one sample, applied with its intervals: the values by hand.
    #[test]
    fn chosen_threshold_and_its_working_point() {
        let scores = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1];
        let sig = [true, true, false, true, false, true, false, false];
        let thr = choose_threshold(&sig, &scores, Criterion::Efficiency(0.75)).unwrap();
        assert_eq!(thr, 0.6);
        let wp = working_point(&sig, &scores, thr, 0.95).unwrap();
        assert_eq!((wp.signal.value, wp.background.value), (0.75, 0.25));
        assert_eq!(wp.rejection, Bound::Value(4.0));
        assert_eq!(wp.significance, Bound::Value(1.5));
        // Ξ by hand: 0.7 → 0.5/√0.25 = 1.0, 0.6 → 0.75/√0.25 = 1.5, 0.4 → 0.75/√0.5 = 1.06,
        // 0.3 → 1/√0.5 = 1.41; points with εb = 0 (0.9, 0.8) have no Ξ.
        let thr = choose_threshold(&sig, &scores, Criterion::MaxSignificance).unwrap();
        assert_eq!(thr, 0.6);
        // A fixed threshold is defined on constant scores too (the ROC is not).
        assert!(working_point(&[1, 0], &[0.5, 0.5], 0.5, 0.95).is_ok());
        assert!(roc_curve(&[1, 0], &[0.5, 0.5], false).is_err());
    }

    #[test]
    fn zero_background_gives_lower_limits() {
        let wp = working_point(&[1, 1, 0, 0], &[0.9, 0.8, 0.2, 0.1], 0.5, 0.95).unwrap();
        assert_eq!(wp.background.k, 0);
        let Bound::LowerLimit(r) = wp.rejection else {
            panic!("{wp:?}")
        };
        assert!(r.is_finite() && r > 1.0);
        assert!(matches!(wp.significance, Bound::LowerLimit(x) if x.is_finite()));
        assert!(wp.rejection_interval.is_none());
        // One-sided 95 % upper limit on εb for 0 of 2: 1 − 0.05^(1/2) (the two-sided 90 % CP upper).
        let upper = 1.0 - 0.05f64.sqrt();
        assert!((r - 1.0 / upper).abs() < 1e-12, "{r}");
        let (_, cp90) = crate::clopper_pearson(0, 2, 0.9).unwrap();
        assert!((upper - cp90).abs() < 1e-12);
    }
}
