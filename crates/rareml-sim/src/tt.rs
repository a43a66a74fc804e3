//! SHiP target-tracker toy Monte Carlo: the electromagnetic shower of an electron that a light
//! dark-matter particle scattered in an emulsion brick, seen as hits on the TT stations behind the
//! bricks. The model is documented in `docs/sim-tt.md`; every constant below names its source.
//!
//! Geometry: the configuration "9X0" of the public SHiP code (SND_trackers): the shower starts in
//! the brick upstream of the first station, d before its downstream end (z = 0); 6 TT stations
//! follow with 9 X0 of target between consecutive stations. Per event: E uniform in [1, 100] GeV
//! and d uniform in [−7.5, 0] cm (DESIGN §4); a forward direction. Each shower's longitudinal
//! profile is the Gamma function dE/dt = E·β(βt)^(α−1)e^(−βt)/Γ(α), β = (α − 1)/T, with T and α
//! drawn from Grindhammer and Peters' correlated log-normal fluctuations (hep-ex/0001020,
//! homogeneous media; the constants of Geant4's GFlash). The charged particles crossing a station
//! at depth t number (1/E_c)·dE/dt (Rossi's approximation B, PDG RPP "Passage of particles through
//! matter"), each leaving on average [`TtConfig::hits_per_particle`] hits. Hits are drawn Poisson,
//! placed around the shower axis with Grindhammer–Peters core + tail radial profiles in Molière
//! radii, smeared by the station resolution, kept inside the station area (the detector's
//! acceptance), and given a minimum-ionising energy deposit.

use rand::Rng;
use rand_distr::{Distribution, Gamma, Normal, Poisson};
use rareml_io::tt::{Hits, TtEvent, TtGeometry, TtWriter};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{config, Result};
use crate::rng::{event_rng, gauss};

/// Critical energy of lead in GeV (PDG atomic and nuclear properties: 7.43 MeV).
pub const LEAD_CRITICAL_ENERGY_GEV: f64 = 7.43e-3;

/// Radiation length of lead in cm (PDG atomic and nuclear properties: 0.5612 cm).
pub const LEAD_X0_CM: f64 = 0.5612;

/// Molière radius of lead in cm (PDG atomic and nuclear properties: 1.602 cm).
pub const LEAD_MOLIERE_CM: f64 = 1.602;

/// Atomic number of lead, the absorber (the Grindhammer–Peters formulas take Z).
const LEAD_Z: f64 = 82.0;

/// Thickness of an emulsion brick along the beam in cm: 57 lead plates of 1 mm interleaved with
/// emulsion films, ≈ 10 X0 (OPERA ECC brick, JINST 4 (2009) P04018); also the range of d.
pub const BRICK_THICKNESS_CM: f64 = 7.5;

/// Radiation lengths in one brick (OPERA ECC brick: ≈ 10 X0).
pub const BRICK_X0: f64 = 10.0;

/// Radiation lengths of target between two consecutive TT stations: the configuration "9X0" of the
/// public SHiP code (SND_trackers `parameters.json`), the one the study's showers were simulated in.
pub const WALL_X0_9X0: f64 = 9.0;

/// Grindhammer–Peters homogeneous media, averages: ⟨ln T⟩ = ln(ln y + t1), ⟨ln α⟩ = ln(a1 + (a2 +
/// a3/Z)·ln y), y = E/E_c (hep-ex/0001020; Geant4 `GVFlashHomoShowerTuning`: t1 = −0.812,
/// a1 = 0.81, a2 = 0.458, a3 = 2.26).
const GP_T1: f64 = -0.812;
const GP_ALPHA: [f64; 3] = [0.81, 0.458, 2.26];

/// Grindhammer–Peters fluctuations: σ(ln T) = 1/(s0 + s1·ln y), σ(ln α) = 1/(s0 + s1·ln y),
/// corr(ln T, ln α) = r0 + r1·ln y (same sources: −1.4, 1.26; −0.58, 0.86; 0.705, −0.023).
const GP_SIGMA_LN_T: [f64; 2] = [-1.4, 1.26];
const GP_SIGMA_LN_ALPHA: [f64; 2] = [-0.58, 0.86];
const GP_RHO: [f64; 2] = [0.705, -0.023];

