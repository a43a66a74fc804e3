//! PandaX-III's topological cut: a 0νββ event is one track with a Bragg blob at each end (two
//! electrons from one vertex), a gamma-background event one electron with one blob. Deposits are
//! voxelised; the track's ends are the extremes of the longest path through the voxel graph
//! (neighbouring voxels connected, Euclidean edge lengths); each blob's energy is the energy within
//! a radius of its end; the score is the weaker blob's energy, and a threshold on it is the
//! classical selection (evaluate it with `rareml_metrics::significance`, Ξ = max εs/√εb).
//!
//! Works on 3D truth deposits, or on the 2D XZ/YZ deposits reconstructed from the strips, where the
//! score is the mean over the two planes of the weaker blob's fraction of the plane's charge.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use rareml_io::tpc::{Readout, StripAxis, TpcEvent, TpcMeta};
use serde::Serialize;

use crate::error::{param, Error, Result};

/// Blob-finder parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct BlobParams {
    /// Voxel size in mm (3 mm = the strip pitch).
    pub voxel_mm: f64,
    /// Radius around each track end summed into its blob, in mm.
    pub radius_mm: f64,
}

impl BlobParams {
    /// Checks the sizes: finite and > 0 mm.
    pub fn validate(&self) -> Result<()> {
        if !(self.voxel_mm.is_finite() && self.voxel_mm > 0.0) {
            return Err(param("voxel_mm", self.voxel_mm, "finite and > 0 mm"));
        }
        if !(self.radius_mm.is_finite() && self.radius_mm > 0.0) {
            return Err(param("radius_mm", self.radius_mm, "finite and > 0 mm"));
        }
        Ok(())
    }
}

impl Default for BlobParams {
    /// 3 mm voxels; 15 mm blobs (a Bragg blob of a MeV electron in 10 bar xenon is ≈ 1 cm across).
    fn default() -> Self {
        Self {
            voxel_mm: 3.0,
            radius_mm: 15.0,
        }
    }
}

/// The two ends of a track and their blobs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Blobs<const D: usize> {
    /// Positions of the two ends (energy-weighted voxel centroids), in mm.
    #[serde(skip)]
    pub ends: [[f64; D]; 2],
    /// Energy within the radius of each end (the input's energy unit).
    pub energies: [f64; 2],
    /// Length of the path between the ends through the voxel graph, mm.
    pub path_length_mm: f64,
    /// Total energy of the track's connected component.
    pub component_energy: f64,
    /// The weaker blob's energy: the topological score.
    pub score: f64,
}

