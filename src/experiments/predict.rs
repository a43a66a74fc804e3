//! Applying a trained run to new data: the run's manifest (`run.json`), streamed event readers,
//! the scores of an ensemble on a batch, and `predict` / `merge` for sharded batch jobs.
//!
//! A run directory written by an experiment pipeline holds `run.json` (a [`RunManifest`]: the
//! experiment and its settings, the network, its kept checkpoints, the ensemble rule, the working
//! point, the code version) beside the checkpoints. [`predict`] reads it, streams an input file of
//! that experiment in batches (read and preprocessed on a thread ahead of the networks, so memory
//! stays flat whatever the file size), and writes a `rareml.scores.v1` file
//! ([`rareml_io::scores`]) for a shard of the events; [`merge`] joins the shards.

use super::pipeline::{Ensemble, Experiment};
use super::{newsdm, pandax3, ship_tt, Error, Result};
use crate::io::scores::{ScoreRows, ScoresMeta, ScoresWriter, SCORED};
use crate::io::Shard;
use crate::metrics::{ensemble_mean, signal_scores, softmax, Criterion};
use crate::models::{Ctx, Model, ModelConfig, Params};
use crate::train::Task;
use candle_core::{DType, Device, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{Array2, Array3, Axis};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Format name of `run.json`.
pub const RUN_FORMAT: &str = "rareml.run.v1";

/// The code version written into manifests and scores files: the package version and the git
/// commit it was built from.
pub fn code_version() -> String {
    format!(
        "rareml {} ({})",
        env!("CARGO_PKG_VERSION"),
        env!("RAREML_GIT_COMMIT")
    )
}

/// What the network's outputs are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outputs {
    /// Classes: probabilities are the softmax of C logits (or the sigmoid of one); the signal
    /// score is the sum of the `signal` classes' probabilities.
    Classes {
        /// Names of the output columns.
        names: Vec<String>,
        /// The signal classes.
        signal: Vec<usize>,
    },
    /// Regression values in physical units (the experiment decodes the network's targets).
    Values {
        /// Names (with units) of the output columns.
        names: Vec<String>,
    },
}

impl Outputs {
    /// Names of the output columns.
    pub fn names(&self) -> &[String] {
        match self {
            Outputs::Classes { names, .. } | Outputs::Values { names } => names,
        }
    }
}

/// The file index and id of each event an experiment loaded (in its source file).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventKeys {
    /// Position of the event in the source file.
    pub index: Vec<usize>,
    /// The format's event id (−1 where it has none).
    pub id: Vec<i64>,
}

/// A file's events as network inputs, read in contiguous ranges.
pub trait EventReader: Sync {
    /// Events in the file.
    fn len(&self) -> usize;
    /// True without events.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Shape of one network input.
    fn item_shape(&self) -> Vec<usize>;
    /// Writes the inputs of events `range` into `out` (`range.len()` items) and returns each
    /// event's id (−1 where the format has none) and status ([`SCORED`], or
    /// [`rareml_io::scores::SET_ASIDE`] with its slot zeroed).
    fn read(&self, range: Range<usize>, out: &mut [f32]) -> Result<Vec<(i64, u8)>>;
}

/// One network of a run as `run.json` records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkRecord {
    /// Its name.
    pub label: String,
    /// Its configuration (the input shape included).
    pub config: ModelConfig,
    /// What it learned.
    pub task: Task,
    /// The kept checkpoints' weights files, relative to the run directory, oldest first.
    pub checkpoints: Vec<String>,
    /// How the checkpoints make the headline score.
    pub ensemble: Ensemble,
    /// What its outputs are.
    pub outputs: Outputs,
    /// How the working point was chosen on validation (classification).
    pub criterion: Option<Criterion>,
    /// The working point's threshold on the headline signal score (classification).
    pub threshold: Option<f64>,
    /// Events per batch in evaluation.
    pub predict_batch: usize,
}

/// `run.json`: everything needed to apply a trained run elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    /// [`RUN_FORMAT`].
    pub format: String,
    /// `newsdm`, `pandax3` or `ship_tt`.
    pub experiment: String,
    /// The code version that trained it.
    pub code_version: String,
    /// The run's seed.
    pub seed: u64,
    /// The training data: the user's file or the generator.
    pub data: String,
    /// The experiment's settings (its preprocessing included).
    pub settings: serde_json::Value,
    /// The headline network.
    pub network: NetworkRecord,
}

