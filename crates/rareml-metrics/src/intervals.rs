//! Binomial (Clopper–Pearson) intervals, Student-t quantiles and ensemble intervals.

use serde::Serialize;
use statrs::distribution::{Beta, ContinuousCDF, StudentsT};

use crate::error::{check_cl, Error, Result};

/// A fraction k/n with its central Clopper–Pearson interval at confidence level `cl`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Efficiency {
    /// Selected (passing) items.
    pub k: u64,
    /// All items.
    pub n: u64,
    /// k/n.
    pub value: f64,
    /// Lower end of the interval (0 when k = 0).
    pub lower: f64,
    /// Upper end of the interval (1 when k = n).
    pub upper: f64,
    /// Confidence level of the interval.
    pub cl: f64,
}

impl Efficiency {
    /// k/n with its Clopper–Pearson interval.
    pub fn new(k: u64, n: u64, cl: f64) -> Result<Self> {
        let (lower, upper) = clopper_pearson(k, n, cl)?;
        Ok(Self {
            k,
            n,
            value: k as f64 / n as f64,
            lower,
            upper,
            cl,
        })
    }
}

/// Central Clopper–Pearson interval for k successes in n trials at confidence level `cl`:
/// `lower = B⁻¹((1−cl)/2; k, n−k+1)` (0 when k = 0), `upper = B⁻¹(1−(1−cl)/2; k+1, n−k)` (1 when k = n).
///
/// # Examples
///
/// ```
/// // scipy: beta.ppf(0.025, 5, 6), beta.ppf(0.975, 6, 5)
/// let (lo, hi) = rareml_metrics::clopper_pearson(5, 10, 0.95).unwrap();
/// assert!((lo - 0.187086).abs() < 1e-6 && (hi - 0.812914).abs() < 1e-6);
/// // The edges: 0 below at k = 0, 1 above at k = n; n = 0 is an error.
/// assert_eq!(rareml_metrics::clopper_pearson(0, 10, 0.95).unwrap().0, 0.0);
/// assert!(rareml_metrics::clopper_pearson(0, 0, 0.95).is_err());
/// ```
pub fn clopper_pearson(k: u64, n: u64, cl: f64) -> Result<(f64, f64)> {
    check_cl(cl)?;
    if n == 0 {
        return Err(Error::Empty {
            what: "binomial trials (n = 0)",
        });
    }
    if k > n {
        return Err(Error::InvalidArgument {
            what: "k",
            reason: format!("k = {k} > n = {n}"),
        });
    }
    let alpha = 1.0 - cl;
    let (kf, nf) = (k as f64, n as f64);
    let beta = |a: f64, b: f64, p: f64| -> Result<f64> {
        let d = Beta::new(a, b).map_err(|e| Error::InvalidArgument {
            what: "Beta parameters",
            reason: e.to_string(),
        })?;
        Ok(d.inverse_cdf(p))
    };
    let lower = if k == 0 {
        0.0
    } else {
        beta(kf, nf - kf + 1.0, alpha / 2.0)?
    };
    let upper = if k == n {
        1.0
    } else {
        beta(kf + 1.0, nf - kf, 1.0 - alpha / 2.0)?
    };
    Ok((lower, upper))
}

/// Quantile `p` of Student's t distribution with `dof` degrees of freedom (e.g. p = 0.975 for a
/// two-sided 95 % interval).
///
/// # Examples
///
/// ```
/// let t = rareml_metrics::student_t_quantile(0.975, 9.0).unwrap();
/// assert!((t - 2.262157).abs() < 1e-6);
/// ```
pub fn student_t_quantile(p: f64, dof: f64) -> Result<f64> {
    if !(p > 0.0 && p < 1.0) {
        return Err(Error::InvalidArgument {
            what: "probability",
            reason: format!("{p}: expected 0 < p < 1"),
        });
    }
    let t = StudentsT::new(0.0, 1.0, dof).map_err(|e| Error::InvalidArgument {
        what: "degrees of freedom",
        reason: format!("{dof}: {e}"),
    })?;
    Ok(t.inverse_cdf(p))
}

/// Mean of K values with its two-sided Student-t interval: `mean ± t_{(1+cl)/2, K−1} · s/√K`
/// (s = sample standard deviation). The NEWSdm paper's 10-checkpoint ensemble: 2.262·σ/√10 at 95 %.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EnsembleInterval {
    /// Number of values (models).
    pub k: usize,
    /// Their mean.
    pub mean: f64,
    /// Sample standard deviation (K − 1 in the denominator).
    pub std: f64,
    /// Student-t multiplier t_{(1+cl)/2, K−1}.
    pub t: f64,
    /// Half-width of the interval, t·s/√K.
    pub half_width: f64,
    /// Confidence level.
    pub cl: f64,
}

/// The ensemble interval of `values` (one working-point figure per model) at level `cl`.
///
/// # Examples
///
/// ```
/// let e = rareml_metrics::ensemble_interval(&[0.90, 0.92, 0.94], 0.95).unwrap();
/// assert!((e.mean - 0.92).abs() < 1e-12 && (e.std - 0.02).abs() < 1e-12);
/// // t(0.975, 2 dof) = 4.3027: half-width 4.3027 · 0.02 / √3.
/// assert!((e.half_width - 4.302653 * 0.02 / 3f64.sqrt()).abs() < 1e-6);
/// // One model gives no interval.
/// assert!(rareml_metrics::ensemble_interval(&[0.9], 0.95).is_err());
/// ```
pub fn ensemble_interval(values: &[f64], cl: f64) -> Result<EnsembleInterval> {
    check_cl(cl)?;
    let k = values.len();
    if k < 2 {
        return Err(Error::InvalidArgument {
            what: "ensemble",
            reason: format!("{k} value(s): at least 2 models are needed"),
        });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "values",
            index,
            value,
        });
    }
    let mean = values.iter().sum::<f64>() / k as f64;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1) as f64).sqrt();
    let t = student_t_quantile(0.5 + cl / 2.0, (k - 1) as f64)?;
    Ok(EnsembleInterval {
        k,
        mean,
        std,
        t,
        half_width: t * std / (k as f64).sqrt(),
        cl,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clopper_pearson_edges_and_errors() {
        assert_eq!(clopper_pearson(0, 10, 0.95).unwrap().0, 0.0);
        assert_eq!(clopper_pearson(10, 10, 0.95).unwrap().1, 1.0);
        let (lo, hi) = clopper_pearson(5, 10, 0.95).unwrap();
        assert!(
            lo < 0.5 && hi > 0.5 && (lo - (1.0 - hi)).abs() < 1e-12,
            "symmetric at k = n/2"
        );
        assert!(clopper_pearson(11, 10, 0.95).is_err());
        assert!(clopper_pearson(0, 0, 0.95).is_err());
        assert!(clopper_pearson(1, 2, 1.0).is_err());
        assert!(clopper_pearson(1, 2, f64::NAN).is_err());
    }

    #[test]
    fn ensemble_matches_the_newsdm_formula() {
        let v: Vec<f64> = (0..10).map(|i| 0.9 + 0.001 * i as f64).collect();
        let e = ensemble_interval(&v, 0.95).unwrap();
        assert!((e.t - 2.262).abs() < 5e-4, "{}", e.t);
        assert!((e.half_width - e.t * e.std / 10f64.sqrt()).abs() < 1e-15);
        assert!(ensemble_interval(&[1.0], 0.95).is_err());
        assert!(ensemble_interval(&[1.0, f64::NAN], 0.95).is_err());
    }
}
