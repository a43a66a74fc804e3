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
//!
//! The measurement as the paper's microscope makes it: the stage vibrates between the 8 exposures
//! (a per-exposure displacement of the whole field, anisotropic, fixed in the microscope frame);
//! carbon tracks come from an ion beam with a direction (in the sample frame) and are scanned with
//! the sample turned on the stage (0°, 45°, 90° and a second 0° area, one file group per scan);
//! a spherical silver nanoparticle (NP) sample — single grains without plasmon modulation — gives
//! the barycenter cut its threshold.

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

/// Diameter of the reference nanoparticles in nm (the NEWSdm papers' sample of spherical silver
/// nanoparticles of 60 nm).
pub const NANOPARTICLE_DIAMETER_NM: f64 = 60.0;

/// Relative spread (σ / mean) of the nanoparticle diameter: 10 %, the usual tolerance of
/// commercial citrate-capped silver nanospheres (an assumption; the papers state no spread).
pub const NANOPARTICLE_DIAMETER_REL_SIGMA: f64 = 0.10;

mod config;
pub use config::*;

/// Mean track length in nm of a carbon recoil of `e_kev`.
pub fn carbon_range_nm(e_kev: f64) -> f64 {
    C100_RANGE_NM * (e_kev / 100.0).powf(RANGE_ENERGY_EXPONENT)
}

/// One light emitter — a straight filament segment: position (nm, relative to the crop centre),
/// orientation φ of its long axis, modulation depth, brightness.
struct Grain {
    x: f64,
    y: f64,
    phi: f64,
    depth: f64,
    brightness: f64,
}

/// Kinks of a filament: the SEM sample's mean number of kinks grows as (L − 30 nm) / 60 nm
/// (0 below 40 nm, 0.37 at 40–60 nm, 0.65 at 60–80 nm, 1.4 at 100–120 nm, 2.0 at 140–160 nm, 3.1
/// above 200 nm in `shared/data/newsdm/C30V_segmentedfilaments.txt`, 179 filaments), and at a
/// given length it is nearly fixed (70–80 nm: 8 of 11 with one kink): ⌊μ⌋ kinks plus one more
/// with probability μ − ⌊μ⌋.
const KINK_OFFSET_NM: f64 = 30.0;

/// Filament length per additional kink, in nm (see [`KINK_OFFSET_NM`]).
const KINK_LENGTH_NM: f64 = 60.0;

/// Largest number of kinks of a filament in the SEM sample.
const MAX_KINKS: usize = 4;

/// Largest turn at a kink in degrees: the SEM sample's turns have mean 68°, median 63° and rms 76°,
/// which a uniform |turn| on [0°, 135°] reproduces (mean and median 67.5°, rms 78°).
const MAX_TURN_DEG: f64 = 135.0;

/// Largest plasmon modulation depth m (a segment never goes fully dark).
const MAX_DEPTH: f64 = 0.95;

/// Median length of a filament segment in the SEM sample, in nm: the length at which a segment's
/// plasmon modulation takes its median depth.
const SEGMENT_MEDIAN_NM: f64 = 46.0;

