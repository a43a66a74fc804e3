//! The NEWSdm report: per-class figures at the working point, the ensemble's spread, the
//! report's markdown and its plots.

use super::data::Clusters;
use super::{table1, Settings, CARBON, CL, SAMPLE_NAMES};
use crate::experiments::pipeline::{NetworkSummary, TrainingSummary};
use crate::experiments::Result;
use crate::metrics::{
    choose_threshold, ensemble_interval, per_class_selection, roc_curve, working_point, Bound,
    ClassSelection, Criterion, EnsembleInterval, Roc, WorkingPoint,
};
use crate::report::plot::{histogram_png, roc_png, RocSeries};
use crate::report::{fmt, markdown_table, Report};
use crate::train::Split;
use serde::Serialize;
use std::path::Path;

/// Per-class figures of one method at its working point on the test set.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Efficiency for all carbon (C30 + C60 + C100).
    pub signal_efficiency: f64,
    /// C30, C60, C100 efficiencies (`None` for a class absent from the test set).
    pub carbon_efficiency: [Option<f64>; 3],
    /// 1/ε of fog; `None` when no fog passes (then see the lower limit).
    pub fog_reduction_factor: Option<f64>,
    /// 95 % CL lower limit on the fog reduction factor when no fog cluster passes.
    pub fog_reduction_lower_limit_95cl: Option<f64>,
    /// Fog clusters [passing, all].
    pub fog_passing: [u64; 2],
    /// 1/ε of the gamma background; `None` when none passes.
    pub gamma_reduction_factor: Option<f64>,
    /// 95 % CL lower limit on the gamma reduction factor when no gamma cluster passes.
    pub gamma_reduction_lower_limit_95cl: Option<f64>,
    /// Gamma clusters [passing, all].
    pub gamma_passing: [u64; 2],
    /// Every class with its selected fraction and Clopper–Pearson interval (95 %).
    pub classes: Vec<ClassSelection>,
    /// Carbon versus all background at the threshold, with intervals.
    pub working_point: WorkingPoint,
    /// Area under the ROC curve (carbon versus all background).
    pub auc: f64,
    /// The test ROC (carbon versus all background), for the plots.
    #[serde(skip)]
    pub roc: Roc,
}

/// The figures of test scores at the threshold `crit` chooses on the validation scores.
pub(super) fn figures(
    val: &[f64],
    val_sample: &[usize],
    test: &[f64],
    test_sample: &[usize],
    crit: Criterion,
) -> Result<Figures> {
    let is_carbon = |s: &[usize]| s.iter().map(|&c| c < 3).collect::<Vec<bool>>();
    let thr = choose_threshold(&is_carbon(val_sample), val, crit)?;
    let carbon = is_carbon(test_sample);
    let classes = per_class_selection(test, test_sample, &SAMPLE_NAMES, &CARBON, thr, CL)?;
    let class = |k: usize| classes.iter().find(|c| c.class == k);
    let eff = |k: usize| class(k).map(|c| c.selected.value);
    let passing = |k: usize| class(k).map_or([0, 0], |c| [c.selected.k, c.selected.n]);
    let rejection = |k: usize| class(k).and_then(|c| c.rejection);
    let working_point = working_point(&carbon, test, thr, CL)?;
    let roc = roc_curve(&carbon, test, true)?;
    Ok(Figures {
        signal_efficiency: working_point.signal.value,
        carbon_efficiency: [eff(0), eff(1), eff(2)],
        fog_reduction_factor: rejection(3).and_then(Bound::value),
        fog_reduction_lower_limit_95cl: rejection(3).and_then(Bound::lower_limit),
        fog_passing: passing(3),
        gamma_reduction_factor: rejection(4).and_then(Bound::value),
        gamma_reduction_lower_limit_95cl: rejection(4).and_then(Bound::lower_limit),
        gamma_passing: passing(4),
        working_point,
        auc: roc.auc(),
        roc,
        classes,
    })
}

/// One method's figures with the test scores they come from.
#[derive(Debug, Clone, Serialize)]
pub struct MethodFigures {
    /// What the method is and how its threshold was chosen.
    pub method: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
    /// The test scores (Σ P(carbon) or the shift in nm), for the plots.
    #[serde(skip)]
    pub scores: Vec<f64>,
}

/// Mean ± 95 % Student-t interval of figures over the ensemble's members (`None` when a member
/// lacks the figure or there is one member).
#[derive(Debug, Clone, Serialize)]
pub struct EnsembleFigures {
    /// Carbon efficiency.
    pub signal_efficiency: Option<EnsembleInterval>,
    /// Fog reduction factor.
    pub fog_reduction_factor: Option<EnsembleInterval>,
    /// Gamma reduction factor.
    pub gamma_reduction_factor: Option<EnsembleInterval>,
    /// AUC.
    pub auc: Option<EnsembleInterval>,
}

