//! The PandaX-III report: figures at the working point, the sweep and comparison rows, the
//! report's markdown and plots.

use super::features::GRIDS;
use super::{width_name, Settings, CL, PAPER_SWEEP_BEST_N8};
use crate::experiments::feature_maps::{MapClusterParams, MapGroups, WeightSummary};
use crate::experiments::pipeline::{self, NetworkSummary, TrainingSummary};
use crate::experiments::Result;
use crate::metrics::{
    choose_threshold, roc_curve, working_point, Bound, Criterion, Roc, WorkingPoint,
};
use crate::report::plot::{histogram_png, points_png, roc_png, RocSeries};
use crate::report::{fmt, markdown_table, Report};
use crate::train::EpochRecord;
use serde::Serialize;
use std::path::Path;

/// A binary selection's figures at its working point on the test set.
#[derive(Debug, Clone, Serialize)]
pub struct BinaryFigures {
    /// What the method is and how its threshold was chosen.
    pub method: String,
    /// Ξ = εs/√εb (`None` when no test background passes; then see the lower limit).
    pub significance: Option<f64>,
    /// 95 % CL lower limit on Ξ (εs over the square root of the one-sided Clopper–Pearson upper
    /// limit on εb) when no test background passes.
    pub significance_lower_limit_95cl: Option<f64>,
    /// Signal efficiency εs.
    pub signal_efficiency: f64,
    /// Background efficiency εb.
    pub background_efficiency: f64,
    /// The working point with its intervals.
    pub working_point: WorkingPoint,
    /// Area under the ROC curve.
    pub auc: f64,
    /// The test ROC, for the plots.
    #[serde(skip)]
    pub roc: Roc,
    /// The test scores, for the plots.
    #[serde(skip)]
    pub scores: Vec<f64>,
}

impl BinaryFigures {
    /// The figures of test scores at the threshold of maximum Ξ on the validation scores.
    pub(super) fn new(
        method: String,
        val_sig: &[bool],
        val: &[f64],
        test_sig: &[bool],
        test: Vec<f64>,
    ) -> Result<Self> {
        let thr = choose_threshold(val_sig, val, Criterion::MaxSignificance)?;
        let wp = working_point(test_sig, &test, thr, CL)?;
        let roc = roc_curve(test_sig, &test, true)?;
        Ok(Self {
            method,
            significance: wp.significance.value(),
            significance_lower_limit_95cl: wp.significance.lower_limit(),
            signal_efficiency: wp.signal.value,
            background_efficiency: wp.background.value,
            working_point: wp,
            auc: roc.auc(),
            roc,
            scores: test,
        })
    }

    /// Ξ as the table shows it: the value, or "> limit (0/n, 95 % CL)".
    fn xi(&self) -> String {
        match self.working_point.significance {
            Bound::Value(x) => format!("{x:.3}"),
            Bound::LowerLimit(l) => {
                format!("> {l:.1} (0/{}, 95 % CL)", self.working_point.background.n)
            }
        }
    }
}

/// One TopConv width of the sweep: Ξ of each independent training, their mean and spread.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRow {
    /// TopConv width n as set (`full` = torchvision's).
    pub n: String,
    /// The width in channels (`full` resolved: 4 × the last stage's width).
    pub width: usize,
    /// Ξ on test of each training (`None` where no test background passes).
    pub significance: Vec<Option<f64>>,
    /// 95 % CL lower limits on Ξ of the trainings without a passing background.
    pub significance_lower_limits_95cl: Vec<f64>,
    /// Mean Ξ over the trainings with a value (`None` if none has one).
    pub mean_significance: Option<f64>,
    /// Sample standard deviation of those Ξ (`None` below two values).
    pub std_significance: Option<f64>,
    /// Mean εs on test over the trainings.
    pub signal_efficiency: f64,
    /// Mean εb on test over the trainings.
    pub background_efficiency: f64,
    /// Mean AUC on test over the trainings.
    pub auc: f64,
    /// The paper's mean Ξ at this width where it states one (n = 8: 10.32).
    pub paper_mean_significance: Option<f64>,
}

