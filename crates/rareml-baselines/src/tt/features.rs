//! The study's "Gaussian fit" baseline: 4 moments of the hits per station (intensity-weighted
//! var(x), cov(x, y), var(y) and the hit count) regressed onto E and d, linearly (ordinary least
//! squares, [`LinearFit`]) or with gradient-boosted trees (the study used XGBoost; here the
//! `forust-ml` crate's booster, XGBoost's algorithm and hyper-parameters, squared loss).

use forust_ml::objective::ObjectiveType;
use forust_ml::{GradientBooster, Matrix};
use rareml_io::tt::TtEvent;
use serde::{Deserialize, Serialize};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::check_event;
use crate::error::{param, Error, Result};

/// The 4 Gaussian-moment features of each listed station: intensity-weighted var(x), cov(x, y),
/// var(y) in cm² and the hit count; a station without hits gives (0, 0, 0, 0).
pub fn gaussian_features(event: &TtEvent, stations: &[usize]) -> Result<Vec<f64>> {
    let n_stations = stations.iter().copied().max().map_or(0, |m| m + 1).max(
        event
            .hits
            .station
            .iter()
            .map(|&s| s as usize + 1)
            .max()
            .unwrap_or(0),
    );
    check_event(event, n_stations)?;
    let h = &event.hits;
    let mut out = Vec::with_capacity(4 * stations.len());
    for &st in stations {
        let (mut w, mut sx, mut sy, mut n) = (0.0f64, 0.0, 0.0, 0usize);
        for i in (0..h.len()).filter(|&i| h.station[i] as usize == st) {
            let e = h.energy_gev[i].max(0.0) as f64;
            w += e;
            sx += e * h.x_cm[i] as f64;
            sy += e * h.y_cm[i] as f64;
            n += 1;
        }
        if n == 0 || w == 0.0 {
            out.extend([0.0, 0.0, 0.0, n as f64]);
            continue;
        }
        let (mx, my) = (sx / w, sy / w);
        let (mut vxx, mut vxy, mut vyy) = (0.0, 0.0, 0.0);
        for i in (0..h.len()).filter(|&i| h.station[i] as usize == st) {
            let e = h.energy_gev[i].max(0.0) as f64;
            let (dx, dy) = (h.x_cm[i] as f64 - mx, h.y_cm[i] as f64 - my);
            vxx += e * dx * dx;
            vxy += e * dx * dy;
            vyy += e * dy * dy;
        }
        out.extend([vxx / w, vxy / w, vyy / w, n as f64]);
    }
    Ok(out)
}

/// Ordinary least squares y = Σ coef_j·x_j + intercept, solved on standardised features by the
/// sweep operator; a feature constant over the sample, or a linear combination of the features
/// before it, gets coefficient 0 (as a minimum-norm solver would drop it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinearFit {
    /// Intercept, in the unit of y.
    pub intercept: f64,
    /// One coefficient per feature, in the unit of y per unit of the feature.
    pub coef: Vec<f64>,
}

