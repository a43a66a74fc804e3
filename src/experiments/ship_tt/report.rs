//! The SHiP TT report: the paper's Table 1 layout with its values beside ours, the resolution
//! against E (Fig. 5), the Gaussian features against E (Fig. 1), the XY residuals (Fig. 6), the
//! selection's counts.

use super::{Classical, Settings, ShipNetwork, ShipTt, Showers, ENERGY_BINS_GEV};
use crate::baselines::tt::{
    dbscan_vertex, gaussian_features, weighted_mean_xy, DbscanVertexParams, NHitsEnergy, Vertex,
};
use crate::experiments::pipeline::{
    cancelled, Ensemble, NetworkSummary, Run, Scored, TrainingSummary,
};
use crate::experiments::Result;
use crate::io::tt::TtEvent;
use crate::metrics::{
    binned_resolution, central_half_width, fit_resolution, regression_summary, ResolutionFit,
    ResolutionModel,
};
use crate::preprocess::tt::SelectionReport;
use crate::report::plot::{histogram_png, points_png, resolution_png, ResolutionSeries};
use crate::report::{fmt, markdown_table, Report};
use crate::train::Split;
use serde::Serialize;

/// One row of the paper's Table 1 (Shirobokov et al.): RMSE of E in GeV, RMSE of d in cm,
/// resolution of E (σ((E − Ê)/E)).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PaperRow {
    /// The row's name in the paper.
    pub algorithm: &'static str,
    /// RMSE of E in GeV.
    pub energy_rmse_gev: f64,
    /// RMSE of d in cm.
    pub distance_rmse_cm: f64,
    /// σ((E − Ê)/E).
    pub energy_resolution: f64,
}

/// The paper's Table 1 (450,000 FairShip showers, 90/10 split).
pub const PAPER_TABLE: [PaperRow; 4] = [
    PaperRow {
        algorithm: "Gaussian fit (12 features) + regression",
        energy_rmse_gev: 7.23,
        distance_rmse_cm: 0.92,
        energy_resolution: 0.26,
    },
    PaperRow {
        algorithm: "CNN, MSE loss",
        energy_rmse_gev: 7.00,
        distance_rmse_cm: 0.87,
        energy_resolution: 0.25,
    },
    PaperRow {
        algorithm: "CNN, Huber loss",
        energy_rmse_gev: 6.84,
        distance_rmse_cm: 0.79,
        energy_resolution: 0.24,
    },
    PaperRow {
        algorithm: "CoordConv CNN, Huber loss",
        energy_rmse_gev: 6.84,
        distance_rmse_cm: 0.79,
        energy_resolution: 0.24,
    },
];

/// The paper's XY vertex resolution in cm (its Fig. 6): DBSCAN ≈ 0.1, the hits' weighted mean ≈ 0.3.
pub const PAPER_XY_CM: (f64, f64) = (0.1, 0.3);

fn paper_row(row: ShipNetwork) -> PaperRow {
    match row {
        ShipNetwork::CnnMse => PAPER_TABLE[1],
        ShipNetwork::CnnHuber => PAPER_TABLE[2],
        ShipNetwork::CoordConvHuber => PAPER_TABLE[3],
    }
}

/// Headline figures of one regression method on the test set.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// σ((E − Ê)/E), as the paper computes it (standard deviation over the test set).
    pub energy_resolution: f64,
    /// Half width of the central 68.27 % interval of (E − Ê)/E: the core, which a few outliers
    /// cannot widen.
    pub energy_resolution_robust: f64,
    /// RMSE of Ê in GeV.
    pub energy_rmse_gev: f64,
    /// Mean of Ê − E in GeV.
    pub energy_bias_gev: f64,
    /// RMSE of d̂ in cm (`None` for a method that does not estimate d).
    pub distance_rmse_cm: Option<f64>,
    /// Half width of the central 68.27 % interval of d̂ − d in cm.
    pub distance_resolution_robust_cm: Option<f64>,
    /// Fit σ_E/E = a/√E ⊕ b over the energy bins with ≥ 10 events (≥ 3 bins needed).
    pub resolution_fit: Option<ResolutionFit>,
    /// (mean E in GeV, σ(ΔE/E), its error) in the 10 GeV bins with ≥ 10 events.
    pub points: Vec<(f64, f64, f64)>,
    /// (mean E in GeV, RMS of d̂ − d in cm, its error) in the same bins (Fig. 5, right).
    pub distance_points: Vec<(f64, f64, f64)>,
}