/// TT station spatial resolution in cm (100 µm, a scintillating-fibre tracker; SND@LHC SciFi).
pub const STATION_RESOLUTION_CM: f64 = 0.01;

/// Mean energy a minimum-ionising particle leaves in a TT station in GeV: 2 MeV/cm × 1 mm of
/// polystyrene fibre (PDG: dE/dx_min ≈ 2 MeV g⁻¹ cm², ρ ≈ 1.05 g/cm³).
pub const MIP_DEPOSIT_GEV: f64 = 2.0e-4;

/// Hits a charged shower particle leaves on average in a TT station ([`TtConfig`]'s default).
/// Calibrated, not measured: see `docs/sim-tt.md` for the scan against the study's Table 1.
pub const HITS_PER_PARTICLE: f64 = 0.1;

/// Generator configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtConfig {
    /// Station geometry (z of each station from the vertex brick's end, half sizes of the area).
    pub geometry: TtGeometry,
    /// Shower energy range in GeV (uniform).
    pub energy_gev: (f64, f64),
    /// Range of d = vertex z − brick end in cm (uniform).
    pub distance_cm: (f64, f64),
    /// Radiation lengths of target between consecutive stations (SHiP "9X0": 9).
    pub wall_x0: f64,
    /// Mean hits per charged particle crossing a station (calibrated, [`HITS_PER_PARTICLE`]).
    pub hits_per_particle: f64,
    /// Draw each shower's profile with the Grindhammer–Peters fluctuations (`false`: every shower
    /// of an energy has the average profile).
    pub fluctuations: bool,
    /// Spread (σ, rad) of the shower direction's slopes dx/dz and dy/dz.
    pub slope_sigma: f64,
    /// Margin in cm kept between the vertex and the edge of the station area.
    pub vertex_margin_cm: f64,
}

impl Default for TtConfig {
    /// The SHiP study's ranges and geometry: E in [1, 100] GeV, d in [−7.5, 0] cm, 6 stations of
    /// the configuration "9X0".
    fn default() -> Self {
        Self {
            geometry: TtGeometry::ship(),
            energy_gev: (1.0, 100.0),
            distance_cm: (-BRICK_THICKNESS_CM, 0.0),
            wall_x0: WALL_X0_9X0,
            hits_per_particle: HITS_PER_PARTICLE,
            fluctuations: true,
            slope_sigma: 0.03,
            vertex_margin_cm: 1.5,
        }
    }
}

impl TtConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        let (e0, e1) = self.energy_gev;
        if !(e0 > LEAD_CRITICAL_ENERGY_GEV * 10.0 && e1 >= e0 && e1.is_finite()) {
            return Err(config(
                "energy_gev",
                self.energy_gev,
                "0.0743 < min ≤ max GeV (10 × lead's critical energy)",
            ));
        }
        let (d0, d1) = self.distance_cm;
        if !(d0 >= -BRICK_THICKNESS_CM && d0 <= d1 && d1 <= 0.0) {
            return Err(config(
                "distance_cm",
                self.distance_cm,
                "−7.5 ≤ min ≤ max ≤ 0 cm (one brick)",
            ));
        }
        let z = &self.geometry.station_z_cm;
        if !(1..=256).contains(&z.len()) {
            return Err(config("geometry.station_z_cm", z.len(), "1–256 stations"));
        }
        if !(z.iter().all(|v| v.is_finite()) && z[0] > 0.0 && z.windows(2).all(|w| w[1] > w[0])) {
            return Err(config(
                "geometry.station_z_cm",
                z,
                "finite, increasing, the first > 0 cm (behind the vertex brick's end)",
            ));
        }
        let [hx, hy] = self.geometry.half_size_cm;
        if !(hx.is_finite() && hy.is_finite() && hx > 0.0 && hy > 0.0) {
            return Err(config(
                "geometry.half_size_cm",
                self.geometry.half_size_cm,
                "finite and > 0 cm",
            ));
        }
        if !(self.wall_x0.is_finite() && self.wall_x0 > 0.0 && self.wall_x0 <= 100.0) {
            return Err(config(
                "wall_x0",
                self.wall_x0,
                "in (0, 100] radiation lengths",
            ));
        }
        if !(self.hits_per_particle.is_finite()
            && self.hits_per_particle > 0.0
            && self.hits_per_particle <= 100.0)
        {
            return Err(config(
                "hits_per_particle",
                self.hits_per_particle,
                "in (0, 100]",
            ));
        }
        if !(self.vertex_margin_cm >= 0.0 && self.vertex_margin_cm < hx.min(hy)) {
            return Err(config(
                "vertex_margin_cm",
                self.vertex_margin_cm,
                "≥ 0 and below the smaller half size",
            ));
        }
        if !(self.slope_sigma.is_finite() && self.slope_sigma >= 0.0) {
            return Err(config(
                "slope_sigma",
                self.slope_sigma,
                "finite and ≥ 0 rad",
            ));
        }
        Ok(())
    }
}

