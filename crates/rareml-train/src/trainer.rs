//! The training loop: per-epoch shuffling by seed, batches prepared on a CPU thread while the
//! model computes, Adam with a schedule, a checkpoint every epoch (written atomically), exact
//! resume, and a clear stop on a non-finite loss.

use crate::data::{Source, Split, Targets};
use crate::ensemble::EnsembleRule;
use crate::error::{config_err, file_err, Error, Result};
use crate::optim::{Adam, AdamConfig, Schedule, WeightDecaySchedule};
use candle_core::{DType, Device, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rareml_models::loss::{balanced_loss, bce_with_logits, huber, mse};
use rareml_models::{Ctx, Model, Params};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

/// What the network learns and with which loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Task {
    /// Classes with the NEWSdm balanced loss (μ·CCE + BCE of the summed signal classes).
    MultiClass {
        /// Weight μ of the categorical cross-entropy (paper: 0.53).
        mu: f64,
        /// The first `signal_classes` classes are signal (paper: 3, C30/C60/C100).
        signal_classes: usize,
    },
    /// One logit, binary cross-entropy with logits (targets 0/1).
    Binary,
    /// Regression with the Huber loss of threshold δ.
    Regression {
        /// Huber δ (paper: 1).
        delta: f64,
    },
    /// Regression with the mean squared error (the SHiP study's "CNN, MSE loss" row).
    MeanSquared,
}

impl Task {
    /// The loss of a batch of outputs against targets.
    pub fn loss(&self, out: &Tensor, targets: &Tensor) -> Result<Tensor> {
        Ok(match *self {
            Task::MultiClass { mu, signal_classes } => {
                balanced_loss(out, targets, mu, signal_classes)?
            }
            Task::Binary => bce_with_logits(&out.flatten_all()?, &targets.to_dtype(out.dtype())?)?,
            Task::Regression { delta } => huber(out, targets, delta)?,
            Task::MeanSquared => mse(out, targets)?,
        })
    }
}

/// Training hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Epochs.
    pub epochs: usize,
    /// Events per batch.
    pub batch_size: usize,
    /// Adam settings.
    pub optimizer: AdamConfig,
    /// Learning-rate schedule per epoch.
    pub schedule: Schedule,
    /// Weight-decay schedule per epoch (on [`AdamConfig::weight_decay`]).
    #[serde(default)]
    pub weight_decay_schedule: WeightDecaySchedule,
    /// Seed of shuffling, augmentation and dropout (initial weights come from the `Params` seed).
    pub seed: u64,
    /// Checkpoints in the ensemble (K; the last K epochs unless `ensemble` says otherwise).
    pub keep_last: usize,
    /// How the K checkpoints of the ensemble are chosen (absent in older checkpoints: the last
    /// K).
    #[serde(default)]
    pub ensemble: EnsembleRule,
    /// Show a progress bar.
    pub progress: bool,
}

impl TrainConfig {
    /// Checks every field: epochs, batch size and kept checkpoints ≥ 1, the optimiser and the
    /// schedule ([`AdamConfig::validate`], [`Schedule::validate`]).
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(config_err("epochs", self.epochs, "≥ 1"));
        }
        if self.batch_size == 0 {
            return Err(config_err("batch_size", self.batch_size, "≥ 1"));
        }
        if self.keep_last == 0 {
            return Err(config_err("keep_last", self.keep_last, "≥ 1 checkpoint"));
        }
        self.ensemble.validate()?;
        self.optimizer.validate()?;
        self.weight_decay_schedule.validate()?;
        self.schedule.validate()
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 32,
            optimizer: AdamConfig::default(),
            schedule: Schedule::Constant,
            weight_decay_schedule: WeightDecaySchedule::Constant,
            seed: 0,
            keep_last: 3,
            ensemble: EnsembleRule::Last,
            progress: false,
        }
    }
}

/// One epoch's record. In JSON a non-finite loss is the string `"NaN"`, `"inf"` or `"-inf"`
/// (JSON numbers cannot be), so checkpoint states read back; `null`, as older files hold, reads
/// as NaN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch (0-based).
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Weight-decay coefficient used (absent in older checkpoints: read as NaN).
    #[serde(with = "json_f64", default = "nan")]
    pub weight_decay: f64,
    /// Mean training loss.
    #[serde(with = "json_f64")]
    pub train_loss: f64,
    /// Mean validation loss (eval mode); NaN without validation events.
    #[serde(with = "json_f64")]
    pub val_loss: f64,
    /// Validation accuracy (eval mode, a fraction): logit > 0 against target 1 (binary), the
    /// largest output against the label (classes); NaN without validation events, for
    /// regression, and in checkpoints older than this field.
    #[serde(with = "json_f64", default = "nan")]
    pub val_accuracy: f64,
    /// Training events per second.
    pub events_per_s: f64,
}

