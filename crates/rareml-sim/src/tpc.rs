//! PandaX-III toy Monte Carlo: 0νββ signal (two electrons sharing Qββ from one vertex) and gamma
//! background (one electron of the same total energy, as from a photo-absorbed Tl-208 2615 keV or
//! Bi-214 2447 keV gamma in the ROI) in 10 bar xenon + 1 % TMA; electrons transported stepwise with
//! continuous energy loss (electron Bethe formula: dE/dx rises as the electron slows, a Bragg blob
//! at each track end) and Highland multiple scattering; ionisation drifted with diffusion onto the
//! X and Y strips of one Micromegas module; shaped, noisy, digitised 512-sample waveforms,
//! zero-suppressed. Output: `rareml.tpc.v1`. Model and sources: `docs/sim-tpc.md`.

use ndarray::Array2;
use rand::Rng;
use rand_distr::{Distribution, Normal, UnitSphere};
use rareml_io::decay0::{Decay0Event, Species, ELECTRON_MASS_MEV};
use rareml_io::tpc::{
    EventLabel, Readout, Signals, StripAxis, TpcEvent, TpcMeta, TpcWriter, PANDAX3_SAMPLES,
    PANDAX3_STRIPS_PER_AXIS,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{config, Result};
use crate::rng::event_rng;

/// Qββ of Xe-136 in keV (Redshaw et al., PRL 98 (2007) 053003: 2457.83 keV).
pub const Q_BB_KEV: f64 = 2457.83;

/// PandaX-III region of interest in keV (PandaX-III CDR: 2395–2520 keV).
pub const ROI_KEV: (f64, f64) = (2395.0, 2520.0);

/// Xenon gas density at 10 bar and 20 °C in g/cm³ (ideal gas, M = 131.29 g/mol: 0.0539).
pub const XE_DENSITY_G_CM3: f64 = 10.0e5 * 131.29 / (8.314_462 * 293.15) * 1e-6;

/// Mean excitation energy of xenon in eV (PDG atomic and nuclear properties: 482 eV).
pub const XE_I_EV: f64 = 482.0;

/// Z/A of xenon (54 / 131.29).
pub const XE_Z_OVER_A: f64 = 54.0 / 131.29;

/// Radiation length of xenon in g/cm² (PDG atomic and nuclear properties: 8.48 g/cm²).
pub const XE_X0_G_CM2: f64 = 8.48;

/// Classical electron radius squared × 2π N_A m_e c² in MeV cm²/g: K/2 with K = 0.307075 (PDG).
const HALF_K_MEV_CM2_G: f64 = 0.307_075 / 2.0;

/// Transverse diffusion in cm/√cm (DESIGN §3, PandaX-III: 1.0e-2).
pub const DIFFUSION_T_CM_SQRT_CM: f64 = 1.0e-2;

/// Longitudinal diffusion in cm/√cm (DESIGN §3, PandaX-III: 1.5e-2).
pub const DIFFUSION_L_CM_SQRT_CM: f64 = 1.5e-2;

/// Electronics noise in ADC counts (DESIGN §3: ≈ 10 ADC).
pub const NOISE_ADC: f64 = 10.0;

/// Energy resolution at Qββ, FWHM (PandaX-III: 3 %).
pub const RESOLUTION_FWHM_AT_QBB: f64 = 0.03;

/// First sample a pulse may start at: after the 100 baseline samples (PandaX-III) and a margin.
pub const BASELINE_WINDOW_END: usize = 110;

/// Samples from the start of a pulse to its peak (shaping time ≈ 1.2 µs at 200 ns per sample).
pub const SHAPING_PEAK_SAMPLES: f64 = 6.0;

/// Electron stopping power in xenon, MeV/cm, at kinetic energy `t_mev` (PDG's electron form of the
/// Bethe formula, Rohrlich–Carlson, without the density effect — negligible in a gas).
pub fn stopping_power_mev_cm(t_mev: f64) -> f64 {
    let m = ELECTRON_MASS_MEV;
    let tau = t_mev / m;
    let gamma = tau + 1.0;
    let beta2 = 1.0 - 1.0 / (gamma * gamma);
    let i = XE_I_EV * 1e-6 / m;
    let f = 1.0 - beta2
        + (tau * tau / 8.0 - (2.0 * tau + 1.0) * std::f64::consts::LN_2) / (gamma * gamma);
    let bracket = (tau * tau * (tau + 2.0) / (2.0 * i * i)).ln() + f;
    HALF_K_MEV_CM2_G * XE_Z_OVER_A / beta2 * bracket * XE_DENSITY_G_CM3
}

/// Generator configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TpcConfig {
    /// Fraction of signal events.
    pub signal_fraction: f64,
    /// Drift length range of the vertex (mm above the readout plane).
    pub drift_mm: (f64, f64),
    /// Transverse extent of the vertex (|x|, |y| ≤ this, mm) — inside one 192 mm module.
    pub vertex_half_mm: f64,
    /// Step length of the transport in mm.
    pub step_mm: f64,
    /// ADC counts per keV deposited on one strip plane (sets the pulse heights).
    pub adc_per_kev: f64,
    /// Zero suppression: a strip is stored when its pulse exceeds this many noise σ.
    pub suppression_sigma: f64,
    /// Micromegas modules per side of the square readout plane (3 → 576 mm, 192 X + 192 Y strips),
    /// so that MeV tracks, tens of cm long, stay on the strips.
    pub modules_per_side: usize,
}