/// Effective radiation length of a brick in cm.
fn brick_x0_cm() -> f64 {
    BRICK_THICKNESS_CM / BRICK_X0
}

/// Effective Molière radius of a brick in cm: lead's, scaled by the brick's dilution of lead.
fn brick_moliere_cm() -> f64 {
    LEAD_MOLIERE_CM * brick_x0_cm() / LEAD_X0_CM
}

/// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, 9 terms; ~1e-15 relative).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let s = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |s, (i, c)| s + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + s.ln()
}

/// The longitudinal profile of one shower: depth of the maximum T in X0 and the Gamma shape α
/// (dE/dt = E·β(βt)^(α−1)e^(−βt)/Γ(α), β = (α − 1)/T).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Profile {
    /// Depth of the shower maximum in radiation lengths.
    pub tmax_x0: f64,
    /// Shape parameter α of the Gamma function (> 1).
    pub alpha: f64,
}

impl Profile {
    /// ln y = ln(E/E_c) of lead, floored where the formulas would leave their range.
    fn ln_y(e_gev: f64) -> f64 {
        (e_gev / LEAD_CRITICAL_ENERGY_GEV).ln().max(2.0)
    }

    /// ⟨ln T⟩ and ⟨ln α⟩ (Grindhammer–Peters, homogeneous lead).
    fn mean_logs(e_gev: f64) -> (f64, f64) {
        let ly = Self::ln_y(e_gev);
        let [a1, a2, a3] = GP_ALPHA;
        ((ly + GP_T1).ln(), (a1 + (a2 + a3 / LEAD_Z) * ly).ln())
    }

    /// The profile with T = exp⟨ln T⟩ and α = exp⟨ln α⟩.
    pub fn average(e_gev: f64) -> Self {
        let (lt, la) = Self::mean_logs(e_gev);
        Self::of_logs(lt, la)
    }

    /// One shower's profile: (ln T, ln α) drawn from the correlated normal of Grindhammer and Peters.
    pub fn sample<R: Rng + ?Sized>(e_gev: f64, rng: &mut R) -> Self {
        let ly = Self::ln_y(e_gev);
        let (lt, la) = Self::mean_logs(e_gev);
        let s_t = 1.0 / (GP_SIGMA_LN_T[0] + GP_SIGMA_LN_T[1] * ly);
        let s_a = 1.0 / (GP_SIGMA_LN_ALPHA[0] + GP_SIGMA_LN_ALPHA[1] * ly);
        let rho = (GP_RHO[0] + GP_RHO[1] * ly).clamp(-1.0, 1.0);
        let (z1, z2) = (gauss(rng), gauss(rng));
        Self::of_logs(
            lt + s_t * z1,
            la + s_a * (rho * z1 + (1.0 - rho * rho).sqrt() * z2),
        )
    }

    /// T = e^lt, α = e^la, kept where the profile is defined (T ≥ 0.1 X0, α ≥ 1.1, GFlash's floors).
    fn of_logs(lt: f64, la: f64) -> Self {
        Self {
            tmax_x0: lt.exp().max(0.1),
            alpha: la.exp().max(1.1),
        }
    }