impl LinearFit {
    /// Fits on `x`, `n × k` row-major (k = `y.len()`'s companions: `x.len() = n·k`), and targets `y`.
    pub fn fit(x: &[f64], k: usize, y: &[f64]) -> Result<Self> {
        let n = y.len();
        if k == 0 || x.len() != n * k {
            return Err(Error::Shape {
                what: "linear fit",
                expected: format!("{n} rows × {k} features (k ≥ 1)"),
                found: format!("{} values", x.len()),
            });
        }
        if n <= k {
            return Err(Error::Empty {
                what: "linear fit",
                reason: format!("{n} samples for {k} features and an intercept"),
            });
        }
        if let Some(i) = x.iter().chain(y).position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "linear-fit input",
                index: i,
            });
        }
        let nf = n as f64;
        let mean_x: Vec<f64> = (0..k)
            .map(|j| (0..n).map(|i| x[i * k + j]).sum::<f64>() / nf)
            .collect();
        let mean_y = y.iter().sum::<f64>() / nf;
        let sd: Vec<f64> = (0..k)
            .map(|j| {
                ((0..n)
                    .map(|i| (x[i * k + j] - mean_x[j]).powi(2))
                    .sum::<f64>()
                    / nf)
                    .sqrt()
            })
            .collect();
        // The augmented moment matrix [[ZᵀZ, Zᵀy], [yᵀZ, yᵀy]] / n of the standardised features.
        let m = k + 1;
        let mut a = vec![0.0f64; m * m];
        let z = |i: usize, j: usize| {
            if j == k {
                y[i] - mean_y
            } else if sd[j] > 0.0 {
                (x[i * k + j] - mean_x[j]) / sd[j]
            } else {
                0.0
            }
        };
        for i in 0..n {
            for p in 0..m {
                let zp = z(i, p);
                for q in p..m {
                    a[p * m + q] += zp * z(i, q) / nf;
                }
            }
        }
        for p in 0..m {
            for q in 0..p {
                a[p * m + q] = a[q * m + p];
            }
        }
        // Sweep each feature whose residual variance is not negligible (Goodnight's SWEEP).
        let mut swept = vec![false; k];
        for (p, done) in swept.iter_mut().enumerate() {
            let d = a[p * m + p];
            if sd[p] == 0.0 || d < 1e-9 {
                continue;
            }
            *done = true;
            for q in 0..m {
                a[p * m + q] /= d;
            }
            for i in (0..m).filter(|&i| i != p) {
                let b = a[i * m + p];
                for q in 0..m {
                    a[i * m + q] -= b * a[p * m + q];
                }
                a[i * m + p] = -b / d;
            }
            a[p * m + p] = 1.0 / d;
        }
        let coef: Vec<f64> = (0..k)
            .map(|j| if swept[j] { a[j * m + k] / sd[j] } else { 0.0 })
            .collect();
        let intercept = mean_y - coef.iter().zip(&mean_x).map(|(c, m)| c * m).sum::<f64>();
        Ok(Self { intercept, coef })
    }

    /// The prediction for one feature row.
    pub fn predict(&self, row: &[f64]) -> f64 {
        self.intercept + self.coef.iter().zip(row).map(|(c, x)| c * x).sum::<f64>()
    }
}

/// The regressor put on the Gaussian-moment features.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MomentModel {
    /// Ordinary least squares ([`LinearFit`]), the study's "Gaussian fit + regression".
    Linear,
    /// Gradient-boosted trees, squared loss (`forust-ml`, XGBoost's algorithm; the study used
    /// XGBoost).
    Boosted {
        /// Trees in the ensemble.
        trees: usize,
        /// Shrinkage of each tree (XGBoost's eta).
        learning_rate: f32,
        /// Depth of each tree.
        max_depth: usize,
        /// Seed of the booster.
        seed: u64,
    },
}

impl MomentModel {
    /// XGBoost-like defaults: 300 trees, eta 0.1, depth 5.
    pub fn boosted(seed: u64) -> Self {
        MomentModel::Boosted {
            trees: 300,
            learning_rate: 0.1,
            max_depth: 5,
            seed,
        }
    }

    /// Checks the parameters: 1–100,000 trees, learning rate in (0, 1], depth 1–20.
    pub fn validate(&self) -> Result<()> {
        if let MomentModel::Boosted {
            trees,
            learning_rate,
            max_depth,
            ..
        } = *self
        {
            if !(1..=100_000).contains(&trees) {
                return Err(param("trees", trees, "1–100,000"));
            }
            if !(learning_rate > 0.0 && learning_rate <= 1.0) {
                return Err(param("learning_rate", learning_rate, "in (0, 1]"));
            }
            if !(1..=20).contains(&max_depth) {
                return Err(param("max_depth", max_depth, "1–20"));
            }
        }
        Ok(())
    }
}

enum Fitted {
    Linear(LinearFit),
    Boosted(Box<GradientBooster>),
}