impl Figures {
    pub(super) fn of(truth_e: &[f64], pred_e: &[f64], d: Option<(&[f64], &[f64])>) -> Result<Self> {
        let s = regression_summary(truth_e, pred_e)?;
        let (bins, _) = binned_resolution(truth_e, pred_e, &ENERGY_BINS_GEV)?;
        let points: Vec<(f64, f64, f64)> = bins
            .iter()
            .filter(|b| b.n >= 10)
            .filter_map(|b| {
                Some((
                    b.summary.as_ref()?.mean_truth,
                    b.summary.as_ref()?.resolution?,
                    b.resolution_err?,
                ))
            })
            .collect();
        let (e, r, er): (Vec<f64>, Vec<f64>, Vec<f64>) =
            points.iter().fold(Default::default(), |mut a, p| {
                a.0.push(p.0);
                a.1.push(p.1);
                a.2.push(p.2);
                a
            });
        let resolution_fit = (e.len() >= 3)
            .then(|| fit_resolution(&e, &r, &er, ResolutionModel::StochasticAndConstant).ok())
            .flatten();
        let rel: Vec<f64> = truth_e
            .iter()
            .zip(pred_e)
            .map(|(t, p)| (t - p) / t)
            .collect();
        let (mut distance_rmse_cm, mut distance_resolution_robust_cm, mut distance_points) =
            (None, None, Vec::new());
        if let Some((t, p)) = d {
            distance_rmse_cm = Some(regression_summary(t, p)?.rmse);
            let diff: Vec<f64> = t.iter().zip(p).map(|(t, p)| p - t).collect();
            distance_resolution_robust_cm = Some(central_half_width(&diff)?);
            distance_points = ENERGY_BINS_GEV
                .windows(2)
                .filter_map(|w| {
                    let last = w[1] == ENERGY_BINS_GEV[ENERGY_BINS_GEV.len() - 1];
                    let inside: Vec<(f64, f64)> = truth_e
                        .iter()
                        .zip(&diff)
                        .filter(|(&e, _)| e >= w[0] && (e < w[1] || (last && e == w[1])))
                        .map(|(&e, &r)| (e, r))
                        .collect();
                    let n = inside.len();
                    (n >= 10).then(|| {
                        let me = inside.iter().map(|x| x.0).sum::<f64>() / n as f64;
                        let rms = (inside.iter().map(|x| x.1 * x.1).sum::<f64>() / n as f64).sqrt();
                        (me, rms, rms / (2.0 * (n - 1) as f64).sqrt())
                    })
                })
                .collect();
        }
        Ok(Self {
            energy_resolution: s.resolution.ok_or_else(|| {
                rareml_metrics::Error::InvalidArgument {
                    what: "true shower energy",
                    reason: "a test event with E = 0: σ((E − Ê)/E) is undefined".into(),
                }
            })?,
            energy_resolution_robust: central_half_width(&rel)?,
            energy_rmse_gev: s.rmse,
            energy_bias_gev: s.bias,
            distance_rmse_cm,
            distance_resolution_robust_cm,
            resolution_fit,
            points,
            distance_points,
        })
    }

    /// The fitted curve (E, σ_E/E, ±1σ) over 1–100 GeV. The band propagates the errors of a and
    /// b as if uncorrelated (the fit reports no covariance): δσ = √((a δa/E)² + (b δb)²)/σ.
    fn fit_curve(&self) -> Option<Vec<(f64, f64, f64)>> {
        self.resolution_fit.map(|f| {
            (1..=100)
                .map(|e| {
                    let e = e as f64;
                    let s = (f.a * f.a / e + f.b * f.b).sqrt();
                    let d = ((f.a * f.a_err / e).powi(2) + (f.b * f.b_err).powi(2)).sqrt() / s;
                    (e, s, if d.is_finite() { d } else { 0.0 })
                })
                .collect()
        })
    }
}