    /// Mean number of charged particles at depth `t` (X0) of a shower of `e_gev`: (1/E_c)·dE/dt.
    pub fn charged_particles(&self, e_gev: f64, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let a = self.alpha;
        let beta = (a - 1.0) / self.tmax_x0;
        let bt = beta * t;
        let ln_profile = beta.ln() + (a - 1.0) * bt.ln() - bt - ln_gamma(a);
        e_gev / LEAD_CRITICAL_ENERGY_GEV * ln_profile.exp()
    }
}

/// Mean number of charged shower particles at depth `t` (X0) of a shower of `e_gev` with the
/// average profile ([`Profile::average`]).
pub fn charged_particles(e_gev: f64, t: f64) -> f64 {
    Profile::average(e_gev).charged_particles(e_gev, t)
}

/// Radial distance (cm) of one shower particle at depth `t` (X0) of a shower with maximum at
/// `tmax_x0` from the axis: Grindhammer–Peters core and tail, each with pdf ∝ 2rR²/(r² + R²)² in
/// Molière radii (G. Grindhammer, S. Peters, hep-ex/0001020, homogeneous media, Z = 82).
fn radial_cm<R: Rng>(rng: &mut R, e_gev: f64, t: f64, tmax_x0: f64) -> f64 {
    let z = LEAD_Z;
    let ln_e = e_gev.ln();
    let tau = t / tmax_x0;
    let r_core = (0.0251 + 0.00319 * ln_e) + (0.1162 - 0.000381 * z) * tau;
    let (k1, k2, k3, k4) = (0.659 - 0.00309 * z, 0.645, -2.59, 0.3585 + 0.0421 * ln_e);
    let r_tail = k1 * ((k3 * (tau - k2)).exp() + (k4 * (tau - k2)).exp());
    let (p1, p2, p3) = (
        2.632 - 0.00094 * z,
        0.401 + 0.00187 * z,
        1.313 - 0.0686 * ln_e,
    );
    let u = (p2 - tau) / p3;
    let p_core = (p1 * (u - u.exp()).exp()).clamp(0.0, 1.0);
    let r = if rng.random::<f64>() < p_core {
        r_core
    } else {
        r_tail.max(r_core)
    };
    let v: f64 = rng.random::<f64>().min(0.999);
    r * (v / (1.0 - v)).sqrt() * brick_moliere_cm()
}

/// Generates event `index` of a run with `seed`.
pub fn generate_event(cfg: &TtConfig, seed: u64, index: u64) -> TtEvent {
    let mut rng = event_rng(seed, index);
    let e = rng.random_range(cfg.energy_gev.0..=cfg.energy_gev.1);
    let d = rng.random_range(cfg.distance_cm.0..=cfg.distance_cm.1);
    shower(cfg, e, d, &mut rng)
}

