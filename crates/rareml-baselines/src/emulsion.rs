//! NEWSdm's conventional analysis: the barycenter shift. A carbon-recoil track is a few silver
//! grains; under each polariser angle a different grain shines brightest (plasmon resonance), so the
//! intensity barycentre moves between polarisation images, while a single fog grain's stays put.
//!
//! Per polarisation image the intensity-weighted barycentre (of the background-subtracted image,
//! negative pixels weighted 0); shift = the largest distance between any two of the 8 barycentres
//! (nm); direction = the angle of that pair. Threshold = the 95 % quantile of the shift on a
//! single-grain reference sample (fog or nanoparticles), with a bootstrap uncertainty; clusters
//! with a longer shift are classified as signal.

use ndarray::{ArrayView2, ArrayView3, Axis};
use rand::{Rng, SeedableRng};
use rareml_metrics::quantile_sorted;
use serde::Serialize;

use crate::error::{param, Error, Result};

/// Barycentre shift of one cluster.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BarycenterShift {
    /// Largest distance between two polarisation images' barycentres, in nm.
    pub shift_nm: f64,
    /// Direction of that pair in degrees, in [0, 180), from the +x (column) axis towards −y (up on
    /// screen).
    pub direction_deg: f64,
    /// Barycentre (x, y) of each polarisation image, in pixels.
    pub barycentres_px: Vec<[f64; 2]>,
    /// The two images whose barycentres are farthest apart.
    pub pair: (usize, usize),
}

/// Intensity-weighted barycentre (x = column, y = row, pixels) of an image with weights
/// `max(value, 0)`; `None` when no pixel is positive.
pub fn barycentre(img: ArrayView2<'_, f32>) -> Option<[f64; 2]> {
    let (mut sw, mut sx, mut sy) = (0.0f64, 0.0f64, 0.0f64);
    for ((y, x), &v) in img.indexed_iter() {
        if v > 0.0 {
            let w = v as f64;
            sw += w;
            sx += w * x as f64;
            sy += w * y as f64;
        }
    }
    (sw > 0.0).then(|| [sx / sw, sy / sw])
}

/// The barycenter shift of a cluster `(P, H, W)` of background-subtracted images (e.g. from
/// `rareml_preprocess::emulsion::subtract_background`); a periodic 9th image (a copy of the 1st)
/// is ignored. `pixel_nm` is the pixel size (27.47 nm for NEWSdm scans).
pub fn barycenter_shift(images: ArrayView3<'_, f32>, pixel_nm: f64) -> Result<BarycenterShift> {
    if !(pixel_nm.is_finite() && pixel_nm > 0.0) {
        return Err(param("pixel_nm", pixel_nm, "finite and > 0 nm"));
    }
    let p = images.len_of(Axis(0));
    let p = if p == 9 && images.index_axis(Axis(0), 8) == images.index_axis(Axis(0), 0) {
        8
    } else {
        p
    };
    if p < 2 {
        return Err(Error::Shape {
            what: "cluster images",
            expected: "at least 2 polarisation images".into(),
            found: format!("{p}"),
        });
    }
    if let Some(i) = images.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "cluster images",
            index: i,
        });
    }
    let mut barycentres_px = Vec::with_capacity(p);
    for k in 0..p {
        let b = barycentre(images.index_axis(Axis(0), k)).ok_or_else(|| Error::Empty {
            what: "cluster images",
            reason: format!("polarisation image {k} has no pixel above background"),
        })?;
        barycentres_px.push(b);
    }
    let (mut best, mut pair) = (-1.0f64, (0, 0));
    for i in 0..p {
        for j in i + 1..p {
            let d = (barycentres_px[i][0] - barycentres_px[j][0])
                .hypot(barycentres_px[i][1] - barycentres_px[j][1]);
            if d > best {
                best = d;
                pair = (i, j);
            }
        }
    }
    let (a, b) = (barycentres_px[pair.0], barycentres_px[pair.1]);
    let direction_deg = (-(b[1] - a[1]))
        .atan2(b[0] - a[0])
        .to_degrees()
        .rem_euclid(180.0);
    Ok(BarycenterShift {
        shift_nm: best * pixel_nm,
        direction_deg: if direction_deg >= 180.0 {
            0.0
        } else {
            direction_deg
        },
        barycentres_px,
        pair,
    })
}

