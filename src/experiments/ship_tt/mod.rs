//! SHiP target tracker: the study of Shirobokov et al. ("Accelerating dark matter search in
//! emulsion SHiP detector by deep learning") on generated showers — the event selection, the
//! classical fits (Gaussian features with a linear regression and with gradient-boosted trees,
//! the N-hits line), the network rows of its Table 1 (a CNN with MSE, the same with Huber,
//! SNDNet's CoordConv with Huber), the resolution against E with its a/√E ⊕ b fit (Fig. 5),
//! the Gaussian features against E (Fig. 1) and the XY vertex of Algorithm 1 against the hits'
//! weighted mean (Fig. 6), each beside the paper's numbers.

mod report;
mod settings;
mod sources;

pub use settings::{EnergyTarget, Settings, ShipNetwork, ShipSchedule};

pub use sources::{ResimCounts, MAX_DRAWS};

pub use report::{
    EventCounts, Figures, NHitsFigures, NetworkRow, PaperRow, ShipTtReport, XyFigures, PAPER_TABLE,
};

use super::pipeline::{self, Ensemble, Experiment, NetworkSpec, Run, Scored};
use super::predict::{EventKeys, EventReader, Outputs};
use super::{Error, Options, Preset, Result};
use crate::baselines::tt::{DbscanVertexParams, MomentModel, MomentRegression, NHitsEnergy};
use crate::io::scores::{SCORED, SET_ASIDE};
use crate::io::tt::{TtEvent, TtFile, TtGeometry};
use crate::metrics::Criterion;
use crate::models::ModelConfig;
use crate::preprocess::batch::{fill_batch, Transform, TtMaps};
use crate::preprocess::tt::{HitMapConfig, Selection, SelectionReport};
use crate::report::browser::{Browser, Cell, Column};
use crate::report::pictures::{mark, tt_stations, ALT_COLOR, RECO_COLOR, TRUE_COLOR};
use crate::train::{InMemory, Source, Split, Targets};
use ndarray::{Array2, ArrayViewMutD};
use sources::{OnTheFly, Stored};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// True-energy bins in GeV of the resolution points and the selection counts: 10 GeV wide, 0–100.
pub const ENERGY_BINS_GEV: [f64; 11] = [
    0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0,
];

/// z in cm where Algorithm 1's line gives the vertex XY: the middle of the vertex brick (z is
/// measured from its downstream end and d is uniform in [−7.5, 0] cm).
pub const VERTEX_EVAL_Z_CM: f64 = -3.75;

/// Largest hit-map sample held in memory, in bytes: a quarter of the read ceiling
/// ([`crate::io::read_limit_bytes`], half the machine's memory), leaving the rest to the network's
/// activations; larger samples make their maps per batch.
pub fn maps_in_memory_max_bytes() -> u64 {
    crate::io::read_limit_bytes() / 4
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

    /// The generator of the experiment's own data (and of the re-simulated showers).
    fn generator() -> crate::sim::tt::TtConfig {
        crate::sim::tt::TtConfig::default()
    }

    /// The stations of the classical fits' features (the first `moment_stations` of the file's).
    fn moment_stations(&self, geometry: &TtGeometry) -> Vec<usize> {
        (0..self.0.moment_stations.min(geometry.n_stations())).collect()
    }
}

/// A TT file's showers streamed for prediction: hit maps; showers the selection rejects set aside.
struct TtReader {
    file: TtFile,
    maps: TtMaps,
    selection: Selection,
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
        // The network was trained on selected showers only (the training pipeline sets the
        // others aside too).
        Ok(events
            .iter()
            .map(|e| {
                (
                    -1,
                    if self.selection.keep(e) {
                        SCORED
                    } else {
                        SET_ASIDE
                    },
                )
            })
            .collect())
    }
}

/// Selected showers, their maps and targets.
pub(crate) struct Showers {
    keys: EventKeys,
    events: Arc<Vec<TtEvent>>,
    geometry: TtGeometry,
    selection: SelectionReport,
    hits_outside: usize,
    shape: [usize; 3],
    src: TrainingShowers,
}

/// The networks' training source: the stored showers, or fresh showers of the same truth.
enum TrainingShowers {
    Stored(Stored),
    Resimulated(Box<sources::Resimulated>),
}