/// A stable fingerprint of `bytes` (FNV-1a, 64 bits) in hex.
fn fingerprint(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn file_err(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

impl RunManifest {
    /// Writes `dir/run.json` (through a temporary file and a rename).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join("run.json");
        let text = serde_json::to_string_pretty(self).map_err(|e| file_err(&path, e))?;
        crate::train::atomic(&path, |tmp| {
            std::fs::write(tmp, &text).map_err(|e| crate::train::Error::File {
                path: tmp.to_path_buf(),
                reason: e.to_string(),
            })
        })?;
        Ok(())
    }

    /// Reads `dir/run.json` and checks it describes an applicable run: its format, a known
    /// experiment, every checkpoint present. Returns it with its fingerprint (the run id).
    pub fn read(dir: &Path) -> Result<(Self, String)> {
        let path = dir.join("run.json");
        let text = std::fs::read(&path).map_err(|e| {
            file_err(
                &path,
                format!("cannot read the run manifest ({e}): is this the output directory of a newsdm, pandax3 or ship_tt run?"),
            )
        })?;
        let value: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| file_err(&path, format!("not JSON: {e}")))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(RUN_FORMAT) => {}
            Some(f) => {
                return Err(file_err(
                    &path,
                    format!("format {f:?}: expected {RUN_FORMAT:?}"),
                ))
            }
            None => {
                return Err(file_err(
                    &path,
                    format!("no \"format\": expected {RUN_FORMAT:?}"),
                ))
            }
        }
        let m: Self = serde_json::from_value(value)
            .map_err(|e| file_err(&path, format!("not a {RUN_FORMAT} manifest: {e}")))?;
        if !["newsdm", "pandax3", "ship_tt"].contains(&m.experiment.as_str()) {
            return Err(file_err(
                &path,
                format!(
                    "experiment {:?}: expected newsdm, pandax3 or ship_tt",
                    m.experiment
                ),
            ));
        }
        if m.network.checkpoints.is_empty() {
            return Err(file_err(&path, "the network lists no checkpoint"));
        }
        for c in &m.network.checkpoints {
            if !dir.join(c).is_file() {
                return Err(file_err(
                    &dir.join(c),
                    "checkpoint listed in run.json is missing",
                ));
            }
        }
        Ok((m, fingerprint(&text)))
    }
}