/// One shower of a primary electron of `e_gev` GeV starting `d_cm` cm (≤ 0) from the downstream
/// end of the vertex brick: vertex XY, direction, profile and hits drawn from `rng`. The
/// configuration's energy and distance ranges are not used (nor checked).
pub fn shower<R: Rng>(cfg: &TtConfig, e_gev: f64, d_cm: f64, rng: &mut R) -> TtEvent {
    let (e, d) = (e_gev, d_cm);
    let g = &cfg.geometry;
    let [hx, hy] = g.half_size_cm;
    let m = cfg.vertex_margin_cm;
    let (x0, y0) = (
        rng.random_range(-hx + m..=hx - m),
        rng.random_range(-hy + m..=hy - m),
    );
    // z is measured from the downstream end of the brick the shower starts in.
    let z0 = d;
    let slope = Normal::new(0.0, cfg.slope_sigma.max(1e-12)).expect("σ > 0");
    let (tx, ty) = (slope.sample(rng), slope.sample(rng));
    let smear = Normal::new(0.0, STATION_RESOLUTION_CM).expect("σ > 0");
    let deposit = Gamma::new(4.0, MIP_DEPOSIT_GEV / 4.0).expect("shape, scale > 0");
    let profile = if cfg.fluctuations {
        Profile::sample(e, rng)
    } else {
        Profile::average(e)
    };
    let mut hits = Hits::default();
    for (st, &zs) in g.station_z_cm.iter().enumerate() {
        // Depth: what is left of the vertex brick after the vertex, then one wall per station.
        let t = -d / brick_x0_cm() + cfg.wall_x0 * st as f64;
        let mean = cfg.hits_per_particle * profile.charged_particles(e, t);
        let mut n = if mean > 0.0 {
            Poisson::new(mean)
                .map(|p| p.sample(rng) as usize)
                .unwrap_or(0)
        } else {
            0
        };
        // Before the shower maximum the primary electron (or its first products) crosses the
        // station: at least one charged particle (placed on the axis below), where the Gamma
        // profile alone tends to 0 as t → 0 and would leave showers starting at the brick end
        // without a single hit.
        let before_max = t <= profile.tmax_x0;
        if before_max {
            n = n.max(1);
        }
        let zs = zs as f64;
        let (ax, ay) = (x0 + tx * (zs - z0), y0 + ty * (zs - z0));
        for i in 0..n {
            // Before the maximum the leading particle (the primary) stays on the shower axis; the
            // Grindhammer–Peters tail radius is not meant for τ → 0 and would throw it out of the station.
            let r = if i == 0 && before_max {
                0.0
            } else {
                radial_cm(rng, e, t, profile.tmax_x0)
            };
            let phi = rng.random_range(0.0..std::f64::consts::TAU);
            let x = ax + r * phi.cos() + smear.sample(rng);
            let y = ay + r * phi.sin() + smear.sample(rng);
            if x.abs() < hx && y.abs() < hy {
                hits.x_cm.push(x as f32);
                hits.y_cm.push(y as f32);
                hits.station.push(st as u8);
                hits.energy_gev.push(deposit.sample(rng) as f32);
            }
        }
    }
    TtEvent {
        energy_gev: e as f32,
        vertex_cm: [x0 as f32, y0 as f32, z0 as f32],
        distance_cm: d as f32,
        hits,
    }
}

/// Generates events `first .. first + n` in parallel.
pub fn generate(cfg: &TtConfig, seed: u64, first: u64, n: usize) -> Result<Vec<TtEvent>> {
    cfg.validate()?;
    Ok((0..n as u64)
        .into_par_iter()
        .map(|i| generate_event(cfg, seed, first + i))
        .collect())
}

