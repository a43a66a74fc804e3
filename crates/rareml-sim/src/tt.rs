//! SHiP target-tracker toy Monte Carlo: the electromagnetic shower of an electron that a light
//! dark-matter particle scattered in an emulsion brick, seen as hits on the TT stations behind the
//! bricks. The model is documented in `docs/sim-tt.md`; every constant below names its source.
//!
//! Per event: E uniform in [1, 100] GeV and d uniform in [−7.5, 0] cm (DESIGN §4); the vertex lies in
//! brick k0 (uniform over the stations), d before its downstream end (brick end = station z − 0.5 cm,
//! the layout of the rareml fixtures); a forward direction. At each downstream station, at depth t
//! (radiation lengths of brick traversed), the number of charged shower particles is
//! N(t) = (1/E_c)·dE/dt (Rossi's approximation B) with the Gamma-function profile
//! dE/dt = E·b·(bt)^(a−1)·e^(−bt)/Γ(a), b = 0.5, t_max = (a − 1)/b = ln(E/E_c) − 0.5 (PDG RPP,
//! "Passage of particles through matter", electromagnetic cascades). Hits are drawn Poisson(N), placed
//! around the shower axis with Grindhammer–Peters core + tail radial profiles in Molière radii,
//! smeared by the station resolution, kept inside the station area (the detector's acceptance),
//! and given a minimum-ionising energy deposit.

use rand::Rng;
use rand_distr::{Distribution, Gamma, Normal, Poisson};
use rareml_io::tt::{Hits, TtEvent, TtGeometry, TtWriter};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{config, Result};
use crate::rng::event_rng;

/// Critical energy of lead in GeV (PDG atomic and nuclear properties: 7.43 MeV).
pub const LEAD_CRITICAL_ENERGY_GEV: f64 = 7.43e-3;

/// Radiation length of lead in cm (PDG atomic and nuclear properties: 0.5612 cm).
pub const LEAD_X0_CM: f64 = 0.5612;

/// Molière radius of lead in cm (PDG atomic and nuclear properties: 1.602 cm).
pub const LEAD_MOLIERE_CM: f64 = 1.602;

/// Thickness of an emulsion brick along the beam in cm: 57 lead plates of 1 mm interleaved with
/// emulsion films, ≈ 10 X0 (OPERA ECC brick, JINST 4 (2009) P04018); also the range of d.
pub const BRICK_THICKNESS_CM: f64 = 7.5;

/// Radiation lengths in one brick (OPERA ECC brick: ≈ 10 X0).
pub const BRICK_X0: f64 = 10.0;

/// Longitudinal profile parameter b (PDG RPP, electromagnetic cascades: b ≈ 0.5).
pub const PROFILE_B: f64 = 0.5;

/// t_max offset for electron-induced showers (PDG RPP: C_e = −0.5).
pub const TMAX_OFFSET_ELECTRON: f64 = -0.5;

/// Distance in cm from a brick's downstream end to the next TT station (rareml fixtures: brick end =
/// station z − 0.5 cm).
pub const BRICK_TO_STATION_CM: f64 = 0.5;

/// TT station spatial resolution in cm (100 µm, a scintillating-fibre tracker; SND@LHC SciFi).
pub const STATION_RESOLUTION_CM: f64 = 0.01;

/// Mean energy a minimum-ionising particle leaves in a TT station in GeV: 2 MeV/cm × 1 mm of
/// polystyrene fibre (PDG: dE/dx_min ≈ 2 MeV g⁻¹ cm², ρ ≈ 1.05 g/cm³).
pub const MIP_DEPOSIT_GEV: f64 = 2.0e-4;

/// Generator configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TtConfig {
    /// Station geometry (z of each station, half sizes of the area).
    pub geometry: TtGeometry,
    /// Shower energy range in GeV (uniform).
    pub energy_gev: (f64, f64),
    /// Range of d = vertex z − brick end in cm (uniform).
    pub distance_cm: (f64, f64),
    /// Spread (σ, rad) of the shower direction's slopes dx/dz and dy/dz.
    pub slope_sigma: f64,
    /// Margin in cm kept between the vertex and the edge of the station area.
    pub vertex_margin_cm: f64,
}