impl EnsembleFigures {
    pub(super) fn of(members: &[Figures]) -> Self {
        let interval = |f: &dyn Fn(&Figures) -> Option<f64>| {
            let v: Vec<f64> = members.iter().filter_map(f).collect();
            (v.len() == members.len())
                .then(|| ensemble_interval(&v, CL).ok())
                .flatten()
        };
        Self {
            signal_efficiency: interval(&|f| Some(f.signal_efficiency)),
            fog_reduction_factor: interval(&|f| f.fog_reduction_factor),
            gamma_reduction_factor: interval(&|f| f.gamma_reduction_factor),
            auc: interval(&|f| Some(f.auc)),
        }
    }
}

/// Clusters per sample and per set.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterCounts {
    /// C30 clusters.
    #[serde(rename = "C30")]
    pub c30: usize,
    /// C60 clusters.
    #[serde(rename = "C60")]
    pub c60: usize,
    /// C100 clusters.
    #[serde(rename = "C100")]
    pub c100: usize,
    /// Fog clusters.
    pub fog: usize,
    /// Gamma (and other background) clusters.
    pub gamma: usize,
    /// Clusters the quality cuts rejected before these counts.
    pub rejected_by_cuts: usize,
    /// Training clusters.
    pub train: usize,
    /// Validation clusters.
    pub val: usize,
    /// Test clusters.
    pub test: usize,
}

impl ClusterCounts {
    pub(super) fn of(data: &Clusters, split: &Split) -> Self {
        let count = |k: usize| data.sample.iter().filter(|&&s| s == k).count();
        Self {
            c30: count(0),
            c60: count(1),
            c100: count(2),
            fog: count(3),
            gamma: count(4),
            rejected_by_cuts: data.cuts,
            train: split.train.len(),
            val: split.val.len(),
            test: split.test.len(),
        }
    }
}

/// The NEWSdm report.
#[derive(Debug, Clone, Serialize)]
pub struct NewsdmReport {
    /// `newsdm`.
    pub experiment: &'static str,
    /// The settings of the run.
    pub settings: Settings,
    /// The run's seed.
    pub seed: u64,
    /// The input: the user's file or the generator.
    pub data: String,
    /// Clusters per sample and set.
    pub clusters: ClusterCounts,
    /// The network and its parameter count.
    #[serde(rename = "model")]
    pub network_summary: NetworkSummary,
    /// Training configuration and history.
    pub training: TrainingSummary,
    /// How the working points were chosen.
    pub working_point: String,
    /// NEWSnet's figures.
    pub network: MethodFigures,
    /// The figures' spread over the kept checkpoints.
    pub network_ensemble: EnsembleFigures,
    /// The barycenter-shift cut's figures.
    pub baseline: MethodFigures,
    /// Validation and test clusters without a barycentre (no light above background), given a
    /// shift of 0.
    pub baseline_undefined: usize,
    /// The paper's barycenter cut: threshold at the nanoparticle sample's 95 % quantile, its
    /// per-class efficiencies and fog fraction (`None` without a nanoparticle group).
    pub barycenter_np: Option<table1::BarycenterNp>,
    /// NEWSnet at the threshold giving the cut's carbon efficiency on validation, fog counted on
    /// the large generated fog set.
    pub network_at_barycenter_efficiency: Option<table1::NetworkAtBarycenter>,
    /// Shift-angle distributions of long and short shifts per file group (Fig. 5).
    pub angles: Vec<table1::AngleGroup>,
}

/// "R (pass/all)", or "> limit (0/all, 95 % CL)" when nothing passes.
fn reduction(r: Option<f64>, limit: Option<f64>, [p, n]: [u64; 2]) -> String {
    match (r, limit) {
        (Some(r), _) => format!("{r:.1} ({p}/{n})"),
        (None, Some(l)) => format!("> {l:.0} (0/{n}, 95 % CL)"),
        (None, None) => "—".into(),
    }
}

impl Report for NewsdmReport {
    fn threshold(&self) -> Option<f64> {
        Some(self.network.figures.working_point.threshold)
    }

    fn title(&self) -> String {
        format!(
            "NEWSdm — NEWSnet versus the barycenter shift (seed {})",
            self.seed
        )
    }

