//! Regression figures of merit (SHiP energy and vertex-distance regression): bias, RMSE, relative
//! resolution σ((t − p)/t), σ of differences; the same binned in the true value; and weighted
//! least-squares fits of the energy resolution σ_E/E = a/√E ⊕ b and of a/√E alone.

use serde::Serialize;

use crate::error::{check_same_len, Error, Result};
use crate::input::{finite_f64, Real, Values};

/// Summary of predictions `p` against truths `t`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RegressionSummary {
    /// Number of items.
    pub n: usize,
    /// Mean of p − t (in the unit of the quantity).
    pub bias: f64,
    /// √mean((p − t)²) (unit of the quantity).
    pub rmse: f64,
    /// Standard deviation (1/n) of t − p (unit of the quantity).
    pub sigma_diff: f64,
    /// Standard deviation (1/n) of (t − p)/t (dimensionless); `None` when some t = 0.
    pub resolution: Option<f64>,
    /// Mean of t.
    pub mean_truth: f64,
}

fn mean_std(v: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = v.clone().count() as f64;
    let m = v.clone().sum::<f64>() / n;
    let var = v.map(|x| (x - m).powi(2)).sum::<f64>() / n;
    (m, var.sqrt())
}

fn summary(t: &[f64], p: &[f64]) -> RegressionSummary {
    let n = t.len();
    let d = || t.iter().zip(p).map(|(t, p)| p - t);
    let bias = d().sum::<f64>() / n as f64;
    let rmse = (d().map(|x| x * x).sum::<f64>() / n as f64).sqrt();
    let (_, sigma_diff) = mean_std(d());
    let resolution = t
        .iter()
        .all(|&t| t != 0.0)
        .then(|| mean_std(t.iter().zip(p).map(|(t, p)| (t - p) / t)).1);
    let mean_truth = t.iter().sum::<f64>() / n as f64;
    RegressionSummary {
        n,
        bias,
        rmse,
        sigma_diff,
        resolution,
        mean_truth,
    }
}

fn inputs<S: Real, T: Real>(truth: &[S], pred: &[T]) -> Result<(Vec<f64>, Vec<f64>)> {
    check_same_len("truth", truth.len(), "pred", pred.len())?;
    if truth.is_empty() {
        return Err(Error::Empty {
            what: "truth / pred",
        });
    }
    Ok((finite_f64("truth", truth)?, finite_f64("pred", pred)?))
}

/// Robust width of a distribution: half the width of its central 68.27 % interval,
/// (q(0.84135) − q(0.15865))/2 with numpy's linear quantiles — σ for a Gaussian, untouched by a
/// few outliers that dominate a standard deviation.
///
/// # Examples
///
/// ```
/// // 1000 evenly spaced values on [−1, 1] and one outlier at 1000.
/// let mut v: Vec<f64> = (0..1000).map(|i| -1.0 + 2.0 * i as f64 / 999.0).collect();
/// let w = rareml_metrics::central_half_width(&v).unwrap();
/// v.push(1000.0);
/// assert!((rareml_metrics::central_half_width(&v).unwrap() - w).abs() < 0.01);
/// assert!((w - 0.6827).abs() < 0.01);
/// let empty: [f64; 0] = [];
/// assert!(rareml_metrics::central_half_width(&empty).is_err());
/// ```
pub fn central_half_width<T: Real, V: Values<T> + ?Sized>(values: &V) -> Result<f64> {
    let v = values.values();
    if v.is_empty() {
        return Err(Error::Empty { what: "values" });
    }
    let mut v = finite_f64("values", &v)?;
    v.sort_by(f64::total_cmp);
    // Φ(±1): the central 68.27 % of a Gaussian.
    const LO: f64 = 0.158_655_253_931_457;
    Ok((crate::quantile_sorted(&v, 1.0 - LO) - crate::quantile_sorted(&v, LO)) / 2.0)
}

/// Bias, RMSE, σ of differences and relative resolution of `pred` against `truth`.
///
/// # Examples
///
/// ```
/// let s = rareml_metrics::regression_summary(&[10.0, 20.0], &[11.0, 18.0]).unwrap();
/// // p − t = (1, −2): bias −0.5, RMSE √2.5; (t − p)/t = (−0.1, 0.1): σ = 0.1.
/// assert_eq!(s.bias, -0.5);
/// assert!((s.rmse - 2.5f64.sqrt()).abs() < 1e-12);
/// assert!((s.resolution.unwrap() - 0.1).abs() < 1e-12);
/// // A true value of 0 leaves the relative resolution undefined, not infinite.
/// assert_eq!(rareml_metrics::regression_summary(&[0.0, 1.0], &[1.0, 1.0]).unwrap().resolution, None);
/// ```
pub fn regression_summary<S, T, YT, YP>(truth: &YT, pred: &YP) -> Result<RegressionSummary>
where
    S: Real,
    T: Real,
    YT: Values<S> + ?Sized,
    YP: Values<T> + ?Sized,
{
    let (t, p) = inputs(&truth.values(), &pred.values())?;
    Ok(summary(&t, &p))
}

