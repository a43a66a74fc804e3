//! NEWSdm toy Monte Carlo: clusters of silver grains in NIT emulsion imaged by an optical microscope
//! under 8 polariser angles. Classes: carbon-recoil tracks of 30, 60 and 100 keV (a few grains along
//! the recoil's range), fog (one thermally developed grain) and gamma (Co-60 / Cs-137 Compton
//! electrons: a few grains along a longer, scattered path). Model and sources: `docs/sim-emulsion.md`.
//!
//! Each grain is a silver filament with a random orientation φ; its brightness under polariser angle
//! θ is b·(1 + m·cos 2(θ − φ)) (localised surface plasmon resonance: the long axis couples to light
//! polarised along it), with a grain-specific depth m. Images: Gaussian PSF, 27.47 nm pixels, 80 × 80
//! crops centred on the cluster, a pedestal that differs between clusters, shot and read noise,
//! uint8 with saturation, the 9th image a copy of the 1st — the NEWSdm raw layout.

use ndarray::{Array2, Array4};
use rand::Rng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal, Poisson};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::rng::gauss;
use rareml_io::emulsion::{
    ClusterBatch, ClusterClass, EmulsionWriter, SetLayout, SetMeta, PIXEL_SIZE_NM,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{config, Result};
use crate::rng::event_rng;

/// Mean range of a 100 keV carbon ion in NIT emulsion in nm (Umemoto et al., arXiv:1812.09528:
/// "100 keV carbon ion tracks with the mean range of 270 nm").
pub const C100_RANGE_NM: f64 = 270.0;

/// Exponent of the range–energy scaling R ∝ E^p used for 30 and 60 keV from the 100 keV point —
/// an assumption between the nuclear-stopping (p ≈ 1) and electronic-stopping (p ≈ 0.5) regimes.
pub const RANGE_ENERGY_EXPONENT: f64 = 0.75;

/// Silver filament lengths of 30 keV carbon tracks measured by SEM, in nm: the sum of the segments
/// of each filament in `shared/data/newsdm/C30V_segmentedfilaments.txt` (179 filaments: mean 122 nm,
/// median 118 nm, 20–305 nm). Sampled as a log-normal with that median and spread.
pub const FILAMENT_MEDIAN_NM: f64 = 118.0;

/// Log-normal σ of the filament length (from the same SEM sample).
pub const FILAMENT_LOG_SIGMA: f64 = 0.45;

/// Gaussian PSF FWHM of the optical microscope in nm (NEWSdm optical readout: ≈ 200–250 nm; the
/// rareml fixtures use 200 nm / 2.355 ≈ 3.09 px σ).
pub const PSF_FWHM_NM: f64 = 230.0;

/// Crop size in pixels of the raw layout (Napoli_emulsion public code: 80 × 80).
pub const CROP_PX: usize = 80;

/// Generator configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmulsionConfig {
    /// Mean grain brightness above pedestal, in ADC counts.
    pub grain_brightness_adc: f64,
    /// Pedestal range (uniform per cluster), ADC counts.
    pub pedestal_adc: (f64, f64),
    /// Read noise σ, ADC counts.
    pub read_noise_adc: f64,
    /// Camera gain: ADC counts per photo-electron (shot noise = √(signal/gain)·gain).
    pub adc_per_photoelectron: f64,
}

impl Default for EmulsionConfig {
    fn default() -> Self {
        Self {
            grain_brightness_adc: 60.0,
            pedestal_adc: (18.0, 30.0),
            read_noise_adc: 2.0,
            adc_per_photoelectron: 0.5,
        }
    }
}

