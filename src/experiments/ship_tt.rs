//! SHiP target tracker: SNDNet (CoordConv regressor, Huber loss) versus the N-hits and
//! Gaussian-moment regressions for the shower energy E and the vertex distance d; resolution
//! versus E with its fit; DBSCAN versus the weighted-mean XY vertex.

use super::pipeline::{
    self, Ensemble, Experiment, NetworkSpec, NetworkSummary, Run, Scored, TrainingSummary,
};
use super::predict::{EventKeys, EventReader, Outputs};
use super::{setting_err, Error, Options, Preset, Result};
use crate::baselines::tt::{
    dbscan_vertex, weighted_mean_xy, DbscanVertexParams, MomentRegression, NHitsEnergy, Vertex,
};
use crate::io::scores::{SCORED, SET_ASIDE};
use crate::io::tt::{TtEvent, TtFile, TtGeometry};
use crate::metrics::Criterion;
use crate::metrics::{
    binned_resolution, fit_resolution, regression_summary, ResolutionFit, ResolutionModel,
};
use crate::models::{ModelConfig, SndBlock, SndNetConfig};
use crate::preprocess::batch::{fill_batch, Transform, TtMaps};
use crate::preprocess::tt::{scale_energy, unscale_energy, HitMapConfig};
use crate::report::browser::{Browser, Cell, Column};
use crate::report::pictures::{mark, tt_stations, ALT_COLOR, RECO_COLOR, TRUE_COLOR};
use crate::report::plot::resolution_png;
use crate::report::{fmt, markdown_table, Report};
use crate::train::{AdamConfig, InMemory, Schedule, Source, Split, Targets, Task, TrainConfig};
use ndarray::{Array2, ArrayViewMutD};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::Path;

/// Sizes and choices of a SHiP TT run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The preset these settings started from.
    pub preset: Preset,
    /// Events (generated, or read at most).
    pub events: usize,
    /// Training epochs.
    pub epochs: usize,
    /// Hit-map pixel in cm (paper: 0.07 = 700 µm → 150 × 185 maps).
    pub pixel_cm: f64,
    /// SNDNet blocks.
    pub blocks: Vec<SndBlock>,
    /// Batch size.
    pub batch: usize,
    /// Adam L2 weight decay (public SHiP code: 0.01).
    pub weight_decay: f64,
    /// Energy target ln(E/GeV) instead of the public code's E × 7/100: errors become relative, so
    /// low-energy showers are not sacrificed to the high-energy ones.
    pub log_energy: bool,
    /// Checkpoints kept (the network's figures are the last one's).
    pub keep_last: usize,
}

impl Settings {
    /// The preset's sizes.
    pub fn preset(preset: Preset) -> Self {
        let b = |channels, pool| SndBlock { channels, pool };
        match preset {
            // 3.5 mm pixels (30 × 37 maps) and four blocks: the same network family at 1/25 of the
            // pixels; no L2 term (over a few epochs it held the network back: on 50 × 62 maps,
            // RMSE(E) 16.6 GeV after 10 epochs with it, 15.1 after 6 without).
            Preset::Quick => Settings {
                preset,
                events: 10000,
                epochs: 16,
                pixel_cm: 0.35,
                blocks: vec![b(32, true), b(32, false), b(64, true), b(64, true)],
                batch: 32,
                weight_decay: 0.0,
                log_energy: true,
                keep_last: 3,
            },
            Preset::Paper => Settings {
                preset,
                events: 40000,
                epochs: 40,
                pixel_cm: 0.07,
                blocks: SndNetConfig::default().blocks,
                batch: 32,
                weight_decay: 0.01,
                log_energy: false,
                keep_last: 3,
            },
        }
    }

    /// Checks every setting (the maps' and the network's own fields too); the error names one
    /// field.
    pub fn validate(&self) -> Result<()> {
        if self.events < 20 {
            return Err(setting_err("ship_tt", "events", self.events, "≥ 20"));
        }
        let maps = HitMapConfig {
            pixel_cm: self.pixel_cm,
            ..Default::default()
        };
        let (h, w) = maps.size()?;
        self.train_config(0, false).validate()?;
        Ok(self.network([6, h, w]).validate()?)
    }

    fn network(&self, input: [usize; 3]) -> SndNetConfig {
        SndNetConfig {
            input,
            blocks: self.blocks.clone(),
            ..Default::default()
        }
    }

