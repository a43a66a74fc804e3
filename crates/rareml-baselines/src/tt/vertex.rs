//! The transverse vertex of a TT event: the study's Algorithm 1 (DBSCAN per station, the best
//! straight line through one cluster centre per station) and the intensity-weighted mean of all hits.

use linfa::prelude::*;
use linfa::traits::Transformer;
use linfa_clustering::Dbscan;
use ndarray::Array2;
use rareml_io::tt::TtEvent;
use serde::Serialize;

use super::check_event;
use crate::error::{param, Error, Result};

/// DBSCAN vertex-finder parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct DbscanVertexParams {
    /// DBSCAN neighbourhood radius in cm.
    pub eps_cm: f64,
    /// DBSCAN minimum points of a core hit.
    pub min_points: usize,
    /// Stations used, the most populated first.
    pub max_stations: usize,
    /// Clusters kept per station, the most intense first (bounds the combinations).
    pub max_clusters: usize,
    /// z in cm where the fitted line gives the vertex XY (`None`: the most upstream station used).
    /// The SHiP geometry measures z from the vertex brick's end, so the brick's middle, −3.75 cm,
    /// is the best guess before d is known.
    #[serde(default)]
    pub eval_z_cm: Option<f64>,
}

impl DbscanVertexParams {
    /// Checks the parameters: ε > 0 cm, min_points ≥ 1, max_stations ≥ 2, max_clusters ≥ 1.
    pub fn validate(&self) -> Result<()> {
        if !(self.eps_cm.is_finite() && self.eps_cm > 0.0) {
            return Err(param("eps_cm", self.eps_cm, "finite and > 0 cm"));
        }
        if self.min_points == 0 {
            return Err(param("min_points", self.min_points, "≥ 1"));
        }
        if self.max_stations < 2 {
            return Err(param(
                "max_stations",
                self.max_stations,
                "≥ 2 (a line needs two points)",
            ));
        }
        if self.eval_z_cm.is_some_and(|z| !z.is_finite()) {
            return Err(param("eval_z_cm", self.eval_z_cm, "finite cm"));
        }
        if self.max_clusters == 0 {
            return Err(param("max_clusters", self.max_clusters, "≥ 1"));
        }
        Ok(())
    }
}

impl Default for DbscanVertexParams {
    fn default() -> Self {
        Self {
            eps_cm: 0.2,
            min_points: 3,
            max_stations: 3,
            max_clusters: 4,
            eval_z_cm: None,
        }
    }
}

/// Result of the vertex finder.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Vertex {
    /// The transverse vertex: the best line across the stations' cluster centres, evaluated at the
    /// most upstream station used.
    Found {
        /// x in cm.
        x_cm: f64,
        /// y in cm.
        y_cm: f64,
        /// Stations whose clusters entered the line.
        stations: Vec<usize>,
    },
    /// Fewer than two stations with a cluster.
    NoVertex {
        /// Stations that had a cluster.
        stations_with_cluster: usize,
    },
}

/// Intensity-weighted mean (x, y) of all hits, in cm — the baseline the DBSCAN finder is compared with.
pub fn weighted_mean_xy(event: &TtEvent) -> Result<[f64; 2]> {
    let h = &event.hits;
    check_event(event, 256)?;
    let w: f64 = h.energy_gev.iter().map(|&e| e.max(0.0) as f64).sum();
    if h.is_empty() || w == 0.0 {
        return Err(Error::Empty {
            what: "TT event",
            reason: "no hit with energy".into(),
        });
    }
    let mx = h
        .x_cm
        .iter()
        .zip(&h.energy_gev)
        .map(|(&x, &e)| x as f64 * e.max(0.0) as f64)
        .sum::<f64>()
        / w;
    let my = h
        .y_cm
        .iter()
        .zip(&h.energy_gev)
        .map(|(&y, &e)| y as f64 * e.max(0.0) as f64)
        .sum::<f64>()
        / w;
    Ok([mx, my])
}

/// A cluster centre: (x cm, y cm, summed energy GeV).
type Centre = (f64, f64, f64);