/// The emitters of one developed silver filament of total length `length_nm`, its chord (start to
/// end) along the screen angle `dir` (radians, y down), its light centroid at (`cx`, `cy`): a chain of
/// straight segments with the SEM sample's number of kinks at uniform positions, turning by ±U(0°, 135°)
/// (the SEM sample's statistics). The filament's light, ∝ √(L / 118 nm) as before, is shared
/// among its segments ∝ their lengths; each segment resonates along its own axis.
fn filament<R: Rng>(
    rng: &mut R,
    cfg: &EmulsionConfig,
    length_nm: f64,
    dir: f64,
    (cx, cy): (f64, f64),
) -> Vec<Grain> {
    let mu = ((length_nm - KINK_OFFSET_NM) / KINK_LENGTH_NM).max(0.0);
    let kinks =
        (mu.floor() as usize + usize::from(rng.random::<f64>() < mu.fract())).min(MAX_KINKS);
    let mut cuts: Vec<f64> = (0..kinks)
        .map(|_| rng.random_range(0.0..length_nm))
        .collect();
    cuts.sort_by(f64::total_cmp);
    cuts.push(length_nm);
    let total = cfg.grain_brightness_adc
        * (length_nm / FILAMENT_MEDIAN_NM).sqrt()
        * rng.random_range(0.8..1.2);
    let (mut x, mut y, mut a, mut from) = (0.0, 0.0, dir, 0.0);
    let mut out = Vec::with_capacity(cuts.len());
    for (k, &to) in cuts.iter().enumerate() {
        if k > 0 {
            let turn = rng.random_range(0.0..MAX_TURN_DEG).to_radians();
            a += if rng.random::<bool>() { turn } else { -turn };
        }
        let l = to - from;
        let (ux, uy) = (a.cos(), a.sin());
        out.push(Grain {
            x: x + 0.5 * l * ux,
            y: y + 0.5 * l * uy,
            phi: a.rem_euclid(std::f64::consts::PI),
            // Longer segments polarise more strongly.
            depth: (cfg.plasmon_depth_scale
                * (0.3
                    + 0.4 * (l / SEGMENT_MEDIAN_NM).min(2.0) / 2.0
                    + rng.random_range(-0.1..0.1)))
            .clamp(0.0, MAX_DEPTH),
            brightness: total * l / length_nm,
        });
        x += l * ux;
        y += l * uy;
        from = to;
    }
    // Turn the chain about its start so that its chord (start to end) lies along `dir`: the
    // filament spans the ion's path, which sets where it is, while the kinks — curling with the
    // same sign twice as often as not in the SEM sample — only shape it. Without this the
    // chord of a 3-kink filament strays 66° on average from its first segment (SEM sample).
    if y.hypot(x) > 1e-9 {
        let turn = dir - y.atan2(x);
        let (s, c) = turn.sin_cos();
        for g in &mut out {
            (g.x, g.y) = (c * g.x - s * g.y, s * g.x + c * g.y);
            g.phi = (g.phi + turn).rem_euclid(std::f64::consts::PI);
        }
    }
    // Centre the filament's light on (cx, cy).
    let w: f64 = out.iter().map(|g| g.brightness).sum::<f64>().max(1e-12);
    let (mx, my) = (
        out.iter().map(|g| g.brightness * g.x).sum::<f64>() / w,
        out.iter().map(|g| g.brightness * g.y).sum::<f64>() / w,
    );
    out.iter_mut().for_each(|g| {
        g.x += cx - mx;
        g.y += cy - my;
    });
    out
}

/// A filament length in nm drawn from the SEM sample's log-normal, its median scaled to `median`.
fn filament_length<R: Rng>(rng: &mut R, median: f64) -> f64 {
    (median.ln() + FILAMENT_LOG_SIGMA * crate::rng::gauss(rng)).exp()
}