    fn plots(&self) -> Vec<(&'static str, &'static str)> {
        let mut v = vec![
            (
                "roc.png",
                "ROC on the test clusters: carbon versus all background, working points marked",
            ),
            (
                "scores.png",
                "NEWSnet's Σ P(carbon) per sample (test), log scale",
            ),
            (
                "barycenter_shift.png",
                "Barycenter shift per sample (test), log scale",
            ),
        ];
        if self.barycenter_np.is_some() {
            v.extend([
                ("shift_np_threshold.png", "Fig. 4: barycenter shift per sample (test) and of the nanoparticles, with the NP 95 % threshold"),
                ("angles_long.png", "Fig. 5: shift direction of the long shifts per file group (validation + test)"),
                ("angles_short.png", "Fig. 5: shift direction of the short shifts per file group"),
                ("roc_per_class.png", "Fig. 6: ROC of each carbon class against all background, NEWSnet and the barycenter shift, log εb"),
                ("selected_shift.png", "Fig. 7: barycenter shift of the test clusters NEWSnet selects at the cut's efficiency"),
                ("selected_angle.png", "Fig. 7: shift direction of the test clusters NEWSnet selects"),
            ]);
        }
        v
    }

    fn markdown(&self) -> String {
        let row = |name: &str, f: &Figures| {
            vec![
                name.to_string(),
                fmt(f.carbon_efficiency[0], 3),
                fmt(f.carbon_efficiency[1], 3),
                fmt(f.carbon_efficiency[2], 3),
                fmt(Some(f.signal_efficiency), 3),
                reduction(
                    f.fog_reduction_factor,
                    f.fog_reduction_lower_limit_95cl,
                    f.fog_passing,
                ),
                reduction(
                    f.gamma_reduction_factor,
                    f.gamma_reduction_lower_limit_95cl,
                    f.gamma_passing,
                ),
                fmt(Some(f.auc), 4),
            ]
        };
        let c = &self.clusters;
        let mut md = format!(
            "# NEWSdm — {} clusters, test {}; threshold for {:.0} % carbon efficiency on validation\n\n",
            c.c30 + c.c60 + c.c100 + c.fog + c.gamma,
            c.test,
            100.0 * self.settings.signal_efficiency
        );
        md += &markdown_table(
            &[
                "method",
                "ε C30",
                "ε C60",
                "ε C100",
                "ε carbon",
                "fog R (pass/all)",
                "gamma R (pass/all)",
                "AUC",
            ],
            &[
                row("NEWSnet", &self.network.figures),
                row("barycenter shift", &self.baseline.figures),
            ],
        );
        if let Some(bar) = &self.barycenter_np {
            md += &table1::markdown(bar, self.network_at_barycenter_efficiency.as_ref());
            md += &table1::angles_markdown(&self.angles);
        }
        md
    }
}

/// ROC curves of both methods, the network's score and the barycenter shift per sample.
pub(super) fn plots(
    out: &Path,
    net: &MethodFigures,
    bar: &MethodFigures,
    test_s: &[usize],
) -> Result<()> {
    let (rn, rb) = (&net.figures.roc, &bar.figures.roc);
    roc_png(
        &out.join("roc.png"),
        "NEWSdm: carbon vs background (test)",
        &[
            RocSeries {
                name: "NEWSnet",
                fpr: &rn.fpr,
                tpr: &rn.tpr,
                working_point: Some(net.figures.working_point.efficiencies()),
            },
            RocSeries {
                name: "barycenter shift",
                fpr: &rb.fpr,
                tpr: &rb.tpr,
                working_point: Some(bar.figures.working_point.efficiencies()),
            },
        ],
    )?;
    let per_class = |scores: &[f64]| -> Vec<(&str, Vec<f64>)> {
        (0..SAMPLE_NAMES.len())
            .map(|k| {
                let v = scores.iter().zip(test_s).filter(|(_, &c)| c == k);
                (SAMPLE_NAMES[k], v.map(|(&s, _)| s).collect::<Vec<_>>())
            })
            .filter(|(_, v)| !v.is_empty())
            .collect()
    };
    let thr = |m: &MethodFigures| Some(m.figures.working_point.threshold);
    histogram_png(
        &out.join("scores.png"),
        "NEWSnet signal score (test)",
        "Σ P(carbon)",
        &per_class(&net.scores),
        (0.0, 1.0),
        40,
        thr(net),
    )?;
    let max_shift = bar.scores.iter().fold(1.0f64, |a, &b| a.max(b));
    histogram_png(
        &out.join("barycenter_shift.png"),
        "Barycenter shift (test)",
        "shift [nm]",
        &per_class(&bar.scores),
        (0.0, max_shift),
        40,
        thr(bar),
    )?;
    Ok(())
}