impl Default for TpcConfig {
    fn default() -> Self {
        Self {
            signal_fraction: 0.5,
            drift_mm: (50.0, 1000.0),
            vertex_half_mm: 40.0,
            step_mm: 1.0,
            adc_per_kev: 12.0,
            suppression_sigma: 5.0,
            modules_per_side: 3,
        }
    }
}

impl TpcConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !(0.0..=1.0).contains(&self.signal_fraction) {
            return Err(config("signal_fraction", self.signal_fraction, "in [0, 1]"));
        }
        let (d0, d1) = self.drift_mm;
        if !(positive(d0) && d1.is_finite() && d1 >= d0) {
            return Err(config("drift_mm", self.drift_mm, "0 < min ≤ max mm"));
        }
        if !(positive(self.vertex_half_mm) && self.vertex_half_mm < 90.0) {
            return Err(config(
                "vertex_half_mm",
                self.vertex_half_mm,
                "in (0, 90) mm",
            ));
        }
        if !positive(self.step_mm) {
            return Err(config("step_mm", self.step_mm, "finite and > 0 mm"));
        }
        if !positive(self.adc_per_kev) {
            return Err(config("adc_per_kev", self.adc_per_kev, "finite and > 0"));
        }
        if !(self.suppression_sigma.is_finite() && self.suppression_sigma >= 0.0) {
            return Err(config(
                "suppression_sigma",
                self.suppression_sigma,
                "finite and ≥ 0",
            ));
        }
        if !(1..=8).contains(&self.modules_per_side) {
            return Err(config("modules_per_side", self.modules_per_side, "1–8"));
        }
        Ok(())
    }
}

/// The readout of a square plane of `modules_per_side`² PandaX-III modules: X strips with ids
/// 0..n, Y strips n..2n (n = 64 per module per side), 3 mm pitch, centred on 0.
pub fn readout(modules_per_side: usize) -> Readout {
    let n = PANDAX3_STRIPS_PER_AXIS * modules_per_side;
    let pitch = rareml_io::tpc::PANDAX3_PITCH_MM;
    let ids: Vec<i32> = (0..2 * n as i32).collect();
    let axes = (0..2 * n)
        .map(|i| if i < n { StripAxis::X } else { StripAxis::Y })
        .collect();
    let pos = (0..2 * n)
        .map(|i| (((i % n) as f64 - (n as f64 - 1.0) / 2.0) * pitch) as f32)
        .collect();
    Readout::new(ids, axes, pos).expect("unique ids, finite positions")
}

/// A deposit of `e_kev` at (x, y, z) mm.
type Deposit = ([f64; 3], f64);