    fn train_config(&self, seed: u64, progress: bool) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch,
            optimizer: AdamConfig {
                weight_decay: self.weight_decay,
                ..AdamConfig::ship()
            },
            schedule: Schedule::Step {
                every: 10,
                gamma: 0.5,
            },
            seed,
            keep_last: self.keep_last,
            progress,
        }
    }

    /// The network's energy target of `e_gev`, and back.
    fn target(&self, e_gev: f64) -> f64 {
        if self.log_energy {
            e_gev.ln()
        } else {
            scale_energy(e_gev)
        }
    }

    fn energy(&self, target: f64) -> f64 {
        if self.log_energy {
            target.exp()
        } else {
            unscale_energy(target)
        }
    }
}

/// Runs the pipeline and returns the report (also written to `OUT/report.json`).
pub fn run(options: &Options, settings: &Settings) -> Result<ShipTtReport> {
    pipeline::run(&ShipTt(settings.clone()), options)
}

/// The SHiP TT experiment.
pub(crate) struct ShipTt(Settings);

/// The experiment of `settings` (for applying a trained run).
pub(crate) fn experiment(settings: Settings) -> ShipTt {
    ShipTt(settings)
}

impl ShipTt {
    /// The hit maps of training and prediction alike, on the file's geometry.
    fn maps(&self, geometry: &TtGeometry) -> TtMaps {
        TtMaps {
            n_stations: geometry.n_stations(),
            config: HitMapConfig {
                pixel_cm: self.0.pixel_cm,
                half_size_cm: geometry.half_size_cm,
                ..Default::default()
            },
            coordinates: false,
        }
    }
}

/// A TT file's showers streamed for prediction: hit maps, showers without hits set aside.
struct TtReader {
    file: TtFile,
    maps: TtMaps,
}

impl EventReader for TtReader {
    fn len(&self) -> usize {
        self.file.len()
    }

    fn item_shape(&self) -> Vec<usize> {
        self.maps.item_shape()
    }

    fn read(&self, range: Range<usize>, out: &mut [f32]) -> Result<Vec<(i64, u8)>> {
        let events = self.file.read(range.clone())?;
        let mut shape = vec![events.len()];
        shape.extend(self.item_shape());
        let view = ArrayViewMutD::from_shape(shape, out).map_err(|e| Error::Data {
            path: self.file.path().to_path_buf(),
            reason: format!("batch buffer: {e}"),
        })?;
        fill_batch(&self.maps, &events, range.start as u64, view)?;
        // A shower without hits has no map (the training pipeline sets it aside too).
        Ok(events
            .iter()
            .map(|e| (-1, if e.hits.is_empty() { SET_ASIDE } else { SCORED }))
            .collect())
    }
}

/// Showers with hits, their maps and targets.
pub(crate) struct Showers {
    keys: EventKeys,
    events: Vec<TtEvent>,
    geometry: TtGeometry,
    without_hits: usize,
    hits_outside: usize,
    shape: [usize; 3],
    src: InMemory,
}

/// The classical methods' estimates on the test events.
pub(crate) struct Classical {
    nhits_fit: NHitsEnergy,
    nhits_e: Vec<f64>,
    moments: (Vec<f64>, Vec<f64>),
    xy: XyFigures,
}

impl Experiment for ShipTt {
    const NAME: &'static str = "ship_tt";
    type Data = Showers;
    type Baseline = Classical;
    type Report = ShipTtReport;

    fn validate(&self) -> Result<()> {
        self.0.validate()
    }

    fn generate(&self, run: &Run, path: &Path) -> Result<()> {
        let n = self.0.events;
        run.say(format!("generating {n} showers into {}", path.display()));
        let opts = crate::sim::WriteOptions {
            batch: 1000,
            ..Default::default()
        };
        let cfg = crate::sim::tt::TtConfig::default();
        Ok(crate::sim::tt::write(
            path,
            &cfg,
            run.options.seed,
            n,
            &opts,
            |_| {},
        )?)
    }