impl EmulsionConfig {
    /// Checks every field: brightness and ADC gain > 0, read noise ≥ 0, a pedestal range
    /// min ≤ max (all finite); the error names the first offending field.
    pub fn validate(&self) -> Result<()> {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !positive(self.grain_brightness_adc) {
            return Err(config(
                "grain_brightness_adc",
                self.grain_brightness_adc,
                "finite and > 0",
            ));
        }
        if !positive(self.adc_per_photoelectron) {
            return Err(config(
                "adc_per_photoelectron",
                self.adc_per_photoelectron,
                "finite and > 0",
            ));
        }
        if !(self.read_noise_adc.is_finite() && self.read_noise_adc >= 0.0) {
            return Err(config(
                "read_noise_adc",
                self.read_noise_adc,
                "finite and ≥ 0",
            ));
        }
        let (lo, hi) = self.pedestal_adc;
        if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            return Err(config(
                "pedestal_adc",
                self.pedestal_adc,
                "finite (min, max) with min ≤ max",
            ));
        }
        Ok(())
    }
}

/// A generated cluster class (the file groups of the NEWSdm layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sample {
    /// Carbon recoil of this energy in keV (30, 60 or 100).
    Carbon(u32),
    /// Fog: one thermally developed grain.
    Fog,
    /// Gamma (Co-60 / Cs-137 Compton electron) background.
    Gamma,
}

impl Sample {
    /// Every sample the generator makes, in the order of the NEWSdm files: carbon of 30, 60 and
    /// 100 keV, fog, gamma.
    pub const ALL: [Sample; 5] = [
        Sample::Carbon(30),
        Sample::Carbon(60),
        Sample::Carbon(100),
        Sample::Fog,
        Sample::Gamma,
    ];

    /// The NEWSdm class label.
    pub fn class(self) -> ClusterClass {
        match self {
            Sample::Carbon(30) => ClusterClass::C30keV,
            Sample::Carbon(60) => ClusterClass::C60keV,
            Sample::Carbon(_) => ClusterClass::C100keV,
            Sample::Fog | Sample::Gamma => ClusterClass::Background,
        }
    }

    /// Group path in the written file (as the group's own files name them).
    pub fn group(self) -> String {
        match self {
            Sample::Carbon(e) => format!("Carbon/{e}keV"),
            Sample::Fog => "fog".into(),
            Sample::Gamma => "gamma".into(),
        }
    }
}

/// Mean track length in nm of a carbon recoil of `e_kev`.
pub fn carbon_range_nm(e_kev: f64) -> f64 {
    C100_RANGE_NM * (e_kev / 100.0).powf(RANGE_ENERGY_EXPONENT)
}

/// One grain: position (nm, relative to the crop centre), orientation φ, modulation depth, brightness.
struct Grain {
    x: f64,
    y: f64,
    phi: f64,
    depth: f64,
    brightness: f64,
}

fn grains<R: Rng>(rng: &mut R, sample: Sample, cfg: &EmulsionConfig) -> Vec<Grain> {
    let grain = |rng: &mut R, x: f64, y: f64| {
        let l = (FILAMENT_MEDIAN_NM.ln() + FILAMENT_LOG_SIGMA * crate::rng::gauss(rng)).exp();
        // Longer filaments scatter more light and polarise more strongly.
        Grain {
            x,
            y,
            phi: rng.random_range(0.0..std::f64::consts::PI),
            depth: (0.3
                + 0.4 * (l / FILAMENT_MEDIAN_NM).min(2.0) / 2.0
                + rng.random_range(-0.1..0.1))
            .clamp(0.1, 0.9),
            brightness: cfg.grain_brightness_adc
                * (l / FILAMENT_MEDIAN_NM).sqrt()
                * rng.random_range(0.8..1.2),
        }
    };
    match sample {
        Sample::Fog => vec![grain(rng, 0.0, 0.0)],
        Sample::Carbon(e) => {
            // Track of exponential-ish straggled length around the mean range, grains every ~100 nm.
            let range = carbon_range_nm(e as f64) * rng.random_range(0.7..1.3);
            let n = ((range / 100.0).round() as usize).clamp(2, 5);
            let dir = rng.random_range(0.0..std::f64::consts::TAU);
            (0..n)
                .map(|k| {
                    let s = range * (k as f64 / (n - 1) as f64 - 0.5);
                    grain(rng, s * dir.cos(), s * dir.sin())
                })
                .collect()
        }
        Sample::Gamma => {
            // A Compton electron crossing the field: 2–4 grains ~300–600 nm apart, scattered path.
            let n = rng.random_range(2..=4);
            let mut dir = rng.random_range(0.0..std::f64::consts::TAU);
            let (mut x, mut y) = (0.0, 0.0);
            let mut out = vec![grain(rng, x, y)];
            for _ in 1..n {
                let step = rng.random_range(300.0..600.0);
                dir += rng.random_range(-0.6..0.6);
                x += step * dir.cos();
                y += step * dir.sin();
                out.push(grain(rng, x, y));
            }
            // Centre the crop on the cluster.
            let (mx, my) = (
                out.iter().map(|g| g.x).sum::<f64>() / n as f64,
                out.iter().map(|g| g.y).sum::<f64>() / n as f64,
            );
            out.iter_mut().for_each(|g| {
                g.x -= mx;
                g.y -= my;
            });
            out
        }
    }
}

