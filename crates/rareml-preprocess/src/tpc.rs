//! PandaX-III strip waveforms → XZ/YZ images, as Xia et al. (2023) prepare them: baseline
//! subtraction (mean of the first 100 samples), zero suppression, X strips → XZ and Y strips → YZ,
//! time → z through the drift velocity and sampling so that pixels are 3 mm in every direction,
//! energy normalised to the event total, each plane aligned on its own charge centre, 64 × 64 with
//! channel 0 = XZ and 1 = YZ, nearest-neighbour ×2 → 128 × 128, random horizontal/vertical flips.

use ndarray::{s, Array2, Array3, Array4, ArrayView1, ArrayView2, ArrayView3, Axis};
use rand::Rng;
use rareml_io::tpc::{Readout, StripAxis, TpcEvent, TpcMeta};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{config, data, Error, Result};
use crate::seed::item_rng;

/// Samples at the start of each waveform used for its baseline (Xia et al. 2023; PandaX-III).
pub const BASELINE_SAMPLES: usize = 100;

/// Baseline-subtracted waveforms `(S, T)`: each signal minus the mean of its first `n` samples.
pub fn subtract_baseline(samples: ArrayView2<'_, i16>, n: usize) -> Result<Array2<f32>> {
    let t = samples.ncols();
    if n == 0 || n > t {
        return Err(config("baseline_samples", (n, t), "1 ≤ n ≤ T samples"));
    }
    let mut out = samples.mapv(|v| v as f32);
    for mut row in out.outer_iter_mut() {
        let base = row.slice(s![..n]).iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        row.mapv_inplace(|v| v - base as f32);
    }
    Ok(out)
}

/// The points of a baseline-subtracted waveform above `threshold`: (sample index, amplitude).
pub fn zero_suppress(signal: ArrayView1<'_, f32>, threshold: f32) -> Vec<(usize, f32)> {
    signal
        .iter()
        .enumerate()
        .filter(|(_, &v)| v > threshold)
        .map(|(i, &v)| (i, v))
        .collect()
}

/// Pulse integral (sum of the points above threshold, ADC·samples) and times (sample index of the
/// peak and charge-weighted mean sample) of one strip; `None` when no point is above threshold.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Pulse {
    /// Σ of the amplitudes above threshold.
    pub integral: f32,
    /// Sample index of the maximum.
    pub peak_sample: usize,
    /// Amplitude-weighted mean sample index of the points above threshold.
    pub mean_sample: f64,
}

/// [`Pulse`] of a baseline-subtracted waveform.
pub fn pulse(signal: ArrayView1<'_, f32>, threshold: f32) -> Option<Pulse> {
    let pts = zero_suppress(signal, threshold);
    if pts.is_empty() {
        return None;
    }
    let integral: f64 = pts.iter().map(|p| p.1 as f64).sum();
    let mean_sample = pts.iter().map(|p| p.0 as f64 * p.1 as f64).sum::<f64>() / integral;
    let peak_sample = pts
        .iter()
        .fold(pts[0], |m, &p| if p.1 > m.1 { p } else { m })
        .0;
    Some(Pulse {
        integral: integral as f32,
        peak_sample,
        mean_sample,
    })
}

/// Image conversion parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TpcImageConfig {
    /// Pixel size in mm, in every direction (Xia et al.: 3 mm, the strip pitch).
    pub pixel_mm: f64,
    /// Image side in pixels before upsampling (64).
    pub size: usize,
    /// Nearest-neighbour upsampling factor (2 → 128 × 128).
    pub upsample: usize,
    /// Samples averaged for the baseline.
    pub baseline_samples: usize,
    /// Zero-suppression threshold in ADC counts above baseline (3 × the ≈ 10 ADC noise).
    pub threshold_adc: f32,
    /// Random flips (training augmentation).
    pub flips: bool,
}

impl TpcImageConfig {
    /// Checks every field: pixel > 0 mm, size, upsampling and baseline samples ≥ 1, a threshold
    /// that is a number.
    pub fn validate(&self) -> Result<()> {
        if !(self.pixel_mm > 0.0 && self.pixel_mm.is_finite()) {
            return Err(config("pixel_mm", self.pixel_mm, "finite and > 0 mm"));
        }
        if self.size == 0 {
            return Err(config("size", self.size, "≥ 1 pixel"));
        }
        if self.upsample == 0 {
            return Err(config("upsample", self.upsample, "≥ 1"));
        }
        if self.baseline_samples == 0 {
            return Err(config("baseline_samples", self.baseline_samples, "≥ 1"));
        }
        if self.threshold_adc.is_nan() {
            return Err(config(
                "threshold_adc",
                self.threshold_adc,
                "a number of ADC counts",
            ));
        }
        Ok(())
    }
}

