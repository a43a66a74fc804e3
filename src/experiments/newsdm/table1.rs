//! The paper's Table 1 and Figures 4–7 (Golovatiuk et al., "Deep Learning for direct Dark Matter
//! search with nuclear emulsions"): the barycenter cut at the 95 % quantile of a nanoparticle
//! (NP) reference sample, NEWSnet at the threshold giving the cut's carbon efficiency (fog counted
//! on a large generated fog set), and the shift-angle distributions of long and short tracks.

use super::{Shifts, CARBON, CL, SAMPLE_NAMES};
use crate::baselines::emulsion::{reference_threshold, ShiftThreshold};
use crate::metrics::{
    choose_threshold, per_class_selection, roc_curve, ClassSelection, Criterion, Efficiency,
};
use crate::report::plot::{histogram_grid_png, histogram_png, roc_png, HistogramPanel, RocSeries};
use crate::report::{fmt, markdown_table};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

use super::super::Result;

/// The quantile of the reference sample's shifts that sets the cut (the paper's 95 %).
pub const REFERENCE_QUANTILE: f64 = 0.95;

/// Bootstrap resamples of the threshold's uncertainty.
const BOOTSTRAP: usize = 1000;

/// Bins of the angle distributions over [0°, 180°).
pub const ANGLE_BINS: usize = 12;

/// True for a file group holding the reference nanoparticle sample: a path segment naming
/// nanoparticles (`nanoparticles`, `NP`, `Ag_NP60`, …).
pub fn is_reference_group(group: &str) -> bool {
    group.to_lowercase().split('/').any(|s| {
        s.contains("nanoparticle") || s == "np" || s.starts_with("np_") || s.contains("_np")
    })
}

/// The paper's Table 1 (validation, test): efficiencies in %, the fog fraction, the NP threshold.
pub mod paper {
    /// Barycenter cut's NP threshold and its uncertainty, nm.
    pub const THRESHOLD_NM: (f64, f64) = (37.8, 1.0);
    /// Barycenter cut: C30 efficiency (value, ±) on validation and test, %.
    pub const C30: [(f64, f64); 2] = [(25.3, 1.5), (25.5, 1.7)];
    /// Barycenter cut: C100 efficiency on validation and test, %.
    pub const C100: [(f64, f64); 2] = [(38.0, 1.8), (38.2, 1.2)];
    /// Barycenter cut: fraction of fog passing on validation and test.
    pub const FOG: [(f64, f64); 2] = [(0.32, 0.02), (0.39, 0.02)];
    /// NEWSnet at the cut's efficiency: fraction of fog passing ("fog reduction factor") on
    /// validation and test.
    pub const NET_FOG: [(f64, f64); 2] = [(2.4e-3, 0.74e-3), (4.2e-4, 1.3e-4)];
}

/// The barycenter cut at the NP sample's 95 % quantile (the paper's rule), on validation and test.
#[derive(Debug, Clone, Serialize)]
pub struct BarycenterNp {
    /// The threshold in nm (shift > threshold: signal).
    pub threshold_nm: f64,
    /// Bootstrap standard error of the threshold, nm.
    pub threshold_std_err_nm: f64,
    /// NP clusters in the reference sample.
    pub n_reference: usize,
    /// NP clusters without a barycentre (no light above background), given a shift of 0.
    pub reference_undefined: usize,
    /// Test efficiencies: `C30`, `C60`, `C100` and all `carbon`.
    pub efficiency: BTreeMap<String, f64>,
    /// Fraction of the test fog clusters passing.
    pub fog_fraction: f64,
    /// Fraction of the test gamma clusters passing.
    pub gamma_fraction: f64,
    /// Carbon efficiency on validation (the target of the network's matched threshold).
    pub validation_carbon_efficiency: f64,
    /// Every class on validation, with Clopper–Pearson intervals (95 %).
    pub validation: Vec<ClassSelection>,
    /// Every class on test.
    pub test: Vec<ClassSelection>,
}