/// Transports one electron of kinetic energy `t_kev` from `start` along `dir`, returning deposits.
fn transport<R: Rng>(
    rng: &mut R,
    start: [f64; 3],
    dir: [f64; 3],
    t_kev: f64,
    step_mm: f64,
    out: &mut Vec<Deposit>,
) {
    let mut pos = start;
    let mut d = dir;
    let mut t = t_kev / 1e3; // MeV
    let x0_cm = XE_X0_G_CM2 / XE_DENSITY_G_CM3;
    let cutoff = 0.01; // MeV: below 10 keV the rest is deposited locally
    while t > cutoff {
        let mut step_cm = step_mm / 10.0;
        let de = stopping_power_mev_cm(t) * step_cm;
        let de = if de > 0.5 * t {
            // Near the end: shorten the step to lose half the energy.
            step_cm *= 0.5 * t / de;
            0.5 * t
        } else {
            de
        };
        for k in 0..3 {
            pos[k] += d[k] * step_cm * 10.0;
        }
        out.push((pos, de * 1e3));
        t -= de;
        // Highland multiple-scattering angle for this step (PDG RPP, eq. 34.16).
        let m = ELECTRON_MASS_MEV;
        let p = (t * (t + 2.0 * m)).sqrt();
        let beta = p / (t + m);
        let x = step_cm / x0_cm;
        let theta0 =
            13.6 / (beta * p) * x.sqrt() * (1.0 + 0.038 * (x / (beta * beta)).ln()).max(0.0);
        let (tx, ty): (f64, f64) = (
            Normal::new(0.0, theta0).expect("θ0 ≥ 0").sample(rng),
            Normal::new(0.0, theta0).expect("θ0 ≥ 0").sample(rng),
        );
        d = rotate_direction(d, tx, ty);
    }
    out.push((pos, t * 1e3));
}

/// Tilts unit vector `d` by small angles (tx, ty) in two directions perpendicular to it.
fn rotate_direction(d: [f64; 3], tx: f64, ty: f64) -> [f64; 3] {
    let a = if d[0].abs() < 0.9 {
        [1.0, 0.0, 0.0]
    } else {
        [0.0, 1.0, 0.0]
    };
    let cross = |u: [f64; 3], v: [f64; 3]| {
        [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ]
    };
    let norm = |u: [f64; 3]| {
        let n = (u[0] * u[0] + u[1] * u[1] + u[2] * u[2]).sqrt();
        [u[0] / n, u[1] / n, u[2] / n]
    };
    let e1 = norm(cross(d, a));
    let e2 = cross(d, e1);
    norm([
        d[0] + tx * e1[0] + ty * e2[0],
        d[1] + tx * e1[1] + ty * e2[1],
        d[2] + tx * e1[2] + ty * e2[2],
    ])
}

/// Kinetic energy (keV) of the first electron of a built-in 0νββ event: the two-electron phase
/// space ∝ p1·E1·p2·E2 with T1 + T2 = Qββ (no Fermi function), by rejection.
fn builtin_sharing<R: Rng>(rng: &mut R) -> f64 {
    let m = ELECTRON_MASS_MEV * 1e3;
    let w = |t: f64| {
        let e = t + m;
        (e * e - m * m).sqrt() * e
    };
    let max = w(Q_BB_KEV / 2.0).powi(2) * 1.01;
    loop {
        let t1 = rng.random_range(0.0..Q_BB_KEV);
        if rng.random::<f64>() * max <= w(t1) * w(Q_BB_KEV - t1) {
            return t1;
        }
    }
}

/// Largest kinetic energy of a DECAY0 primary electron the transport accepts, in MeV: four times
/// ¹³⁶Xe's Q_ββ (2.458 MeV) and above every natural γ line (²⁰⁸Tl: 2.615 MeV) — the range the
/// Bethe stopping power and the Highland scattering of [`transport`] are meant for here. A damaged
/// file's 10¹² MeV/c electron would otherwise be stepped ~10¹⁴ times.
pub const MAX_PRIMARY_KINETIC_MEV: f64 = 10.0;

/// Checks the DECAY0 events' electrons before any is transported: kinetic energies finite and at
/// most [`MAX_PRIMARY_KINETIC_MEV`].
fn check_decay0(decay0: Option<&[Decay0Event]>) -> Result<()> {
    for ev in decay0.unwrap_or_default() {
        for p in ev
            .particles
            .iter()
            .filter(|p| p.species() == Species::Electron)
        {
            let t = p.kinetic_energy_mev().unwrap_or(f64::NAN);
            if !(t.is_finite() && t <= MAX_PRIMARY_KINETIC_MEV) {
                return Err(crate::error::Error::Config {
                    field: "decay0 electron kinetic energy (MeV)",
                    value: format!("{t} in DECAY0 event {}", ev.number),
                    allowed: "finite and ≤ 10 MeV (MAX_PRIMARY_KINETIC_MEV)",
                });
            }
        }
    }
    Ok(())
}

