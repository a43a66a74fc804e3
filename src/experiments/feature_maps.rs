//! Feature-map analysis of a trained network (the PandaX-III paper, Figs. 8–10): groups of
//! near-identical feature maps found by DBSCAN on their correlation, and the classifier's
//! weight distribution.
//!
//! Each map is a row: its values over the chosen events and pixels. Rows are centred and scaled
//! to unit length, so the Euclidean distance of two rows is √(2 − 2ρ), ρ their Pearson
//! correlation, and a DBSCAN radius ε groups maps with ρ ≥ 1 − ε²/2 (ε = 0.3: ρ ≥ 0.955) —
//! "the same map" up to its scale and offset, as the paper's groups are. Maps constant over every
//! event and pixel (a dead channel) have no correlation and are listed apart.

use super::{setting_err, Error, Result};
use linfa::prelude::*;
use linfa::traits::Transformer;
use linfa_clustering::Dbscan;
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// DBSCAN settings of the map grouping.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MapClusterParams {
    /// Radius ε on unit-normalised maps (distance √(2 − 2ρ)); 0.3 groups maps correlated at
    /// ρ ≥ 0.955.
    pub eps: f64,
    /// Maps within ε of a map, itself included, that make it a core map (2: any pair of
    /// near-identical maps is a group).
    pub min_points: usize,
}

impl Default for MapClusterParams {
    fn default() -> Self {
        Self {
            eps: 0.3,
            min_points: 2,
        }
    }
}

impl MapClusterParams {
    /// Checks ε in (0, 2] (the largest distance of unit vectors) and `min_points` ≥ 2.
    pub fn validate(&self) -> Result<()> {
        if !(self.eps > 0.0 && self.eps <= 2.0) {
            return Err(setting_err(
                "feature maps",
                "eps",
                self.eps,
                "in (0, 2]: a distance between unit-normalised maps",
            ));
        }
        if self.min_points < 2 {
            return Err(setting_err(
                "feature maps",
                "min_points",
                self.min_points,
                "≥ 2: a group holds two maps at least",
            ));
        }
        Ok(())
    }
}

/// The groups of near-identical maps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapGroups {
    /// Maps (row indices) of each group, largest group first, each ascending.
    pub groups: Vec<Vec<usize>>,
    /// Maps in no group: unlike every other map.
    pub ungrouped: Vec<usize>,
    /// Maps constant over every event and pixel (no pattern to compare), ascending.
    pub constant: Vec<usize>,
}