impl Showers {
    /// True when the stored showers' hit maps are held in memory (made per batch otherwise).
    fn maps_in_memory(&self) -> bool {
        let stored = match &self.src {
            TrainingShowers::Stored(s) => s,
            TrainingShowers::Resimulated(r) => r.stored(),
        };
        matches!(stored, Stored::Maps(_))
    }

    /// What the re-simulation drew (`None` when the networks trained on the stored showers).
    fn resimulated(&self) -> Option<ResimCounts> {
        match &self.src {
            TrainingShowers::Stored(_) => None,
            TrainingShowers::Resimulated(r) => Some(r.counts()),
        }
    }
}

/// The classical methods' estimates on the test events.
pub(crate) struct Classical {
    nhits_fit: NHitsEnergy,
    nhits_e: Vec<f64>,
    moments: Vec<(f64, f64)>,
    boosted: Option<Vec<(f64, f64)>>,
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
        let cfg = Self::generator();
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
        // The study's selection: events with too few hits are set aside and counted per energy.
        let (kept, selection) = self.0.selection().apply(&all, &ENERGY_BINS_GEV)?;
        let mut all: Vec<Option<TtEvent>> = all.into_iter().map(Some).collect();
        let events: Vec<TtEvent> = kept.iter().filter_map(|&i| all[i].take()).collect();
        if events.len() < 20 {
            return Err(Error::Data {
                path: path.into(),
                reason: format!(
                    "{} of {read} events pass the selection (≥ {} hits); at least 20 are needed",
                    events.len(),
                    self.0.min_hits
                ),
            });
        }
        let geometry = file.geometry().clone();
        let maps = self.maps(&geometry);
        let item = maps.item_shape();
        let shape = [item[0], item[1], item[2]];
        let targets = Targets::Values {
            data: events
                .iter()
                .flat_map(|e| {
                    [
                        self.0.target(e.energy_gev as f64) as f32,
                        (e.distance_cm as f64 / self.0.distance_unit_cm) as f32,
                    ]
                })
                .collect(),
            width: 2,
        };
        let events = Arc::new(events);
        let values = events.len() * shape.iter().product::<usize>();
        let (bytes, ceiling) = (4 * values as u64, maps_in_memory_max_bytes());
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        let (stored, hits_outside) = if bytes <= ceiling && !self.0.maps_per_batch {
            let mut inputs = vec![0f32; values];
            let view = ArrayViewMutD::from_shape(
                vec![events.len(), shape[0], shape[1], shape[2]],
                &mut inputs,
            )
            .map_err(|e| Error::Data {
                path: path.into(),
                reason: format!("hit-map buffer: {e}"),
            })?;
            let reports = fill_batch(&maps, &events, 0, view)?;
            let outside = reports.iter().map(|r| r.outside).sum();
            (Stored::Maps(InMemory::new(inputs, item, targets)?), outside)
        } else {
            run.say(format!(
                "the hit maps ({:.1} GiB; held in memory up to {:.1} GiB, a quarter of the read \
                 ceiling) are made per batch from the hits",
                gib(bytes),
                gib(ceiling)
            ));
            let (src, outside) = OnTheFly::new(Arc::clone(&events), maps.clone(), targets)
                .map_err(|e| Error::Data {
                    path: path.into(),
                    reason: e.to_string(),
                })?;
            (Stored::OnTheFly(src), outside)
        };
        run.say(format!(
            "{} events pass the selection (≥ {} hits; {} of {read} set aside) → hit maps {shape:?}",
            events.len(),
            self.0.min_hits,
            selection.rejected
        ));
        let src = match (self.0.resimulate, &run.options.data) {
            (true, None) => {
                run.say(format!(
                    "training batches: fresh showers of the training events' E and d (rareml-sim tt, \
                     redrawn up to {MAX_DRAWS} times to pass the selection)"
                ));
                TrainingShowers::Resimulated(Box::new(sources::Resimulated::new(
                    stored,
                    &events,
                    Self::generator(),
                    maps,
                    self.0.selection(),
                )))
            }
            (true, Some(_)) => {
                run.say(
                    "re-simulation needs generated data: the networks train on the file's showers",
                );
                TrainingShowers::Stored(stored)
            }
            (false, _) => TrainingShowers::Stored(stored),
        };
        Ok(Showers {
            keys: EventKeys {
                id: vec![-1; kept.len()],
                index: kept,
            },
            events,
            geometry,
            selection,
            hits_outside,
            shape,
            src,
        })
    }

    fn source<'d>(&self, data: &'d Showers) -> &'d dyn Source {
        match &data.src {
            TrainingShowers::Stored(s) => s,
            TrainingShowers::Resimulated(r) => r.as_ref(),
        }
    }

    fn split_fractions(&self) -> (f64, f64) {
        match self.0.preset {
            Preset::Quick => (0.15, 0.15),
            // The paper: 90 % for training, 10 % for the test; 5 % of the training share
            // validates.
            Preset::Paper => (0.05, 0.10),
        }
    }

    fn baseline(&self, run: &Run, data: &Showers, split: &Split) -> Result<Classical> {
        let train: Vec<TtEvent> = split
            .train
            .iter()
            .map(|&i| data.events[i].clone())
            .collect();
        let test: Vec<TtEvent> = split.test.iter().map(|&i| data.events[i].clone()).collect();
        let energies: Vec<f64> = train.iter().map(|e| e.energy_gev as f64).collect();
        let hits: Vec<usize> = train.iter().map(|e| e.hits.len()).collect();
        let nhits_fit = NHitsEnergy::fit(&hits, &energies)?;
        let stations = self.moment_stations(&data.geometry);
        let moments = MomentRegression::fit(&train, &stations)?.predict_many(&test)?;
        pipeline::cancelled()?;
        let boosted = if self.0.boosting {
            run.say(format!(
                "gradient-boosted trees on the {} Gaussian features",
                4 * stations.len()
            ));
            let model = MomentModel::boosted(run.options.seed);
            Some(MomentRegression::fit_with(&train, &stations, &model)?.predict_many(&test)?)
        } else {
            None
        };
        let params = DbscanVertexParams {
            eval_z_cm: Some(VERTEX_EVAL_Z_CM),
            ..Default::default()
        };
        let test_refs: Vec<&TtEvent> = test.iter().collect();
        Ok(Classical {
            nhits_e: test
                .iter()
                .map(|e| nhits_fit.predict(e.hits.len()))
                .collect(),
            nhits_fit,
            moments,
            boosted,
            xy: XyFigures::of(&test_refs, &data.geometry.station_z_cm, &params)?,
        })
    }

    fn networks(&self, run: &Run, data: &Showers) -> Result<Vec<NetworkSpec>> {
        Ok(self
            .0
            .networks
            .iter()
            .map(|&row| NetworkSpec {
                label: row.label().into(),
                config: ModelConfig::SndNet(self.0.network(data.shape, row)),
                task: row.task(),
                train: self.0.train_config(run.options.seed, run.options.progress),
                checkpoints: row.checkpoints().into(),
                predict_batch: self.0.batch,
                ensemble: Ensemble::Mean,
                seed: run.options.seed,
            })
            .collect())
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
                Column::number("network Ê [GeV]", 2),
                Column::number("(Ê − E)/E", 3),
                Column::number("d [cm]", 3),
                Column::number("network d̂ [cm]", 3),
                Column::number("hits", 0),
                Column::number("DBSCAN XY error [cm]", 3),
            ],
            "Sorted by |Ê − E|/E of the headline network, largest first. Pictures: the hits of each station              (square = one map pixel, colour = deposited energy on one scale), the true vertex XY              (white ✚), the DBSCAN vertex (red ✚, Algorithm 1) and the hits' weighted mean (orange ✚).",
        );
        let (net_e, net_d) = self.0.estimates(net);
        let g = &data.geometry;
        let xy = &report.xy;
        for (k, &i) in split.test.iter().enumerate() {
            let e = &data.events[i];
            let (te, pe) = (e.energy_gev as f64, net_e[k]);
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
                    Cell::Num(net_d[k]),
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
        serde_json::to_value(&self.0).unwrap_or_default()
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
        let unit = self.0.distance_unit_cm as f32;
        outputs.column_mut(1).mapv_inplace(|d| d * unit);
    }

    fn keys<'d>(&self, data: &'d Showers) -> &'d EventKeys {
        &data.keys
    }

    fn reader<'a>(&'a self, path: &Path) -> Result<Box<dyn EventReader + 'a>> {
        let file = TtFile::open(path)?;
        let maps = self.maps(file.geometry());
        Ok(Box::new(TtReader {
            file,
            maps,
            selection: self.0.selection(),
        }))
    }

    fn report(
        &self,
        run: &Run,
        data: &Showers,
        split: &Split,
        networks: &[Scored],
        classical: Classical,
    ) -> Result<ShipTtReport> {
        report::build(self, run, data, split, networks, classical)
    }
}