/// The electrons (kinetic energy keV, direction) of event `index`.
fn primaries<R: Rng>(
    rng: &mut R,
    signal: bool,
    decay0: Option<&[Decay0Event]>,
    index: u64,
) -> Vec<(f64, [f64; 3])> {
    let iso = |rng: &mut R| -> [f64; 3] { UnitSphere.sample(rng) };
    if signal {
        if let Some(events) = decay0.filter(|e| !e.is_empty()) {
            let ev = &events[(index as usize) % events.len()];
            return ev
                .particles
                .iter()
                .filter(|p| p.species() == Species::Electron)
                .map(|p| (p.kinetic_energy_mev().unwrap_or(0.0) * 1e3, p.direction()))
                .collect();
        }
        let t1 = builtin_sharing(rng);
        vec![(t1, iso(rng)), (Q_BB_KEV - t1, iso(rng))]
    } else {
        vec![(rng.random_range(ROI_KEV.0..ROI_KEV.1), iso(rng))]
    }
}

/// What happened in the gas before the readout.
#[derive(Clone, Debug, PartialEq)]
pub struct EventTruth {
    /// 0νββ (true) or gamma background (false).
    pub signal: bool,
    /// Vertex (x, y, z) in mm; z = drift length.
    pub vertex: [f64; 3],
    /// Energy deposits: position (x, y, z) in mm and energy in keV, along the electrons' paths.
    pub deposits: Vec<([f64; 3], f64)>,
}

fn draw_truth<R: Rng>(
    rng: &mut R,
    cfg: &TpcConfig,
    decay0: Option<&[Decay0Event]>,
    index: u64,
) -> EventTruth {
    let signal = rng.random::<f64>() < cfg.signal_fraction;
    let h = cfg.vertex_half_mm;
    let vertex = [
        rng.random_range(-h..=h),
        rng.random_range(-h..=h),
        rng.random_range(cfg.drift_mm.0..=cfg.drift_mm.1),
    ];
    let mut deposits = Vec::new();
    for (t, dir) in primaries(rng, signal, decay0, index) {
        transport(rng, vertex, dir, t, cfg.step_mm, &mut deposits);
    }
    EventTruth {
        signal,
        vertex,
        deposits,
    }
}

/// The truth deposits of event `index` under `seed` — the same as [`generate_event`] draws.
pub fn truth(cfg: &TpcConfig, decay0: Option<&[Decay0Event]>, seed: u64, index: u64) -> EventTruth {
    draw_truth(&mut event_rng(seed, index), cfg, decay0, index)
}