/// NEWSnet at the threshold chosen on validation to give the barycenter cut's carbon efficiency.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkAtBarycenter {
    /// The carbon efficiency targeted on validation (the cut's).
    pub target_efficiency: f64,
    /// The Σ P(carbon) threshold chosen on validation (last checkpoint).
    pub threshold: f64,
    /// Carbon efficiency on test.
    pub signal_efficiency: f64,
    /// Test carbon efficiency with its interval.
    pub signal: Efficiency,
    /// Every class on validation.
    pub validation: Vec<ClassSelection>,
    /// Every class on test.
    pub test: Vec<ClassSelection>,
    /// Fog clusters [passing, all] of the fog sample below.
    pub fog_passing: [u64; 2],
    /// Fraction of that fog passing (the paper's "fog reduction factor"), with its
    /// Clopper–Pearson interval (95 %).
    pub fog_fraction: Efficiency,
    /// The fraction passing (the paper's convention: 4.2·10⁻⁴ on its test set).
    pub fog_reduction_factor: f64,
    /// What the fog sample is: the large generated set, or the test split's fog.
    pub fog_sample: String,
    /// Per kept checkpoint (oldest first): test carbon efficiency and the fog fraction on the
    /// fog sample, each at that member's own matched threshold.
    pub members: Vec<MemberAtBarycenter>,
}

/// One ensemble member at its matched threshold.
#[derive(Debug, Clone, Serialize)]
pub struct MemberAtBarycenter {
    /// Test carbon efficiency.
    pub signal_efficiency: f64,
    /// Fog [passing, all].
    pub fog_passing: [u64; 2],
}

/// The angle distribution of one group's shifts, long and short (against the NP threshold).
#[derive(Debug, Clone, Serialize)]
pub struct AngleGroup {
    /// The sample (C30 … gamma) or `NP`.
    pub sample: String,
    /// The file group(s), e.g. `Carbon/100keV/45degr`.
    pub group: String,
    /// Where the clusters come from: `validation + test` of the run's data, or `N of another
    /// area` generated for this table.
    pub clusters: String,
    /// The beam direction this group's tracks were generated along (beam + scan rotation), in
    /// degrees, when the data are generated.
    pub beam_direction_deg: Option<f64>,
    /// Counts per 15° bin over [0°, 180°) of the long shifts.
    pub long: Vec<u64>,
    /// Counts per bin of the short shifts.
    pub short: Vec<u64>,
    /// Axial mean direction of the long shifts, degrees in [0, 180) (½·atan2 of the doubled
    /// angles); `None` without long shifts.
    pub long_mean_deg: Option<f64>,
    /// Mean resultant length of the doubled angles of the long shifts (0: isotropic, 1: one
    /// direction).
    pub long_concentration: Option<f64>,
    /// Axial mean direction of the short shifts.
    pub short_mean_deg: Option<f64>,
    /// Mean resultant length of the short shifts' doubled angles.
    pub short_concentration: Option<f64>,
}

/// Axial mean direction (degrees in [0, 180)) and mean resultant length of angles in degrees.
pub fn axial_mean(angles_deg: &[f64]) -> Option<(f64, f64)> {
    if angles_deg.is_empty() {
        return None;
    }
    let (s, c) = angles_deg.iter().fold((0.0, 0.0), |(s, c), a| {
        let t = (2.0 * a).to_radians();
        (s + t.sin(), c + t.cos())
    });
    let n = angles_deg.len() as f64;
    let mean = (0.5 * s.atan2(c).to_degrees()).rem_euclid(180.0);
    Some((
        if mean >= 180.0 { 0.0 } else { mean },
        (s * s + c * c).sqrt() / n,
    ))
}