/// Renders cluster `index` of `sample` under `seed`: 9 images `(9, 80, 80)` u8 (9th = copy of 1st).
pub fn generate_cluster(
    cfg: &EmulsionConfig,
    sample: Sample,
    seed: u64,
    index: u64,
) -> ndarray::Array3<u8> {
    let mut out = ndarray::Array3::<u8>::zeros((9, CROP_PX, CROP_PX));
    render_cluster(cfg, sample, seed, index, out.view_mut());
    out
}

/// [`generate_cluster`] into a standard-layout `(9, 80, 80)` slot.
fn render_cluster(
    cfg: &EmulsionConfig,
    sample: Sample,
    seed: u64,
    index: u64,
    mut out: ndarray::ArrayViewMut3<'_, u8>,
) {
    let mut rng = event_rng(seed, index);
    let gs = grains(&mut rng, sample, cfg);
    let pedestal = rng.random_range(cfg.pedestal_adc.0..=cfg.pedestal_adc.1);
    let sigma_px = PSF_FWHM_NM / 2.355 / PIXEL_SIZE_NM;
    let c = (CROP_PX as f64 - 1.0) / 2.0;
    let read = Normal::new(0.0, cfg.read_noise_adc.max(1e-9)).expect("σ > 0");
    // The PSF is separable: per grain, one factor per column and one per row, shared by the 8 images.
    let profile = |centre: f64| -> Vec<f64> {
        (0..CROP_PX)
            .map(|i| (-(i as f64 - centre).powi(2) / (2.0 * sigma_px * sigma_px)).exp())
            .collect()
    };
    let gx: Vec<Vec<f64>> = gs
        .iter()
        .map(|g| profile(c + g.x / PIXEL_SIZE_NM))
        .collect();
    let gy: Vec<Vec<f64>> = gs
        .iter()
        .map(|g| profile(c + g.y / PIXEL_SIZE_NM))
        .collect();
    // Pixel noise draws from a xoshiro256++ stream seeded by the event's ChaCha stream: the same
    // per-event reproducibility at a fraction of the cost of 51,200 ChaCha-driven normal draws.
    let mut noise = Xoshiro256PlusPlus::seed_from_u64(rng.random());
    let mut signal = vec![0.0f64; CROP_PX];
    let mut electrons = [0.0f64; CROP_PX];
    let mut normals = [0.0f64; CROP_PX];
    let g = cfg.adc_per_photoelectron;
    let read_var = cfg.read_noise_adc * cfg.read_noise_adc;
    for p in 0..8 {
        let theta = p as f64 * std::f64::consts::PI / 8.0;
        let b: Vec<f64> = gs
            .iter()
            .map(|g| g.brightness * (1.0 + g.depth * (2.0 * (theta - g.phi)).cos()))
            .collect();
        let mut image = out.index_axis_mut(ndarray::Axis(0), p);
        let image = image.as_slice_mut().expect("a standard-layout slot");
        for (y, row) in image.chunks_exact_mut(CROP_PX).enumerate() {
            signal.iter_mut().for_each(|v| *v = 0.0);
            for (k, bk) in b.iter().enumerate() {
                let wy = bk * gy[k][y];
                if wy < 1e-6 {
                    continue;
                }
                signal
                    .iter_mut()
                    .zip(&gx[k])
                    .for_each(|(v, fx)| *v += wy * fx);
            }
            // Mean electrons per pixel; above 30 photo-electrons everywhere (the usual case: the
            // pedestal alone gives 36–60) the row takes the vectorisable path: 80 normal draws,
            // then the arithmetic over the whole row.
            for (e, &s) in electrons.iter_mut().zip(&signal) {
                *e = (pedestal + s) / g;
            }
            if electrons.iter().all(|&e| e > 30.0) {
                for z in normals.iter_mut() {
                    *z = gauss(&mut noise);
                }
                for ((px, &e), &z) in row.iter_mut().zip(&electrons).zip(&normals) {
                    // Shot noise in its normal approximation, merged with the Gaussian read
                    // noise into one draw.
                    let v = e * g + (e * g * g + read_var).sqrt() * z;
                    *px = to_adc(v);
                }
            } else {
                for (px, &e) in row.iter_mut().zip(&electrons) {
                    let v = if e > 30.0 {
                        e * g + (e * g * g + read_var).sqrt() * gauss(&mut noise)
                    } else {
                        // Poisson shot noise plus Gaussian read noise.
                        let shot = if e > 0.0 {
                            Poisson::new(e).map(|d| d.sample(&mut noise)).unwrap_or(0.0)
                        } else {
                            0.0
                        };
                        shot * g + read.sample(&mut noise)
                    };
                    *px = to_adc(v);
                }
            }
        }
    }
    let (first, mut ninth) = out.multi_slice_mut((ndarray::s![0, .., ..], ndarray::s![8, .., ..]));
    ninth.assign(&first);
}