/// The scores of an ensemble's raw outputs (`raw[k]`: member k's `(n, C)` outputs) on a batch of
/// events: per-member probabilities (softmax, or sigmoid of one output) or decoded regression
/// values, their mean and spread, the headline values and signal score under `rule`, the pass flag
/// at `threshold`. Rows whose status is not [`SCORED`] get NaN outputs and no pass.
#[allow(clippy::too_many_arguments)]
pub fn score_rows(
    outputs: &Outputs,
    decode: &dyn Fn(&mut Array2<f32>),
    raw: &[Array2<f32>],
    rule: Ensemble,
    threshold: Option<f64>,
    index: Vec<i64>,
    id: Vec<i64>,
    status: Vec<u8>,
) -> Result<ScoreRows> {
    let k = raw.len();
    let (n, c) = raw
        .first()
        .map_or((index.len(), outputs.names().len()), |a| a.dim());
    let values: Vec<Array2<f32>> = raw
        .iter()
        .map(|r| match outputs {
            Outputs::Classes { .. } if r.ncols() == 1 => {
                r.mapv(|x| crate::metrics::sigmoid(x) as f32)
            }
            Outputs::Classes { .. } => softmax(r).mapv(|p| p as f32),
            Outputs::Values { .. } => {
                let mut v = r.clone();
                decode(&mut v);
                v
            }
        })
        .collect();
    let mut members = Array3::<f32>::zeros((n, k, c));
    for (m, v) in values.iter().enumerate() {
        members.index_axis_mut(Axis(1), m).assign(v);
    }
    let (mut mean, mut std) = (Array2::<f32>::zeros((n, c)), Array2::<f32>::zeros((n, c)));
    for i in 0..n {
        for j in 0..c {
            let xs: Vec<f64> = (0..k).map(|m| members[[i, m, j]] as f64).collect();
            let mu = xs.iter().sum::<f64>() / k as f64;
            let var = if k > 1 {
                xs.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (k - 1) as f64
            } else {
                0.0
            };
            mean[[i, j]] = mu as f32;
            std[[i, j]] = var.sqrt() as f32;
        }
    }
    let mut value = match rule {
        Ensemble::Last => values
            .last()
            .cloned()
            .unwrap_or_else(|| Array2::zeros((n, c))),
        Ensemble::Mean => mean.clone(),
    };
    let mut signal = match (outputs, threshold) {
        (Outputs::Classes { signal, .. }, Some(thr)) => {
            let s = match rule {
                Ensemble::Last => signal_scores(raw.last().expect("one member"), signal)?,
                Ensemble::Mean => ensemble_mean(
                    &raw.iter()
                        .map(|r| signal_scores(r, signal))
                        .collect::<std::result::Result<Vec<_>, _>>()?,
                )?,
            };
            let pass: Vec<u8> = s.iter().map(|&v| (v >= thr) as u8).collect();
            Some((s, pass))
        }
        _ => None,
    };
    for (i, &st) in status.iter().enumerate() {
        if st != SCORED {
            members.index_axis_mut(Axis(0), i).fill(f32::NAN);
            for a in [&mut value, &mut mean, &mut std] {
                a.row_mut(i).fill(f32::NAN);
            }
            if let Some((s, p)) = &mut signal {
                s[i] = f64::NAN;
                p[i] = 0;
            }
        }
    }
    Ok(ScoreRows {
        index,
        id,
        status,
        members,
        value,
        mean,
        std,
        signal,
    })
}

/// What [`predict`] does.
#[derive(Debug, Clone)]
pub struct PredictOptions {
    /// The run directory (with `run.json`).
    pub run: PathBuf,
    /// The input file.
    pub data: PathBuf,
    /// The scores file to write.
    pub out: PathBuf,
    /// Which shard of the input's events.
    pub shard: Shard,
    /// Events per batch (`None`: the run's evaluation batch).
    pub batch: Option<usize>,
    /// `cpu`, `cuda` or `cuda:N`.
    pub device: String,
    /// Progress bar with events/s on standard error.
    pub progress: bool,
}

/// Applies the run in `options.run` to a shard of `options.data` and writes the scores file;
/// returns what it wrote.
pub fn predict(options: &PredictOptions) -> Result<ScoresMeta> {
    let (manifest, run_id) = RunManifest::read(&options.run)?;
    let settings = |e: serde_json::Error| {
        file_err(
            &options.run.join("run.json"),
            format!("settings of {}: {e}", manifest.experiment),
        )
    };
    match manifest.experiment.as_str() {
        "newsdm" => {
            let s: newsdm::Settings =
                serde_json::from_value(manifest.settings.clone()).map_err(settings)?;
            apply(&newsdm::experiment(s), &manifest, &run_id, options)
        }
        "pandax3" => {
            let s: pandax3::Settings =
                serde_json::from_value(manifest.settings.clone()).map_err(settings)?;
            apply(&pandax3::experiment(s), &manifest, &run_id, options)
        }
        _ => {
            let s: ship_tt::Settings =
                serde_json::from_value(manifest.settings.clone()).map_err(settings)?;
            apply(&ship_tt::experiment(s), &manifest, &run_id, options)
        }
    }
}

/// The networks of the kept checkpoints, each with its own parameters.
fn members(manifest: &RunManifest, dir: &Path, device: &Device) -> Result<Vec<(Model, Params)>> {
    (0..manifest.network.checkpoints.len())
        .map(|k| member(manifest, dir, device, k))
        .collect()
}

/// The network of kept checkpoint `k`.
fn member(
    manifest: &RunManifest,
    dir: &Path,
    device: &Device,
    k: usize,
) -> Result<(Model, Params)> {
    let params = Params::new(0);
    let model = Model::new(&manifest.network.config, &params, device)?;
    params.load(&dir.join(&manifest.network.checkpoints[k]), &[])?;
    Ok((model, params))
}