impl SweepRow {
    pub(super) fn of(top: Option<usize>, width: usize, runs: &[&BinaryFigures]) -> Self {
        let values: Vec<f64> = runs.iter().filter_map(|f| f.significance).collect();
        let n = runs.len().max(1) as f64;
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let mean_significance = (!values.is_empty()).then(|| mean(&values));
        let std_significance = (values.len() >= 2).then(|| {
            let m = mean(&values);
            (values.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
        });
        Self {
            n: width_name(top),
            width,
            significance: runs.iter().map(|f| f.significance).collect(),
            significance_lower_limits_95cl: runs
                .iter()
                .filter_map(|f| f.significance_lower_limit_95cl)
                .collect(),
            mean_significance,
            std_significance,
            signal_efficiency: runs.iter().map(|f| f.signal_efficiency).sum::<f64>() / n,
            background_efficiency: runs.iter().map(|f| f.background_efficiency).sum::<f64>() / n,
            auc: runs.iter().map(|f| f.auc).sum::<f64>() / n,
            paper_mean_significance: (top == Some(8)).then_some(PAPER_SWEEP_BEST_N8),
        }
    }
}

/// One network of the comparison (the paper's Tables 1 and 3) on this run's test set.
#[derive(Debug, Clone, Serialize)]
pub struct CompareRow {
    /// The network.
    pub network: String,
    /// Its trainable parameters.
    pub parameters: usize,
    /// Ξ on test (`None` when no test background passes).
    pub significance: Option<f64>,
    /// 95 % CL lower limit on Ξ when no test background passes.
    pub significance_lower_limit_95cl: Option<f64>,
    /// εs on test.
    pub signal_efficiency: f64,
    /// εb on test.
    pub background_efficiency: f64,
    /// AUC on test.
    pub auc: f64,
    /// Mean wall time of a training epoch here, in seconds (training events over the measured
    /// events/s; validation not included).
    pub seconds_per_epoch: f64,
    /// The paper's Ξ for this network at this image size, where it gives one.
    pub paper_significance: Option<f64>,
}

impl CompareRow {
    pub(super) fn of(
        trained: &pipeline::Trained,
        f: &BinaryFigures,
        train_events: usize,
        paper_significance: Option<f64>,
    ) -> Self {
        Self {
            network: trained.spec.label.clone(),
            parameters: trained.parameters(),
            significance: f.significance,
            significance_lower_limit_95cl: f.significance_lower_limit_95cl,
            signal_efficiency: f.signal_efficiency,
            background_efficiency: f.background_efficiency,
            auc: f.auc,
            seconds_per_epoch: seconds_per_epoch(&trained.history, train_events),
            paper_significance,
        }
    }
}

/// Mean training time of an epoch in seconds: `train_events` over each epoch's events/s.
pub(super) fn seconds_per_epoch(history: &[EpochRecord], train_events: usize) -> f64 {
    let t: Vec<f64> = history
        .iter()
        .filter(|r| r.events_per_s > 0.0)
        .map(|r| train_events as f64 / r.events_per_s)
        .collect();
    t.iter().sum::<f64>() / t.len().max(1) as f64
}

/// Events per category and set.
#[derive(Debug, Clone, Serialize)]
pub struct EventCounts {
    /// Labelled events with an image.
    pub with_image: usize,
    /// Labelled events without charge above threshold (no image), set aside.
    pub set_aside_no_charge: usize,
    /// Signal (0νββ) events among those with an image.
    pub signal: usize,
    /// Training events.
    pub train: usize,
    /// Validation events.
    pub val: usize,
    /// Test events.
    pub test: usize,
}

/// The PandaX-III report.
#[derive(Debug, Clone, Serialize)]
pub struct Pandax3Report {
    /// `pandax3`.
    pub experiment: &'static str,
    /// The settings of the run.
    pub settings: Settings,
    /// The run's seed.
    pub seed: u64,
    /// The input: the user's file or the generator.
    pub data: String,
    /// Events per category and set.
    pub events: EventCounts,
    /// The headline network and its parameter count.
    #[serde(rename = "model")]
    pub network_summary: NetworkSummary,
    /// Its training configuration and history.
    pub training: TrainingSummary,
    /// How the working points were chosen.
    pub working_point: String,
    /// The headline network's figures.
    pub network: BinaryFigures,
    /// The Bragg-blob cut's figures.
    pub baseline: BinaryFigures,
    /// The TopConv sweep, in the order of the settings.
    pub topconv_sweep: Vec<SweepRow>,
    /// The headline network and the comparison's networks (Tables 1 and 3), with the paper's Ξ.
    pub comparison: Vec<CompareRow>,
    /// Ξ of the paper's design (topological) baseline, 3.82, beside this run's Bragg-blob cut.
    pub paper_design_baseline_significance: f64,
    /// The headline network's feature-map study, when asked for.
    pub feature_maps: Option<FeatureStudy>,
}

/// The feature-map study of the headline network (the paper's Figs. 6–10).
#[derive(Debug, Clone, Serialize)]
pub struct FeatureStudy {
    /// The maps, `rareml.features.v1` (docs/formats.md), in the output directory.
    pub file: String,
    /// The weights used: the newest checkpoint of the network's ensemble.
    pub weights: String,
    /// Ids of the events (signal first, then background).
    pub event_ids: Vec<i64>,
    /// Per stage written: (stage number, [channels, height, width]).
    pub stages: Vec<(usize, [usize; 3])>,
    /// The DBSCAN settings of the grouping.
    pub clustering: MapClusterParams,
    /// Maps of the last MBConv stage (Stage 8) grouped by their correlation over the events.
    pub stage8_groups: MapGroups,
    /// The classifier's weights (one per TopConv channel).
    pub classifier_weights: WeightSummary,
}

impl Report for Pandax3Report {
    fn threshold(&self) -> Option<f64> {
        Some(self.network.working_point.threshold)
    }