/// Counts of `angles_deg` in [`ANGLE_BINS`] bins over [0°, 180°).
fn angle_hist(angles_deg: &[f64]) -> Vec<u64> {
    let mut h = vec![0u64; ANGLE_BINS];
    for a in angles_deg {
        let b = ((a.rem_euclid(180.0) / 180.0 * ANGLE_BINS as f64) as usize).min(ANGLE_BINS - 1);
        h[b] += 1;
    }
    h
}

/// The NP threshold of the reference shifts.
pub fn np_threshold(reference_nm: &[f64], seed: u64) -> Result<ShiftThreshold> {
    Ok(reference_threshold(
        reference_nm,
        REFERENCE_QUANTILE,
        BOOTSTRAP,
        seed,
    )?)
}

/// Every class selected by `scores ≥ threshold`.
fn select(scores: &[f64], sample: &[usize], threshold: f64) -> Result<Vec<ClassSelection>> {
    Ok(per_class_selection(
        scores,
        sample,
        &SAMPLE_NAMES,
        &CARBON,
        threshold,
        CL,
    )?)
}

/// Selected fraction of `class` (0 when absent).
fn fraction(sel: &[ClassSelection], class: usize) -> f64 {
    sel.iter()
        .find(|c| c.class == class)
        .map_or(0.0, |c| c.selected.value)
}

/// All carbon selected by `scores ≥ threshold`.
fn carbon(scores: &[f64], sample: &[usize], threshold: f64) -> Result<Efficiency> {
    let (k, n) = scores
        .iter()
        .zip(sample)
        .filter(|(_, &s)| s < 3)
        .fold((0u64, 0u64), |(k, n), (&v, _)| {
            (k + u64::from(v >= threshold), n + 1)
        });
    Ok(Efficiency::new(k, n.max(1), CL)?)
}

/// The barycenter cut at `threshold` on validation and test.
pub(crate) fn barycenter_np(
    threshold: &ShiftThreshold,
    reference_undefined: usize,
    shifts: &Shifts,
    val_s: &[usize],
    test_s: &[usize],
) -> Result<BarycenterNp> {
    // Shift > threshold is long: `≥` on the next float up.
    let t = threshold.value_nm.next_up();
    let validation = select(&shifts.val, val_s, t)?;
    let test = select(&shifts.test, test_s, t)?;
    let mut efficiency = BTreeMap::new();
    for k in CARBON {
        efficiency.insert(SAMPLE_NAMES[k].to_string(), fraction(&test, k));
    }
    efficiency.insert("carbon".into(), carbon(&shifts.test, test_s, t)?.value);
    Ok(BarycenterNp {
        threshold_nm: threshold.value_nm,
        threshold_std_err_nm: threshold.std_err_nm,
        n_reference: threshold.n_reference,
        reference_undefined,
        efficiency,
        fog_fraction: fraction(&test, 3),
        gamma_fraction: fraction(&test, 4),
        validation_carbon_efficiency: carbon(&shifts.val, val_s, t)?.value,
        validation,
        test,
    })
}