/// Vertex XY of the test events: DBSCAN (Algorithm 1) versus the hits' weighted mean.
#[derive(Debug, Clone, Serialize)]
pub struct XyFigures {
    /// RMS distance in cm of the DBSCAN vertex from the true one, over the events where it finds one.
    pub dbscan_rms_cm: Option<f64>,
    /// RMS distance in cm of the weighted mean from the true vertex over the same events (the
    /// like-for-like comparison).
    pub weighted_mean_rms_on_found_cm: Option<f64>,
    /// Fraction of the test events where DBSCAN finds a vertex.
    pub dbscan_found_fraction: f64,
    /// Test events where DBSCAN finds none.
    pub dbscan_no_vertex: usize,
    /// RMS distance in cm of the weighted mean of the hits from the true vertex (all test events).
    pub weighted_mean_rms_cm: f64,
    /// The DBSCAN parameters used.
    pub params: DbscanVertexParams,
    /// Each test event's DBSCAN vertex (x, y) in cm (`None` where it finds none).
    #[serde(skip)]
    pub dbscan_xy_cm: Vec<Option<[f64; 2]>>,
    /// Each test event's weighted mean of the hits (x, y) in cm.
    #[serde(skip)]
    pub weighted_mean_xy_cm: Vec<[f64; 2]>,
    /// Each test event's true vertex (x, y) in cm.
    #[serde(skip)]
    pub truth_xy_cm: Vec<[f64; 2]>,
}

impl XyFigures {
    pub(super) fn of(
        test: &[&TtEvent],
        station_z_cm: &[f32],
        params: &DbscanVertexParams,
    ) -> Result<Self> {
        let (mut db_sq, mut wm_found_sq, mut db_n, mut db_fail, mut wm_sq) =
            (0.0, 0.0, 0usize, 0usize, 0.0);
        let (mut dbscan_xy_cm, mut weighted_mean_xy_cm, mut truth_xy_cm) =
            (Vec::new(), Vec::new(), Vec::new());
        for e in test {
            cancelled()?;
            let [tx, ty] = [e.vertex_cm[0] as f64, e.vertex_cm[1] as f64];
            let [mx, my] = weighted_mean_xy(e)?;
            let wm = (mx - tx).powi(2) + (my - ty).powi(2);
            wm_sq += wm;
            weighted_mean_xy_cm.push([mx, my]);
            truth_xy_cm.push([tx, ty]);
            match dbscan_vertex(e, station_z_cm, params)? {
                Vertex::Found { x_cm, y_cm, .. } => {
                    db_sq += (x_cm - tx).powi(2) + (y_cm - ty).powi(2);
                    wm_found_sq += wm;
                    db_n += 1;
                    dbscan_xy_cm.push(Some([x_cm, y_cm]));
                }
                Vertex::NoVertex { .. } => {
                    db_fail += 1;
                    dbscan_xy_cm.push(None);
                }
            }
        }
        let nt = test.len() as f64;
        Ok(Self {
            dbscan_rms_cm: (db_n > 0).then(|| (db_sq / db_n as f64).sqrt()),
            weighted_mean_rms_on_found_cm: (db_n > 0).then(|| (wm_found_sq / db_n as f64).sqrt()),
            dbscan_found_fraction: db_n as f64 / nt,
            dbscan_no_vertex: db_fail,
            weighted_mean_rms_cm: (wm_sq / nt).sqrt(),
            params: *params,
            dbscan_xy_cm,
            weighted_mean_xy_cm,
            truth_xy_cm,
        })
    }
}

/// Events per category and set.
#[derive(Debug, Clone, Serialize)]
pub struct EventCounts {
    /// Events that pass the selection.
    pub total: usize,
    /// Training events.
    pub train: usize,
    /// Validation events.
    pub val: usize,
    /// Test events.
    pub test: usize,
    /// Hits outside the station area (in no map).
    pub hits_outside_maps: usize,
    /// Events the selection set aside.
    pub rejected_by_selection: usize,
}

/// The N-hits energy line and its figures.
#[derive(Debug, Clone, Serialize)]
pub struct NHitsFigures {
    /// E = a·N + b fitted on the training events.
    pub fit: NHitsEnergy,
    /// Its figures on test.
    pub figures: Figures,
}