impl Fitted {
    /// Fits on `x` (n × k row-major) and `y`.
    fn fit(
        model: &MomentModel,
        x: &[f64],
        k: usize,
        y: &[f64],
        what: &'static str,
    ) -> Result<Self> {
        match *model {
            MomentModel::Linear => Ok(Fitted::Linear(LinearFit::fit(x, k, y)?)),
            MomentModel::Boosted {
                trees,
                learning_rate,
                max_depth,
                seed,
            } => {
                let cols = column_major(x, k);
                let n = y.len();
                let mut b = GradientBooster::default()
                    .set_objective_type(ObjectiveType::SquaredLoss)
                    .set_iterations(trees)
                    .set_learning_rate(learning_rate)
                    .set_max_depth(max_depth)
                    .set_seed(seed);
                let w = vec![1.0; n];
                catch_unwind(AssertUnwindSafe(|| {
                    b.fit(&Matrix::new(&cols, n, k), y, &w, None)
                }))
                .map_err(|_| Error::Fit {
                    what,
                    reason: "the gradient booster panicked".into(),
                })?
                .map_err(|e| Error::Fit {
                    what,
                    reason: e.to_string(),
                })?;
                Ok(Fitted::Boosted(Box::new(b)))
            }
        }
    }

    /// Predictions for `x` (n × k row-major).
    fn predict(&self, x: &[f64], k: usize, what: &'static str) -> Result<Vec<f64>> {
        match self {
            Fitted::Linear(f) => Ok(x.chunks(k).map(|r| f.predict(r)).collect()),
            Fitted::Boosted(b) => {
                let cols = column_major(x, k);
                catch_unwind(AssertUnwindSafe(|| {
                    b.predict(&Matrix::new(&cols, x.len() / k, k), true)
                }))
                .map_err(|_| Error::Fit {
                    what,
                    reason: "the gradient booster panicked in predict".into(),
                })
            }
        }
    }
}

/// `x` (n × k row-major) in column-major order, as `forust-ml`'s `Matrix` takes it.
fn column_major(x: &[f64], k: usize) -> Vec<f64> {
    let n = x.len() / k;
    (0..k)
        .flat_map(|j| (0..n).map(move |i| x[i * k + j]))
        .collect()
}

/// Regressions of E (GeV) and d (cm) on the Gaussian-moment features of chosen stations.
pub struct MomentRegression {
    stations: Vec<usize>,
    model: MomentModel,
    energy: Fitted,
    distance: Fitted,
}

impl MomentRegression {
    /// Linear fits on training events with their truth; `stations` lists the stations whose
    /// features are used (the study: the first 3 → 12 features).
    pub fn fit(events: &[TtEvent], stations: &[usize]) -> Result<Self> {
        Self::fit_with(events, stations, &MomentModel::Linear)
    }

    /// Fits with the chosen regressor.
    pub fn fit_with(events: &[TtEvent], stations: &[usize], model: &MomentModel) -> Result<Self> {
        model.validate()?;
        if stations.is_empty() {
            return Err(param("stations", stations, "at least one station"));
        }
        let k = 4 * stations.len();
        if events.len() <= k {
            return Err(Error::Empty {
                what: "training events",
                reason: format!("{} events for {k} features", events.len()),
            });
        }
        let x = Self::features(events, stations)?;
        let e: Vec<f64> = events.iter().map(|e| e.energy_gev as f64).collect();
        let d: Vec<f64> = events.iter().map(|e| e.distance_cm as f64).collect();
        Ok(Self {
            stations: stations.to_vec(),
            model: model.clone(),
            energy: Fitted::fit(model, &x, k, &e, "energy regression")?,
            distance: Fitted::fit(model, &x, k, &d, "distance regression")?,
        })
    }

    fn features(events: &[TtEvent], stations: &[usize]) -> Result<Vec<f64>> {
        let mut x = Vec::with_capacity(events.len() * 4 * stations.len());
        for e in events {
            x.extend(gaussian_features(e, stations)?);
        }
        Ok(x)
    }