/// The DBSCAN vertex finder; `station_z_cm` gives each station's z.
pub fn dbscan_vertex(
    event: &TtEvent,
    station_z_cm: &[f32],
    params: &DbscanVertexParams,
) -> Result<Vertex> {
    params.validate()?;
    check_event(event, station_z_cm.len())?;
    let h = &event.hits;
    if h.is_empty() {
        return Err(Error::Empty {
            what: "TT event",
            reason: "no hits".into(),
        });
    }
    // Stations by hit count, most populated first.
    let mut counts = vec![0usize; station_z_cm.len()];
    h.station.iter().for_each(|&s| counts[s as usize] += 1);
    let mut order: Vec<usize> = (0..counts.len()).filter(|&s| counts[s] > 0).collect();
    order.sort_by(|a, b| counts[*b].cmp(&counts[*a]).then(a.cmp(b)));
    // Cluster centres (x, y, intensity) per station.
    let mut per_station: Vec<(usize, Vec<Centre>)> = Vec::new();
    let dbscan = Dbscan::params(params.min_points)
        .tolerance(params.eps_cm)
        .check()
        .map_err(|e| Error::Fit {
            what: "DBSCAN parameters",
            reason: e.to_string(),
        })?;
    for &st in order.iter().take(params.max_stations) {
        let idx: Vec<usize> = (0..h.len())
            .filter(|&i| h.station[i] as usize == st)
            .collect();
        let pts = Array2::from_shape_fn((idx.len(), 2), |(r, c)| {
            if c == 0 {
                h.x_cm[idx[r]] as f64
            } else {
                h.y_cm[idx[r]] as f64
            }
        });
        let labels = dbscan.transform(&pts);
        let n_clusters = labels.iter().flatten().copied().max().map_or(0, |m| m + 1);
        // One pass: energy-weighted sums per cluster.
        let mut sums = vec![(0.0f64, 0.0f64, 0.0f64); n_clusters];
        for (r, l) in labels.iter().enumerate() {
            if let Some(c) = *l {
                let e = h.energy_gev[idx[r]].max(0.0) as f64;
                sums[c].0 += e * pts[[r, 0]];
                sums[c].1 += e * pts[[r, 1]];
                sums[c].2 += e;
            }
        }
        let mut centres: Vec<Centre> = sums
            .into_iter()
            .filter(|s| s.2 > 0.0)
            .map(|(sx, sy, w)| (sx / w, sy / w, w))
            .collect();
        centres.sort_by(|a, b| b.2.total_cmp(&a.2));
        centres.truncate(params.max_clusters);
        if !centres.is_empty() {
            per_station.push((st, centres));
        }
    }
    if per_station.len() < 2 {
        return Ok(Vertex::NoVertex {
            stations_with_cluster: per_station.len(),
        });
    }
    // Every combination of one centre per station; keep the best straight-line fit (smallest sum
    // of squared residuals in x and y; ties → larger total intensity).
    let sizes: Vec<usize> = per_station.iter().map(|p| p.1.len()).collect();
    let mut choice = vec![0usize; sizes.len()];
    let mut best: Option<(f64, f64, [f64; 4])> = None;
    loop {
        let pts: Vec<(f64, f64, f64, f64)> = per_station
            .iter()
            .zip(&choice)
            .map(|((st, cs), &k)| (station_z_cm[*st] as f64, cs[k].0, cs[k].1, cs[k].2))
            .collect();
        let (rss, line) = line_fit(&pts);
        let intensity: f64 = pts.iter().map(|p| p.3).sum();
        let better = match best {
            None => true,
            Some((r, i, _)) => rss < r - 1e-12 || ((rss - r).abs() <= 1e-12 && intensity > i),
        };
        if better {
            best = Some((rss, intensity, line));
        }
        // Next combination (odometer).
        let mut d = 0;
        while d < choice.len() {
            choice[d] += 1;
            if choice[d] < sizes[d] {
                break;
            }
            choice[d] = 0;
            d += 1;
        }
        if d == choice.len() {
            break;
        }
    }
    let (_, _, [ax, bx, ay, by]) = best.expect("at least one combination");
    let z0 = params.eval_z_cm.unwrap_or_else(|| {
        per_station
            .iter()
            .map(|(st, _)| station_z_cm[*st] as f64)
            .fold(f64::INFINITY, f64::min)
    });
    let mut stations: Vec<usize> = per_station.iter().map(|p| p.0).collect();
    stations.sort_unstable();
    Ok(Vertex::Found {
        x_cm: ax + bx * z0,
        y_cm: ay + by * z0,
        stations,
    })
}