/// Generates `n` events into a `rareml.tt.v1` file, in batches of `batch` events; `progress(k)`
/// is called after each batch of k events.
pub fn write(
    path: impl AsRef<std::path::Path>,
    cfg: &TtConfig,
    seed: u64,
    n: usize,
    opts: &crate::WriteOptions,
    mut progress: impl FnMut(usize),
) -> Result<()> {
    opts.validate()?;
    cfg.validate()?;
    let mut w = TtWriter::create_with(path, &cfg.geometry, opts.compression)?;
    crate::pipelined(
        &crate::batches(opts.first, n, opts.batch),
        |&(_, b)| b,
        &mut progress,
        |&(first, b)| generate(cfg, seed, first, b),
        |_, x| Ok(w.append(&x)?),
    )?;
    w.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials() {
        for n in 1..15u32 {
            let f: f64 = (1..n).map(|k| k as f64).product();
            assert!((ln_gamma(n as f64) - f.ln()).abs() < 1e-10, "Γ({n})");
        }
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn the_profile_integrates_to_e_over_ec_and_peaks_at_tmax() {
        for e in [1.0, 10.0, 100.0] {
            let dt = 0.01;
            let total: f64 = (1..6000)
                .map(|i| charged_particles(e, i as f64 * dt) * dt)
                .sum();
            assert!(
                (total / (e / LEAD_CRITICAL_ENERGY_GEV) - 1.0).abs() < 1e-3,
                "E = {e}"
            );
            // Grindhammer–Peters: T = exp⟨ln T⟩ = ln(E/E_c) − 0.812.
            let tmax = (e / LEAD_CRITICAL_ENERGY_GEV).ln() - 0.812;
            let peak = (1..6000)
                .map(|i| i as f64 * dt)
                .max_by(|a, b| charged_particles(e, *a).total_cmp(&charged_particles(e, *b)))
                .unwrap();
            assert!(
                (peak - tmax).abs() < 0.02,
                "E = {e}: peak {peak} vs t_max {tmax}"
            );
        }
    }

    /// The sampled (ln T, ln α) have the Grindhammer–Peters means, widths and correlation.
    #[test]
    fn profile_fluctuations_follow_grindhammer_peters() {
        for e in [1.0f64, 100.0] {
            let mut rng = event_rng(5, e as u64);
            let n = 20000;
            let (lt, la): (Vec<f64>, Vec<f64>) = (0..n)
                .map(|_| {
                    let p = Profile::sample(e, &mut rng);
                    (p.tmax_x0.ln(), p.alpha.ln())
                })
                .unzip();
            let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
            let (mt, ma) = (mean(&lt), mean(&la));
            let sd = |v: &[f64], m: f64| {
                (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64).sqrt()
            };
            let (st, sa) = (sd(&lt, mt), sd(&la, ma));
            let rho = lt
                .iter()
                .zip(&la)
                .map(|(a, b)| (a - mt) * (b - ma))
                .sum::<f64>()
                / n as f64
                / (st * sa);
            let ly = (e / LEAD_CRITICAL_ENERGY_GEV).ln();
            assert!(
                (mt - (ly - 0.812).ln()).abs() < 0.01,
                "E = {e}: ⟨ln T⟩ {mt}"
            );
            assert!(
                (st * (-1.4 + 1.26 * ly) - 1.0).abs() < 0.03,
                "E = {e}: σ(ln T) {st}"
            );
            assert!(
                (sa * (-0.58 + 0.86 * ly) - 1.0).abs() < 0.03,
                "E = {e}: σ(ln α) {sa}"
            );
            assert!(
                (rho - (0.705 - 0.023 * ly)).abs() < 0.02,
                "E = {e}: ρ {rho}"
            );
            let avg = Profile::average(e);
            assert!((avg.tmax_x0.ln() - (ly - 0.812).ln()).abs() < 1e-12);
        }
    }

    /// Every rule names its field.
    #[test]
    fn bad_configuration_is_rejected() {
        let d = TtConfig::default;
        let bad = |c: TtConfig, field: &str| {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        };
        bad(
            TtConfig {
                energy_gev: (0.0, 10.0),
                ..d()
            },
            "energy_gev",
        );
        bad(
            TtConfig {
                energy_gev: (10.0, 5.0),
                ..d()
            },
            "energy_gev",
        );
        bad(
            TtConfig {
                distance_cm: (-8.0, 0.0),
                ..d()
            },
            "distance_cm",
        );
        bad(
            TtConfig {
                distance_cm: (-1.0, 0.5),
                ..d()
            },
            "distance_cm",
        );
        let mut g = d();
        g.geometry.station_z_cm.clear();
        bad(g, "geometry.station_z_cm");
        let mut g = d();
        g.geometry.station_z_cm = vec![4.0, 3.0];
        bad(g, "geometry.station_z_cm");
        let mut g = d();
        g.geometry.station_z_cm[0] = -1.0;
        bad(g, "geometry.station_z_cm");
        bad(
            TtConfig {
                wall_x0: 0.0,
                ..d()
            },
            "wall_x0",
        );
        bad(
            TtConfig {
                hits_per_particle: f64::NAN,
                ..d()
            },
            "hits_per_particle",
        );
        let mut g = d();
        g.geometry.half_size_cm = [0.0, 5.0];
        bad(g, "geometry.half_size_cm");
        bad(
            TtConfig {
                vertex_margin_cm: 10.0,
                ..d()
            },
            "vertex_margin_cm",
        );
        bad(
            TtConfig {
                slope_sigma: -0.1,
                ..d()
            },
            "slope_sigma",
        );
        assert!(d().validate().is_ok());
    }
}