impl Default for TpcImageConfig {
    fn default() -> Self {
        Self {
            pixel_mm: 3.0,
            size: 64,
            upsample: 2,
            baseline_samples: BASELINE_SAMPLES,
            threshold_adc: 30.0,
            flips: false,
        }
    }
}

/// What the conversion did to one event's charge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ImageReport {
    /// Σ of the zero-suppressed amplitudes of the event (ADC), both planes.
    pub total_adc: f64,
    /// Part of it that fell outside the 64 × 64 windows (reported, not silently dropped).
    pub outside_adc: f64,
}

/// One event's charge per plane: (position along the strip axis in mm, z in mm, amplitude).
fn deposits(
    event: &TpcEvent,
    readout: &Readout,
    meta: &TpcMeta,
    cfg: &TpcImageConfig,
) -> Result<[Vec<(f64, f64, f64)>; 2]> {
    let waves = subtract_baseline(event.signals.samples.view(), cfg.baseline_samples)?;
    let mm_per_sample = meta.drift_velocity_mm_per_us * meta.sampling_ns * 1e-3;
    let mut planes: [Vec<(f64, f64, f64)>; 2] = [Vec::new(), Vec::new()];
    for (k, (&strip, wave)) in event
        .signals
        .strip_id
        .iter()
        .zip(waves.outer_iter())
        .enumerate()
    {
        let Some((axis, pos)) = readout.strip(strip) else {
            return Err(data(
                "readout",
                format!(
                    "event {}: signal {k}: strip id {strip} is not in the readout",
                    event.id
                ),
            ));
        };
        if let Some(i) = wave.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "waveform",
                count: 1,
                index: vec![k, i],
            });
        }
        let plane = &mut planes[match axis {
            StripAxis::X => 0,
            StripAxis::Y => 1,
        }];
        for (t, a) in zero_suppress(wave, cfg.threshold_adc) {
            plane.push((pos as f64, t as f64 * mm_per_sample, a as f64));
        }
    }
    Ok(planes)
}

/// Converts one event to `(2, size·upsample, size·upsample)`: rows = z, columns = x (XZ) or y (YZ).
/// Pixel of a deposit at (u, z): `col = ⌊(u − ū)/pixel + size/2⌋`, `row = ⌊(z − z̄)/pixel + size/2⌋`
/// with (ū, z̄) the plane's charge centre; values are divided by the event's total charge.
/// `flip = (horizontal, vertical)` mirrors columns / rows of both planes.
pub fn event_image(
    event: &TpcEvent,
    readout: &Readout,
    meta: &TpcMeta,
    cfg: &TpcImageConfig,
    flip: (bool, bool),
) -> Result<(Array3<f32>, ImageReport)> {
    cfg.validate()?;
    if event.signals.is_empty() {
        return Err(Error::EmptyEvent {
            what: "TPC event",
            reason: format!("event {} has no signals", event.id),
        });
    }
    let planes = deposits(event, readout, meta, cfg)?;
    let total: f64 = planes.iter().flatten().map(|d| d.2).sum();
    if total <= 0.0 {
        return Err(Error::EmptyEvent {
            what: "TPC event",
            reason: format!(
                "event {}: zero total charge above the {} ADC threshold",
                event.id, cfg.threshold_adc
            ),
        });
    }
    let n = cfg.size;
    let mut img = Array3::<f32>::zeros((2, n, n));
    let mut outside = 0.0;
    for (c, plane) in planes.iter().enumerate() {
        let q: f64 = plane.iter().map(|d| d.2).sum();
        if q <= 0.0 {
            continue;
        }
        let ubar = plane.iter().map(|d| d.0 * d.2).sum::<f64>() / q;
        let zbar = plane.iter().map(|d| d.1 * d.2).sum::<f64>() / q;
        for &(u, z, a) in plane {
            let col = ((u - ubar) / cfg.pixel_mm + n as f64 / 2.0).floor();
            let row = ((z - zbar) / cfg.pixel_mm + n as f64 / 2.0).floor();
            if col >= 0.0 && row >= 0.0 && (col as usize) < n && (row as usize) < n {
                img[[c, row as usize, col as usize]] += (a / total) as f32;
            } else {
                outside += a;
            }
        }
    }
    if flip.0 {
        img.invert_axis(Axis(2));
    }
    if flip.1 {
        img.invert_axis(Axis(1));
    }
    let img = upsample_nearest(img.view(), cfg.upsample);
    Ok((
        img,
        ImageReport {
            total_adc: total,
            outside_adc: outside,
        },
    ))
}