    fn load(&self, run: &Run, path: &Path) -> Result<Showers> {
        let file = TtFile::open(path)?;
        let n = self.0.events.min(file.len());
        let all = file.read(0..n)?;
        let read = all.len();
        // Events without hits have no map and no moments: set aside and counted.
        let (positions, events): (Vec<usize>, Vec<TtEvent>) = all
            .into_iter()
            .enumerate()
            .filter(|(_, e)| !e.hits.is_empty())
            .unzip();
        if events.len() < 20 {
            return Err(Error::Data {
                path: path.into(),
                reason: format!(
                    "{} events with hits of {read}; at least 20 are needed",
                    events.len()
                ),
            });
        }
        let geometry = file.geometry().clone();
        let maps = self.maps(&geometry);
        let item = maps.item_shape();
        let shape = [item[0], item[1], item[2]];
        let mut inputs = vec![0f32; events.len() * shape.iter().product::<usize>()];
        let view = ArrayViewMutD::from_shape(
            vec![events.len(), shape[0], shape[1], shape[2]],
            &mut inputs,
        )
        .expect("buffer of the batch's size");
        let reports = fill_batch(&maps, &events, 0, view)?;
        let hits_outside = reports.iter().map(|r| r.outside).sum();
        let targets: Vec<f32> = events
            .iter()
            .flat_map(|e| [self.0.target(e.energy_gev as f64) as f32, e.distance_cm])
            .collect();
        run.say(format!(
            "{} events ({} without hits set aside) → hit maps {shape:?}",
            events.len(),
            read - events.len()
        ));
        let src = InMemory::new(
            inputs,
            item,
            Targets::Values {
                data: targets,
                width: 2,
            },
        )?;
        Ok(Showers {
            keys: EventKeys {
                id: vec![-1; positions.len()],
                index: positions,
            },
            without_hits: read - events.len(),
            events,
            geometry,
            hits_outside,
            shape,
            src,
        })
    }