/// A shift threshold with its bootstrap uncertainty.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ShiftThreshold {
    /// The quantile used (0.95 in the NEWSdm analysis).
    pub quantile: f64,
    /// Threshold in nm.
    pub value_nm: f64,
    /// Standard deviation of the quantile over bootstrap resamples, in nm.
    pub std_err_nm: f64,
    /// Size of the reference sample.
    pub n_reference: usize,
}

/// The `quantile` of the shifts of a single-grain reference sample (fog or nanoparticles), with
/// the standard deviation of that quantile over `n_bootstrap` resamples drawn with `seed`.
pub fn reference_threshold(
    reference_shifts_nm: &[f64],
    quantile_q: f64,
    n_bootstrap: usize,
    seed: u64,
) -> Result<ShiftThreshold> {
    if !(quantile_q > 0.0 && quantile_q < 1.0) {
        return Err(param("quantile", quantile_q, "in (0, 1)"));
    }
    if n_bootstrap < 2 {
        return Err(param("n_bootstrap", n_bootstrap, "≥ 2"));
    }
    if reference_shifts_nm.len() < 2 {
        return Err(Error::Empty {
            what: "reference sample",
            reason: format!("{} shift(s): need at least 2", reference_shifts_nm.len()),
        });
    }
    if let Some(i) = reference_shifts_nm.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "reference shifts",
            index: i,
        });
    }
    let mut sorted = reference_shifts_nm.to_vec();
    sorted.sort_by(f64::total_cmp);
    let value_nm = quantile_sorted(&sorted, quantile_q);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let n = sorted.len();
    let mut resample = vec![0.0; n];
    let qs: Vec<f64> = (0..n_bootstrap)
        .map(|_| {
            resample
                .iter_mut()
                .for_each(|v| *v = sorted[rng.random_range(0..n)]);
            resample.sort_by(f64::total_cmp);
            quantile_sorted(&resample, quantile_q)
        })
        .collect();
    let mean = qs.iter().sum::<f64>() / qs.len() as f64;
    let std_err_nm =
        (qs.iter().map(|q| (q - mean).powi(2)).sum::<f64>() / (qs.len() - 1) as f64).sqrt();
    Ok(ShiftThreshold {
        quantile: quantile_q,
        value_nm,
        std_err_nm,
        n_reference: n,
    })
}

/// Classification: a shift longer than the threshold is signal (a multi-grain track).
pub fn is_long(shift: &BarycenterShift, threshold: &ShiftThreshold) -> bool {
    shift.shift_nm > threshold.value_nm
}

/// Histograms of the shift direction for the long (signal-like) and short populations.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AngularDistributions {
    /// Bin edges in degrees over [0, 180].
    pub edges_deg: Vec<f64>,
    /// Counts of long shifts per bin.
    pub long: Vec<u64>,
    /// Counts of short shifts per bin.
    pub short: Vec<u64>,
}