/// One trained network row.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkRow {
    /// The row.
    pub row: ShipNetwork,
    /// Its name in the paper's Table 1.
    pub label: &'static str,
    /// Coordinate channels (CoordConv) or plain convolutions.
    pub coordinates: bool,
    /// The training loss.
    pub loss: &'static str,
    /// The network and its parameter count.
    pub model: NetworkSummary,
    /// Training configuration and history.
    pub training: TrainingSummary,
    /// Mean seconds per training epoch, measured.
    pub seconds_per_epoch: f64,
    /// Its figures on test (the mean of the kept checkpoints' estimates).
    pub figures: Figures,
    /// The paper's row.
    pub paper: PaperRow,
}

/// The SHiP TT report.
#[derive(Debug, Clone, Serialize)]
pub struct ShipTtReport {
    /// `ship_tt`.
    pub experiment: &'static str,
    /// The settings of the run.
    pub settings: Settings,
    /// The run's seed.
    pub seed: u64,
    /// The input: the user's file or the generator.
    pub data: String,
    /// Events per category and set.
    pub events: EventCounts,
    /// The fresh showers the networks trained on (`None`: they trained on the stored showers).
    pub resimulation: Option<super::ResimCounts>,
    /// The selection's counts per true-energy bin.
    pub selection: SelectionReport,
    /// Map shape (stations, rows, columns).
    pub maps: [usize; 3],
    /// The stored showers' maps were held in memory (`false`: made per batch from the hits, the
    /// sample's maps being larger than `maps_in_memory_max_bytes`).
    pub maps_in_memory: bool,
    /// What the networks regress for the energy.
    pub energy_target: &'static str,
    /// The headline network and its parameter count.
    #[serde(rename = "model")]
    pub network_summary: NetworkSummary,
    /// Its training configuration and history.
    pub training: TrainingSummary,
    /// The headline network's figures (the mean of its kept checkpoints' estimates).
    pub network: Figures,
    /// Every trained network row (the headline first).
    pub networks: Vec<NetworkRow>,
    /// The Gaussian features + linear regression of E and d (the paper's first row).
    pub baseline: Figures,
    /// Gradient-boosted trees on the same features (`None` when not run).
    pub boosted: Option<Figures>,
    /// The N-hits energy line.
    pub nhits: NHitsFigures,
    /// Vertex XY: DBSCAN versus the weighted mean.
    pub xy: XyFigures,
    /// The paper's Table 1.
    pub paper: [PaperRow; 4],
}

/// The paper's row for the Gaussian-fit baseline.
fn paper_baseline() -> PaperRow {
    PAPER_TABLE[0]
}