/// One bin of true values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ResolutionBin {
    /// Lower edge (inclusive).
    pub lo: f64,
    /// Upper edge (exclusive; inclusive for the last bin).
    pub hi: f64,
    /// The bin's statistics; `None` when it holds fewer than 2 items.
    pub summary: Option<RegressionSummary>,
    /// Items in the bin.
    pub n: usize,
    /// Gaussian error on the relative resolution, resolution/√(2(n − 1)).
    pub resolution_err: Option<f64>,
}

/// Statistics in bins of the true value with the given (increasing) edges; items outside the edges
/// are counted in the returned `(below, above)`.
///
/// # Examples
///
/// ```
/// let t = [5.0, 6.0, 15.0, 16.0, 30.0];
/// let p = [5.5, 5.4, 15.0, 17.6, 31.0];
/// let (bins, (below, above)) = rareml_metrics::binned_resolution(&t, &p, &[0.0, 10.0, 20.0]).unwrap();
/// assert_eq!((bins[0].n, bins[1].n, below, above), (2, 2, 0, 1));
/// assert!((bins[0].summary.unwrap().resolution.unwrap() - 0.1).abs() < 1e-12);
/// ```
pub fn binned_resolution<S, T, YT, YP>(
    truth: &YT,
    pred: &YP,
    edges: &[f64],
) -> Result<(Vec<ResolutionBin>, (usize, usize))>
where
    S: Real,
    T: Real,
    YT: Values<S> + ?Sized,
    YP: Values<T> + ?Sized,
{
    let (t, p) = inputs(&truth.values(), &pred.values())?;
    crate::histogram::check_edges(edges)?;
    let nb = edges.len() - 1;
    let mut members: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); nb];
    let (mut below, mut above) = (0, 0);
    for (&ti, &pi) in t.iter().zip(&p) {
        match crate::histogram::bin_index(edges, ti) {
            Ok(b) => {
                members[b].0.push(ti);
                members[b].1.push(pi);
            }
            Err(false) => below += 1,
            Err(true) => above += 1,
        }
    }
    let bins = members
        .iter()
        .enumerate()
        .map(|(b, (tb, pb))| {
            let n = tb.len();
            let s = (n >= 2).then(|| summary(tb, pb));
            ResolutionBin {
                lo: edges[b],
                hi: edges[b + 1],
                n,
                resolution_err: s
                    .and_then(|s| s.resolution)
                    .map(|r| r / (2.0 * (n as f64 - 1.0)).sqrt()),
                summary: s,
            }
        })
        .collect();
    Ok((bins, (below, above)))
}

/// Which resolution function to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ResolutionModel {
    /// σ_E/E = a/√E.
    Stochastic,
    /// σ_E/E = a/√E ⊕ b = √(a²/E + b²).
    StochasticAndConstant,
}

/// A fitted resolution function with parameter errors (from the covariance of the weighted fit).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ResolutionFit {
    /// The model.
    pub model: ResolutionModel,
    /// Stochastic term a (unit √E, e.g. √GeV).
    pub a: f64,
    /// Its error.
    pub a_err: f64,
    /// Constant term b (dimensionless; 0 for [`ResolutionModel::Stochastic`]).
    pub b: f64,
    /// Its error.
    pub b_err: f64,
    /// χ² at the minimum.
    pub chi2: f64,
    /// Degrees of freedom (points − parameters).
    pub ndf: usize,
}