/// Groups the rows of `maps` (one row per map: its values over the events and pixels).
pub fn cluster_maps(maps: ArrayView2<'_, f32>, params: &MapClusterParams) -> Result<MapGroups> {
    params.validate()?;
    let (n, len) = maps.dim();
    if n == 0 || len < 2 {
        return Err(Error::Analysis(format!(
            "feature-map clustering: {n} maps of {len} values; expected maps of two values at least"
        )));
    }
    if maps.iter().any(|v| !v.is_finite()) {
        return Err(Error::Analysis(
            "feature-map clustering: the maps hold NaN or infinite values".into(),
        ));
    }
    let mut rows = Vec::new();
    let mut constant = Vec::new();
    let mut unit = Vec::new();
    for (i, row) in maps.outer_iter().enumerate() {
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / len as f64;
        let centred: Vec<f64> = row.iter().map(|&v| v as f64 - mean).collect();
        let norm = centred.iter().map(|v| v * v).sum::<f64>().sqrt();
        let scale = row.iter().fold(0f64, |m, &v| m.max((v as f64).abs()));
        // Constant up to rounding: the spread is below 1e-6 of the map's magnitude.
        if norm <= 1e-6 * scale.max(f64::MIN_POSITIVE) * (len as f64).sqrt() {
            constant.push(i);
        } else {
            rows.push(i);
            unit.extend(centred.iter().map(|v| v / norm));
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut ungrouped = Vec::new();
    if !rows.is_empty() {
        let points = Array2::from_shape_vec((rows.len(), len), unit)
            .map_err(|e| Error::Analysis(format!("feature-map clustering: {e}")))?;
        let dbscan = Dbscan::params(params.min_points)
            .tolerance(params.eps)
            .check()
            .map_err(|e| Error::Analysis(format!("DBSCAN parameters: {e}")))?;
        let labels = dbscan.transform(&points);
        for (r, l) in labels.iter().enumerate() {
            match *l {
                Some(g) => {
                    if groups.len() <= g {
                        groups.resize(g + 1, Vec::new());
                    }
                    groups[g].push(rows[r]);
                }
                None => ungrouped.push(rows[r]),
            }
        }
    }
    groups.retain(|g| !g.is_empty());
    groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    Ok(MapGroups {
        groups,
        ungrouped,
        constant,
    })
}

/// The classifier weights' distribution (the paper's Fig. 10: only 6 of B4's 1792 weights exceed
/// 0.5 in magnitude).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightSummary {
    /// Weights.
    pub count: usize,
    /// Weights with |w| > 0.5.
    pub above_half: usize,
    /// Largest |w|.
    pub max_abs: f64,
    /// Mean |w|.
    pub mean_abs: f64,
}

impl WeightSummary {
    /// The summary of `weights` (none: zero counts, NaN magnitudes).
    pub fn of(weights: &[f32]) -> Self {
        let abs: Vec<f64> = weights.iter().map(|w| (*w as f64).abs()).collect();
        Self {
            count: abs.len(),
            above_half: abs.iter().filter(|&&a| a > 0.5).count(),
            max_abs: abs.iter().copied().reduce(f64::max).unwrap_or(f64::NAN),
            mean_abs: if abs.is_empty() {
                f64::NAN
            } else {
                abs.iter().sum::<f64>() / abs.len() as f64
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Synthetic maps of known groups: three prototypes, each copied into several maps with its
    /// own scale and offset and 1 % noise; four unrelated random maps; two dead maps.
    #[test]
    fn groups_of_scaled_copies_are_found() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let len = 4 * 16; // 4 events × 4 × 4 pixels
        let proto: Vec<Vec<f32>> = (0..3)
            .map(|_| (0..len).map(|_| rng.random_range(-1.0..1.0)).collect())
            .collect();
        // Map index → prototype (None: random, Some(9): dead).
        let plan: Vec<Option<usize>> = vec![
            Some(0),
            Some(1),
            None,
            Some(0),
            Some(2),
            Some(9),
            Some(1),
            Some(0),
            None,
            Some(2),
            Some(0),
            None,
            Some(1),
            Some(9),
            None,
        ];
        let mut data = Vec::new();
        for p in &plan {
            match p {
                Some(9) => data.extend(std::iter::repeat_n(0.25f32, len)),
                Some(k) => {
                    let (a, b) = (rng.random_range(0.3..3.0), rng.random_range(-2.0..2.0));
                    data.extend(
                        proto[*k]
                            .iter()
                            .map(|&v| a * v + b + 0.01 * rng.random_range(-1.0f32..1.0)),
                    );
                }
                None => data.extend((0..len).map(|_| rng.random_range(-1.0f32..1.0))),
            }
        }
        let maps = Array2::from_shape_vec((plan.len(), len), data).unwrap();
        let g = cluster_maps(maps.view(), &MapClusterParams::default()).unwrap();
        let members =
            |k: usize| -> Vec<usize> { (0..plan.len()).filter(|&i| plan[i] == Some(k)).collect() };
        assert_eq!(g.groups, vec![members(0), members(1), members(2)]);
        assert_eq!(g.constant, members(9));
        assert_eq!(g.ungrouped, vec![2, 8, 11, 14]);
        // Anti-correlated copies are not "the same map".
        let mut flipped = maps.clone();
        flipped.row_mut(3).mapv_inplace(|v| -v);
        let g = cluster_maps(flipped.view(), &MapClusterParams::default()).unwrap();
        assert!(
            g.ungrouped.contains(&3) && !g.groups[0].contains(&3),
            "{g:?}"
        );
    }

    #[test]
    fn bad_input_and_parameters_are_named() {
        let maps = Array2::<f32>::zeros((3, 5));
        for (p, field) in [
            (
                MapClusterParams {
                    eps: 0.0,
                    min_points: 2,
                },
                "eps",
            ),
            (
                MapClusterParams {
                    eps: 0.3,
                    min_points: 1,
                },
                "min_points",
            ),
        ] {
            let e = cluster_maps(maps.view(), &p).unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
        let mut nan = maps.clone();
        nan[[1, 2]] = f32::NAN;
        let e = cluster_maps(nan.view(), &MapClusterParams::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("NaN"), "{e}");
        // All dead: every map constant, no group.
        let g = cluster_maps(maps.view(), &MapClusterParams::default()).unwrap();
        assert_eq!(g.constant, vec![0, 1, 2]);
        assert!(g.groups.is_empty() && g.ungrouped.is_empty());
    }

    #[test]
    fn weight_summary_counts_the_large_weights() {
        let s = WeightSummary::of(&[0.1, -0.6, 0.5, 0.7, -0.2]);
        assert_eq!((s.count, s.above_half), (5, 2));
        assert!((s.max_abs - 0.7).abs() < 1e-6 && (s.mean_abs - 0.42).abs() < 1e-6);
    }
}