/// NEWSnet's members at the threshold matching `target` carbon efficiency on validation.
/// `members_val` / `members_test` are each member's Σ P(carbon); `fog` each member's scores on
/// the large fog set (empty: the test split's fog is counted).
pub fn network_at_barycenter(
    target: f64,
    members_val: &[Vec<f64>],
    members_test: &[Vec<f64>],
    fog: &[Vec<f64>],
    fog_sample: String,
    val_s: &[usize],
    test_s: &[usize],
) -> Result<NetworkAtBarycenter> {
    let is_carbon: Vec<bool> = val_s.iter().map(|&s| s < 3).collect();
    let crit = Criterion::Efficiency(target.clamp(1e-6, 1.0));
    let mut members = Vec::with_capacity(members_val.len());
    let mut last = None;
    for (m, (v, t)) in members_val.iter().zip(members_test).enumerate() {
        let thr = choose_threshold(&is_carbon, v, crit)?;
        let test = select(t, test_s, thr)?;
        let signal = carbon(t, test_s, thr)?;
        let passing = match fog.get(m) {
            Some(f) => [
                f.iter().filter(|&&x| x >= thr).count() as u64,
                f.len() as u64,
            ],
            None => test
                .iter()
                .find(|c| c.class == 3)
                .map_or([0, 0], |c| [c.selected.k, c.selected.n]),
        };
        members.push(MemberAtBarycenter {
            signal_efficiency: signal.value,
            fog_passing: passing,
        });
        last = Some((thr, v, test, signal, passing));
    }
    let (threshold, v, test, signal, fog_passing) = last.expect("one member at least");
    let fog_fraction = Efficiency::new(fog_passing[0], fog_passing[1].max(1), CL)?;
    Ok(NetworkAtBarycenter {
        target_efficiency: target,
        threshold,
        signal_efficiency: signal.value,
        signal,
        validation: select(v, val_s, threshold)?,
        test,
        fog_passing,
        fog_reduction_factor: fog_fraction.value,
        fog_fraction,
        fog_sample,
        members,
    })
}

/// One group's input to [`angle_groups`].
#[derive(Debug, Clone, PartialEq)]
pub struct GroupShifts {
    /// The sample (C30 … gamma) or `NP`.
    pub sample: String,
    /// The file group (`Carbon/100keV/45degr`) or the sample's name.
    pub group: String,
    /// Where the clusters come from (`validation + test`, `500 of another area`, …).
    pub clusters: String,
    /// The beam direction in the image frame, degrees.
    pub beam_deg: Option<f64>,
    /// (shift nm, direction °) of each cluster.
    pub shifts: Vec<(f64, f64)>,
}

/// The angle distributions of every group (validation and test clusters, and the NP sample),
/// long and short against `threshold_nm`.
pub fn angle_groups(groups: &[GroupShifts], threshold_nm: f64) -> Vec<AngleGroup> {
    groups
        .iter()
        .map(|g| {
            let (long, short): (Vec<_>, Vec<_>) =
                g.shifts.iter().partition(|(nm, _)| *nm > threshold_nm);
            let deg = |v: &[(f64, f64)]| v.iter().map(|x| x.1).collect::<Vec<_>>();
            let (l, s) = (deg(&long), deg(&short));
            let (lm, sm) = (axial_mean(&l), axial_mean(&s));
            AngleGroup {
                sample: g.sample.clone(),
                group: g.group.clone(),
                clusters: g.clusters.clone(),
                beam_direction_deg: g.beam_deg,
                long: angle_hist(&l),
                short: angle_hist(&s),
                long_mean_deg: lm.map(|x| x.0),
                long_concentration: lm.map(|x| x.1),
                short_mean_deg: sm.map(|x| x.0),
                short_concentration: sm.map(|x| x.1),
            }
        })
        .collect()
}

/// "v ± e" of a fraction in %, or "—".
fn pct(e: Option<&Efficiency>) -> String {
    e.map_or("—".into(), |e| {
        format!(
            "{:.1} [{:.1}, {:.1}] ({}/{})",
            100.0 * e.value,
            100.0 * e.lower,
            100.0 * e.upper,
            e.k,
            e.n
        )
    })
}

/// A class's selection in `sel`.
fn class(sel: &[ClassSelection], k: usize) -> Option<&Efficiency> {
    sel.iter().find(|c| c.class == k).map(|c| &c.selected)
}