/// Builds the report and writes its plots.
pub(super) fn build(
    exp: &ShipTt,
    run: &Run,
    data: &Showers,
    split: &Split,
    networks: &[Scored],
    classical: Classical,
) -> Result<ShipTtReport> {
    let s = &exp.0;
    let truth = |f: fn(&TtEvent) -> f32| {
        split
            .test
            .iter()
            .map(|&i| f(&data.events[i]) as f64)
            .collect::<Vec<_>>()
    };
    let (truth_e, truth_d) = (truth(|e| e.energy_gev), truth(|e| e.distance_cm));
    let mut rows = Vec::new();
    for (net, &row) in networks.iter().zip(&s.networks) {
        let (net_e, net_d) = s.estimates(net);
        let h = &net.trained.history;
        rows.push(NetworkRow {
            row,
            label: row.label(),
            coordinates: row.coordinates(),
            loss: row.loss(),
            model: NetworkSummary::of(&net.trained, Ensemble::Mean),
            training: TrainingSummary::of(&net.trained),
            seconds_per_epoch: h
                .iter()
                .map(|r| (split.train.len() as f64) / r.events_per_s)
                .sum::<f64>()
                / h.len().max(1) as f64,
            figures: Figures::of(&truth_e, &net_e, Some((&truth_d, &net_d)))?,
            paper: paper_row(row),
        });
    }
    let split_pairs = |v: &[(f64, f64)]| -> (Vec<f64>, Vec<f64>) { v.iter().copied().unzip() };
    let (mr_e, mr_d) = split_pairs(&classical.moments);
    let moments = Figures::of(&truth_e, &mr_e, Some((&truth_d, &mr_d)))?;
    let boosted = match &classical.boosted {
        Some(b) => {
            let (e, d) = split_pairs(b);
            Some(Figures::of(&truth_e, &e, Some((&truth_d, &d)))?)
        }
        None => None,
    };
    let nhits = Figures::of(&truth_e, &classical.nhits_e, None)?;
    plots(
        run,
        data,
        split,
        &rows,
        &moments,
        boosted.as_ref(),
        &nhits,
        &classical.xy,
    )?;
    let head = &networks[0];
    Ok(ShipTtReport {
        experiment: "ship_tt",
        settings: s.clone(),
        seed: run.options.seed,
        data: run.data_description("generated (rareml-sim tt, default config: SHiP \"9X0\")"),
        events: EventCounts {
            total: data.events.len(),
            train: split.train.len(),
            val: split.val.len(),
            test: split.test.len(),
            hits_outside_maps: data.hits_outside,
            rejected_by_selection: data.selection.rejected,
        },
        resimulation: data.resimulated(),
        selection: data.selection.clone(),
        maps: data.shape,
        maps_in_memory: data.maps_in_memory(),
        energy_target: s.energy_target.describe(),
        network_summary: NetworkSummary::of(&head.trained, Ensemble::Mean),
        training: TrainingSummary::of(&head.trained),
        network: rows[0].figures.clone(),
        networks: rows,
        baseline: moments,
        boosted,
        nhits: NHitsFigures {
            fit: classical.nhits_fit,
            figures: nhits,
        },
        xy: classical.xy,
        paper: PAPER_TABLE,
    })
}