fn nan() -> f64 {
    f64::NAN
}

/// An f64 in JSON that survives a round trip when it is not finite (see [`EpochRecord`]).
mod json_f64 {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        match *v {
            v if v.is_finite() => s.serialize_f64(v),
            v if v.is_nan() => s.serialize_str("NaN"),
            v if v > 0.0 => s.serialize_str("inf"),
            _ => s.serialize_str("-inf"),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Num(f64),
        Text(String),
        Null(()),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Num(v) => Ok(v),
            Repr::Null(()) => Ok(f64::NAN),
            Repr::Text(t) => match t.as_str() {
                "NaN" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                other => Err(de::Error::custom(format!(
                    "{other:?}: expected a number, \"NaN\", \"inf\" or \"-inf\""
                ))),
            },
        }
    }
}

/// State written with each checkpoint (`epoch-NNNN.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Last completed epoch.
    pub epoch: usize,
    /// Weights file (in the same directory).
    pub weights: String,
    /// Optimiser state file (in the same directory).
    pub optimizer: String,
    /// Training configuration.
    pub config: TrainConfig,
    /// The split the run uses.
    pub split: Split,
    /// History up to this epoch.
    pub history: Vec<EpochRecord>,
    /// Size and FNV-1a 64 checksum of the weights file, checked on resume (absent in checkpoints
    /// written before they were recorded: then only the files' presence is checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_digest: Option<FileDigest>,
    /// Size and checksum of the optimiser state file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer_digest: Option<FileDigest>,
}

/// Size and FNV-1a 64-bit checksum of a checkpoint file: what a torn or damaged file fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// Size in bytes.
    pub bytes: u64,
    /// FNV-1a 64 of the contents, 16 hex digits.
    #[serde(with = "hex64")]
    pub fnv1a64: u64,
}

mod hex64 {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:016x}"))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let t = String::deserialize(d)?;
        u64::from_str_radix(&t, 16).map_err(serde::de::Error::custom)
    }
}

impl FileDigest {
    /// The digest of the file at `path`.
    pub fn of(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| file_err(path, e))?;
        Ok(Self::of_bytes(&bytes))
    }

    /// The digest of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        // FNV-1a 64 (offset basis and prime of the FNV specification).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Self {
            bytes: bytes.len() as u64,
            fnv1a64: h,
        }
    }

    /// `None` when the file at `path` matches, else why not.
    fn mismatch(&self, path: &Path) -> Option<String> {
        match std::fs::metadata(path) {
            Err(e) => Some(format!("{}: {e}", path.display())),
            Ok(m) if m.len() != self.bytes => Some(format!(
                "{}: {} bytes, the checkpoint recorded {}",
                path.display(),
                m.len(),
                self.bytes
            )),
            Ok(_) => match Self::of(path) {
                Ok(d) if d == *self => None,
                Ok(_) => Some(format!(
                    "{}: checksum differs from the one recorded",
                    path.display()
                )),
                Err(e) => Some(e.to_string()),
            },
        }
    }
}

/// The fields of two training configurations that differ, as `name: old → new` (`progress` is not
/// compared; more epochs than before are a continuation, not a change).
pub fn config_changes(old: &TrainConfig, new: &TrainConfig) -> Vec<String> {
    let (a, b) = (
        serde_json::to_value(old).unwrap_or_default(),
        serde_json::to_value(new).unwrap_or_default(),
    );
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (a.as_object(), b.as_object()) {
        for (k, va) in a {
            let vb = b.get(k).cloned().unwrap_or_default();
            if k == "progress" || *va == vb || (k == "epochs" && new.epochs > old.epochs) {
                continue;
            }
            out.push(format!("{k}: {va} → {vb}"));
        }
    }
    out
}

/// Trains `model` (parameters in `params`) on a task, checkpointing into a directory.
pub struct Trainer<'a> {
    model: &'a Model,
    params: &'a Params,
    task: Task,
    cfg: TrainConfig,
    device: Device,
    dir: PathBuf,
    resume_with_new_config: bool,
}