    fn source<'d>(&self, data: &'d Showers) -> &'d dyn Source {
        &data.src
    }

    fn split_fractions(&self) -> (f64, f64) {
        (0.15, 0.15)
    }

    fn baseline(&self, _: &Run, data: &Showers, split: &Split) -> Result<Classical> {
        let train: Vec<TtEvent> = split
            .train
            .iter()
            .map(|&i| data.events[i].clone())
            .collect();
        let test: Vec<&TtEvent> = split.test.iter().map(|&i| &data.events[i]).collect();
        let energies: Vec<f64> = train.iter().map(|e| e.energy_gev as f64).collect();
        let hits: Vec<usize> = train.iter().map(|e| e.hits.len()).collect();
        let nhits_fit = NHitsEnergy::fit(&hits, &energies)?;
        let stations: Vec<usize> = (0..data.geometry.n_stations()).collect();
        let mr = MomentRegression::fit(&train, &stations)?;
        let moments = test
            .iter()
            .map(|e| Ok(mr.predict(e)?))
            .collect::<Result<Vec<(f64, f64)>>>()?
            .into_iter()
            .unzip();
        Ok(Classical {
            nhits_e: test
                .iter()
                .map(|e| nhits_fit.predict(e.hits.len()))
                .collect(),
            nhits_fit,
            moments,
            xy: XyFigures::of(&test, &data.geometry.station_z_cm)?,
        })
    }

    fn networks(&self, run: &Run, data: &Showers) -> Result<Vec<NetworkSpec>> {
        Ok(vec![NetworkSpec {
            label: "SNDNet".into(),
            config: ModelConfig::SndNet(self.0.network(data.shape)),
            task: Task::Regression { delta: 1.0 },
            train: self.0.train_config(run.options.seed, run.options.progress),
            checkpoints: "checkpoints".into(),
            predict_batch: self.0.batch,
            ensemble: Ensemble::Last,
        }])
    }

    fn browser(
        &self,
        data: &Showers,
        split: &Split,
        net: &Scored,
        report: &ShipTtReport,
    ) -> Result<Browser> {
        let mut b = Browser::new(
            "Test showers",
            vec![
                Column::number("event", 0),
                Column::number("E [GeV]", 2),
                Column::number("SNDNet Ê [GeV]", 2),
                Column::number("(Ê − E)/E", 3),
                Column::number("d [cm]", 3),
                Column::number("SNDNet d̂ [cm]", 3),
                Column::number("hits", 0),
                Column::number("DBSCAN XY error [cm]", 3),
            ],
            "Sorted by |Ê − E|/E of the network, largest first. Pictures: the hits of each station              (square = one map pixel, colour = deposited energy on one scale), the true vertex XY              (white ✚), the DBSCAN vertex (red ✚, Algorithm 1) and the hits' weighted mean (orange ✚).",
        );
        let out = net.test.last();
        let g = &data.geometry;
        let xy = &report.xy;
        for (k, &i) in split.test.iter().enumerate() {
            let e = &data.events[i];
            let (te, pe) = (e.energy_gev as f64, self.0.energy(out[[k, 0]] as f64));
            let rel = (pe - te) / te;
            let (tx, ty) = (e.vertex_cm[0], e.vertex_cm[1]);
            let db = xy.dbscan_xy_cm.get(k).copied().flatten();
            let mut marks = vec![mark(tx as f64, ty as f64, "true vertex", TRUE_COLOR)];
            if let Some([x, y]) = db {
                marks.push(mark(x, y, "DBSCAN vertex", RECO_COLOR));
            }
            if let Some(&[x, y]) = xy.weighted_mean_xy_cm.get(k) {
                marks.push(mark(x, y, "weighted mean", ALT_COLOR));
            }
            b.push(
                vec![
                    Cell::Num(data.keys.index[i] as f64),
                    Cell::Num(te),
                    Cell::Num(pe),
                    Cell::Num(rel),
                    Cell::Num(e.distance_cm as f64),
                    Cell::Num(out[[k, 1]] as f64),
                    Cell::Num(e.hits.len() as f64),
                    Cell::Num(db.map_or(f64::NAN, |[x, y]| {
                        ((x - tx as f64).powi(2) + (y - ty as f64).powi(2)).sqrt()
                    })),
                ],
                if rel.is_finite() {
                    rel.abs()
                } else {
                    f64::INFINITY
                },
                Some(tt_stations(e, g, self.0.pixel_cm, &marks)),
            );
        }
        Ok(b)
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("settings serialise")
    }

    fn outputs(&self) -> Outputs {
        Outputs::Values {
            names: vec!["energy_gev".into(), "distance_cm".into()],
        }
    }

    fn criterion(&self) -> Option<Criterion> {
        None
    }

    fn decode(&self, outputs: &mut Array2<f32>) {
        outputs
            .column_mut(0)
            .mapv_inplace(|t| self.0.energy(t as f64) as f32);
    }

    fn keys<'d>(&self, data: &'d Showers) -> &'d EventKeys {
        &data.keys
    }

    fn reader<'a>(&'a self, path: &Path) -> Result<Box<dyn EventReader + 'a>> {
        let file = TtFile::open(path)?;
        let maps = self.maps(file.geometry());
        Ok(Box::new(TtReader { file, maps }))
    }

    fn report(
        &self,
        run: &Run,
        data: &Showers,
        split: &Split,
        networks: &[Scored],
        classical: Classical,
    ) -> Result<ShipTtReport> {
        let net = &networks[0];
        let truth = |f: fn(&TtEvent) -> f32| {
            split
                .test
                .iter()
                .map(|&i| f(&data.events[i]) as f64)
                .collect::<Vec<_>>()
        };
        let (truth_e, truth_d) = (truth(|e| e.energy_gev), truth(|e| e.distance_cm));
        let out = net.test.last();
        let net_e: Vec<f64> = out
            .column(0)
            .iter()
            .map(|&t| self.0.energy(t as f64))
            .collect();
        let net_d: Vec<f64> = out.column(1).iter().map(|&d| d as f64).collect();
        let network = Figures::of(&truth_e, &net_e, Some((&truth_d, &net_d)))?;
        let (mr_e, mr_d) = &classical.moments;
        let moments = Figures::of(&truth_e, mr_e, Some((&truth_d, mr_d)))?;
        let nhits = Figures::of(&truth_e, &classical.nhits_e, None)?;
        resolution_png(
            &run.out.join("resolution_vs_energy.png"),
            "SHiP TT: energy resolution",
            "E [GeV]",
            "σ((E − Ê)/E)",
            &[
                ("SNDNet", network.points.clone(), network.fit_curve()),
                (
                    "Gaussian moments",
                    moments.points.clone(),
                    moments.fit_curve(),
                ),
                ("N hits", nhits.points.clone(), nhits.fit_curve()),
            ],
        )?;
        Ok(ShipTtReport {
            experiment: "ship_tt",
            settings: self.0.clone(),
            seed: run.options.seed,
            data: run.data_description("generated (rareml-sim tt, default config)"),
            events: EventCounts {
                total: data.events.len(),
                train: split.train.len(),
                val: split.val.len(),
                test: split.test.len(),
                hits_outside_maps: data.hits_outside,
                without_hits_set_aside: data.without_hits,
            },
            maps: data.shape,
            energy_target: if self.0.log_energy {
                "ln(E/GeV)"
            } else {
                "E × 7/100 (public SHiP code)"
            },
            network_summary: NetworkSummary::of(&net.trained, Ensemble::Last),
            training: TrainingSummary::of(&net.trained),
            network,
            baseline: moments,
            nhits: NHitsFigures {
                fit: classical.nhits_fit,
                figures: nhits,
            },
            xy: classical.xy,
        })
    }
}