/// Finds the two ends of the most energetic connected track in `points` (mm) with `energies` and
/// sums the energy around each.
pub fn find_blobs<const D: usize>(
    points: &[[f64; D]],
    energies: &[f64],
    params: &BlobParams,
) -> Result<Blobs<D>> {
    params.validate()?;
    if points.len() != energies.len() {
        return Err(Error::Shape {
            what: "deposits",
            expected: format!("{} energies", points.len()),
            found: format!("{}", energies.len()),
        });
    }
    if let Some(i) = (0..points.len())
        .find(|&i| !energies[i].is_finite() || points[i].iter().any(|c| !c.is_finite()))
    {
        return Err(Error::NonFinite {
            what: "deposits",
            index: i,
        });
    }
    // Voxels: energy and energy-weighted position.
    let mut vox: HashMap<[i64; D], (f64, [f64; D])> = HashMap::new();
    for (p, &e) in points.iter().zip(energies) {
        if e <= 0.0 {
            continue;
        }
        let key = p.map(|c| (c / params.voxel_mm).floor() as i64);
        let v = vox.entry(key).or_insert((0.0, [0.0; D]));
        v.0 += e;
        v.1.iter_mut().zip(p).for_each(|(s, c)| *s += e * c);
    }
    if vox.is_empty() {
        return Err(Error::Empty {
            what: "deposits",
            reason: "no positive energy".into(),
        });
    }
    // Sorted: a HashMap iterates in a per-instance random order, and the graph walks below break
    // ties by voxel index, so an unsorted order made the score differ from run to run.
    let mut keys: Vec<[i64; D]> = vox.keys().copied().collect();
    keys.sort_unstable();
    let index: HashMap<[i64; D], usize> = keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let energy: Vec<f64> = keys.iter().map(|k| vox[k].0).collect();
    let centre: Vec<[f64; D]> = keys
        .iter()
        .map(|k| vox[k].1.map(|s| s / vox[k].0))
        .collect();
    // Neighbours: all voxels differing by at most one in each coordinate.
    let offsets: Vec<[i64; D]> = (0..3usize.pow(D as u32))
        .map(|m| std::array::from_fn(|d| ((m / 3usize.pow(d as u32)) % 3) as i64 - 1))
        .filter(|o: &[i64; D]| o.iter().any(|&v| v != 0))
        .collect();
    let dist = |a: usize, b: usize| {
        (0..D)
            .map(|d| (centre[a][d] - centre[b][d]).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let (keys_r, index_r, offsets_r) = (&keys, &index, &offsets);
    let neighbours = move |i: usize| {
        offsets_r.iter().filter_map(move |o| {
            let k: [i64; D] = std::array::from_fn(|d| keys_r[i][d] + o[d]);
            index_r.get(&k).copied()
        })
    };
    // Dijkstra over the voxel graph from `src`: distances (∞ where unreachable).
    let dijkstra = |src: usize| {
        let mut d = vec![f64::INFINITY; keys.len()];
        d[src] = 0.0;
        let mut heap = BinaryHeap::new();
        heap.push(Reverse((0u64, src)));
        while let Some(Reverse((bits, u))) = heap.pop() {
            let du = f64::from_bits(bits);
            if du > d[u] {
                continue;
            }
            for v in neighbours(u) {
                let nd = du + dist(u, v);
                if nd < d[v] {
                    d[v] = nd;
                    heap.push(Reverse((nd.to_bits(), v)));
                }
            }
        }
        d
    };
    // The track = the connected component holding the most energy.
    let mut component = vec![usize::MAX; keys.len()];
    let mut comp_energy = Vec::new();
    for s in 0..keys.len() {
        if component[s] != usize::MAX {
            continue;
        }
        let c = comp_energy.len();
        let mut stack = vec![s];
        component[s] = c;
        let mut e = 0.0;
        while let Some(u) = stack.pop() {
            e += energy[u];
            for v in neighbours(u) {
                if component[v] == usize::MAX {
                    component[v] = c;
                    stack.push(v);
                }
            }
        }
        comp_energy.push(e);
    }
    let main = (0..comp_energy.len())
        .max_by(|a, b| comp_energy[*a].total_cmp(&comp_energy[*b]))
        .expect("one component");
    let start = (0..keys.len())
        .filter(|&i| component[i] == main)
        .max_by(|a, b| energy[*a].total_cmp(&energy[*b]))
        .expect("non-empty");
    // Longest shortest path: farthest voxel from any start, then farthest from that one.
    let farthest = |d: &[f64]| {
        (0..keys.len())
            .filter(|&i| d[i].is_finite())
            .max_by(|a, b| d[*a].total_cmp(&d[*b]))
            .expect("start reachable")
    };
    let a = farthest(&dijkstra(start));
    let da = dijkstra(a);
    let b = farthest(&da);
    let blob = |end: usize| {
        (0..keys.len())
            .filter(|&i| component[i] == main && dist(i, end) <= params.radius_mm)
            .map(|i| energy[i])
            .sum::<f64>()
    };
    let energies = [blob(a), blob(b)];
    Ok(Blobs {
        ends: [centre[a], centre[b]],
        energies,
        path_length_mm: da[b],
        component_energy: comp_energy[main],
        score: energies[0].min(energies[1]),
    })
}

/// The topological score of a strip-readout event: deposits (strip position, z = sample·v_drift·Δt,
/// baseline-subtracted amplitude above `threshold_adc`) per plane, blobs found in each plane, score =
/// mean over the planes with charge of (weaker blob charge / plane charge) — a fraction in [0, 0.5].
pub fn strip_event_score(
    event: &TpcEvent,
    readout: &Readout,
    meta: &TpcMeta,
    threshold_adc: f64,
    params: &BlobParams,
) -> Result<f64> {
    const BASELINE_SAMPLES: usize = 100;
    if event.signals.is_empty() {
        return Err(Error::Empty {
            what: "TPC event",
            reason: format!("event {} has no signals", event.id),
        });
    }
    let mm_per_sample = meta.drift_velocity_mm_per_us * meta.sampling_ns * 1e-3;
    let mut planes: [(Vec<[f64; 2]>, Vec<f64>); 2] = Default::default();
    for (strip, wave) in event.signals.iter() {
        let (axis, pos) = readout.strip(strip).ok_or_else(|| Error::Data {
            what: "readout",
            reason: format!("event {}: strip id {strip} is not in the readout", event.id),
        })?;
        let nb = BASELINE_SAMPLES.min(wave.len());
        let base = wave.iter().take(nb).map(|&v| v as f64).sum::<f64>() / nb.max(1) as f64;
        let plane = &mut planes[(axis == StripAxis::Y) as usize];
        for (t, &v) in wave.iter().enumerate() {
            let a = v as f64 - base;
            if a > threshold_adc {
                plane.0.push([pos as f64, t as f64 * mm_per_sample]);
                plane.1.push(a);
            }
        }
    }
    let mut scores = Vec::new();
    for (pts, e) in &planes {
        if pts.is_empty() {
            continue;
        }
        let b = find_blobs::<2>(pts, e, params)?;
        scores.push(b.score / e.iter().sum::<f64>());
    }
    if scores.is_empty() {
        return Err(Error::Empty {
            what: "TPC event",
            reason: format!("event {}: no sample above {threshold_adc} ADC", event.id),
        });
    }
    Ok(scores.iter().sum::<f64>() / scores.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every parameter rule names its field.
    #[test]
    fn blob_parameter_rules() {
        let d = BlobParams::default;
        for (p, field) in [
            (
                BlobParams {
                    voxel_mm: 0.0,
                    ..d()
                },
                "voxel_mm",
            ),
            (
                BlobParams {
                    radius_mm: f64::NAN,
                    ..d()
                },
                "radius_mm",
            ),
        ] {
            let e = p.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
        assert!(d().validate().is_ok());
    }

    /// A 120 mm straight track along x with 1 keV/mm, a 200 keV blob at x = 0 and `b2` keV at x = 120.
    fn track(b2: f64) -> (Vec<[f64; 3]>, Vec<f64>) {
        let mut p = Vec::new();
        let mut e = Vec::new();
        for i in 0..=120 {
            p.push([i as f64, 5.0, 5.0]);
            e.push(1.0);
        }
        for (x, q) in [(0.0, 200.0), (120.0, b2)] {
            for k in 0..10 {
                p.push([x + 0.1 * k as f64, 5.0, 5.0 + 0.1 * k as f64]);
                e.push(q / 10.0);
            }
        }
        (p, e)
    }

    #[test]
    fn two_blob_track_finds_both_blobs() {
        let (p, e) = track(150.0);
        let b = find_blobs::<3>(&p, &e, &BlobParams::default()).unwrap();
        let mut ends = b.ends;
        ends.sort_by(|a, b| a[0].total_cmp(&b[0]));
        assert!(ends[0][0] < 3.0 && ends[1][0] > 117.0, "{ends:?}");
        // Each blob: its 10 deposits + the track's 1 keV/mm within 15 mm (≈ 16 deposits).
        let mut en = b.energies;
        en.sort_by(f64::total_cmp);
        assert!((en[0] - (150.0 + 16.0)).abs() <= 2.0, "{en:?}");
        assert!((en[1] - (200.0 + 16.0)).abs() <= 2.0, "{en:?}");
        assert_eq!(b.score, en[0]);
        assert!(
            (b.path_length_mm - 120.0).abs() < 6.0,
            "{}",
            b.path_length_mm
        );
        // A single-electron track (one blob) scores low.
        let (p1, e1) = track(0.0);
        assert!(
            find_blobs::<3>(&p1, &e1, &BlobParams::default())
                .unwrap()
                .score
                < 20.0
        );
    }

    /// X strips 16..=47 along a track rising 1 sample per strip (0.37 mm), 40 ADC per strip; Bragg
    /// blobs of 8 samples × 300 ADC on the first strip and, if `two`, on the last one.
    fn strip_event(two: bool) -> TpcEvent {
        use ndarray::Array2;
        use rareml_io::tpc::{EventLabel, Signals};
        let strips: Vec<i32> = (16..48).collect();
        let mut samples = Array2::<i16>::from_elem((strips.len(), 512), 300);
        for (k, _) in strips.iter().enumerate() {
            let t = 200 + k;
            samples[[k, t]] += 40;
            if k == 0 || (two && k == strips.len() - 1) {
                for dt in 0..8 {
                    samples[[k, t + dt]] += 300;
                }
            }
        }
        TpcEvent {
            id: 0,
            label: EventLabel::Unknown,
            energy_kev: None,
            vertex_mm: None,
            signals: Signals {
                strip_id: strips,
                samples,
            },
        }
    }

    #[test]
    fn strip_events_score_two_blobs_above_one() {
        let (r, m) = (Readout::pandax3_module(), TpcMeta::default());
        let two =
            strip_event_score(&strip_event(true), &r, &m, 20.0, &BlobParams::default()).unwrap();
        let one =
            strip_event_score(&strip_event(false), &r, &m, 20.0, &BlobParams::default()).unwrap();
        assert!(two > 0.3 && one < 0.15, "two-blob {two}, one-blob {one}");
        let mut empty = strip_event(true);
        empty.signals = rareml_io::tpc::Signals::empty(512);
        assert!(strip_event_score(&empty, &r, &m, 20.0, &BlobParams::default()).is_err());
    }

    #[test]
    fn bad_input() {
        assert!(find_blobs::<2>(&[], &[], &BlobParams::default()).is_err());
        assert!(find_blobs::<2>(&[[0.0, 0.0]], &[0.0], &BlobParams::default()).is_err());
        assert!(find_blobs::<2>(&[[0.0, f64::NAN]], &[1.0], &BlobParams::default()).is_err());
        assert!(find_blobs::<2>(&[[0.0, 0.0]], &[1.0, 2.0], &BlobParams::default()).is_err());
        assert!(find_blobs::<2>(
            &[[0.0, 0.0]],
            &[1.0],
            &BlobParams {
                voxel_mm: 0.0,
                radius_mm: 1.0
            }
        )
        .is_err());
        // All energy in one voxel: both ends coincide, the score is the whole energy.
        let b = find_blobs::<2>(
            &[[1.0, 1.0], [1.1, 1.2]],
            &[2.0, 3.0],
            &BlobParams::default(),
        )
        .unwrap();
        assert_eq!((b.energies, b.path_length_mm), ([5.0, 5.0], 0.0));
    }
}