/// Nearest-neighbour upsampling of the last two axes by `f`.
pub fn upsample_nearest(x: ArrayView3<'_, f32>, f: usize) -> Array3<f32> {
    let (c, h, w) = x.dim();
    let mut out = Array3::zeros((c, h * f, w * f));
    upsample_nearest_into(x, f, out.view_mut()).expect("output of the upsampled shape");
    out
}

/// Nearest-neighbour upsampling of the last two axes by `f` into `out`, which must be
/// `(C, H·f, W·f)` for `x` of `(C, H, W)`.
pub fn upsample_nearest_into(
    x: ArrayView3<'_, f32>,
    f: usize,
    mut out: ndarray::ArrayViewMut3<'_, f32>,
) -> Result<()> {
    let (c, h, w) = x.dim();
    if out.dim() != (c, h * f, w * f) {
        return Err(Error::Shape {
            what: "upsampled image",
            expected: format!("({c}, {}, {}) for ×{f}", h * f, w * f),
            found: out.shape().to_vec(),
        });
    }
    for k in 0..c {
        for i in 0..h * f {
            let src = x.slice(s![k, i / f, ..]);
            for (j, o) in out.slice_mut(s![k, i, ..]).iter_mut().enumerate() {
                *o = src[j / f];
            }
        }
    }
    Ok(())
}

/// Mirrors both planes of an image `(2, S, S)` in place: `flip = (horizontal, vertical)` reverses
/// the columns / the rows, as [`event_image`] does when it draws flips.
pub fn flip_in_place(image: &mut ndarray::ArrayViewMut3<'_, f32>, flip: (bool, bool)) {
    if !(flip.0 || flip.1) {
        return;
    }
    let copy = image.to_owned();
    let mut mirrored = copy.view();
    if flip.0 {
        mirrored.invert_axis(Axis(2));
    }
    if flip.1 {
        mirrored.invert_axis(Axis(1));
    }
    image.assign(&mirrored);
}

/// Random horizontal and vertical flips of images `(2, S, S)` in place: the augmentation of a
/// training set held in memory. The flips are bits 0 and 1 of the item's seed (the trainer's
/// per-epoch, per-event seed, uniform in its bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomFlips {
    side: usize,
}

impl RandomFlips {
    /// Flips of images `(2, side, side)`.
    pub fn new(side: usize) -> Result<Self> {
        if side == 0 {
            return Err(config("side", side, "≥ 1 pixel"));
        }
        Ok(Self { side })
    }

    /// Flips one image (`2·side²` values) as bits 0 and 1 of `seed` say.
    pub fn apply(&self, item: &mut [f32], seed: u64) -> Result<()> {
        let len = item.len();
        let side = self.side;
        let mut view = ndarray::ArrayViewMut3::from_shape((2, side, side), item).map_err(|_| {
            Error::Shape {
                what: "image slot",
                expected: format!("(2, {side}, {side})"),
                found: vec![len],
            }
        })?;
        flip_in_place(&mut view, (seed & 1 == 1, seed & 2 == 2));
        Ok(())
    }
}

/// The (horizontal, vertical) flips of event `index` under `seed`; none when `cfg.flips` is off.
pub fn draw_flips(cfg: &TpcImageConfig, seed: u64, index: u64) -> (bool, bool) {
    if !cfg.flips {
        return (false, false);
    }
    let mut rng = item_rng(seed, index);
    (rng.random_bool(0.5), rng.random_bool(0.5))
}