/// Mixes a seed with a counter (SplitMix64) for per-epoch and per-batch seeds.
pub fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed
        ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0x6A09_E667_F3BC_C909);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn tensor_of(values: Vec<f32>, n: usize, item: &[usize], device: &Device) -> Result<Tensor> {
    let mut shape = vec![n];
    shape.extend_from_slice(item);
    Ok(Tensor::from_vec(values, shape, device)?)
}

/// Targets of `indices` as a tensor: u32 classes `(B)` or f32 values `(B, width)`.
fn targets_of(t: &Targets, indices: &[usize], device: &Device) -> Result<Tensor> {
    Ok(match t {
        Targets::Classes(c) => Tensor::from_vec(
            indices.iter().map(|&i| c[i]).collect::<Vec<u32>>(),
            indices.len(),
            device,
        )?,
        Targets::Values { data, width } => {
            let v: Vec<f32> = indices
                .iter()
                .flat_map(|&i| data[i * width..(i + 1) * width].iter().copied())
                .collect();
            Tensor::from_vec(v, (indices.len(), *width), device)?
        }
    })
}

impl<'a> Trainer<'a> {
    /// A trainer writing checkpoints into `dir` (created if needed).
    pub fn new(
        model: &'a Model,
        params: &'a Params,
        task: Task,
        cfg: TrainConfig,
        device: Device,
        dir: &Path,
    ) -> Result<Self> {
        cfg.validate()?;
        std::fs::create_dir_all(dir)
            .map_err(|e| file_err(dir, format!("cannot create the checkpoint directory: {e}")))?;
        remove_stale_temporaries(dir)?;
        Ok(Self {
            model,
            params,
            task,
            cfg,
            device,
            dir: dir.to_path_buf(),
            resume_with_new_config: false,
        })
    }

    /// Lets [`fit`](Self::fit) resume checkpoints made with another training configuration (they
    /// are refused otherwise, naming what changed).
    pub fn resume_with_new_config(mut self, allow: bool) -> Self {
        self.resume_with_new_config = allow;
        self
    }

    fn check_data(&self, src: &dyn Source, split: &Split) -> Result<()> {
        let n = src.len();
        for (name, set) in [
            ("train", &split.train),
            ("val", &split.val),
            ("test", &split.test),
        ] {
            if let Some(&i) = set.iter().find(|&&i| i >= n) {
                return Err(Error::Data(format!(
                    "{name} split holds event {i}, the source has {n}"
                )));
            }
        }
        if split.train.is_empty() {
            return Err(Error::Data("no training events".into()));
        }
        if let EnsembleRule::BestValidation { .. } = self.cfg.ensemble {
            let classifies = matches!(self.task, Task::Binary | Task::MultiClass { .. });
            if split.val.is_empty() || !classifies {
                return Err(Error::Data(format!(
                    "the best-validation ensemble rule ranks epochs by validation accuracy: it \
                     needs validation events ({} here) and a classification task ({:?} here)",
                    split.val.len(),
                    self.task
                )));
            }
        }
        match (self.task, src.targets()) {
            (Task::Regression { .. } | Task::MeanSquared, Targets::Values { .. }) => Ok(()),
            (Task::Binary, Targets::Classes(c)) if c.iter().all(|&v| v <= 1) => Ok(()),
            (Task::MultiClass { .. }, Targets::Classes(_)) => Ok(()),
            (t, _) => Err(Error::Data(format!("targets do not fit the task {t:?}"))),
        }
    }

    /// Checkpoint files of `epoch`.
    pub fn checkpoint_files(&self, epoch: usize) -> (PathBuf, PathBuf, PathBuf) {
        let stem = format!("epoch-{epoch:04}");
        (
            self.dir.join(format!("{stem}.safetensors")),
            self.dir.join(format!("{stem}.optim.safetensors")),
            self.dir.join(format!("{stem}.json")),
        )
    }