    fn title(&self) -> String {
        format!(
            "PandaX-III — EfficientNet versus the Bragg blobs (seed {})",
            self.seed
        )
    }

    fn plots(&self) -> Vec<(&'static str, &'static str)> {
        let mut plots = vec![
            (
                "roc.png",
                "ROC on the test events: 0νββ versus background, working points marked",
            ),
            (
                "scores.png",
                "EfficientNet score per class (test), log scale",
            ),
            (
                "blob_score.png",
                "Bragg-blob score per class (test), log scale",
            ),
        ];
        if let Some(f) = &self.feature_maps {
            for (k, _) in &f.stages {
                if let Some(names) = GRIDS.get(k.wrapping_sub(1)) {
                    plots.push((names[0], "Feature maps of a test 0νββ event at this stage, each map on its own scale"));
                    plots.push((names[1], "Feature maps of a test background event at this stage, each map on its own scale"));
                }
            }
            plots.push((
                "fc_weights.png",
                "The classifier's weights, one per TopConv channel (the paper's Fig. 10)",
            ));
        }
        if !self.topconv_sweep.is_empty() {
            plots.push((
                "sweep.png",
                "Ξ on test against the TopConv width n: mean of the trainings ± their standard deviation (the paper's Fig. 11)",
            ));
        }
        plots
    }