/// An ADC value rounded half up and saturated to the 8-bit range (`f64::round` is a library call
/// on baseline x86-64; the conversion truncates the non-negative value).
#[inline]
fn to_adc(v: f64) -> u8 {
    ((v.max(0.0) + 0.5) as u32).min(255) as u8
}

/// Generates clusters `first .. first + n` of `sample` as a batch (with `pol_ids`: isolated-grain
/// flag −1 for fog, track id ≥ 0 otherwise; n_pol = 8).
pub fn generate(
    cfg: &EmulsionConfig,
    sample: Sample,
    seed: u64,
    first: u64,
    n: usize,
) -> Result<ClusterBatch<u8>> {
    cfg.validate()?;
    if let Sample::Carbon(e) = sample {
        if ![30, 60, 100].contains(&e) {
            return Err(config(
                "sample",
                sample,
                "carbon of 30, 60 or 100 keV, fog or gamma",
            ));
        }
    }
    // Different samples draw from different seeds so that their clusters are independent.
    let salt = match sample {
        Sample::Carbon(e) => e as u64,
        Sample::Fog => 1,
        Sample::Gamma => 2,
    };
    let seed = seed ^ (salt << 48);
    let mut images = Array4::<u8>::zeros((n, 9, CROP_PX, CROP_PX));
    images
        .axis_iter_mut(ndarray::Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(i, slot)| render_cluster(cfg, sample, seed, first + i as u64, slot));
    let tr = if sample == Sample::Fog { -1 } else { 0 };
    let pol = Array2::from_shape_fn((n, 13), |(i, j)| match j {
        0 => 1,
        1 => ((first as usize + i) / 100) as i32,
        2 => (first as usize + i) as i32,
        3..=10 => (first as usize + i) as i32,
        11 => tr,
        _ => 8,
    });
    let mut batch = ClusterBatch::new(images, Some(pol), Some(vec![sample.class(); n]))?;
    batch.start = first as usize;
    Ok(batch)
}