/// Converts a batch of events to `(B, 2, H, W)` in parallel; with `cfg.flips` each event draws its
/// flips from `seed` and `first_index + i`.
pub fn batch_images(
    events: &[TpcEvent],
    readout: &Readout,
    meta: &TpcMeta,
    cfg: &TpcImageConfig,
    seed: u64,
    first_index: u64,
) -> Result<(Array4<f32>, Vec<ImageReport>)> {
    if events.is_empty() {
        return Err(Error::EmptyEvent {
            what: "TPC batch",
            reason: "no events".into(),
        });
    }
    let side = cfg.size * cfg.upsample;
    let mut out = Array4::<f32>::zeros((events.len(), 2, side, side));
    let reports = out
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(events.par_iter().enumerate())
        .map(|(mut o, (i, e))| {
            let (img, rep) = event_image(
                e,
                readout,
                meta,
                cfg,
                draw_flips(cfg, seed, first_index + i as u64),
            )?;
            o.assign(&img);
            Ok(rep)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((out, reports))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flips_mirror_both_planes() {
        let base: Vec<f32> = (0..18).map(|v| v as f32).collect();
        let f = RandomFlips::new(3).unwrap();
        let mut a = base.clone();
        f.apply(&mut a, 1).unwrap();
        assert_eq!(&a[..9], &[2., 1., 0., 5., 4., 3., 8., 7., 6.]);
        let mut b = base.clone();
        f.apply(&mut b, 2).unwrap();
        assert_eq!(&b[9..], &[15., 16., 17., 12., 13., 14., 9., 10., 11.]);
        let mut c = base.clone();
        f.apply(&mut c, 4).unwrap();
        assert_eq!(c, base);
        assert!(f.apply(&mut c[..5], 1).is_err());
        assert!(RandomFlips::new(0).is_err());
    }
    use ndarray::array;
    use rareml_io::tpc::{EventLabel, Signals};

    #[test]
    fn baseline_zero_suppression_and_pulse_by_hand() {
        let w = array![[10i16, 12, 10, 12, 50, 90, 30, 11]];
        let b = subtract_baseline(w.view(), 4).unwrap();
        assert_eq!(
            b.row(0).to_vec(),
            vec![-1.0, 1.0, -1.0, 1.0, 39.0, 79.0, 19.0, 0.0]
        );
        assert_eq!(
            zero_suppress(b.row(0), 10.0),
            vec![(4, 39.0), (5, 79.0), (6, 19.0)]
        );
        let p = pulse(b.row(0), 10.0).unwrap();
        assert_eq!((p.integral, p.peak_sample), (137.0, 5));
        assert!((p.mean_sample - (4.0 * 39.0 + 5.0 * 79.0 + 6.0 * 19.0) / 137.0).abs() < 1e-12);
        assert!(pulse(b.row(0), 100.0).is_none());
        assert!(subtract_baseline(w.view(), 9).is_err());
    }

    #[test]
    fn empty_and_chargeless_events_are_errors() {
        let r = Readout::pandax3_module();
        let m = TpcMeta::default();
        let cfg = TpcImageConfig::default();
        let mut e = TpcEvent {
            id: 4,
            label: EventLabel::Signal,
            energy_kev: None,
            vertex_mm: None,
            signals: Signals::empty(512),
        };
        assert!(event_image(&e, &r, &m, &cfg, (false, false))
            .unwrap_err()
            .to_string()
            .contains("no signals"));
        e.signals = Signals {
            strip_id: vec![3],
            samples: Array2::from_elem((1, 512), 300),
        };
        assert!(event_image(&e, &r, &m, &cfg, (false, false))
            .unwrap_err()
            .to_string()
            .contains("zero total charge"));
    }

    #[test]
    fn upsampling_into_a_slot_of_another_shape_is_refused() {
        let x = Array3::<f32>::zeros((2, 3, 3));
        let mut out = Array3::<f32>::zeros((2, 6, 5));
        let err = upsample_nearest_into(x.view(), 2, out.view_mut()).unwrap_err();
        assert!(err.to_string().contains("(2, 6, 6) for ×2"), "{err}");
    }

    #[test]
    fn upsampling_repeats_pixels() {
        let x = array![[[1.0f32, 2.0], [3.0, 4.0]]];
        let u = upsample_nearest(x.view(), 2);
        assert_eq!(
            u.slice(s![0, .., ..]),
            array![
                [1.0, 1.0, 2.0, 2.0],
                [1.0, 1.0, 2.0, 2.0],
                [3.0, 3.0, 4.0, 4.0],
                [3.0, 3.0, 4.0, 4.0]
            ]
        );
    }
}