/// The input shape the network takes (without the batch axis).
pub(crate) fn input_shape(config: &ModelConfig) -> Vec<usize> {
    match config {
        ModelConfig::NewsNet(c) => vec![1, c.input[0], c.input[1], c.input[2]],
        ModelConfig::EfficientNet(c) => vec![c.in_channels],
        ModelConfig::SndNet(c) => c.input.to_vec(),
        ModelConfig::ResNet(c) => vec![c.in_channels],
        ModelConfig::DenseNet(c) => vec![c.in_channels],
    }
}

fn apply<E: Experiment>(
    experiment: &E,
    manifest: &RunManifest,
    run_id: &str,
    options: &PredictOptions,
) -> Result<ScoresMeta> {
    let device = super::Options {
        device: options.device.clone(),
        ..super::Options::new(&options.out)
    }
    .device()?;
    let net = &manifest.network;
    let reader = experiment.reader(&options.data)?;
    let item = reader.item_shape();
    check_input(manifest, &item, &options.data)?;
    let nets = members(manifest, &options.run, &device)?;
    let range = options.shard.range(reader.len());
    let meta = scores_meta(manifest, run_id, options, reader.len(), &range, nets.len());
    let mut writer = ScoresWriter::create(&options.out, &meta)?;
    let batch = options.batch.unwrap_or(net.predict_batch).max(1);
    let per: usize = item.iter().product();
    let bar = progress_bar(options.progress, range.len());
    let t0 = Instant::now();
    let chunks: Vec<Range<usize>> = (range.start..range.end)
        .step_by(batch)
        .map(|a| a..(a + batch).min(range.end))
        .collect();
    std::thread::scope(|s| -> Result<()> {
        // Events are read and preprocessed on their own thread, two batches ahead of the networks.
        let (tx, rx) =
            std::sync::mpsc::sync_channel::<Result<(Range<usize>, Vec<f32>, Vec<(i64, u8)>)>>(2);
        let (reader, chunks) = (&reader, &chunks);
        s.spawn(move || {
            for r in chunks {
                let mut buf = vec![0f32; r.len() * per];
                let keys = reader.read(r.clone(), &mut buf);
                if tx.send(keys.map(|k| (r.clone(), buf, k))).is_err() {
                    return;
                }
            }
        });
        for msg in rx {
            let (r, buf, keys) = msg?;
            let mut shape = vec![r.len()];
            shape.extend_from_slice(&item);
            let x = Tensor::from_vec(buf, shape, &device)?;
            let raw = nets
                .iter()
                .map(|(m, _)| -> Result<Array2<f32>> {
                    let y = m
                        .forward(&x, &Ctx::eval())?
                        .to_dtype(DType::F32)?
                        .flatten_from(1)?;
                    let (n, c) = y.dims2()?;
                    Ok(
                        Array2::from_shape_vec((n, c), y.flatten_all()?.to_vec1::<f32>()?)
                            .expect("outputs of the batch's shape"),
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            let rows = score_rows(
                &net.outputs,
                &|v| experiment.decode(v),
                &raw,
                net.ensemble,
                net.threshold,
                r.clone().map(|i| i as i64).collect(),
                keys.iter().map(|k| k.0).collect(),
                keys.iter().map(|k| k.1).collect(),
            )?;
            writer.append(&rows)?;
            if let Some(b) = &bar {
                b.inc(r.len() as u64);
            }
        }
        Ok(())
    })?;
    writer.finish()?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if options.progress {
        let secs = t0.elapsed().as_secs_f64().max(1e-9);
        let n = range.len();
        eprintln!(
            "{n} events × {} networks in {secs:.1} s ({:.1} events/s) → {}",
            nets.len(),
            n as f64 / secs,
            options.out.display()
        );
    }
    Ok(meta)
}

/// Checks that a reader's events give the inputs the run's network takes.
fn check_input(manifest: &RunManifest, item: &[usize], data: &Path) -> Result<()> {
    let want = input_shape(&manifest.network.config);
    if !item.starts_with(&want) {
        return Err(Error::Data {
            path: data.to_path_buf(),
            reason: format!(
                "its events give network inputs {item:?}, the run's network ({}) takes {want:?}: an input of another experiment or other preprocessing",
                manifest.experiment
            ),
        });
    }
    Ok(())
}

/// The attributes of a scores file written by [`apply`].
fn scores_meta(
    manifest: &RunManifest,
    run_id: &str,
    options: &PredictOptions,
    source_events: usize,
    range: &Range<usize>,
    members: usize,
) -> ScoresMeta {
    let net = &manifest.network;
    ScoresMeta {
        experiment: manifest.experiment.clone(),
        run: options.run.display().to_string(),
        run_id: run_id.to_string(),
        code_version: code_version(),
        source: options.data.display().to_string(),
        source_events: source_events as u64,
        first_event: range.start as u64,
        end_event: range.end as u64,
        shard: if options.shard == Shard::ALL {
            "all".into()
        } else {
            options.shard.to_string()
        },
        columns: net.outputs.names().to_vec(),
        members,
        ensemble: serde_json::to_value(net.ensemble)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        threshold: net.threshold,
    }
}

fn progress_bar(on: bool, n: usize) -> Option<ProgressBar> {
    on.then(|| {
        let b = ProgressBar::new(n as u64);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} events  {per_sec}  eta {eta}")
                .expect("valid template"),
        );
        b
    })
}

/// Joins shard scores files of one run and input into `out` ([`rareml_io::scores::merge`]).
pub fn merge(out: &Path, shards: &[PathBuf]) -> Result<ScoresMeta> {
    Ok(crate::io::scores::merge(out, shards)?)
}

/// Writes a trained run's networks as ONNX files ([`crate::models::onnx`]): with
/// [`Ensemble::Last`] the last kept checkpoint to `out`; with [`Ensemble::Mean`] every kept
/// checkpoint, member k to `out` with `.k` before the extension (`model.onnx` → `model.0.onnx`,
/// …), to be averaged as the run does (its `ensemble` metadata says how). Each file's metadata
/// names the run (`rareml.run_id`, `rareml.experiment`, `rareml.code_version`), the checkpoint and
/// member, the working point (`rareml.threshold`), the outputs and the model configuration.
pub fn export_onnx(dir: &Path, out: &Path) -> Result<Vec<(PathBuf, crate::models::onnx::Export)>> {
    let (manifest, run_id) = RunManifest::read(dir)?;
    let net = &manifest.network;
    let n = net.checkpoints.len();
    // Only the checkpoints the ensemble rule uses are loaded.
    let chosen: Vec<usize> = match net.ensemble {
        Ensemble::Last => vec![n - 1],
        Ensemble::Mean => (0..n).collect(),
    };
    let mut written = Vec::new();
    for &k in &chosen {
        let path = if chosen.len() == 1 {
            out.to_path_buf()
        } else {
            let stem = out.file_stem().unwrap_or_default().to_string_lossy();
            let ext = out
                .extension()
                .map_or("onnx".into(), |e| e.to_string_lossy());
            out.with_file_name(format!("{stem}.{k}.{ext}"))
        };
        let meta: Vec<(String, String)> = [
            ("rareml.run_id", run_id.clone()),
            ("rareml.experiment", manifest.experiment.clone()),
            ("rareml.code_version", manifest.code_version.clone()),
            ("rareml.network", net.label.clone()),
            ("rareml.checkpoint", net.checkpoints[k].clone()),
            ("rareml.member", format!("{k} of {n}")),
            ("rareml.ensemble", json(&net.ensemble)),
            ("rareml.threshold", json(&net.threshold)),
            ("rareml.outputs", json(&net.outputs)),
            ("rareml.task", json(&net.task)),
            ("rareml.model_config", json(&net.config)),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b))
        .collect();
        let (model, _) = member(&manifest, dir, &Device::Cpu, k)?;
        let export = crate::models::onnx::export(&model, &meta)?;
        std::fs::write(&path, &export.bytes).map_err(|e| file_err(&path, e))?;
        written.push((path, export));
    }
    Ok(written)
}

/// A value as compact JSON (for the ONNX metadata).
fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