/// Generates event `index` of a run with `seed` (DECAY0 events, when given, supply the signal
/// kinematics: event `index mod len`).
pub fn generate_event(
    cfg: &TpcConfig,
    readout: &Readout,
    meta: &TpcMeta,
    decay0: Option<&[Decay0Event]>,
    seed: u64,
    index: u64,
) -> TpcEvent {
    let mut rng = event_rng(seed, index);
    let EventTruth {
        signal,
        vertex,
        deposits,
    } = draw_truth(&mut rng, cfg, decay0, index);
    let true_kev: f64 = deposits.iter().map(|d| d.1).sum();
    // Energy resolution: one gain factor per event, σ/E = 3 % FWHM / 2.355 · √(Qββ/E).
    let sigma = RESOLUTION_FWHM_AT_QBB / 2.355 * (Q_BB_KEV / true_kev.max(1.0)).sqrt();
    let gain = 1.0 + sigma * crate::rng::gauss(&mut rng);
    // Drift: diffusion, then charge onto the nearest X and Y strip (half each), time from z.
    let n_strips = readout.len() / 2;
    let t_samples = PANDAX3_SAMPLES;
    let mm_per_sample = meta.drift_velocity_mm_per_us * meta.sampling_ns * 1e-3;
    let mut charge = Array2::<f64>::zeros((2 * n_strips, t_samples));
    // The trigger puts the event's first charge (lowest z after diffusion, ≈ 3σ_L) at sample 110,
    // after the 100-sample baseline window; charge beyond the window's end is lost (long tracks in z).
    let zmin = deposits
        .iter()
        .map(|d| d.0[2])
        .fold(f64::INFINITY, f64::min);
    let sigma_l_max = DIFFUSION_L_CM_SQRT_CM * (cfg.drift_mm.1 / 10.0).sqrt() * 10.0;
    let trigger_mm = zmin - 3.0 * sigma_l_max - BASELINE_WINDOW_END as f64 * mm_per_sample;
    let half_module_mm = n_strips as f64 / 2.0 * meta.pitch_mm;
    let n_sub = 8usize;
    for (p, e) in &deposits {
        let drift_cm = (p[2] / 10.0).max(0.0);
        let (st, sl) = (
            DIFFUSION_T_CM_SQRT_CM * drift_cm.sqrt() * 10.0,
            DIFFUSION_L_CM_SQRT_CM * drift_cm.sqrt() * 10.0,
        );
        for _ in 0..n_sub {
            let x = p[0] + st * crate::rng::gauss(&mut rng);
            let y = p[1] + st * crate::rng::gauss(&mut rng);
            let z = p[2] + sl * crate::rng::gauss(&mut rng);
            let adc = e / n_sub as f64 * gain * cfg.adc_per_kev / 2.0;
            let t = ((z - trigger_mm) / mm_per_sample).round();
            // Charge beyond this module's strips or outside the time window is not seen.
            let strip = |u: f64| ((u / meta.pitch_mm + (n_strips as f64) / 2.0).floor()) as usize;
            if t >= 0.0
                && (t as usize) < t_samples
                && x.abs() < half_module_mm
                && y.abs() < half_module_mm
            {
                charge[[strip(x), t as usize]] += adc;
                charge[[n_strips + strip(y), t as usize]] += adc;
            }
        }
    }
    // Shaping, noise, baseline, digitisation, zero suppression.
    let shape: Vec<f64> = (0..40)
        .map(|u| {
            let v = u as f64 / SHAPING_PEAK_SAMPLES;
            v.powi(3) * (3.0 * (1.0 - v)).exp()
        })
        .collect();
    let noise = Normal::new(0.0, NOISE_ADC).expect("σ > 0");
    let mut strip_id = Vec::new();
    let mut rows = Vec::new();
    for s in 0..2 * n_strips {
        let q = charge.row(s);
        if q.iter().all(|&v| v == 0.0) {
            continue;
        }
        let mut wave = vec![0.0f64; t_samples];
        for (t, &a) in q.iter().enumerate().filter(|(_, &a)| a > 0.0) {
            for (u, &f) in shape.iter().enumerate() {
                if t + u < t_samples {
                    wave[t + u] += a * f;
                }
            }
        }
        if wave.iter().cloned().fold(0.0, f64::max) < cfg.suppression_sigma * NOISE_ADC {
            continue;
        }
        let base = 300.0 + 5.0 * crate::rng::gauss(&mut rng);
        strip_id.push(readout.strip_ids()[s]);
        rows.extend(wave.iter().map(|&w| {
            (base + w + noise.sample(&mut rng))
                .round()
                .clamp(0.0, 4095.0) as i16
        }));
    }
    let n = strip_id.len();
    TpcEvent {
        id: index as i64,
        label: if signal {
            EventLabel::Signal
        } else {
            EventLabel::Background
        },
        energy_kev: Some(true_kev as f32),
        vertex_mm: Some(vertex.map(|v| v as f32)),
        signals: Signals {
            strip_id,
            samples: Array2::from_shape_vec((n, t_samples), rows).expect("T samples per strip"),
        },
    }
}

/// Generates events `first .. first + n` in parallel, on one PandaX-III module readout.
pub fn generate(
    cfg: &TpcConfig,
    decay0: Option<&[Decay0Event]>,
    seed: u64,
    first: u64,
    n: usize,
) -> Result<Vec<TpcEvent>> {
    cfg.validate()?;
    check_decay0(decay0)?;
    let readout = readout(cfg.modules_per_side);
    let meta = TpcMeta::default();
    Ok((0..n as u64)
        .into_par_iter()
        .map(|i| generate_event(cfg, &readout, &meta, decay0, seed, first + i))
        .collect())
}