/// The paper's Table 1 beside ours (markdown).
pub fn markdown(bar: &BarycenterNp, net: Option<&NetworkAtBarycenter>) -> String {
    let paper = |v: &[(f64, f64); 2], i: usize, scale: f64, digits: usize| {
        format!(
            "{:.*} ± {:.*}",
            digits,
            v[i].0 * scale,
            digits,
            v[i].1 * scale
        )
    };
    let mut rows = Vec::new();
    for (k, pv) in [(0, Some(&paper::C30)), (1, None), (2, Some(&paper::C100))] {
        rows.push(vec![
            format!("ε {} [%]", SAMPLE_NAMES[k]),
            pct(class(&bar.validation, k)),
            pv.map_or("—".into(), |p| paper(p, 0, 1.0, 1)),
            pct(class(&bar.test, k)),
            pv.map_or("—".into(), |p| paper(p, 1, 1.0, 1)),
            net.map_or("—".into(), |n| pct(class(&n.validation, k))),
            net.map_or("—".into(), |n| pct(class(&n.test, k))),
        ]);
    }
    let fog = |sel: &[ClassSelection]| {
        class(sel, 3).map_or("—".into(), |e| {
            format!(
                "{:.3} [{:.3}, {:.3}] ({}/{})",
                e.value, e.lower, e.upper, e.k, e.n
            )
        })
    };
    rows.push(vec![
        "fog passing (fraction)".into(),
        fog(&bar.validation),
        paper(&paper::FOG, 0, 1.0, 2),
        fog(&bar.test),
        paper(&paper::FOG, 1, 1.0, 2),
        net.map_or("—".into(), |n| fog(&n.validation)),
        net.map_or("—".into(), |n| {
            let f = &n.fog_fraction;
            format!(
                "{:.2e} [{:.2e}, {:.2e}] ({}/{})",
                f.value, f.lower, f.upper, f.k, f.n
            )
        }),
    ]);
    let mut md = format!(
        "\n## The paper's Table 1: the barycenter cut at the NP threshold, NEWSnet at its efficiency\n\n\
         NP threshold (95 % quantile of {} nanoparticle clusters): **{:.1} ± {:.1} nm** (paper {:.1} ± {:.1} nm). \
         Intervals: Clopper–Pearson 95 %.\n\n",
        bar.n_reference,
        bar.threshold_nm,
        bar.threshold_std_err_nm,
        paper::THRESHOLD_NM.0,
        paper::THRESHOLD_NM.1
    );
    md += &markdown_table(
        &[
            "",
            "barycenter, validation",
            "paper",
            "barycenter, test",
            "paper",
            "NEWSnet, validation",
            "NEWSnet, test",
        ],
        &rows,
    );
    if let Some(n) = net {
        md += &format!(
            "\nNEWSnet's threshold Σ P(carbon) ≥ {} gives {:.3} carbon efficiency on test (target: the cut's {:.3} on validation); \
             fog passing {}/{} = {:.2e} on {} — the paper's \"fog reduction factor\" {:.1e} ± {:.1e} (validation), {:.1e} ± {:.1e} (test).\n",
            fmt(Some(n.threshold), 4),
            n.signal_efficiency,
            n.target_efficiency,
            n.fog_passing[0],
            n.fog_passing[1],
            n.fog_reduction_factor,
            n.fog_sample,
            paper::NET_FOG[0].0,
            paper::NET_FOG[0].1,
            paper::NET_FOG[1].0,
            paper::NET_FOG[1].1,
        );
    }
    md
}

/// The angle table (markdown): axial mean direction of long and short shifts per group.
pub fn angles_markdown(groups: &[AngleGroup]) -> String {
    let f = |m: Option<f64>, r: Option<f64>| match (m, r) {
        (Some(m), Some(r)) => format!("{m:.0}° (R = {r:.2})"),
        _ => "—".into(),
    };
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            vec![
                g.group.clone(),
                g.clusters.clone(),
                g.beam_direction_deg
                    .map_or("—".into(), |b| format!("{:.0}°", b.rem_euclid(180.0))),
                format!("{}", g.long.iter().sum::<u64>()),
                f(g.long_mean_deg, g.long_concentration),
                format!("{}", g.short.iter().sum::<u64>()),
                f(g.short_mean_deg, g.short_concentration),
            ]
        })
        .collect();
    let mut md = "\n## Shift angles (Fig. 5): axial mean direction and concentration R of long and short shifts\n\n".to_string();
    md += &markdown_table(
        &[
            "group",
            "clusters",
            "beam",
            "long",
            "long: direction",
            "short",
            "short: direction",
        ],
        &rows,
    );
    md
}