    /// The newest intact checkpoint in the directory: its JSON (written last, after both tensor
    /// files) parses, both files exist and match the size and checksum it records. Newer ones that
    /// fail are skipped with a warning on standard error naming the file and what is wrong, so a
    /// damaged latest checkpoint falls back to the previous intact one; partial files of an
    /// interrupted write (no JSON yet) are ignored silently.
    pub fn latest_checkpoint(&self) -> Result<Option<CheckpointState>> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| file_err(&self.dir, e))?;
        let mut jsons: Vec<(usize, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let p = e.path();
                let name = p.file_name()?.to_str()?;
                let epoch = name.strip_prefix("epoch-")?.strip_suffix(".json")?;
                Some((epoch.parse().ok()?, p))
            })
            .collect();
        jsons.sort_by_key(|j| std::cmp::Reverse(j.0));
        for (_, p) in jsons {
            match self.intact(&p) {
                Ok(st) => return Ok(Some(st)),
                Err(why) => eprintln!(
                    "rareml-train: warning: checkpoint {} skipped ({why}); trying the previous one",
                    p.display()
                ),
            }
        }
        Ok(None)
    }

    /// The state of the checkpoint whose JSON is `p` if it is intact, else why not.
    fn intact(&self, p: &Path) -> std::result::Result<CheckpointState, String> {
        let text = std::fs::read_to_string(p).map_err(|e| e.to_string())?;
        let st: CheckpointState =
            serde_json::from_str(&text).map_err(|e| format!("not a checkpoint state: {e}"))?;
        for (file, digest) in [
            (&st.weights, st.weights_digest),
            (&st.optimizer, st.optimizer_digest),
        ] {
            let f = self.dir.join(file);
            match digest {
                Some(d) => {
                    if let Some(why) = d.mismatch(&f) {
                        return Err(why);
                    }
                }
                None if !f.exists() => return Err(format!("{} is missing", f.display())),
                None => {}
            }
        }
        Ok(st)
    }

    /// Trains on `split.train` (validating on `split.val` each epoch), resuming from the latest
    /// checkpoint in the directory when one exists. Stops after `stop_after` epochs of this call
    /// when given (an interruption between epochs). Returns the full history.
    pub fn fit(
        &self,
        src: &dyn Source,
        split: &Split,
        stop_after: Option<usize>,
    ) -> Result<Vec<EpochRecord>> {
        self.check_data(src, split)?;
        let named: Vec<_> = self
            .params
            .named()
            .into_iter()
            .filter(|(k, _)| !rareml_models::params::is_buffer(k))
            .collect();
        let mut opt = Adam::new(named, self.cfg.optimizer.clone())?;
        let mut history = Vec::new();
        let mut start = 0;
        if let Some(st) = self.latest_checkpoint()? {
            if st.split != *split {
                return Err(Error::Data(format!(
                    "{}: the checkpoints were made with another train/val/test split",
                    self.dir.display()
                )));
            }
            let changes = config_changes(&st.config, &self.cfg);
            if !changes.is_empty() && !self.resume_with_new_config {
                return Err(Error::Data(format!(
                    "{}: the checkpoints (epoch {}) were made with another training configuration ({}); \
                     resume with the new one only if that is meant (--resume-with-new-config; Python: \
                     resume_with_new_config=True), or train \
                     into another directory",
                    self.dir.display(),
                    st.epoch,
                    changes.join(", ")
                )));
            }
            self.params.load(&self.dir.join(&st.weights), &[])?;
            opt.load(&self.dir.join(&st.optimizer))?;
            history = st.history;
            start = st.epoch + 1;
        }
        let item = src.item_shape();
        let per: usize = item.iter().product();
        for (done, epoch) in (start..self.cfg.epochs).enumerate() {
            if stop_after.is_some_and(|s| done >= s) {
                break;
            }
            let lr = self.cfg.schedule.lr(self.cfg.optimizer.lr, epoch);
            let wd_schedule = &self.cfg.weight_decay_schedule;
            if wd_schedule.resets_at(epoch) {
                opt.reset()?;
            }
            let weight_decay = wd_schedule.weight_decay(self.cfg.optimizer.weight_decay, epoch);
            opt.set_weight_decay(weight_decay)?;
            let epoch_seed = mix(self.cfg.seed, epoch as u64);
            let mut order = split.train.clone();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(epoch_seed));
            let batches: Vec<Vec<usize>> = order
                .chunks(self.cfg.batch_size)
                .map(|c| c.to_vec())
                .collect();
            let bar = self.bar(order.len(), epoch);
            let t0 = Instant::now();
            let (mut sum, mut count) = (0.0, 0usize);
            let result: Result<()> = std::thread::scope(|s| {
                // Batches are prepared on their own thread, two ahead of the model.
                let (tx, rx) = sync_channel::<Result<(Vec<f32>, Vec<usize>)>>(2);
                let batches_ref = &batches;
                s.spawn(move || {
                    for b in batches_ref {
                        let mut buf = vec![0f32; b.len() * per];
                        let r = src
                            .fill(b, Some(epoch_seed), &mut buf)
                            .map(|_| (buf, b.clone()));
                        if tx.send(r).is_err() {
                            return;
                        }
                    }
                });
                for (bi, msg) in rx.iter().enumerate() {
                    crate::cancel::check()?;
                    let (buf, idx) = msg?;
                    let x = tensor_of(buf, idx.len(), &item, &self.device)?;
                    let y = targets_of(src.targets(), &idx, &self.device)?;
                    let ctx = Ctx::train(mix(epoch_seed, bi as u64 + 1));
                    let out = self.model.forward(&x, &ctx)?;
                    let loss = self.task.loss(&out, &y)?;
                    let l = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                    if !l.is_finite() {
                        return Err(Error::NotFinite {
                            epoch,
                            batch: bi,
                            loss: l,
                        });
                    }
                    let grads = loss.backward()?;
                    opt.step(&grads, lr)?;
                    sum += l * idx.len() as f64;
                    count += idx.len();
                    if let Some(b) = &bar {
                        b.inc(idx.len() as u64);
                        b.set_message(format!(
                            "loss {:.4}  {:.1} ev/s",
                            sum / count as f64,
                            count as f64 / t0.elapsed().as_secs_f64()
                        ));
                    }
                }
                Ok(())
            });
            result?;
            let events_per_s = count as f64 / t0.elapsed().as_secs_f64();
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            let (val_loss, val_accuracy) = if split.val.is_empty() {
                (f64::NAN, f64::NAN)
            } else {
                self.evaluate_on(src, &split.val)?
            };
            history.push(EpochRecord {
                epoch,
                lr,
                weight_decay,
                train_loss: sum / count as f64,
                val_loss,
                val_accuracy,
                events_per_s,
            });
            self.checkpoint(epoch, &opt, split, &history)?;
        }
        Ok(history)
    }

    fn bar(&self, n: usize, epoch: usize) -> Option<ProgressBar> {
        if !self.cfg.progress {
            return None;
        }
        let b = ProgressBar::new(n as u64);
        b.set_style(
            ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        b.set_prefix(format!("{}/{}", epoch + 1, self.cfg.epochs));
        Some(b)
    }

    fn checkpoint(
        &self,
        epoch: usize,
        opt: &Adam,
        split: &Split,
        history: &[EpochRecord],
    ) -> Result<()> {
        let (w, o, j) = self.checkpoint_files(epoch);
        atomic(&w, |tmp| Ok(self.params.save(tmp)?))?;
        atomic(&o, |tmp| opt.save(tmp))?;
        let name = |p: &Path| {
            p.file_name()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string()
        };
        let st = CheckpointState {
            epoch,
            weights: name(&w),
            optimizer: name(&o),
            config: self.cfg.clone(),
            split: split.clone(),
            history: history.to_vec(),
            weights_digest: Some(FileDigest::of(&w)?),
            optimizer_digest: Some(FileDigest::of(&o)?),
        };
        let text = serde_json::to_string_pretty(&st).map_err(|e| file_err(&j, e))?;
        atomic(&j, |tmp| {
            std::fs::write(tmp, &text).map_err(|e| file_err(tmp, e))
        })?;
        match self.cfg.ensemble {
            // Keep the last K epochs.
            EnsembleRule::Last => {
                if epoch >= self.cfg.keep_last {
                    let (w, o, j) = self.checkpoint_files(epoch - self.cfg.keep_last);
                    for p in [j, w, o] {
                        let _ = std::fs::remove_file(p);
                    }
                }
            }
            // Keep the weights of every epoch the rule may still select, and the optimiser
            // state of the last two (a damaged latest checkpoint falls back to the one before).
            EnsembleRule::BestValidation { .. } => {
                let retained = self.cfg.ensemble.retained(history, self.cfg.keep_last);
                for e in 0..epoch.saturating_sub(1) {
                    let (w, o, j) = self.checkpoint_files(e);
                    let _ = std::fs::remove_file(o);
                    if !retained.contains(&e) {
                        for p in [j, w] {
                            let _ = std::fs::remove_file(p);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Weights files of the ensemble's checkpoints, oldest first: the last K, or the epochs the
    /// configured [`EnsembleRule`] selects from the latest checkpoint's history.
    pub fn kept_weights(&self) -> Result<Vec<PathBuf>> {
        let Some(last) = self.latest_checkpoint()? else {
            return Ok(Vec::new());
        };
        if let EnsembleRule::BestValidation { .. } = self.cfg.ensemble {
            return self
                .cfg
                .ensemble
                .select(&last.history, self.cfg.keep_last)?
                .into_iter()
                .map(|e| {
                    let w = self.checkpoint_files(e).0;
                    if w.exists() {
                        Ok(w)
                    } else {
                        Err(file_err(
                            &w,
                            format!("epoch {e} is in the ensemble but its weights are missing"),
                        ))
                    }
                })
                .collect();
        }
        Ok(
            (last.epoch.saturating_sub(self.cfg.keep_last - 1)..=last.epoch)
                .map(|e| self.checkpoint_files(e).0)
                .filter(|p| p.exists())
                .collect(),
        )
    }

    /// Mean loss over `indices` in evaluation mode.
    pub fn loss_on(&self, src: &dyn Source, indices: &[usize]) -> Result<f64> {
        Ok(self.evaluate_on(src, indices)?.0)
    }

    /// Mean loss and accuracy over `indices` in evaluation mode (accuracy as
    /// [`EpochRecord::val_accuracy`] defines it; NaN for regression).
    pub fn evaluate_on(&self, src: &dyn Source, indices: &[usize]) -> Result<(f64, f64)> {
        let (mut sum, mut right) = (0.0, 0usize);
        for chunk in indices.chunks(self.cfg.batch_size) {
            let out = predict_batch(self.model, src, chunk, &self.device)?;
            let y = targets_of(src.targets(), chunk, &self.device)?;
            sum += self
                .task
                .loss(&out, &y)?
                .to_dtype(DType::F64)?
                .to_scalar::<f64>()?
                * chunk.len() as f64;
            if let Targets::Classes(c) = src.targets() {
                let out = out.to_dtype(DType::F32)?.to_vec2::<f32>()?;
                right += chunk
                    .iter()
                    .zip(&out)
                    .filter(|(&i, o)| predicted_class(o) == c[i])
                    .count();
            }
        }
        let n = indices.len().max(1) as f64;
        let accuracy = match self.task {
            Task::Binary | Task::MultiClass { .. } => right as f64 / n,
            Task::Regression { .. } | Task::MeanSquared => f64::NAN,
        };
        Ok((sum / n, accuracy))
    }
}

/// The class an output row predicts: logit > 0 → 1 for one output, else the largest output's
/// index.
fn predicted_class(row: &[f32]) -> u32 {
    match row {
        [logit] => u32::from(*logit > 0.0),
        _ => {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 {
                        (i, v)
                    } else {
                        best
                    }
                })
                .0 as u32
        }
    }
}

/// Suffix of the temporary file [`atomic`] writes before renaming it into place.
pub const TMP_SUFFIX: &str = ".tmp";

/// Writes a file through a temporary name and a rename, so a reader never sees a partial file,
/// and makes it durable: the temporary file is fsynced before the rename and the directory after
/// it, so after a power loss the file is either absent or complete (checkpoints write their
/// tensors first and the JSON that makes them visible last).
pub fn atomic(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(TMP_SUFFIX);
    let tmp = PathBuf::from(tmp);
    write(&tmp)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| file_err(&tmp, format!("cannot flush the file to disk: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        file_err(
            path,
            format!("cannot move the finished file into place: {e}"),
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| file_err(dir, format!("cannot flush the directory to disk: {e}")))
}

/// Removes the temporary files an interrupted [`atomic`] write left in `dir` (never visible as
/// checkpoints: their JSON is written last); returns how many.
pub fn remove_stale_temporaries(dir: &Path) -> Result<usize> {
    let mut n = 0;
    let entries = std::fs::read_dir(dir).map_err(|e| file_err(dir, e))?;
    for e in entries.flatten() {
        let p = e.path();
        let stale = p
            .file_name()
            .and_then(|s| s.to_str())
            .is_some_and(|s| s.ends_with(TMP_SUFFIX));
        if stale && p.is_file() {
            std::fs::remove_file(&p)
                .map_err(|e| file_err(&p, format!("cannot remove a stale temporary file: {e}")))?;
            n += 1;
        }
    }
    Ok(n)
}

fn predict_batch(
    model: &Model,
    src: &dyn Source,
    idx: &[usize],
    device: &Device,
) -> Result<Tensor> {
    let item = src.item_shape();
    let mut buf = vec![0f32; idx.len() * item.iter().product::<usize>()];
    src.fill(idx, None, &mut buf)?;
    let x = tensor_of(buf, idx.len(), &item, device)?;
    Ok(model.forward(&x, &Ctx::eval())?)
}

/// Eval-mode outputs `(len, outputs)` of `indices` (the network's raw outputs: logits or
/// regression values), in batches of `batch`.
pub fn predict(
    model: &Model,
    src: &dyn Source,
    indices: &[usize],
    batch: usize,
    device: &Device,
) -> Result<Array2<f32>> {
    if batch == 0 {
        return Err(config_err("batch", batch, "≥ 1"));
    }
    let mut rows = Vec::new();
    let mut width = 0;
    for chunk in indices.chunks(batch) {
        crate::cancel::check()?;
        let y = predict_batch(model, src, chunk, device)?
            .to_dtype(DType::F32)?
            .flatten_from(1)?;
        width = y.dim(1)?;
        rows.extend(y.flatten_all()?.to_vec1::<f32>()?);
    }
    Ok(Array2::from_shape_vec((indices.len(), width), rows).expect("one row of outputs per event"))
}

/// Eval-mode outputs of an ensemble: for each weights file (a kept checkpoint, oldest first) the
/// outputs `(len, outputs)` of `indices`, the weights loaded into `params` in turn; the last file's
/// weights stay loaded.
pub fn predict_ensemble(
    model: &Model,
    params: &Params,
    weights: &[PathBuf],
    src: &dyn Source,
    indices: &[usize],
    batch: usize,
    device: &Device,
) -> Result<Vec<Array2<f32>>> {
    if weights.is_empty() {
        return Err(Error::Data("an ensemble of no checkpoints".into()));
    }
    weights
        .iter()
        .map(|w| {
            params.load(w, &[])?;
            predict(model, src, indices, batch, device)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Non-finite losses (an empty validation split) survive the JSON round trip; `null` from
    /// older files reads as NaN; other strings are errors.
    #[test]
    fn digests_and_config_changes() {
        // FNV-1a 64 of "a" (the FNV specification's test vector).
        assert_eq!(FileDigest::of_bytes(b"a").fnv1a64, 0xaf63_dc4c_8601_ec8c);
        assert_eq!(FileDigest::of_bytes(b"").bytes, 0);
        let d = FileDigest::of_bytes(b"xyz");
        let back: FileDigest = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
        let a = TrainConfig::default();
        assert!(config_changes(&a, &a).is_empty());
        let more = TrainConfig {
            epochs: a.epochs + 5,
            progress: !a.progress,
            ..a.clone()
        };
        assert!(config_changes(&a, &more).is_empty());
        let fewer = TrainConfig {
            epochs: 2,
            batch_size: 7,
            ..a.clone()
        };
        let c = config_changes(&a, &fewer);
        assert_eq!(c.len(), 2, "{c:?}");
        assert!(c.iter().any(|x| x.starts_with("epochs: 10 → 2")), "{c:?}");
        assert!(
            c.iter().any(|x| x.starts_with("batch_size: 32 → 7")),
            "{c:?}"
        );
    }

    #[test]
    fn non_finite_losses_round_trip_through_json() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.25] {
            let r = EpochRecord {
                epoch: 1,
                lr: 1e-3,
                weight_decay: 0.0,
                train_loss: 0.5,
                val_loss: v,
                val_accuracy: v,
                events_per_s: 10.0,
            };
            let back: EpochRecord =
                serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            assert!(
                back.val_loss == v || (v.is_nan() && back.val_loss.is_nan()),
                "{v}"
            );
        }
        let old = r#"{"epoch":0,"lr":0.1,"train_loss":1.0,"val_loss":null,"events_per_s":3.0}"#;
        let old = serde_json::from_str::<EpochRecord>(old).unwrap();
        // Older records have no accuracy: NaN.
        assert!(old.val_loss.is_nan() && old.val_accuracy.is_nan());
        let bad = r#"{"epoch":0,"lr":0.1,"train_loss":"lots","val_loss":1.0,"events_per_s":3.0}"#;
        assert!(serde_json::from_str::<EpochRecord>(bad).is_err());
    }
}
