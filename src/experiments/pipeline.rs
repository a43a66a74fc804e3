//! The skeleton every experiment follows, and the stages they share.
//!
//! ```text
//! settings.validate → input (the user's file, or generate) → load (events → network inputs)
//!   → split → baseline → for each network: train → score (every kept checkpoint, val + test)
//!   → report (figures, plots, report.json + report.md + report.html with the event browser)
//! ```
//!
//! An experiment implements [`Experiment`]: what differs between detectors (how to generate and
//! read its data, which networks, which classical analysis, which figures). [`run`] drives the
//! stages; [`train`] and [`score`] are separate, so a trained run can score other data without
//! training again.

use super::predict::{
    code_version, score_rows, EventKeys, EventReader, NetworkRecord, Outputs, RunManifest,
    RUN_FORMAT,
};
use super::{Error, Options, Result};
use crate::io::scores::{ScoresMeta, ScoresWriter, SCORED};
use crate::report::browser::Browser;
use crate::report::{write_html_report, write_report, Report};
use candle_core::Device;
use ndarray::Array2;
use rareml_metrics::{ensemble_mean, signal_scores, Criterion};
use rareml_models::{Model, ModelConfig, Params};
use rareml_train::{predict_ensemble, EpochRecord, Source, Split, Task, TrainConfig, Trainer};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The stages of one experiment that differ between detectors; [`run`] calls them in order.
pub trait Experiment {
    /// The experiment's name (`newsdm`, `pandax3`, `ship_tt`).
    const NAME: &'static str;
    /// The events as loaded: the network's inputs and what the baseline and figures need.
    type Data;
    /// What the classical analysis gives on the validation and test events.
    type Baseline;
    /// The typed report (`report.json`, `report.md`).
    type Report: Report;

    /// Checks every setting before any work; the error names one field.
    fn validate(&self) -> Result<()>;
    /// Writes the toy Monte Carlo sample to `path` (the run's data when no file is given).
    fn generate(&self, run: &Run, path: &Path) -> Result<()>;
    /// Reads and preprocesses the events of `path`.
    fn load(&self, run: &Run, path: &Path) -> Result<Self::Data>;
    /// The network inputs and targets of the loaded events.
    fn source<'d>(&self, data: &'d Self::Data) -> &'d dyn Source;
    /// Validation and test fractions of the random split.
    fn split_fractions(&self) -> (f64, f64);
    /// The classical analysis.
    fn baseline(&self, run: &Run, data: &Self::Data, split: &Split) -> Result<Self::Baseline>;
    /// The networks to train; the first is the headline one (more for a sweep).
    fn networks(&self, run: &Run, data: &Self::Data) -> Result<Vec<NetworkSpec>>;
    /// Figures, plots and the report from the scored networks and the baseline.
    fn report(
        &self,
        run: &Run,
        data: &Self::Data,
        split: &Split,
        networks: &[Scored],
        baseline: Self::Baseline,
    ) -> Result<Self::Report>;

    /// The event browser of `report.html`: the test events of the headline network `net` with
    /// their scores and pictures.
    fn browser(
        &self,
        data: &Self::Data,
        split: &Split,
        net: &Scored,
        report: &Self::Report,
    ) -> Result<Browser>;

    /// The settings, as `run.json` stores them (to apply the run elsewhere).
    fn settings(&self) -> serde_json::Value;
    /// What the network's outputs are.
    fn outputs(&self) -> Outputs;
    /// How the working point is chosen on validation (`None` for a regression).
    fn criterion(&self) -> Option<Criterion>;
    /// Turns a batch of regression outputs into physical units in place (identity by default).
    fn decode(&self, _outputs: &mut Array2<f32>) {}
    /// The file index and id of each loaded event.
    fn keys<'d>(&self, data: &'d Self::Data) -> &'d EventKeys;
    /// Streams the events of `path` as network inputs, preprocessed as [`load`](Self::load) does,
    /// in contiguous ranges (for prediction).
    fn reader<'a>(&'a self, path: &Path) -> Result<Box<dyn EventReader + 'a>>;
}