/// The bins' (mean E, mean feature, its standard error) of `values` against `energy`.
fn profile(energy: &[f64], values: &[f64]) -> Vec<(f64, f64, f64)> {
    ENERGY_BINS_GEV
        .windows(2)
        .filter_map(|w| {
            let inside: Vec<(f64, f64)> = energy
                .iter()
                .zip(values)
                .filter(|(&e, _)| e >= w[0] && e <= w[1])
                .map(|(&e, &v)| (e, v))
                .collect();
            let n = inside.len() as f64;
            (inside.len() >= 2).then(|| {
                let me = inside.iter().map(|x| x.0).sum::<f64>() / n;
                let mv = inside.iter().map(|x| x.1).sum::<f64>() / n;
                let sd =
                    (inside.iter().map(|x| (x.1 - mv).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
                (me, mv, sd)
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn plots(
    run: &Run,
    data: &Showers,
    split: &Split,
    rows: &[NetworkRow],
    moments: &Figures,
    boosted: Option<&Figures>,
    nhits: &Figures,
    xy: &XyFigures,
) -> Result<()> {
    // Fig. 5: resolution of E and of d in bins of E.
    let mut e_series: Vec<ResolutionSeries> = rows
        .iter()
        .map(|r| (r.label, r.figures.points.clone(), r.figures.fit_curve()))
        .collect();
    e_series.push((
        "Gaussian fit + linear",
        moments.points.clone(),
        moments.fit_curve(),
    ));
    if let Some(b) = boosted {
        e_series.push((
            "Gaussian fit + boosted trees",
            b.points.clone(),
            b.fit_curve(),
        ));
    }
    e_series.push(("N hits", nhits.points.clone(), nhits.fit_curve()));
    resolution_png(
        &run.out.join("resolution_vs_energy.png"),
        "SHiP TT: energy resolution (Fig. 5)",
        "E [GeV]",
        "σ((E − Ê)/E)",
        &e_series,
    )?;
    let mut d_series: Vec<ResolutionSeries> = rows
        .iter()
        .map(|r| (r.label, r.figures.distance_points.clone(), None))
        .collect();
    d_series.push((
        "Gaussian fit + linear",
        moments.distance_points.clone(),
        None,
    ));
    if let Some(b) = boosted {
        d_series.push((
            "Gaussian fit + boosted trees",
            b.distance_points.clone(),
            None,
        ));
    }
    resolution_png(
        &run.out.join("distance_resolution_vs_energy.png"),
        "SHiP TT: vertex-distance resolution (Fig. 5)",
        "E [GeV]",
        "RMS(d̂ − d) [cm]",
        &d_series,
    )?;
    // Fig. 1: the Gaussian features of the first three stations against E (test events).
    let test: Vec<&TtEvent> = split.test.iter().map(|&i| &data.events[i]).collect();
    let energy: Vec<f64> = test.iter().map(|e| e.energy_gev as f64).collect();
    let stations: Vec<usize> = (0..3.min(data.geometry.n_stations())).collect();
    let feats = test
        .iter()
        .map(|e| Ok(gaussian_features(e, &stations)?))
        .collect::<Result<Vec<Vec<f64>>>>()?;
    let names = ["var x [cm²]", "cov(x, y) [cm²]", "var y [cm²]"];
    let labels: Vec<String> = stations
        .iter()
        .flat_map(|st| {
            names
                .iter()
                .map(move |n| format!("station {}: {n}", st + 1))
        })
        .collect();
    let series: Vec<ResolutionSeries> = stations
        .iter()
        .flat_map(|&st| (0..3).map(move |f| (st, f)))
        .zip(&labels)
        .map(|((st, f), label)| {
            let v: Vec<f64> = feats.iter().map(|r| r[4 * st + f]).collect();
            (label.as_str(), profile(&energy, &v), None)
        })
        .collect();
    points_png(
        &run.out.join("gaussian_features_vs_energy.png"),
        "SHiP TT: Gaussian features against E (Fig. 1; mean ± sd per bin)",
        "E [GeV]",
        "feature [cm²]",
        &series,
        false,
    )?;
    // Fig. 6: XY residuals of both methods.
    let mut res: [Vec<f64>; 4] = Default::default();
    for (k, t) in xy.truth_xy_cm.iter().enumerate() {
        let [mx, my] = xy.weighted_mean_xy_cm[k];
        res[2].push(mx - t[0]);
        res[3].push(my - t[1]);
        if let Some([x, y]) = xy.dbscan_xy_cm[k] {
            res[0].push(x - t[0]);
            res[1].push(y - t[1]);
        }
    }
    let [dx, dy, mx, my] = res;
    histogram_png(
        &run.out.join("xy_residuals.png"),
        "SHiP TT: vertex XY residuals (Fig. 6)",
        "reconstructed − true [cm]",
        &[
            ("DBSCAN x", dx),
            ("DBSCAN y", dy),
            ("weighted mean x", mx),
            ("weighted mean y", my),
        ],
        (-2.0, 2.0),
        80,
        None,
    )?;
    Ok(())
}

impl Report for ShipTtReport {
    fn title(&self) -> String {
        format!(
            "SHiP target tracker — the paper's Table 1 on generated showers (seed {})",
            self.seed
        )
    }

    fn plots(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "resolution_vs_energy.png",
                "Fig. 5: energy resolution σ((E − Ê)/E) in 10 GeV bins (test), with the a/√E ⊕ b fits and their ±1σ bands",
            ),
            (
                "distance_resolution_vs_energy.png",
                "Fig. 5: RMS of d̂ − d in 10 GeV bins of E (test)",
            ),
            (
                "gaussian_features_vs_energy.png",
                "Fig. 1: the Gaussian features (var x, cov(x, y), var y) of the first three stations against E, mean ± standard deviation per bin (test)",
            ),
            (
                "xy_residuals.png",
                "Fig. 6: vertex XY residuals of DBSCAN (Algorithm 1, where it finds a vertex) and of the hits' weighted mean (test)",
            ),
        ]
    }

    fn markdown(&self) -> String {
        let ours_paper = |ours: Option<f64>, paper: Option<f64>, d: usize| match paper {
            Some(p) => format!("{} ({})", fmt(ours, d), fmt(Some(p), d)),
            None => fmt(ours, d),
        };
        let row = |name: &str, f: &Figures, p: Option<PaperRow>| {
            vec![
                name.to_string(),
                ours_paper(Some(f.energy_rmse_gev), p.map(|p| p.energy_rmse_gev), 2),
                ours_paper(f.distance_rmse_cm, p.map(|p| p.distance_rmse_cm), 2),
                ours_paper(Some(f.energy_resolution), p.map(|p| p.energy_resolution), 3),
                fmt(Some(f.energy_resolution_robust), 3),
                fmt(f.distance_resolution_robust_cm, 2),
                f.resolution_fit
                    .map(|r| format!("{:.2} / {:.3}", r.a, r.b))
                    .unwrap_or_else(|| "—".into()),
            ]
        };
        let mut table = vec![row(
            "Gaussian fit (12 features) + linear regression",
            &self.baseline,
            Some(paper_baseline()),
        )];
        if let Some(b) = &self.boosted {
            table.push(row("Gaussian fit + gradient-boosted trees", b, None));
        }
        table.push(row("N hits, E = a·N + b", &self.nhits.figures, None));
        for r in self.networks.iter().rev() {
            table.push(row(r.label, &r.figures, Some(r.paper)));
        }
        let mut md = format!(
            "# SHiP TT — {} selected showers (test {}), maps {:?}\n\n\
             Ours, with the paper's Table 1 value in brackets. σ((E−Ê)/E) is the standard \
             deviation over the test set, as the paper computes it; \"robust\" is the half width \
             of the central 68 % interval.\n\n",
            self.events.total, self.events.test, self.maps
        );
        md += &match &self.resimulation {
            Some(r) => format!(
                "The networks trained on re-simulated showers: each training batch held fresh \
                 showers of its events' true E and d ({} placed, {} drawn to pass the selection, \
                 {} stored showers stood in after {} failed draws); the classical fits trained on \
                 the {} stored training showers; every figure is on the stored test showers.\n\n",
                r.fresh,
                r.draws,
                r.stored_stood_in,
                super::MAX_DRAWS,
                self.events.train
            ),
            None => format!(
                "Every method trained on the {} stored training showers.\n\n",
                self.events.train
            ),
        };
        md += &markdown_table(
            &[
                "algorithm",
                "RMSE E [GeV]",
                "RMSE d [cm]",
                "σ((E−Ê)/E)",
                "robust σ(ΔE/E)",
                "robust σ(Δd) [cm]",
                "fit a [√GeV] / b",
            ],
            &table,
        );
        let xy = &self.xy;
        md += &format!(
            "\nVertex XY on the test events: DBSCAN (Algorithm 1) RMS {} cm on the {:.1} % of events where it finds a vertex \
             (none in {}; the weighted mean on those events: {} cm); the hits' weighted mean {} cm on all. \
             Paper (Fig. 6): ≈ {} against ≈ {} cm.\n",
            fmt(xy.dbscan_rms_cm, 3),
            100.0 * xy.dbscan_found_fraction,
            xy.dbscan_no_vertex,
            fmt(xy.weighted_mean_rms_on_found_cm, 3),
            fmt(Some(xy.weighted_mean_rms_cm), 3),
            PAPER_XY_CM.0,
            PAPER_XY_CM.1
        );
        let sel = &self.selection;
        md += &format!(
            "\nSelection (more than {} hits, the public code's): {} of {} events kept, {} rejected.\n\n",
            sel.min_hits.saturating_sub(1),
            sel.kept,
            sel.total,
            sel.rejected
        );
        let sel_rows: Vec<Vec<String>> = sel
            .per_energy
            .iter()
            .map(|b| {
                vec![
                    format!("{:.0}–{:.0}", b.lo_gev, b.hi_gev),
                    b.total.to_string(),
                    b.rejected.to_string(),
                    if b.total > 0 {
                        format!("{:.1} %", 100.0 * b.rejected as f64 / b.total as f64)
                    } else {
                        "—".into()
                    },
                ]
            })
            .collect();
        md += &markdown_table(&["E [GeV]", "events", "rejected", "fraction"], &sel_rows);
        let t_rows: Vec<Vec<String>> = self
            .networks
            .iter()
            .map(|r| {
                vec![
                    r.label.to_string(),
                    r.model.trainable_parameters.to_string(),
                    format!("{:.1}", r.seconds_per_epoch),
                ]
            })
            .collect();
        md += "\n";
        md += &markdown_table(&["network", "parameters", "s per epoch"], &t_rows);
        md
    }
}