/// Weighted least-squares fit of `resolution` (σ_E/E) versus `energy` with errors `resolution_err`.
/// The two-parameter model is solved by Gauss–Newton with Levenberg–Marquardt damping, started from
/// the linear fit of (σ_E/E)² = a²·(1/E) + b².
///
/// # Examples
///
/// ```
/// use rareml_metrics::{fit_resolution, ResolutionModel};
/// // Points on σ/E = √(0.5²/E + 0.05²) recover a = 0.5 √GeV, b = 0.05.
/// let e: Vec<f64> = [5.0, 10.0, 20.0, 50.0, 100.0].to_vec();
/// let r: Vec<f64> = e.iter().map(|e| (0.25 / e + 0.0025f64).sqrt()).collect();
/// let f = fit_resolution(&e, &r, &vec![0.001; 5], ResolutionModel::StochasticAndConstant).unwrap();
/// assert!((f.a - 0.5).abs() < 1e-6 && (f.b - 0.05).abs() < 1e-6);
/// ```
pub fn fit_resolution(
    energy: &[f64],
    resolution: &[f64],
    resolution_err: &[f64],
    model: ResolutionModel,
) -> Result<ResolutionFit> {
    check_same_len("energy", energy.len(), "resolution", resolution.len())?;
    check_same_len(
        "energy",
        energy.len(),
        "resolution_err",
        resolution_err.len(),
    )?;
    let k = match model {
        ResolutionModel::Stochastic => 1,
        ResolutionModel::StochasticAndConstant => 2,
    };
    if energy.len() < k {
        return Err(Error::InvalidArgument {
            what: "points",
            reason: format!("{} point(s) for {k} parameter(s)", energy.len()),
        });
    }
    for (i, (&e, (&r, &s))) in energy
        .iter()
        .zip(resolution.iter().zip(resolution_err))
        .enumerate()
    {
        let good = e > 0.0 && e.is_finite() && r.is_finite() && s > 0.0 && s.is_finite();
        if !good {
            return Err(Error::InvalidArgument {
                what: "resolution point",
                reason: format!(
                    "point {i}: E = {e}, σ/E = {r} ± {s}: expected E > 0, finite σ/E and error > 0"
                ),
            });
        }
    }
    let w: Vec<f64> = resolution_err.iter().map(|s| 1.0 / (s * s)).collect();
    let chi2 = |a: f64, b: f64| -> f64 {
        energy
            .iter()
            .zip(resolution)
            .zip(&w)
            .map(|((e, r), w)| w * (r - (a * a / e + b * b).sqrt()).powi(2))
            .sum()
    };
    match model {
        ResolutionModel::Stochastic => {
            // Linear in a: r = a·x with x = 1/√E.
            let (mut sxx, mut sxy) = (0.0, 0.0);
            for ((e, r), w) in energy.iter().zip(resolution).zip(&w) {
                let x = 1.0 / e.sqrt();
                sxx += w * x * x;
                sxy += w * x * r;
            }
            let a = sxy / sxx;
            Ok(ResolutionFit {
                model,
                a,
                a_err: (1.0 / sxx).sqrt(),
                b: 0.0,
                b_err: 0.0,
                chi2: chi2(a, 0.0),
                ndf: energy.len() - 1,
            })
        }
        ResolutionModel::StochasticAndConstant => {
            // Start: weighted linear fit of r² = A·(1/E) + B (weights 1/(2 r σ)²).
            let (mut s, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for ((e, r), se) in energy.iter().zip(resolution).zip(resolution_err) {
                let x = 1.0 / e;
                let y = r * r;
                let wy = 1.0 / (2.0 * r.abs().max(1e-12) * se).powi(2);
                s += wy;
                sx += wy * x;
                sy += wy * y;
                sxx += wy * x * x;
                sxy += wy * x * y;
            }
            let det = s * sxx - sx * sx;
            let (a2, b2) = if det.abs() > 0.0 {
                ((s * sxy - sx * sy) / det, (sxx * sy - sx * sxy) / det)
            } else {
                (0.0, 0.0)
            };
            let (mut a, mut b) = (a2.max(1e-12).sqrt(), b2.max(1e-12).sqrt());
            let mut lambda = 1e-3;
            let mut current = chi2(a, b);
            for _ in 0..200 {
                let (mut jtj, mut jtr) = ([[0.0f64; 2]; 2], [0.0f64; 2]);
                for ((e, r), w) in energy.iter().zip(resolution).zip(&w) {
                    let f = (a * a / e + b * b).sqrt().max(1e-300);
                    let j = [a / (e * f), b / f];
                    let res = r - f;
                    for u in 0..2 {
                        jtr[u] += w * j[u] * res;
                        for v in 0..2 {
                            jtj[u][v] += w * j[u] * j[v];
                        }
                    }
                }
                let m = [
                    [jtj[0][0] * (1.0 + lambda), jtj[0][1]],
                    [jtj[1][0], jtj[1][1] * (1.0 + lambda)],
                ];
                let d = m[0][0] * m[1][1] - m[0][1] * m[1][0];
                if d.abs() < 1e-300 {
                    break;
                }
                let da = (m[1][1] * jtr[0] - m[0][1] * jtr[1]) / d;
                let db = (m[0][0] * jtr[1] - m[1][0] * jtr[0]) / d;
                let trial = chi2(a + da, b + db);
                if trial <= current {
                    let converged = (current - trial) <= 1e-14 * current.max(1e-300)
                        && da.abs() <= 1e-12 * a.abs().max(1e-12);
                    a += da;
                    b += db;
                    current = trial;
                    lambda = (lambda / 10.0).max(1e-12);
                    if converged {
                        break;
                    }
                } else {
                    lambda *= 10.0;
                    if lambda > 1e12 {
                        break;
                    }
                }
            }
            // Covariance = (JᵀWJ)⁻¹ at the minimum.
            let mut jtj = [[0.0f64; 2]; 2];
            for (e, w) in energy.iter().zip(&w) {
                let f = (a * a / e + b * b).sqrt().max(1e-300);
                let j = [a / (e * f), b / f];
                for u in 0..2 {
                    for v in 0..2 {
                        jtj[u][v] += w * j[u] * j[v];
                    }
                }
            }
            let d = jtj[0][0] * jtj[1][1] - jtj[0][1] * jtj[1][0];
            let (a_err, b_err) = if d > 0.0 {
                ((jtj[1][1] / d).sqrt(), (jtj[0][0] / d).sqrt())
            } else {
                (f64::INFINITY, f64::INFINITY)
            };
            Ok(ResolutionFit {
                model,
                a: a.abs(),
                a_err,
                b: b.abs(),
                b_err,
                chi2: current,
                ndf: energy.len() - 2,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_by_hand() {
        let s = regression_summary(&[10.0, 20.0], &[11.0, 18.0]).unwrap();
        assert_eq!(s.bias, -0.5);
        assert!((s.rmse - (2.5f64).sqrt()).abs() < 1e-15);
        assert_eq!(s.sigma_diff, 1.5);
        // (t−p)/t = −0.1, 0.1 → σ = 0.1.
        assert!((s.resolution.unwrap() - 0.1).abs() < 1e-15);
        assert_eq!(
            regression_summary(&[0.0, 1.0], &[0.5, 1.0])
                .unwrap()
                .resolution,
            None
        );
        assert!(regression_summary(&[1.0], &[1.0, 2.0]).is_err());
        assert!(regression_summary(&[1.0, f64::NAN], &[1.0, 2.0]).is_err());
    }

    #[test]
    fn fits_recover_exact_parameters() {
        let e: Vec<f64> = (1..=20).map(|i| 5.0 * i as f64).collect();
        let r: Vec<f64> = e
            .iter()
            .map(|e| (0.12f64.powi(2) / e + 0.03f64.powi(2)).sqrt())
            .collect();
        let err: Vec<f64> = r.iter().map(|r| 0.02 * r).collect();
        let f = fit_resolution(&e, &r, &err, ResolutionModel::StochasticAndConstant).unwrap();
        assert!(
            (f.a - 0.12).abs() < 1e-7 && (f.b - 0.03).abs() < 1e-7,
            "{f:?}"
        );
        assert!(f.chi2 < 1e-10 && f.ndf == 18 && f.a_err > 0.0 && f.b_err > 0.0);
        let r1: Vec<f64> = e.iter().map(|e| 0.2 / e.sqrt()).collect();
        let f = fit_resolution(&e, &r1, &err, ResolutionModel::Stochastic).unwrap();
        assert!((f.a - 0.2).abs() < 1e-12 && f.chi2 < 1e-20);
        assert!(fit_resolution(&[1.0], &[0.1], &[0.0], ResolutionModel::Stochastic).is_err());
        assert!(fit_resolution(
            &[1.0],
            &[0.1],
            &[0.01],
            ResolutionModel::StochasticAndConstant
        )
        .is_err());
    }

    #[test]
    fn bins_by_truth() {
        let t = [1.0, 1.5, 2.5, 2.6, 9.0, -1.0];
        let p = [1.1, 1.4, 2.5, 2.4, 9.0, -1.0];
        let (bins, (below, above)) = binned_resolution(&t, &p, &[0.0, 2.0, 3.0]).unwrap();
        assert_eq!((below, above), (1, 1));
        assert_eq!(bins[0].n, 2);
        assert_eq!(bins[1].n, 2);
        assert!(bins[0].summary.unwrap().resolution.is_some() && bins[0].resolution_err.is_some());
    }
}