/// The emitters of one cluster of `sample`, in nm on screen (x along columns, y along rows, down),
/// the sample turned by `rotation_deg`.
fn grains<R: Rng>(
    rng: &mut R,
    sample: Sample,
    cfg: &EmulsionConfig,
    rotation_deg: f64,
) -> Vec<Grain> {
    let any_dir = |rng: &mut R| rng.random_range(0.0..std::f64::consts::TAU);
    match sample {
        Sample::Fog => {
            let l = filament_length(rng, cfg.fog_filament_median_nm);
            let dir = any_dir(rng);
            let mut f = filament(rng, cfg, l, dir, (0.0, 0.0));
            f.iter_mut()
                .for_each(|g| g.brightness *= cfg.fog_brightness_scale);
            f
        }
        Sample::Nanoparticle => {
            // A sphere: no long axis, no plasmon modulation.
            let d = NANOPARTICLE_DIAMETER_NM
                * (1.0 + NANOPARTICLE_DIAMETER_REL_SIGMA * crate::rng::gauss(rng)).max(0.3);
            vec![Grain {
                x: 0.0,
                y: 0.0,
                phi: 0.0,
                depth: 0.0,
                brightness: cfg.nanoparticle_brightness_adc
                    * (d / NANOPARTICLE_DIAMETER_NM).sqrt()
                    * rng.random_range(0.8..1.2),
            }]
        }
        Sample::Carbon(e) => {
            // One developed filament along the track (the SEM sample of 30 keV tracks: one
            // filament each), its length the mean range with the SEM sample's log-normal spread
            // (median 110 nm at 30 keV against the sample's 118 nm), its first segment along the
            // beam. Screen direction (cos a, sin a) with y down: a beam at `direction_deg`
            // counter-clockwise on screen is at −direction_deg here.
            let l = filament_length(rng, cfg.carbon_filament_median_nm(e as f64));
            let dir = match &cfg.beam {
                Some(b) => {
                    -(b.direction_deg + rotation_deg + b.spread_deg * crate::rng::gauss(rng))
                        .to_radians()
                }
                None => any_dir(rng),
            };
            filament(rng, cfg, l, dir, (0.0, 0.0))
        }
        Sample::Gamma => {
            // A Compton electron crossing the field: 2–4 filaments ~300–600 nm apart along a
            // scattered path.
            let n = rng.random_range(2..=4);
            let mut dir = any_dir(rng);
            let (mut x, mut y) = (0.0, 0.0);
            let mut centres = vec![(x, y)];
            for _ in 1..n {
                let step = rng.random_range(300.0..600.0);
                dir += rng.random_range(-0.6..0.6);
                x += step * dir.cos();
                y += step * dir.sin();
                centres.push((x, y));
            }
            // Centre the crop on the cluster.
            let (mx, my) = (
                centres.iter().map(|c| c.0).sum::<f64>() / n as f64,
                centres.iter().map(|c| c.1).sum::<f64>() / n as f64,
            );
            centres
                .into_iter()
                .flat_map(|(x, y)| {
                    let l = filament_length(rng, FILAMENT_MEDIAN_NM);
                    let d = any_dir(rng);
                    filament(rng, cfg, l, d, (x - mx, y - my))
                })
                .collect()
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
    let gs = grains(&mut rng, sample, cfg, cfg.rotation_deg(sample, index));
    let pedestal = rng.random_range(cfg.pedestal_adc.0..=cfg.pedestal_adc.1);
    let sigma_px = PSF_FWHM_NM / 2.355 / PIXEL_SIZE_NM;
    let c = (CROP_PX as f64 - 1.0) / 2.0;
    let read = Normal::new(0.0, cfg.read_noise_adc.max(1e-9)).expect("σ > 0");
    // Pixel noise draws from a xoshiro256++ stream seeded by the event's ChaCha stream: the same
    // per-event reproducibility at a fraction of the cost of 51,200 ChaCha-driven normal draws.
    let mut noise = Xoshiro256PlusPlus::seed_from_u64(rng.random());
    // The field's displacement in each exposure (nm, screen axes), drawn after the noise seed so
    // that a configuration without vibration reproduces the clusters of one without the field.
    let shifts = exposure_shifts(&mut rng, &cfg.vibration);
    // The PSF is separable: per grain and exposure, one factor per column and one per row.
    let profile = |centre: f64| -> Vec<f64> {
        (0..CROP_PX)
            .map(|i| (-(i as f64 - centre).powi(2) / (2.0 * sigma_px * sigma_px)).exp())
            .collect()
    };
    let profiles = |p: usize| -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let [dx, dy] = shifts[p];
        (
            gs.iter()
                .map(|g| profile(c + (g.x + dx) / PIXEL_SIZE_NM))
                .collect(),
            gs.iter()
                .map(|g| profile(c + (g.y + dy) / PIXEL_SIZE_NM))
                .collect(),
        )
    };
    // Without vibration every exposure shares exposure 0's profiles.
    let still = cfg.vibration.is_none().then(|| profiles(0));
    let mut signal = vec![0.0f64; CROP_PX];
    let mut electrons = [0.0f64; CROP_PX];
    let mut normals = [0.0f64; CROP_PX];
    let g = cfg.adc_per_photoelectron;
    let read_var = cfg.read_noise_adc * cfg.read_noise_adc;
    for p in 0..8 {
        let moved;
        let (gx, gy) = match &still {
            Some((x, y)) => (x, y),
            None => {
                moved = profiles(p);
                (&moved.0, &moved.1)
            }
        };
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

/// The field displacement `[dx, dy]` in nm (screen axes, y down) of each of the 8 exposures.
fn exposure_shifts<R: Rng>(rng: &mut R, v: &Vibration) -> [[f64; 2]; 8] {
    let mut out = [[0.0; 2]; 8];
    if v.is_none() {
        return out;
    }
    let a = v.axis_deg.to_radians();
    // Major axis (cos a, −sin a) on screen, minor axis perpendicular to it.
    let (major, minor) = ([a.cos(), -a.sin()], [a.sin(), a.cos()]);
    for d in out.iter_mut() {
        let (u, w) = (v.sigma_major_nm * gauss(rng), v.sigma_minor_nm * gauss(rng));
        *d = [u * major[0] + w * minor[0], u * major[1] + w * minor[1]];
    }
    out
}

/// An ADC value rounded half up and saturated to the 8-bit range (`f64::round` is a library call
/// on baseline x86-64; the conversion truncates the non-negative value).
#[inline]
fn to_adc(v: f64) -> u8 {
    ((v.max(0.0) + 0.5) as u32).min(255) as u8
}

/// Generates clusters `first .. first + n` of `sample` as a batch (with `pol_ids`: isolated-grain
/// flag −1 for fog and nanoparticles, track id ≥ 0 otherwise; n_pol = 8); a carbon cluster is
/// rendered in its scan ([`EmulsionConfig::scan_of`]).
pub fn generate(
    cfg: &EmulsionConfig,
    sample: Sample,
    seed: u64,
    first: u64,
    n: usize,
) -> Result<ClusterBatch<u8>> {
    let indices: Vec<u64> = (first..first + n as u64).collect();
    let mut batch = generate_indices(cfg, sample, seed, &indices)?;
    batch.start = first as usize;
    Ok(batch)
}

/// Generates the clusters `indices` of `sample` (each index its own random stream) as a batch.
pub fn generate_indices(
    cfg: &EmulsionConfig,
    sample: Sample,
    seed: u64,
    indices: &[u64],
) -> Result<ClusterBatch<u8>> {
    cfg.validate()?;
    if let Sample::Carbon(e) = sample {
        if ![30, 60, 100].contains(&e) {
            return Err(config(
                "sample",
                sample,
                "carbon of 30, 60 or 100 keV, fog, gamma or nanoparticle",
            ));
        }
    }
    // Different samples draw from different seeds so that their clusters are independent.
    let seed = seed ^ (sample.salt() << 48);
    let n = indices.len();
    let mut images = Array4::<u8>::zeros((n, 9, CROP_PX, CROP_PX));
    images
        .axis_iter_mut(ndarray::Axis(0))
        .into_par_iter()
        .zip(indices.par_iter())
        .for_each(|(slot, &i)| render_cluster(cfg, sample, seed, i, slot));
    let tr = if matches!(sample, Sample::Fog | Sample::Nanoparticle) {
        -1
    } else {
        0
    };
    let pol = Array2::from_shape_fn((n, 13), |(r, j)| {
        let i = indices[r] as i32;
        match j {
            0 => 1,
            1 => i / 100,
            2..=10 => i,
            11 => tr,
            _ => 8,
        }
    });
    let mut batch = ClusterBatch::new(images, Some(pol), Some(vec![sample.class(); n]))?;
    batch.start = indices.first().map_or(0, |&i| i as usize);
    Ok(batch)
}

/// Writes `n` clusters of each sample into one NEWSdm raw file: a group per sample, or per scan
/// of a carbon sample ([`EmulsionConfig::groups`]: cluster i in scan i mod scans, so a sharded
/// write holds, group by group, the clusters of one unsharded write); `progress(k)` is called
/// after each batch of k clusters.
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
    cfg.validate()?;
    let w = EmulsionWriter::create_with(path, opts.compression)?;
    // One set per (sample, scan group).
    let mut sets = Vec::new();
    let mut set_of = Vec::with_capacity(samples.len());
    for &s in samples {
        let meta = SetMeta {
            class: Some(s.class()),
            generator: "rareml-sim emulsion".into(),
            ..SetMeta::default()
        };
        set_of.push(sets.len());
        for g in cfg.groups(s) {
            sets.push(w.set::<u8>(&g, SetLayout::CROPS, (9, CROP_PX, CROP_PX), &meta)?);
        }
    }
    // One pipeline over every (sample, batch, scan): the next batch, of this sample or the next
    // one, is generated while the previous one is written.
    let mut jobs: Vec<(usize, usize, Vec<u64>)> = Vec::new();
    for (k, &s) in samples.iter().enumerate() {
        // A batch of `batch` clusters per scan group (whole chunks compress in parallel).
        let groups = cfg.groups(s).len();
        for (first, b) in crate::batches(opts.first, n, opts.batch * groups) {
            let range = first..first + b as u64;
            for g in 0..groups {
                let idx: Vec<u64> = range
                    .clone()
                    .filter(|&i| cfg.scan_of(s, i).unwrap_or(0) == g)
                    .collect();
                if !idx.is_empty() {
                    jobs.push((k, set_of[k] + g, idx));
                }
            }
        }
    }
    crate::pipelined(
        &jobs,
        |(_, _, idx)| idx.len(),
        &mut progress,
        |(k, _, idx)| generate_indices(cfg, samples[*k], seed, idx),
        |(_, set, _), x| Ok(sets[*set].append(&x)?),
    )?;
    drop(sets);
    w.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The beam in each scan's image frame: the paper's 60° beam turned by 0°, 45°, 90°, 0°.
    #[test]
    fn beam_direction_per_scan() {
        let cfg = EmulsionConfig::default();
        let per_scan: Vec<_> = (0..5).map(|k| cfg.beam_direction_deg(k)).collect();
        let b = cfg.beam.unwrap().direction_deg;
        let want = [b, b + 45.0, b + 90.0, b, b].map(|d| Some(d.rem_euclid(180.0)));
        assert_eq!(per_scan, want);
        let none = EmulsionConfig { beam: None, ..cfg };
        assert_eq!(none.beam_direction_deg(0), None);
    }

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

    /// Screen angle (degrees counter-clockwise, the barycenter convention) of an emitter's axis.
    fn screen_deg(g: &Grain) -> f64 {
        (-g.phi.to_degrees()).rem_euclid(180.0)
    }

    /// The chord (start to end) of a filament of total length `length_nm` as a screen angle in
    /// radians (y down): its segments' lengths from their light (∝ length), their ends chained
    /// from the first segment's free end.
    fn chord(g: &[Grain], length_nm: f64) -> f64 {
        let w: f64 = g.iter().map(|g| g.brightness).sum();
        let ends = |g: &Grain| {
            let h = 0.5 * length_nm * g.brightness / w;
            let (ux, uy) = (g.phi.cos(), g.phi.sin());
            [(g.x - h * ux, g.y - h * uy), (g.x + h * ux, g.y + h * uy)]
        };
        let d = |p: (f64, f64), q: (f64, f64)| (p.0 - q.0).hypot(p.1 - q.1);
        let first = ends(&g[0]);
        let (start, mut at) = match g.get(1).map(ends) {
            None => (first[0], first[1]),
            Some(n) => {
                let near = |p| d(p, n[0]).min(d(p, n[1]));
                if near(first[0]) < near(first[1]) {
                    (first[1], first[0])
                } else {
                    (first[0], first[1])
                }
            }
        };
        for s in &g[1..] {
            let e = ends(s);
            at = if d(e[0], at) < d(e[1], at) {
                e[1]
            } else {
                e[0]
            };
        }
        (at.1 - start.1).atan2(at.0 - start.0)
    }

    /// A filament's chord lies along the direction asked for, whatever its kinks (the chord of a
    /// single segment is either way along it).
    #[test]
    fn a_filaments_chord_lies_along_its_direction() {
        let cfg = EmulsionConfig::default();
        let mut kinked = 0;
        for i in 0..500 {
            let mut rng = event_rng(5, i);
            let l = rng.random_range(20.0..400.0);
            let dir = rng.random_range(-3.0..3.0);
            let g = filament(&mut rng, &cfg, l, dir, (10.0, -4.0));
            kinked += usize::from(g.len() > 1);
            let off = (chord(&g, l) - dir).rem_euclid(std::f64::consts::PI);
            assert!(off.min(std::f64::consts::PI - off) < 1e-6, "{i}: {off}");
        }
        assert!(kinked > 300, "{kinked} of 500 kinked");
    }

    /// A carbon track points along the beam turned by its scan's rotation: the axial mean of the
    /// line from its first to its last segment's centre (its chord's direction, drawn about
    /// the beam symmetrically) in 2,000 tracks per scan lies within 3° of beam + rotation, and
    /// kinks blur it but little (R > 0.5, against 0.68 for the beam's 25° spread alone).
    #[test]
    fn carbon_tracks_follow_the_beam_in_every_scan() {
        let cfg = EmulsionConfig::default();
        let beam = cfg.beam.unwrap();
        for scan in &cfg.scans {
            let (mut s2, mut c2) = (0.0, 0.0);
            for i in 0..2000 {
                let mut rng = event_rng(9, i);
                let g = grains(&mut rng, Sample::Carbon(100), &cfg, scan.rotation_deg);
                let (a, b) = (&g[0], &g[g.len() - 1]);
                let deg = if g.len() == 1 {
                    screen_deg(a)
                } else {
                    (-(b.y - a.y).atan2(b.x - a.x).to_degrees()).rem_euclid(180.0)
                };
                let t = (2.0 * deg).to_radians();
                s2 += t.sin();
                c2 += t.cos();
            }
            let mean = (0.5 * f64::atan2(s2, c2).to_degrees()).rem_euclid(180.0);
            let r = s2.hypot(c2) / 2000.0;
            let want = (beam.direction_deg + scan.rotation_deg).rem_euclid(180.0);
            let off = (mean - want).rem_euclid(180.0);
            assert!(
                off.min(180.0 - off) < 3.0,
                "{}: {mean} vs {want}",
                scan.name
            );
            let spread_r = (-2.0 * beam.spread_deg.to_radians().powi(2)).exp();
            assert!(r > 0.5 && r <= spread_r + 0.03, "{}: R {r}", scan.name);
        }
        // Cluster i of a carbon sample is in scan i mod 4; other samples have none.
        assert_eq!(cfg.scan_of(Sample::Carbon(30), 6), Some(2));
        assert_eq!(cfg.scan_of(Sample::Fog, 6), None);
        assert_eq!(
            cfg.groups(Sample::Carbon(60))[3],
            "Carbon/60keV/0degr_repeat"
        );
    }

    /// A nanoparticle is one emitter without modulation: its 8 images differ by noise and the
    /// field's displacement alone. Kinked filaments follow the SEM sample's statistics.
    #[test]
    fn nanoparticles_do_not_modulate_and_filaments_kink_as_measured() {
        let cfg = EmulsionConfig::default();
        let g = grains(&mut event_rng(1, 3), Sample::Nanoparticle, &cfg, 0.0);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].depth, 0.0);
        // Mean kinks of 120 nm filaments: (120 − 30) / 60 = 1.5.
        let kinks: usize = (0..4000)
            .map(|i| filament(&mut event_rng(2, i), &cfg, 120.0, 0.0, (0.0, 0.0)).len() - 1)
            .sum();
        assert!((kinks as f64 / 4000.0 - 1.5).abs() < 0.03, "{kinks}");
        // The light is centred where asked, and shared ∝ segment length.
        let f = filament(&mut event_rng(3, 0), &cfg, 200.0, 0.3, (10.0, -5.0));
        let w: f64 = f.iter().map(|g| g.brightness).sum();
        let cx = f.iter().map(|g| g.brightness * g.x).sum::<f64>() / w;
        let cy = f.iter().map(|g| g.brightness * g.y).sum::<f64>() / w;
        assert!((cx - 10.0).abs() < 1e-9 && (cy + 5.0).abs() < 1e-9);
        // Without vibration the NP's 8 images are the same apart from noise: mean |Δ| between
        // polarisation 0 and 4 of the image centre is the noise's, not a modulation.
        let still = EmulsionConfig {
            vibration: Vibration::NONE,
            ..EmulsionConfig::default()
        };
        let a = generate_cluster(&still, Sample::Nanoparticle, 5, 0).mapv(f64::from);
        let centre = |p: usize| a.slice(ndarray::s![p, 35..45, 35..45]).sum();
        assert!((centre(0) - centre(4)).abs() / centre(0) < 0.03);
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
        bad(
            EmulsionConfig {
                vibration: Vibration {
                    sigma_major_nm: -1.0,
                    ..Vibration::CALIBRATED
                },
                ..d()
            },
            "vibration",
        );
        bad(
            EmulsionConfig {
                beam: Some(Beam {
                    spread_deg: f64::NAN,
                    ..Beam::default()
                }),
                ..d()
            },
            "beam",
        );
        bad(
            EmulsionConfig {
                nanoparticle_brightness_adc: -3.0,
                ..d()
            },
            "nanoparticle_brightness_adc",
        );
        bad(
            EmulsionConfig {
                fog_filament_median_nm: 0.0,
                ..d()
            },
            "fog_filament_median_nm",
        );
        bad(
            EmulsionConfig {
                fog_brightness_scale: f64::NAN,
                ..d()
            },
            "fog_brightness_scale",
        );
        bad(
            EmulsionConfig {
                plasmon_depth_scale: -0.5,
                ..d()
            },
            "plasmon_depth_scale",
        );
        bad(
            EmulsionConfig {
                projected_length_exponent: 7.0,
                ..d()
            },
            "projected_length_exponent",
        );
        let mut twice = d();
        twice.scans[1].name = "0degr".into();
        bad(twice, "scans");
        assert!(d().validate().is_ok());
    }
}