/// Generates `n` events into a `rareml.tpc.v1` file in batches of `batch`; `progress(k)` is
/// called after each batch of k events.
pub fn write(
    path: impl AsRef<std::path::Path>,
    cfg: &TpcConfig,
    decay0: Option<&[Decay0Event]>,
    seed: u64,
    n: usize,
    opts: &crate::WriteOptions,
    mut progress: impl FnMut(usize),
) -> Result<()> {
    opts.validate()?;
    cfg.validate()?;
    check_decay0(decay0)?;
    let mut w = TpcWriter::create_with(
        path,
        &readout(cfg.modules_per_side),
        &TpcMeta::default(),
        PANDAX3_SAMPLES,
        opts.compression,
    )?;
    crate::pipelined(
        &crate::batches(opts.first, n, opts.batch),
        |&(_, b)| b,
        &mut progress,
        |&(first, b)| generate(cfg, decay0, seed, first, b),
        |_, x| Ok(w.append(&x)?),
    )?;
    w.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule names its field.
    #[test]
    fn bad_configuration_is_rejected() {
        let d = TpcConfig::default;
        let bad = |c: TpcConfig, field: &str| {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        };
        bad(
            TpcConfig {
                signal_fraction: 1.5,
                ..d()
            },
            "signal_fraction",
        );
        bad(
            TpcConfig {
                drift_mm: (0.0, 10.0),
                ..d()
            },
            "drift_mm",
        );
        bad(
            TpcConfig {
                drift_mm: (10.0, 5.0),
                ..d()
            },
            "drift_mm",
        );
        bad(
            TpcConfig {
                vertex_half_mm: 90.0,
                ..d()
            },
            "vertex_half_mm",
        );
        bad(
            TpcConfig {
                step_mm: 0.0,
                ..d()
            },
            "step_mm",
        );
        bad(
            TpcConfig {
                adc_per_kev: f64::NAN,
                ..d()
            },
            "adc_per_kev",
        );
        bad(
            TpcConfig {
                suppression_sigma: -1.0,
                ..d()
            },
            "suppression_sigma",
        );
        bad(
            TpcConfig {
                modules_per_side: 0,
                ..d()
            },
            "modules_per_side",
        );
        assert!(d().validate().is_ok());
    }

    #[test]
    fn stopping_power_rises_as_the_electron_slows() {
        // ≈ 1.2 MeV cm²/g at the minimum (~1.5 MeV) in xenon: × 0.054 g/cm³ ≈ 0.07 MeV/cm.
        let s_min = stopping_power_mev_cm(1.5);
        assert!((0.05..0.09).contains(&s_min), "{s_min}");
        // The same PDG formula evaluated independently (Python, float64): 3.51 MeV cm²/g at 50 keV,
        // 1.135 at 1.5 MeV (ESTAR's collision stopping power of xenon is close to these).
        let per_mass = |t: f64| stopping_power_mev_cm(t) / XE_DENSITY_G_CM3;
        assert!(
            (per_mass(0.05) - 3.5).abs() < 0.15 && (per_mass(1.5) - 1.14).abs() < 0.05,
            "{} {}",
            per_mass(0.05),
            per_mass(1.5)
        );
        assert!(stopping_power_mev_cm(0.01) > 8.0 * s_min, "Bragg rise");
        // A 2.5 MeV electron's range in 10 bar xenon is tens of cm (CSDA ≈ 1.7 g/cm² → ~30 cm).
        let (mut t, mut x) = (2.5, 0.0);
        while t > 0.01 {
            let s = stopping_power_mev_cm(t);
            x += 0.01 / s;
            t -= 0.01;
        }
        assert!((15.0..45.0).contains(&x), "range {x} cm");
    }

    #[test]
    fn built_in_sharing_conserves_q() {
        let mut rng = event_rng(1, 1);
        for _ in 0..100 {
            let t = builtin_sharing(&mut rng);
            assert!((0.0..Q_BB_KEV).contains(&t));
        }
    }
}
