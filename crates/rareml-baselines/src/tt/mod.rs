//! SHiP target-tracker baselines of the SND machine-learning study (Shirobokov et al.):
//!
//! - energy from the hit count, E = a·N_hits + b (least squares);
//! - the "Gaussian fit" baseline ([`features`]): per station the intensity-weighted var(x),
//!   cov(x, y), var(y) of the hits and the hit count (4 features per station, 12 for the first 3
//!   stations) → a linear regression of E and of d, or gradient-boosted trees on the same features
//!   (the study used XGBoost; here the `perpetual` crate);
//! - the transverse vertex, the study's Algorithm 1 ([`vertex`]): stations sorted by hit count,
//!   DBSCAN on each (linfa-clustering), intensity-weighted cluster centres, the combination of one
//!   centre per station that a straight line across the stations fits best; against the
//!   intensity-weighted mean of all hits.

pub mod features;
pub mod vertex;

pub use features::{gaussian_features, LinearFit, MomentModel, MomentRegression};
pub use vertex::{dbscan_vertex, weighted_mean_xy, DbscanVertexParams, Vertex};

use rareml_io::tt::TtEvent;
use serde::Serialize;

use crate::error::{Error, Result};

pub(crate) fn check_event(e: &TtEvent, n_stations: usize) -> Result<()> {
    let h = &e.hits;
    let n = h.len();
    if h.y_cm.len() != n || h.station.len() != n || h.energy_gev.len() != n {
        return Err(Error::Shape {
            what: "TT hits",
            expected: "equal column lengths".into(),
            found: format!(
                "{n}, {}, {}, {}",
                h.y_cm.len(),
                h.station.len(),
                h.energy_gev.len()
            ),
        });
    }
    for i in 0..n {
        if !(h.x_cm[i].is_finite() && h.y_cm[i].is_finite() && h.energy_gev[i].is_finite()) {
            return Err(Error::NonFinite {
                what: "TT hit",
                index: i,
            });
        }
        if h.station[i] as usize >= n_stations {
            return Err(Error::Data {
                what: "TT hit",
                reason: format!(
                    "hit {i} is on station {} but {n_stations} stations were given",
                    h.station[i]
                ),
            });
        }
    }
    Ok(())
}

/// E = a·N_hits + b.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct NHitsEnergy {
    /// Slope a in GeV per hit.
    pub a_gev_per_hit: f64,
    /// Intercept b in GeV.
    pub b_gev: f64,
}

impl NHitsEnergy {
    /// Least-squares fit on (hit count, true energy) pairs.
    pub fn fit(n_hits: &[usize], energy_gev: &[f64]) -> Result<Self> {
        if n_hits.len() != energy_gev.len() {
            return Err(Error::Shape {
                what: "N-hits fit",
                expected: format!("{} energies", n_hits.len()),
                found: format!("{}", energy_gev.len()),
            });
        }
        if let Some(i) = energy_gev.iter().position(|e| !e.is_finite()) {
            return Err(Error::NonFinite {
                what: "energies",
                index: i,
            });
        }
        let n = n_hits.len() as f64;
        let mx = n_hits.iter().map(|&v| v as f64).sum::<f64>() / n;
        let my = energy_gev.iter().sum::<f64>() / n;
        let sxx: f64 = n_hits.iter().map(|&v| (v as f64 - mx).powi(2)).sum();
        if n_hits.len() < 2 || sxx == 0.0 {
            return Err(Error::Fit {
                what: "N-hits fit",
                reason: "needs at least two different hit counts".into(),
            });
        }
        let sxy: f64 = n_hits
            .iter()
            .zip(energy_gev)
            .map(|(&x, &y)| (x as f64 - mx) * (y - my))
            .sum();
        let a = sxy / sxx;
        Ok(Self {
            a_gev_per_hit: a,
            b_gev: my - a * mx,
        })
    }

    /// Predicted energy in GeV.
    pub fn predict(&self, n_hits: usize) -> f64 {
        self.a_gev_per_hit * n_hits as f64 + self.b_gev
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhits_line() {
        let f = NHitsEnergy::fit(&[10, 20, 30], &[2.0, 4.0, 6.0]).unwrap();
        assert!((f.a_gev_per_hit - 0.2).abs() < 1e-12 && f.b_gev.abs() < 1e-12);
        assert!((f.predict(50) - 10.0).abs() < 1e-12);
        assert!(NHitsEnergy::fit(&[5, 5], &[1.0, 2.0]).is_err());
        assert!(NHitsEnergy::fit(&[5, 6], &[1.0, f64::NAN]).is_err());
    }
}