    fn markdown(&self) -> String {
        let xi = |v: Option<f64>, limit: Option<f64>| match (v, limit) {
            (Some(x), _) => format!("{x:.3}"),
            (None, Some(l)) => format!("> {l:.1} (0 background, 95 % CL)"),
            _ => "—".into(),
        };
        let row = |name: String, f: &BinaryFigures| {
            vec![
                name,
                f.xi(),
                fmt(Some(f.signal_efficiency), 3),
                fmt(Some(f.background_efficiency), 4),
                fmt(Some(f.auc), 4),
            ]
        };
        let rows = vec![
            row(self.network_summary.label.clone(), &self.network),
            row("Bragg blobs".into(), &self.baseline),
        ];
        let mut md = format!(
            "# PandaX-III — {} events, test {}; threshold of maximum Ξ on validation\n\n",
            self.events.with_image, self.events.test
        );
        md += &markdown_table(&["method", "Ξ = εs/√εb", "εs", "εb", "AUC"], &rows);
        md += &format!(
            "\nThe paper's design (topological) baseline had Ξ = {:.2}; its best network (EfficientNet-B4, n = 8) \
             {PAPER_SWEEP_BEST_N8:.2}.\n",
            self.paper_design_baseline_significance
        );
        if self.comparison.len() > 1 {
            let side = self.settings.side();
            md +=
                &format!("\n## Networks (the paper's Tables 1 and 3), {side} × {side} images\n\n");
            let rows: Vec<Vec<String>> = self
                .comparison
                .iter()
                .map(|c| {
                    vec![
                        c.network.clone(),
                        c.parameters.to_string(),
                        xi(c.significance, c.significance_lower_limit_95cl),
                        fmt(c.paper_significance, 2),
                        fmt(Some(c.signal_efficiency), 3),
                        fmt(Some(c.background_efficiency), 4),
                        fmt(Some(c.auc), 4),
                        format!("{:.1}", c.seconds_per_epoch),
                    ]
                })
                .collect();
            md += &markdown_table(
                &[
                    "network",
                    "parameters",
                    "Ξ",
                    "paper Ξ",
                    "εs",
                    "εb",
                    "AUC",
                    "s / epoch",
                ],
                &rows,
            );
        }
        if !self.topconv_sweep.is_empty() {
            md += &format!(
                "\n## TopConv sweep, {} training(s) per width\n\n",
                self.settings.repeats
            );
            let rows: Vec<Vec<String>> = self
                .topconv_sweep
                .iter()
                .map(|s| {
                    let each: Vec<String> = s
                        .significance
                        .iter()
                        .map(|v| v.map_or("—".into(), |x| format!("{x:.2}")))
                        .collect();
                    let mean = match (s.mean_significance, s.std_significance) {
                        (Some(m), Some(sd)) => format!("{m:.2} ± {sd:.2}"),
                        (Some(m), None) => format!("{m:.2}"),
                        _ => "—".into(),
                    };
                    vec![
                        s.n.clone(),
                        s.width.to_string(),
                        each.join(", "),
                        mean,
                        fmt(s.paper_mean_significance, 2),
                        fmt(Some(s.signal_efficiency), 3),
                        fmt(Some(s.background_efficiency), 4),
                        fmt(Some(s.auc), 4),
                    ]
                })
                .collect();
            md += &markdown_table(
                &[
                    "n",
                    "width",
                    "Ξ per training",
                    "mean Ξ ± sd",
                    "paper mean Ξ",
                    "mean εs",
                    "mean εb",
                    "mean AUC",
                ],
                &rows,
            );
        }
        if let Some(f) = &self.feature_maps {
            let g = &f.stage8_groups;
            let maps =
                g.groups.iter().map(Vec::len).sum::<usize>() + g.ungrouped.len() + g.constant.len();
            let sizes: Vec<String> = g.groups.iter().map(|m| m.len().to_string()).collect();
            let w = &f.classifier_weights;
            md += &format!(
                "\n## Feature maps ({} events, weights {})\n\n\
                 Stage 8 (the last MBConv stage): {maps} maps; DBSCAN (ε = {}, {} maps) on their \
                 correlation over the events finds {} group(s) of near-identical maps (sizes {}), \
                 {} map(s) in no group, {} constant. The paper: 448 maps of B4 in 5 groups.\n\n\
                 Classifier: {} weights, {} with |w| > 0.5 (largest {:.3}, mean |w| {:.3}). The \
                 paper: 6 of 1792.\n\nMaps of stages {} in `{}`.\n",
                f.event_ids.len(),
                f.weights,
                f.clustering.eps,
                f.clustering.min_points,
                g.groups.len(),
                if sizes.is_empty() {
                    "—".into()
                } else {
                    sizes.join(", ")
                },
                g.ungrouped.len(),
                g.constant.len(),
                w.count,
                w.above_half,
                w.max_abs,
                w.mean_abs,
                f.stages
                    .iter()
                    .map(|(k, _)| k.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                f.file
            );
        }
        md
    }
}

/// Ξ against the TopConv width (log₂ of the width in channels), mean ± standard deviation of the
/// trainings, each training's value beside it (the paper's Fig. 11).
pub(super) fn sweep_png(out: &Path, rows: &[SweepRow], repeats: usize) -> Result<()> {
    let x = |r: &SweepRow| (r.width as f64).log2();
    let means: Vec<(f64, f64, f64)> = rows
        .iter()
        .filter_map(|r| {
            r.mean_significance
                .map(|m| (x(r), m, r.std_significance.unwrap_or(0.0)))
        })
        .collect();
    let each: Vec<(f64, f64, f64)> = rows
        .iter()
        .flat_map(|r| {
            r.significance
                .iter()
                .flatten()
                .map(move |&v| (x(r), v, 0.0))
        })
        .collect();
    let title = format!("TopConv sweep: Ξ on test, {repeats} training(s) per width");
    points_png(
        &out.join("sweep.png"),
        &title,
        "log2 of the TopConv width n",
        "Ξ = εs/√εb",
        &[("mean ± sd", means, None), ("each training", each, None)],
        true,
    )?;
    Ok(())
}

/// ROC curves of both methods and the score distributions of signal and background.
pub(super) fn plots(
    out: &Path,
    net: &BinaryFigures,
    blobs: &BinaryFigures,
    test_sig: &[bool],
) -> Result<()> {
    roc_png(
        &out.join("roc.png"),
        "PandaX-III: 0νββ vs background (test)",
        &[
            RocSeries {
                name: "EfficientNet",
                fpr: &net.roc.fpr,
                tpr: &net.roc.tpr,
                working_point: Some(net.working_point.efficiencies()),
            },
            RocSeries {
                name: "Bragg blobs",
                fpr: &blobs.roc.fpr,
                tpr: &blobs.roc.tpr,
                working_point: Some(blobs.working_point.efficiencies()),
            },
        ],
    )?;
    let split = |s: &[f64]| -> Vec<(&str, Vec<f64>)> {
        let class = |want: bool| {
            s.iter()
                .zip(test_sig)
                .filter(|(_, &y)| y == want)
                .map(|(&v, _)| v)
                .collect()
        };
        vec![("0νββ", class(true)), ("background", class(false))]
    };
    let thr = |f: &BinaryFigures| Some(f.working_point.threshold);
    histogram_png(
        &out.join("scores.png"),
        "EfficientNet score (test)",
        "sigmoid output",
        &split(&net.scores),
        (0.0, 1.0),
        40,
        thr(net),
    )?;
    histogram_png(
        &out.join("blob_score.png"),
        "Bragg-blob score (test)",
        "weaker blob / plane charge",
        &split(&blobs.scores),
        (0.0, 0.5),
        40,
        thr(blobs),
    )?;
    Ok(())
}