    /// The regressor.
    pub fn model(&self) -> &MomentModel {
        &self.model
    }

    /// Predicted (E in GeV, d in cm) of one event.
    pub fn predict(&self, event: &TtEvent) -> Result<(f64, f64)> {
        Ok(self.predict_many(std::slice::from_ref(event))?[0])
    }

    /// Predicted (E in GeV, d in cm) of each event.
    pub fn predict_many(&self, events: &[TtEvent]) -> Result<Vec<(f64, f64)>> {
        let k = 4 * self.stations.len();
        let x = Self::features(events, &self.stations)?;
        let e = self.energy.predict(&x, k, "energy regression")?;
        let d = self.distance.predict(&x, k, "distance regression")?;
        Ok(e.into_iter().zip(d).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rareml_io::tt::Hits;

    fn push(h: &mut Hits, x: f64, y: f64, st: u8, e: f32) {
        h.x_cm.push(x as f32);
        h.y_cm.push(y as f32);
        h.station.push(st);
        h.energy_gev.push(e);
    }

    /// The least-squares solution of a random overdetermined system, against the normal equations
    /// solved by hand (Cramer's rule for 2 features), and a duplicated / constant feature dropped.
    #[test]
    fn linear_fit_matches_the_normal_equations() {
        let n = 50;
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let (a, b) = (
                (i as f64 * 0.37).sin() * 3.0,
                (i as f64 * 1.3).cos() + 0.1 * i as f64,
            );
            x.extend([a, b]);
            y.push(2.0 - 1.5 * a + 0.25 * b + 0.1 * ((i * 7919) % 13) as f64);
        }
        let f = LinearFit::fit(&x, 2, &y).unwrap();
        // Centered normal equations [[Saa, Sab], [Sab, Sbb]] β = [Say, Sby].
        let m = |j: usize| (0..n).map(|i| x[2 * i + j]).sum::<f64>() / n as f64;
        let my = y.iter().sum::<f64>() / n as f64;
        let s = |p: usize, q: usize| {
            (0..n)
                .map(|i| (x[2 * i + p] - m(p)) * (x[2 * i + q] - m(q)))
                .sum::<f64>()
        };
        let sy = |p: usize| {
            (0..n)
                .map(|i| (x[2 * i + p] - m(p)) * (y[i] - my))
                .sum::<f64>()
        };
        let det = s(0, 0) * s(1, 1) - s(0, 1).powi(2);
        let b0 = (sy(0) * s(1, 1) - sy(1) * s(0, 1)) / det;
        let b1 = (s(0, 0) * sy(1) - s(0, 1) * sy(0)) / det;
        assert!((f.coef[0] - b0).abs() < 1e-10 && (f.coef[1] - b1).abs() < 1e-10);
        assert!((f.intercept - (my - b0 * m(0) - b1 * m(1))).abs() < 1e-10);
        // A copy of feature 0 and a constant column get 0; the fit is unchanged.
        let x4: Vec<f64> = x.chunks(2).flat_map(|r| [r[0], r[1], r[0], 7.0]).collect();
        let g = LinearFit::fit(&x4, 4, &y).unwrap();
        assert_eq!((g.coef[2], g.coef[3]), (0.0, 0.0));
        assert!((g.coef[0] - b0).abs() < 1e-9 && (g.intercept - f.intercept).abs() < 1e-9);
        // Bad input.
        assert!(LinearFit::fit(&x[..10], 2, &y).is_err());
        assert!(LinearFit::fit(&x[..4], 2, &y[..2]).is_err());
        let mut bad = x.clone();
        bad[3] = f64::NAN;
        assert!(matches!(
            LinearFit::fit(&bad, 2, &y),
            Err(Error::NonFinite { index: 3, .. })
        ));
    }

    #[test]
    fn moment_regressions() {
        // Features by hand: two hits of equal energy at x = ±1 on station 0 → var(x) = 1.
        let mut h = Hits::default();
        push(&mut h, -1.0, 0.0, 0, 1.0);
        push(&mut h, 1.0, 0.0, 0, 1.0);
        let e = TtEvent {
            energy_gev: 5.0,
            vertex_cm: [0.0; 3],
            distance_cm: -1.0,
            hits: h,
        };
        assert_eq!(
            gaussian_features(&e, &[0, 1]).unwrap(),
            vec![1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0]
        );

        // A linear truth in the features is recovered exactly.
        let events: Vec<TtEvent> = (0..40)
            .map(|i| {
                let mut h = Hits::default();
                let spread = 0.1 + 0.05 * (i % 7) as f64;
                let n = 5 + i % 11;
                for k in 0..n {
                    push(
                        &mut h,
                        spread * ((k as f64) - n as f64 / 2.0),
                        0.03 * (i % 3) as f64 * k as f64,
                        0,
                        1e-3,
                    );
                }
                let mut ev = TtEvent {
                    energy_gev: 0.0,
                    vertex_cm: [0.0; 3],
                    distance_cm: 0.0,
                    hits: h,
                };
                let f = gaussian_features(&ev, &[0]).unwrap();
                ev.energy_gev = (3.0 + 2.0 * f[0] + 0.5 * f[3]) as f32;
                ev.distance_cm = (-1.0 - 0.1 * f[3]) as f32;
                ev
            })
            .collect();
        let m = MomentRegression::fit(&events, &[0]).unwrap();
        let (pe, pd) = m.predict(&events[5]).unwrap();
        assert!((pe - events[5].energy_gev as f64).abs() < 1e-3, "{pe}");
        assert!((pd - events[5].distance_cm as f64).abs() < 1e-3, "{pd}");
        assert!(MomentRegression::fit(&events[..3], &[0]).is_err());

        // The boosted trees learn a non-linear truth the line cannot: E = 10·[var(x) > 0.5].
        let step: Vec<TtEvent> = events
            .iter()
            .cycle()
            .take(400)
            .enumerate()
            .map(|(i, e)| {
                let mut e = e.clone();
                e.hits
                    .x_cm
                    .iter_mut()
                    .for_each(|x| *x *= 1.0 + (i % 17) as f32 / 8.0);
                let f = gaussian_features(&e, &[0]).unwrap();
                e.energy_gev = if f[0] > 0.5 { 10.0 } else { 0.0 };
                e
            })
            .collect();
        let rmse = |m: &MomentRegression| {
            let p = m.predict_many(&step).unwrap();
            (p.iter()
                .zip(&step)
                .map(|((pe, _), e)| (pe - e.energy_gev as f64).powi(2))
                .sum::<f64>()
                / step.len() as f64)
                .sqrt()
        };
        let lin = MomentRegression::fit(&step, &[0]).unwrap();
        let boosted = MomentModel::boosted(3);
        let gb = MomentRegression::fit_with(&step, &[0], &boosted).unwrap();
        assert_eq!(gb.model(), &boosted);
        let (r_lin, r_gb) = (rmse(&lin), rmse(&gb));
        assert!(
            r_gb < 0.5 * r_lin && r_gb < 1.0,
            "boosted {r_gb} vs linear {r_lin}"
        );
        for (bad, field) in [
            (
                MomentModel::Boosted {
                    trees: 0,
                    learning_rate: 0.1,
                    max_depth: 3,
                    seed: 0,
                },
                "trees",
            ),
            (
                MomentModel::Boosted {
                    trees: 9,
                    learning_rate: 0.0,
                    max_depth: 3,
                    seed: 0,
                },
                "learning_rate",
            ),
            (
                MomentModel::Boosted {
                    trees: 9,
                    learning_rate: 0.1,
                    max_depth: 0,
                    seed: 0,
                },
                "max_depth",
            ),
        ] {
            let e = MomentRegression::fit_with(&step, &[0], &bad).err().unwrap();
            assert!(e.to_string().contains(field), "{field}: {e}");
        }
    }
}