/// Least-squares lines x = ax + bx·z and y = ay + by·z through (z, x, y, _) points; returns the
/// residual sum of squares and [ax, bx, ay, by]. Points at one z give a flat line through their mean.
fn line_fit(pts: &[(f64, f64, f64, f64)]) -> (f64, [f64; 4]) {
    let n = pts.len() as f64;
    let mz = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let mx = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.2).sum::<f64>() / n;
    let szz: f64 = pts.iter().map(|p| (p.0 - mz).powi(2)).sum();
    let (bx, by) = if szz > 0.0 {
        (
            pts.iter().map(|p| (p.0 - mz) * (p.1 - mx)).sum::<f64>() / szz,
            pts.iter().map(|p| (p.0 - mz) * (p.2 - my)).sum::<f64>() / szz,
        )
    } else {
        (0.0, 0.0)
    };
    let (ax, ay) = (mx - bx * mz, my - by * mz);
    let rss = pts
        .iter()
        .map(|p| (p.1 - ax - bx * p.0).powi(2) + (p.2 - ay - by * p.0).powi(2))
        .sum();
    (rss, [ax, bx, ay, by])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every parameter rule names its field.
    #[test]
    fn dbscan_parameter_rules() {
        let d = DbscanVertexParams::default;
        for (p, field) in [
            (DbscanVertexParams { eps_cm: 0.0, ..d() }, "eps_cm"),
            (
                DbscanVertexParams {
                    min_points: 0,
                    ..d()
                },
                "min_points",
            ),
            (
                DbscanVertexParams {
                    max_stations: 1,
                    ..d()
                },
                "max_stations",
            ),
            (
                DbscanVertexParams {
                    max_clusters: 0,
                    ..d()
                },
                "max_clusters",
            ),
        ] {
            let e = p.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
        assert!(d().validate().is_ok());
    }
    use rareml_io::tt::Hits;

    fn push(h: &mut Hits, x: f64, y: f64, st: u8, e: f32) {
        h.x_cm.push(x as f32);
        h.y_cm.push(y as f32);
        h.station.push(st);
        h.energy_gev.push(e);
    }

    /// A shower along a line from (1.0, −0.5) with slopes (0.01, 0.02) per cm, tight clusters of 12
    /// hits on stations 1..4 (z = 13 cm apart), plus on stations 1..3 an intense off-axis blob (a
    /// second particle) that drags the weighted mean but does not line up across stations.
    fn planted() -> TtEvent {
        let z = [0.0f64, 13.0, 26.0, 39.0, 52.0, 65.0];
        let mut h = Hits::default();
        for st in 1..5 {
            let (cx, cy) = (1.0 + 0.01 * z[st], -0.5 + 0.02 * z[st]);
            for k in 0..12 {
                let a = k as f64 * std::f64::consts::FRAC_PI_6;
                push(
                    &mut h,
                    cx + 0.05 * a.cos(),
                    cy + 0.05 * a.sin(),
                    st as u8,
                    1e-3,
                );
            }
            if st < 4 {
                // Zig-zag from station to station: no straight line goes through these blobs.
                let (ox, oy) = [(-2.1, 1.8), (-3.5, 3.0), (-1.0, 1.2)][st - 1];
                for k in 0..8 {
                    let a = k as f64 * std::f64::consts::FRAC_PI_4;
                    push(
                        &mut h,
                        ox + 0.04 * a.cos(),
                        oy + 0.04 * a.sin(),
                        st as u8,
                        2e-3,
                    );
                }
            }
        }
        TtEvent {
            energy_gev: 30.0,
            vertex_cm: [0.0; 3],
            distance_cm: -2.0,
            hits: h,
        }
    }

    #[test]
    fn planted_vertex_is_recovered_by_dbscan_not_by_the_mean() {
        let e = planted();
        let z: Vec<f32> = (0..6).map(|k| 13.0 * k as f32).collect();
        let Vertex::Found {
            x_cm,
            y_cm,
            stations,
        } = dbscan_vertex(&e, &z, &DbscanVertexParams::default()).unwrap()
        else {
            panic!()
        };
        // Three most populated stations: 1, 2, 3 (20 hits each); line evaluated at z = 13 cm.
        assert_eq!(stations, vec![1, 2, 3]);
        assert!(
            (x_cm - (1.0 + 0.13)).abs() < 1e-3 && (y_cm - (-0.5 + 0.26)).abs() < 1e-3,
            "({x_cm}, {y_cm})"
        );
        // The same line evaluated at a chosen z (the pipeline: the vertex brick's middle).
        let at = DbscanVertexParams {
            eval_z_cm: Some(-3.75),
            ..DbscanVertexParams::default()
        };
        let Vertex::Found { x_cm, y_cm, .. } = dbscan_vertex(&e, &z, &at).unwrap() else {
            panic!()
        };
        assert!(
            (x_cm - (1.0 - 0.0375)).abs() < 1e-3 && (y_cm - (-0.5 - 0.075)).abs() < 1e-3,
            "({x_cm}, {y_cm})"
        );
        let bad = DbscanVertexParams {
            eval_z_cm: Some(f64::NAN),
            ..at
        };
        assert!(dbscan_vertex(&e, &z, &bad)
            .unwrap_err()
            .to_string()
            .contains("eval_z_cm"));
        let [mx, my] = weighted_mean_xy(&e).unwrap();
        assert!(
            (mx - 1.13).abs() > 1.0 || (my + 0.24).abs() > 1.0,
            "the mean is pulled away: ({mx}, {my})"
        );
    }

    #[test]
    fn no_vertex_and_bad_input() {
        let mut h = Hits::default();
        for k in 0..5 {
            push(&mut h, 0.01 * k as f64, 0.0, 2, 1e-3);
        }
        let e = TtEvent {
            energy_gev: 1.0,
            vertex_cm: [0.0; 3],
            distance_cm: 0.0,
            hits: h,
        };
        let z = [0.0f32; 6];
        assert_eq!(
            dbscan_vertex(&e, &z, &DbscanVertexParams::default()).unwrap(),
            Vertex::NoVertex {
                stations_with_cluster: 1
            }
        );
        let empty = TtEvent {
            hits: Hits::default(),
            ..e.clone()
        };
        assert!(dbscan_vertex(&empty, &z, &DbscanVertexParams::default()).is_err());
        assert!(weighted_mean_xy(&empty).is_err());
        assert!(dbscan_vertex(
            &e,
            &z,
            &DbscanVertexParams {
                eps_cm: 0.0,
                ..DbscanVertexParams::default()
            }
        )
        .is_err());
        assert!(
            dbscan_vertex(&e, &z[..2], &DbscanVertexParams::default()).is_err(),
            "station 2 of 2"
        );
    }
}