/// Runs `experiment` end to end; writes `report.json`, `report.md`, the plots and the checkpoints
/// into `options.out` and returns the report.
pub fn run<E: Experiment>(experiment: &E, options: &Options) -> Result<E::Report> {
    experiment.validate()?;
    let run = Run::new(options)?;
    let path = run.input(E::NAME, |p| experiment.generate(&run, p))?;
    cancelled()?;
    let data = experiment.load(&run, &path)?;
    cancelled()?;
    let src = experiment.source(&data);
    let (val, test) = experiment.split_fractions();
    let split = Split::random(src.len(), val, test, options.seed)?;
    let baseline = experiment.baseline(&run, &data, &split)?;
    cancelled()?;
    let networks = experiment
        .networks(&run, &data)?
        .into_iter()
        .map(|spec| score(&run, train(&run, spec, src, &split)?, src, &split))
        .collect::<Result<Vec<_>>>()?;
    let report = experiment.report(&run, &data, &split, &networks, baseline)?;
    write_report(&run.out, &report)?;
    let net = &networks[0];
    let browser = experiment.browser(&data, &split, net, &report)?;
    write_html_report(&run.out, &report, Some(&browser))?;
    let manifest = manifest(experiment, &run, net, report.threshold())?;
    manifest.write(&run.out)?;
    write_test_scores(experiment, &run, &data, &split, net, &manifest)?;
    Ok(report)
}

/// The run's `run.json`: the headline network with its kept checkpoints and working point.
/// `Err(Interrupted)` once a stop was requested (`rareml_train::cancel`, e.g. Ctrl-C in the
/// Python bindings): checked between the pipeline's phases and in its long per-event loops;
/// training and evaluation check it per batch.
pub(crate) fn cancelled() -> Result<()> {
    if crate::train::cancel::requested() {
        return Err(crate::train::Error::Interrupted.into());
    }
    Ok(())
}