/// Fig. 4: shift histograms per sample with the NP threshold; Fig. 5: angle histograms of long
/// shifts per group and of short ones; Fig. 6: ROC per carbon class (log εb); Fig. 7: shift and
/// angle distributions of the clusters the network selects at the matched threshold.
#[allow(clippy::too_many_arguments)]
pub fn plots(
    out: &Path,
    threshold_nm: f64,
    reference_nm: &[f64],
    test_shifts: &[(f64, f64)],
    test_s: &[usize],
    angles: &[AngleGroup],
    net_test: &[f64],
    net: Option<&NetworkAtBarycenter>,
) -> Result<()> {
    let mut series: Vec<(&str, Vec<f64>)> = (0..SAMPLE_NAMES.len())
        .map(|k| {
            let v = test_shifts.iter().zip(test_s).filter(|(_, &s)| s == k);
            (SAMPLE_NAMES[k], v.map(|(x, _)| x.0).collect::<Vec<_>>())
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    series.push(("NP", reference_nm.to_vec()));
    histogram_png(
        &out.join("shift_np_threshold.png"),
        "Barycenter shift per sample, NP 95 % threshold (Fig. 4)",
        "shift [nm]",
        &series,
        (0.0, 150.0),
        50,
        Some(threshold_nm),
    )?;
    // Fig. 5: the angle histograms, long and short, one panel per file group.
    // Panel titles short enough for a quarter of the width: `C100 45degr`, `fog, another area`.
    let titles: Vec<String> = angles
        .iter()
        .map(|g| match g.group.strip_prefix("Carbon/") {
            Some(rest) => format!("{} {}", g.sample, rest.rsplit('/').next().unwrap_or(rest)),
            None if g.clusters.contains("another area") => format!("{}, another area", g.group),
            None => g.group.clone(),
        })
        .collect();
    for (name, long) in [("angles_long.png", true), ("angles_short.png", false)] {
        let panels: Vec<HistogramPanel<'_>> = angles
            .iter()
            .zip(&titles)
            .map(|(g, t)| {
                (
                    t.as_str(),
                    if long { &g.long[..] } else { &g.short[..] },
                    g.beam_direction_deg,
                )
            })
            .filter(|p| p.1.iter().sum::<u64>() > 0)
            .collect();
        histogram_grid_png(
            &out.join(name),
            &format!(
                "Shift direction of {} shifts (Fig. 5); dashed: the beam",
                if long {
                    "long (above the NP threshold)"
                } else {
                    "short"
                }
            ),
            "direction [°]",
            &panels,
            (0.0, 180.0),
        )?;
    }
    // Fig. 6: ROC of each carbon class against all background, both methods.
    let mut rocs = Vec::new();
    for k in CARBON {
        for (method, scores) in [
            ("NEWSnet", net_test.to_vec()),
            (
                "barycenter",
                test_shifts.iter().map(|x| x.0).collect::<Vec<_>>(),
            ),
        ] {
            let (y, s): (Vec<bool>, Vec<f64>) = scores
                .iter()
                .zip(test_s)
                .filter(|(_, &c)| c == k || c >= 3)
                .map(|(&v, &c)| (c == k, v))
                .unzip();
            if y.iter().any(|&b| b) && y.iter().any(|&b| !b) {
                rocs.push((
                    format!("{method} {}", SAMPLE_NAMES[k]),
                    roc_curve(&y, &s, true)?,
                ));
            }
        }
    }
    let curves: Vec<RocSeries> = rocs
        .iter()
        .map(|(name, r)| RocSeries {
            name,
            fpr: &r.fpr,
            tpr: &r.tpr,
            working_point: None,
        })
        .collect();
    roc_png(
        &out.join("roc_per_class.png"),
        "ROC per carbon class vs all background (Fig. 6)",
        &curves,
    )?;
    // Fig. 7: what the network selects at the matched threshold.
    if let Some(n) = net {
        let pick = |carbon: bool, angle: bool| -> Vec<f64> {
            test_shifts
                .iter()
                .zip(test_s)
                .zip(net_test)
                .filter(|((_, &c), &score)| (c < 3) == carbon && score >= n.threshold)
                .map(|((x, _), _)| if angle { x.1 } else { x.0 })
                .collect()
        };
        histogram_png(
            &out.join("selected_shift.png"),
            "Barycenter shift of the clusters NEWSnet selects (Fig. 7)",
            "shift [nm]",
            &[
                ("carbon selected", pick(true, false)),
                ("background selected", pick(false, false)),
            ],
            (0.0, 150.0),
            50,
            Some(threshold_nm),
        )?;
        histogram_png(
            &out.join("selected_angle.png"),
            "Shift direction of the clusters NEWSnet selects (Fig. 7)",
            "direction [°]",
            &[
                ("carbon selected", pick(true, true)),
                ("background selected", pick(false, true)),
            ],
            (0.0, 180.0),
            ANGLE_BINS,
            None,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_groups_are_recognised() {
        for g in ["nanoparticles", "NP", "Ag_NP60/part0", "data/np_60nm"] {
            assert!(is_reference_group(g), "{g}");
        }
        for g in ["fog", "Carbon/30keV/0degr", "gamma", "snp"] {
            assert!(!is_reference_group(g), "{g}");
        }
    }

    #[test]
    fn axial_mean_wraps_at_180_degrees() {
        // 175° and 5° are 10° apart on the axis: their mean is 0°.
        let (m, r) = axial_mean(&[175.0, 5.0]).unwrap();
        assert!(m < 1e-9 || (180.0 - m) < 1e-9, "{m}");
        assert!((r - (10f64.to_radians()).cos()).abs() < 1e-12, "{r}");
        // Perpendicular axes cancel.
        assert!(axial_mean(&[0.0, 90.0]).unwrap().1 < 1e-12);
        assert!(axial_mean(&[]).is_none());
        assert_eq!(angle_hist(&[0.0, 14.9, 15.0, 179.9]), {
            let mut h = vec![0; ANGLE_BINS];
            h[0] = 2;
            h[1] = 1;
            h[ANGLE_BINS - 1] = 1;
            h
        });
    }

    /// The matched threshold keeps the target efficiency on validation and counts the fog set.
    #[test]
    fn network_threshold_matches_the_cut_efficiency() {
        // 10 carbon (scores 0.1 … 1.0) and 10 fog (0.0 … 0.09) on validation and test.
        let s: Vec<usize> = (0..20).map(|i| if i < 10 { 0 } else { 3 }).collect();
        let sc: Vec<f64> = (0..20)
            .map(|i| {
                if i < 10 {
                    0.1 * (i + 1) as f64
                } else {
                    0.01 * (i - 10) as f64
                }
            })
            .collect();
        let fog = vec![vec![0.05, 0.75, 0.95, 0.2]];
        let n = network_at_barycenter(
            0.3,
            std::slice::from_ref(&sc),
            std::slice::from_ref(&sc),
            &fog,
            "4 fog".into(),
            &s,
            &s,
        )
        .unwrap();
        assert!((n.signal_efficiency - 0.3).abs() < 1e-12, "{n:?}");
        assert!((n.threshold - 0.8).abs() < 1e-9, "{}", n.threshold);
        assert_eq!(n.fog_passing, [1, 4]);
        assert!((n.fog_reduction_factor - 0.25).abs() < 1e-12);
    }
}