/// Writes `n` clusters of each sample into one NEWSdm raw file (a group per sample);
/// `progress(k)` is called after each batch of k clusters.
pub fn write(
    path: impl AsRef<std::path::Path>,
    cfg: &EmulsionConfig,
    samples: &[Sample],
    seed: u64,
    n: usize,
    opts: &crate::WriteOptions,
    mut progress: impl FnMut(usize),
) -> Result<()> {
    opts.validate()?;
    let w = EmulsionWriter::create_with(path, opts.compression)?;
    let mut sets = Vec::with_capacity(samples.len());
    for &s in samples {
        let meta = SetMeta {
            class: Some(s.class()),
            generator: "rareml-sim emulsion".into(),
            ..SetMeta::default()
        };
        sets.push(w.set::<u8>(&s.group(), SetLayout::CROPS, (9, CROP_PX, CROP_PX), &meta)?);
    }
    // One pipeline over every (sample, batch): the next batch, of this sample or the next one, is
    // generated while the previous one is written.
    let jobs: Vec<(usize, u64, usize)> = (0..samples.len())
        .flat_map(|k| {
            crate::batches(opts.first, n, opts.batch)
                .into_iter()
                .map(move |(f, b)| (k, f, b))
        })
        .collect();
    crate::pipelined(
        &jobs,
        |&(_, _, b)| b,
        &mut progress,
        |&(k, first, b)| generate(cfg, samples[k], seed, first, b),
        |&(k, _, _), x| Ok(sets[k].append(&x)?),
    )?;
    drop(sets);
    w.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_scale_from_the_100_kev_point() {
        assert_eq!(carbon_range_nm(100.0), 270.0);
        assert!(carbon_range_nm(30.0) < carbon_range_nm(60.0) && carbon_range_nm(60.0) < 270.0);
    }

    #[test]
    fn clusters_are_raw_layout_and_reproducible() {
        let cfg = EmulsionConfig::default();
        let a = generate_cluster(&cfg, Sample::Carbon(100), 3, 7);
        assert_eq!(a.dim(), (9, 80, 80));
        assert_eq!(
            a.index_axis(ndarray::Axis(0), 8),
            a.index_axis(ndarray::Axis(0), 0)
        );
        assert_eq!(a, generate_cluster(&cfg, Sample::Carbon(100), 3, 7));
        // The cluster sits at the centre: the brightest pixel of image 0 is near (40, 40).
        let (pos, _) = a
            .index_axis(ndarray::Axis(0), 0)
            .indexed_iter()
            .max_by_key(|(_, &v)| v)
            .map(|(p, v)| (p, *v))
            .unwrap();
        assert!(
            (pos.0 as i32 - 40).abs() < 12 && (pos.1 as i32 - 40).abs() < 12,
            "{pos:?}"
        );
        assert!(generate(&cfg, Sample::Carbon(45), 1, 0, 1).is_err());
    }

    /// Every rule names its field.
    #[test]
    fn bad_configuration_is_rejected() {
        let d = EmulsionConfig::default;
        let bad = |c: EmulsionConfig, field: &str| {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        };
        bad(
            EmulsionConfig {
                grain_brightness_adc: 0.0,
                ..d()
            },
            "grain_brightness_adc",
        );
        bad(
            EmulsionConfig {
                adc_per_photoelectron: f64::INFINITY,
                ..d()
            },
            "adc_per_photoelectron",
        );
        bad(
            EmulsionConfig {
                read_noise_adc: -1.0,
                ..d()
            },
            "read_noise_adc",
        );
        bad(
            EmulsionConfig {
                pedestal_adc: (30.0, 20.0),
                ..d()
            },
            "pedestal_adc",
        );
        assert!(d().validate().is_ok());
    }
}