/// Resolution points (mean E, σ(ΔE/E), error) in 10 GeV bins from 0 to 100 GeV.
const ENERGY_BINS_GEV: [f64; 11] = [
    0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0,
];

/// Headline figures of one regression method on the test set.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// σ((E − Ê)/E).
    pub energy_resolution: f64,
    /// RMSE of Ê in GeV.
    pub energy_rmse_gev: f64,
    /// Mean of E − Ê in GeV.
    pub energy_bias_gev: f64,
    /// RMSE of d̂ in cm (`None` for a method that does not estimate d).
    pub distance_rmse_cm: Option<f64>,
    /// Fit σ_E/E = a/√E ⊕ b over the energy bins with ≥ 10 events (≥ 3 bins needed).
    pub resolution_fit: Option<ResolutionFit>,
    /// (mean E in GeV, σ(ΔE/E), its error) in the 10 GeV bins with ≥ 10 events.
    pub points: Vec<(f64, f64, f64)>,
}

impl Figures {
    fn of(truth_e: &[f64], pred_e: &[f64], d: Option<(&[f64], &[f64])>) -> Result<Self> {
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
        let distance_rmse_cm = match d {
            Some((t, p)) => Some(regression_summary(t, p)?.rmse),
            None => None,
        };
        Ok(Self {
            energy_resolution: s.resolution.ok_or_else(|| {
                rareml_metrics::Error::InvalidArgument {
                    what: "true shower energy",
                    reason: "a test event with E = 0: σ((E − Ê)/E) is undefined".into(),
                }
            })?,
            energy_rmse_gev: s.rmse,
            energy_bias_gev: s.bias,
            distance_rmse_cm,
            resolution_fit,
            points,
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
    /// Fraction of the test events where DBSCAN finds a vertex.
    pub dbscan_found_fraction: f64,
    /// Test events where DBSCAN finds none.
    pub dbscan_no_vertex: usize,
    /// RMS distance in cm of the weighted mean of the hits from the true vertex.
    pub weighted_mean_rms_cm: f64,
    /// Each test event's DBSCAN vertex (x, y) in cm (`None` where it finds none), for the browser.
    #[serde(skip)]
    pub dbscan_xy_cm: Vec<Option<[f64; 2]>>,
    /// Each test event's weighted mean of the hits (x, y) in cm, for the browser.
    #[serde(skip)]
    pub weighted_mean_xy_cm: Vec<[f64; 2]>,
}

impl XyFigures {
    fn of(test: &[&TtEvent], station_z_cm: &[f32]) -> Result<Self> {
        let (mut db_sq, mut db_n, mut db_fail, mut wm_sq) = (0.0, 0usize, 0usize, 0.0);
        let (mut dbscan_xy_cm, mut weighted_mean_xy_cm) = (Vec::new(), Vec::new());
        for e in test {
            super::pipeline::cancelled()?;
            let [tx, ty] = [e.vertex_cm[0] as f64, e.vertex_cm[1] as f64];
            let [mx, my] = weighted_mean_xy(e)?;
            wm_sq += (mx - tx).powi(2) + (my - ty).powi(2);
            weighted_mean_xy_cm.push([mx, my]);
            match dbscan_vertex(e, station_z_cm, &DbscanVertexParams::default())? {
                Vertex::Found { x_cm, y_cm, .. } => {
                    db_sq += (x_cm - tx).powi(2) + (y_cm - ty).powi(2);
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
            dbscan_found_fraction: db_n as f64 / nt,
            dbscan_no_vertex: db_fail,
            weighted_mean_rms_cm: (wm_sq / nt).sqrt(),
            dbscan_xy_cm,
            weighted_mean_xy_cm,
        })
    }
}

/// Events per category and set.
#[derive(Debug, Clone, Serialize)]
pub struct EventCounts {
    /// Events with hits.
    pub total: usize,
    /// Training events.
    pub train: usize,
    /// Validation events.
    pub val: usize,
    /// Test events.
    pub test: usize,
    /// Hits outside the station area (in no map).
    pub hits_outside_maps: usize,
    /// Events without hits, set aside.
    pub without_hits_set_aside: usize,
}

/// The N-hits energy line and its figures.
#[derive(Debug, Clone, Serialize)]
pub struct NHitsFigures {
    /// E = a·N + b fitted on the training events.
    pub fit: NHitsEnergy,
    /// Its figures on test.
    pub figures: Figures,
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
    /// Map shape (stations, rows, columns).
    pub maps: [usize; 3],
    /// What the network regresses for the energy.
    pub energy_target: &'static str,
    /// The network and its parameter count.
    #[serde(rename = "model")]
    pub network_summary: NetworkSummary,
    /// Its training configuration and history.
    pub training: TrainingSummary,
    /// SNDNet's figures (the last checkpoint's).
    pub network: Figures,
    /// The Gaussian-moment features + linear regression of E and d.
    pub baseline: Figures,
    /// The N-hits energy line.
    pub nhits: NHitsFigures,
    /// Vertex XY: DBSCAN versus the weighted mean.
    pub xy: XyFigures,
}

impl Report for ShipTtReport {
    fn title(&self) -> String {
        format!(
            "SHiP target tracker — SNDNet versus the classical fits (seed {})",
            self.seed
        )
    }

    fn plots(&self) -> Vec<(&'static str, &'static str)> {
        vec![(
            "resolution_vs_energy.png",
            "Energy resolution σ((E − Ê)/E) in 10 GeV bins (test), with the a/√E ⊕ b fits and their ±1σ bands",
        )]
    }

    fn markdown(&self) -> String {
        let row = |name: &str, f: &Figures| {
            vec![
                name.to_string(),
                fmt(Some(f.energy_resolution), 3),
                fmt(Some(f.energy_rmse_gev), 2),
                fmt(f.distance_rmse_cm, 3),
                f.resolution_fit
                    .map(|r| format!("{:.2} / {:.3}", r.a, r.b))
                    .unwrap_or_else(|| "—".into()),
            ]
        };
        let mut md = format!(
            "# SHiP TT — {} events, test {}\n\n",
            self.events.total, self.events.test
        );
        md += &markdown_table(
            &[
                "method",
                "σ((E−Ê)/E)",
                "RMSE E [GeV]",
                "RMSE d [cm]",
                "fit a [√GeV] / b",
            ],
            &[
                row("SNDNet", &self.network),
                row("Gaussian moments + linear", &self.baseline),
                row("N hits", &self.nhits.figures),
            ],
        );
        let xy = &self.xy;
        md += &format!(
            "\nVertex XY on the test events: weighted mean RMS {} cm; DBSCAN RMS {} cm on {:.1} % of events (no vertex in {}).\n",
            fmt(Some(xy.weighted_mean_rms_cm), 3),
            fmt(xy.dbscan_rms_cm, 3),
            100.0 * xy.dbscan_found_fraction,
            xy.dbscan_no_vertex
        );
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every settings rule names its field (the maps' and network's own rules name theirs).
    #[test]
    fn settings_rules_name_their_field() {
        let q = || Settings::preset(Preset::Quick);
        let bad = |s: Settings, field: &str| {
            let e = s.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        };
        bad(Settings { events: 19, ..q() }, "events");
        bad(
            Settings {
                pixel_cm: 0.0,
                ..q()
            },
            "pixel_cm",
        );
        bad(
            Settings {
                weight_decay: -0.1,
                ..q()
            },
            "optimizer.weight_decay",
        );
        bad(Settings { epochs: 0, ..q() }, "epochs");
        bad(
            Settings {
                blocks: vec![],
                ..q()
            },
            "blocks",
        );
        // 3.5 mm pixels give 30 × 37 maps: too small for the paper's six blocks.
        bad(
            Settings {
                blocks: SndNetConfig::default().blocks,
                ..q()
            },
            "input",
        );
        assert!(q().validate().is_ok() && Settings::preset(Preset::Paper).validate().is_ok());
    }

    #[test]
    fn energy_targets_invert() {
        for log_energy in [true, false] {
            let s = Settings {
                log_energy,
                ..Settings::preset(Preset::Quick)
            };
            for e in [1.0, 37.5, 100.0] {
                assert!((s.energy(s.target(e)) - e).abs() < 1e-12);
            }
        }
    }
}