impl Default for TtConfig {
    /// The SHiP study's ranges: E in [1, 100] GeV, d in [−7.5, 0] cm, 6 stations.
    fn default() -> Self {
        Self {
            geometry: TtGeometry::ship(),
            energy_gev: (1.0, 100.0),
            distance_cm: (-BRICK_THICKNESS_CM, 0.0),
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
        if !(1..=256).contains(&self.geometry.n_stations()) {
            return Err(config(
                "geometry.station_z_cm",
                self.geometry.n_stations(),
                "1–256 stations",
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

/// Mean number of charged shower particles at depth `t` (X0) of a shower of `e_gev`:
/// (1/E_c)·dE/dt with the Gamma-function profile.
pub fn charged_particles(e_gev: f64, t: f64) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    let tmax = (e_gev / LEAD_CRITICAL_ENERGY_GEV).ln() + TMAX_OFFSET_ELECTRON;
    let a = 1.0 + PROFILE_B * tmax.max(0.1);
    let bt = PROFILE_B * t;
    let ln_profile = PROFILE_B.ln() + (a - 1.0) * bt.ln() - bt - ln_gamma(a);
    e_gev / LEAD_CRITICAL_ENERGY_GEV * ln_profile.exp()
}

/// Radial distance (cm) of one shower particle at depth `t` (X0) from the axis: Grindhammer–Peters
/// core and tail, each with pdf ∝ 2rR²/(r² + R²)² in Molière radii (G. Grindhammer, S. Peters,
/// hep-ex/0001020, homogeneous media, Z = 82).
fn radial_cm<R: Rng>(rng: &mut R, e_gev: f64, t: f64) -> f64 {
    let z = 82.0;
    let ln_e = e_gev.ln();
    let tmax = ((e_gev / LEAD_CRITICAL_ENERGY_GEV).ln() + TMAX_OFFSET_ELECTRON).max(0.1);
    let tau = t / tmax;
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
    let g = &cfg.geometry;
    let k = g.n_stations();
    let e = rng.random_range(cfg.energy_gev.0..=cfg.energy_gev.1);
    let d = rng.random_range(cfg.distance_cm.0..=cfg.distance_cm.1);
    let k0 = rng.random_range(0..k);
    let [hx, hy] = g.half_size_cm;
    let m = cfg.vertex_margin_cm;
    let (x0, y0) = (
        rng.random_range(-hx + m..=hx - m),
        rng.random_range(-hy + m..=hy - m),
    );
    let z0 = g.station_z_cm[k0] as f64 - BRICK_TO_STATION_CM + d;
    let slope = Normal::new(0.0, cfg.slope_sigma.max(1e-12)).expect("σ > 0");
    let (tx, ty) = (slope.sample(&mut rng), slope.sample(&mut rng));
    let smear = Normal::new(0.0, STATION_RESOLUTION_CM).expect("σ > 0");
    let deposit = Gamma::new(4.0, MIP_DEPOSIT_GEV / 4.0).expect("shape, scale > 0");
    let tmax_x0 = (e / LEAD_CRITICAL_ENERGY_GEV).ln() + TMAX_OFFSET_ELECTRON;
    let mut hits = Hits::default();
    for st in k0..k {
        // Depth: what is left of brick k0 after the vertex, then one full brick per station.
        let t = (-d + BRICK_THICKNESS_CM * (st - k0) as f64) / brick_x0_cm();
        let mean = charged_particles(e, t);
        let mut n = if mean > 0.0 {
            Poisson::new(mean)
                .map(|p| p.sample(&mut rng) as usize)
                .unwrap_or(0)
        } else {
            0
        };
        // Before the shower maximum the primary electron (or its first products) crosses the
        // station: at least one charged particle (placed on the axis below), where the Gamma profile alone tends to 0 as
        // t → 0 and left ~1 % of showers starting at the brick end without a single hit.
        if t <= tmax_x0 {
            n = n.max(1);
        }
        let zs = g.station_z_cm[st] as f64;
        let (ax, ay) = (x0 + tx * (zs - z0), y0 + ty * (zs - z0));
        for i in 0..n {
            // Before the maximum the leading particle (the primary) stays on the shower axis; the
            // Grindhammer–Peters tail radius is not meant for τ → 0 and would throw it out of the station.
            let r = if i == 0 && t <= tmax_x0 {
                0.0
            } else {
                radial_cm(&mut rng, e, t)
            };
            let phi = rng.random_range(0.0..std::f64::consts::TAU);
            let x = ax + r * phi.cos() + smear.sample(&mut rng);
            let y = ay + r * phi.sin() + smear.sample(&mut rng);
            if x.abs() < hx && y.abs() < hy {
                hits.x_cm.push(x as f32);
                hits.y_cm.push(y as f32);
                hits.station.push(st as u8);
                hits.energy_gev.push(deposit.sample(&mut rng) as f32);
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
            let tmax = (e / LEAD_CRITICAL_ENERGY_GEV).ln() - 0.5;
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