fn manifest<E: Experiment>(
    experiment: &E,
    run: &Run,
    net: &Scored,
    threshold: Option<f64>,
) -> Result<RunManifest> {
    let t = &net.trained;
    let checkpoints = t
        .kept
        .iter()
        .map(|p| {
            p.strip_prefix(&run.out)
                .map(|r| r.display().to_string())
                .map_err(|_| Error::File {
                    path: p.clone(),
                    reason: format!("checkpoint outside the run directory {}", run.out.display()),
                })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RunManifest {
        format: RUN_FORMAT.into(),
        experiment: E::NAME.into(),
        code_version: code_version(),
        seed: run.options.seed,
        data: run.data_description("generated"),
        settings: experiment.settings(),
        network: NetworkRecord {
            label: t.spec.label.clone(),
            config: t.spec.config.clone(),
            task: t.spec.task,
            checkpoints,
            ensemble: t.spec.ensemble,
            outputs: experiment.outputs(),
            criterion: experiment.criterion(),
            threshold,
            predict_batch: t.spec.predict_batch,
        },
    })
}

/// `test_scores.h5`: the headline network's scores on the test events, in the scores format
/// (`shard = "test"`; `/events/index` gives each event's position in the input file).
fn write_test_scores<E: Experiment>(
    experiment: &E,
    run: &Run,
    data: &E::Data,
    split: &Split,
    net: &Scored,
    manifest: &RunManifest,
) -> Result<()> {
    let keys = experiment.keys(data);
    let rec = &manifest.network;
    let n = split.test.len();
    let meta = ScoresMeta {
        experiment: E::NAME.into(),
        run: run.out.display().to_string(),
        run_id: String::new(),
        code_version: manifest.code_version.clone(),
        source: run.data_description("generated"),
        source_events: keys
            .index
            .iter()
            .max()
            .map_or(0, |&m| m as u64 + 1)
            .max(n as u64),
        first_event: 0,
        end_event: n as u64,
        shard: "test".into(),
        columns: rec.outputs.names().to_vec(),
        members: net.test.0.len(),
        ensemble: serde_json::to_value(rec.ensemble)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        threshold: rec.threshold,
    };
    let rows = score_rows(
        &rec.outputs,
        &|v| experiment.decode(v),
        &net.test.0,
        rec.ensemble,
        rec.threshold,
        split.test.iter().map(|&i| keys.index[i] as i64).collect(),
        split.test.iter().map(|&i| keys.id[i]).collect(),
        vec![SCORED; n],
    )?;
    let mut w = ScoresWriter::create(run.out.join("test_scores.h5"), &meta)?;
    w.append(&rows)?;
    Ok(w.finish()?)
}

/// One pipeline run's context: its options, output directory, device and temporary directory.
pub struct Run {
    /// The options.
    pub options: Options,
    /// The output directory (created).
    pub out: PathBuf,
    /// The device the networks run on.
    pub device: Device,
    tmp: tempfile::TempDir,
}

impl Run {
    /// Creates the output directory and resolves the device.
    pub fn new(options: &Options) -> Result<Self> {
        let device = options.device()?;
        std::fs::create_dir_all(&options.out).map_err(|e| Error::File {
            path: options.out.clone(),
            reason: format!("cannot create the output directory: {e}"),
        })?;
        let tmp = tempfile::tempdir().map_err(|e| Error::File {
            path: std::env::temp_dir(),
            reason: format!("cannot create a temporary directory: {e}"),
        })?;
        Ok(Self {
            options: options.clone(),
            out: options.out.clone(),
            device,
            tmp,
        })
    }

    /// Prints a progress message on standard error when progress is on.
    pub fn say(&self, msg: impl AsRef<str>) {
        if self.options.progress {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// The user's file, or `generate`d into `<tmp>/<name>.h5`.
    pub fn input(&self, name: &str, generate: impl FnOnce(&Path) -> Result<()>) -> Result<PathBuf> {
        match &self.options.data {
            Some(p) => Ok(p.clone()),
            None => {
                let p = self.tmp.path().join(format!("{name}.h5"));
                generate(&p)?;
                Ok(p)
            }
        }
    }

    /// The data line of a report: the user's file, or `generated`.
    pub fn data_description(&self, generated: &str) -> String {
        match &self.options.data {
            Some(p) => p.display().to_string(),
            None => generated.to_string(),
        }
    }
}

/// What one network of an experiment is and how it trains.
#[derive(Debug, Clone)]
pub struct NetworkSpec {
    /// Its name in reports and messages.
    pub label: String,
    /// The network.
    pub config: ModelConfig,
    /// What it learns (and the loss).
    pub task: Task,
    /// Training hyper-parameters.
    pub train: TrainConfig,
    /// Its checkpoint directory, under the output directory.
    pub checkpoints: String,
    /// Events per batch in evaluation.
    pub predict_batch: usize,
    /// How the kept checkpoints make its headline score.
    pub ensemble: Ensemble,
    /// Seed of its initial weights (shuffling, augmentation and dropout take `train.seed`): the
    /// run's seed, or another for an independent repeat of the same training.
    pub seed: u64,
}

/// A network after training: its parameters (the last epoch's), history and kept checkpoints.
pub struct Trained {
    /// What was trained.
    pub spec: NetworkSpec,
    /// The network.
    pub model: Model,
    /// Its parameters.
    pub params: Params,
    /// One record per epoch.
    pub history: Vec<EpochRecord>,
    /// Weights files of the kept checkpoints, oldest first (the ensemble).
    pub kept: Vec<PathBuf>,
}

impl Trained {
    /// Trainable parameters.
    pub fn parameters(&self) -> usize {
        self.params.trainable_count()
    }
}

/// Trains `spec` on `split.train` (validating on `split.val`), resuming from checkpoints already
/// in its directory.
pub fn train(run: &Run, spec: NetworkSpec, src: &dyn Source, split: &Split) -> Result<Trained> {
    spec.config.validate()?;
    let params = Params::new(spec.seed);
    let model = Model::new(&spec.config, &params, &run.device)?;
    let dir = run.out.join(&spec.checkpoints);
    let trainer = Trainer::new(
        &model,
        &params,
        spec.task,
        spec.train.clone(),
        run.device.clone(),
        &dir,
    )?
    .resume_with_new_config(run.options.resume_with_new_config);
    run.say(format!(
        "training {} ({} parameters) on {} events, {} epochs",
        spec.label,
        params.trainable_count(),
        split.train.len(),
        spec.train.epochs
    ));
    let history = trainer.fit(src, split, None)?;
    let kept = trainer.kept_weights()?;
    Ok(Trained {
        spec,
        model,
        params,
        history,
        kept,
    })
}

/// Eval-mode outputs of every kept checkpoint of a network on the validation and test events.
pub struct Scored {
    /// The network (the last checkpoint's weights loaded).
    pub trained: Trained,
    /// Validation outputs, one array per kept checkpoint.
    pub val: Members,
    /// Test outputs, one array per kept checkpoint.
    pub test: Members,
}

/// Scores every kept checkpoint of `trained` on the validation and test events.
pub fn score(run: &Run, trained: Trained, src: &dyn Source, split: &Split) -> Result<Scored> {
    let members = |idx: &[usize]| -> Result<Members> {
        Ok(Members(predict_ensemble(
            &trained.model,
            &trained.params,
            &trained.kept,
            src,
            idx,
            trained.spec.predict_batch,
            &run.device,
        )?))
    };
    let val = members(&split.val)?;
    let test = members(&split.test)?;
    Ok(Scored { trained, val, test })
}

/// How the kept checkpoints make the headline score of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ensemble {
    /// The last checkpoint's; the others give the spread (NEWSdm: mean ± Student-t interval of
    /// the figures over the members).
    Last,
    /// The mean score over the kept checkpoints (PandaX-III).
    Mean,
}

/// The outputs `(events, outputs)` of each ensemble member, oldest first.
#[derive(Debug, Clone)]
pub struct Members(pub Vec<Array2<f32>>);

impl Members {
    /// The last member's outputs.
    pub fn last(&self) -> &Array2<f32> {
        self.0.last().expect("an ensemble has at least one member")
    }

    /// Each member's signal scores ([`rareml_metrics::signal_scores`]).
    pub fn member_scores(&self, signal_classes: &[usize]) -> Result<Vec<Vec<f64>>> {
        self.0
            .iter()
            .map(|o| Ok(signal_scores(o, signal_classes)?))
            .collect()
    }

    /// The headline signal scores under `rule`.
    pub fn scores(&self, signal_classes: &[usize], rule: Ensemble) -> Result<Vec<f64>> {
        match rule {
            Ensemble::Last => Ok(signal_scores(self.last(), signal_classes)?),
            Ensemble::Mean => Ok(ensemble_mean(&self.member_scores(signal_classes)?)?),
        }
    }
}

/// A trained network as a report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkSummary {
    /// Its name.
    pub label: String,
    /// Its configuration.
    pub config: ModelConfig,
    /// Trainable parameters.
    pub trainable_parameters: usize,
    /// Kept checkpoints (ensemble members).
    pub kept_checkpoints: usize,
    /// How the kept checkpoints make the headline score.
    pub ensemble: Ensemble,
}

impl NetworkSummary {
    /// The summary of `trained`, scored by `ensemble`.
    pub fn of(trained: &Trained, ensemble: Ensemble) -> Self {
        Self {
            label: trained.spec.label.clone(),
            config: trained.spec.config.clone(),
            trainable_parameters: trained.parameters(),
            kept_checkpoints: trained.kept.len(),
            ensemble,
        }
    }
}

/// How a network trained.
#[derive(Debug, Clone, Serialize)]
pub struct TrainingSummary {
    /// The hyper-parameters.
    pub config: TrainConfig,
    /// One record per epoch.
    pub history: Vec<EpochRecord>,
}

impl TrainingSummary {
    /// The summary of `trained`.
    pub fn of(trained: &Trained) -> Self {
        Self {
            config: trained.spec.train.clone(),
            history: trained.history.clone(),
        }
    }
}