/// Direction histograms (`n_bins` over [0°, 180°)) of the long and short populations.
pub fn angular_distributions(
    shifts: &[BarycenterShift],
    threshold: &ShiftThreshold,
    n_bins: usize,
) -> Result<AngularDistributions> {
    if n_bins == 0 {
        return Err(param("n_bins", n_bins, "≥ 1"));
    }
    let mut long = vec![0u64; n_bins];
    let mut short = vec![0u64; n_bins];
    for s in shifts {
        let b = ((s.direction_deg / 180.0 * n_bins as f64) as usize).min(n_bins - 1);
        if is_long(s, threshold) {
            long[b] += 1;
        } else {
            short[b] += 1;
        }
    }
    Ok(AngularDistributions {
        edges_deg: (0..=n_bins)
            .map(|i| 180.0 * i as f64 / n_bins as f64)
            .collect(),
        long,
        short,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every parameter rule names its field.
    #[test]
    fn parameter_rules() {
        let img = ndarray::Array3::<f32>::ones((8, 4, 4));
        let e = barycenter_shift(img.view(), 0.0).unwrap_err().to_string();
        assert!(e.contains("pixel_nm"), "{e}");
        for (q, n, field) in [(1.0, 10, "quantile"), (0.95, 1, "n_bootstrap")] {
            let e = reference_threshold(&[1.0, 2.0, 3.0], q, n, 0)
                .unwrap_err()
                .to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
    }
    use ndarray::Array3;

    /// Two grains 10 px apart along x; grain A shines at polariser angle 0°, grain B at 90°
    /// (perpendicular filaments): cos² modulation over 8 angles.
    fn two_grain_track(dx: usize) -> Array3<f32> {
        let mut a = Array3::<f32>::zeros((9, 21, 31));
        for p in 0..8 {
            let th = p as f64 * std::f64::consts::PI / 8.0;
            a[[p, 10, 10]] = (100.0 * th.cos().powi(2)) as f32 + 1.0;
            a[[p, 10, 10 + dx]] = (100.0 * th.sin().powi(2)) as f32 + 1.0;
        }
        let first = a.index_axis(Axis(0), 0).to_owned();
        a.index_axis_mut(Axis(0), 8).assign(&first);
        a
    }

    #[test]
    fn perpendicular_grains_give_the_expected_shift() {
        let s = barycenter_shift(two_grain_track(10).view(), 27.47).unwrap();
        // At 0° the barycentre is (10 + 10·1/102, 10), at 90° (10 + 10·101/102, 10):
        // the largest pairwise distance is 10·100/102 px.
        let expected_px = 10.0 * 100.0 / 102.0;
        assert!(
            (s.shift_nm - expected_px * 27.47).abs() < 1e-6,
            "{}",
            s.shift_nm
        );
        assert_eq!(s.pair, (0, 4));
        assert!(s.direction_deg.abs() < 1e-9, "along x: {}", s.direction_deg);
        assert_eq!(s.barycentres_px.len(), 8, "the periodic copy is ignored");
    }

    #[test]
    fn a_single_grain_does_not_move_and_bad_input_is_an_error() {
        let mut a = Array3::<f32>::zeros((8, 5, 5));
        for p in 0..8 {
            a[[p, 2, 3]] = 50.0 + p as f32;
        }
        assert_eq!(barycenter_shift(a.view(), 27.47).unwrap().shift_nm, 0.0);
        a.index_axis_mut(Axis(0), 3).fill(-1.0);
        let e = barycenter_shift(a.view(), 27.47).unwrap_err();
        assert!(e.to_string().contains("image 3"), "{e}");
        assert!(barycenter_shift(a.view(), 0.0).is_err());
    }

    #[test]
    fn threshold_is_the_quantile_with_a_bootstrap_error() {
        let shifts: Vec<f64> = (0..101).map(|i| i as f64).collect();
        let t = reference_threshold(&shifts, 0.95, 200, 1).unwrap();
        assert_eq!(t.value_nm, 95.0);
        assert!(t.std_err_nm > 0.5 && t.std_err_nm < 5.0, "{}", t.std_err_nm);
        assert_eq!(
            reference_threshold(&shifts, 0.95, 200, 1).unwrap(),
            t,
            "seeded"
        );
        assert!(reference_threshold(&[1.0], 0.95, 200, 1).is_err());
        assert!(reference_threshold(&shifts, 1.5, 200, 1).is_err());
        let long = barycenter_shift(two_grain_track(10).view(), 27.47).unwrap();
        let d = angular_distributions(
            std::slice::from_ref(&long),
            &ShiftThreshold {
                value_nm: 10.0,
                ..t
            },
            6,
        )
        .unwrap();
        assert_eq!((d.long[0], d.short.iter().sum::<u64>()), (1, 0));
        assert!(is_long(
            &long,
            &ShiftThreshold {
                value_nm: 10.0,
                ..t
            }
        ));
    }
}
