//! `rareml.models`: the three networks from PyTorch-named safetensors weights, applied to numpy
//! batches in eval mode.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use numpy::{IntoPyArray, PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::prelude::*;

use rareml_models::{Ctx, Model as RsModel, ModelConfig, Params};

use crate::{check_signals, detached, Kind, PyResultExt};

/// A loaded network.
#[pyclass(module = "rareml._rareml", frozen)]
struct Model {
    name: String,
    model: RsModel,
    params: Params,
    config_json: String,
}

/// Builds `model` (`"newsnet"`, `"efficientnet"`, `"sndnet"`, `"resnet"` or `"densenet"`) with the
/// configuration `config_json`
/// (the model's fields as JSON; `None` = the paper's) or the JSON/TOML file `config_path`, and
/// loads the safetensors file `weights` (PyTorch state_dict names). When `weights` is a training
/// run's output directory, its `run.json` gives the configuration and kept checkpoint
/// `checkpoint` (an index into the kept ones, oldest first; default the last) is loaded.
#[pyfunction]
#[pyo3(signature = (model, weights, config_json = None, config_path = None, checkpoint = None))]
fn load(
    py: Python<'_>,
    model: &str,
    weights: PathBuf,
    config_json: Option<String>,
    config_path: Option<PathBuf>,
    checkpoint: Option<i64>,
) -> PyResult<Model> {
    let name = model.to_string();
    detached(py, "models.load", move || {
        let (cfg, weights) = if weights.is_dir() {
            if config_json.is_some() || config_path.is_some() {
                return Err(Kind::InvalidArgument.err(format!(
                    "{}: a run directory carries its own config (run.json); give no config",
                    weights.display()
                )));
            }
            run_checkpoint(&name, &weights, checkpoint)?
        } else {
            if checkpoint.is_some() {
                return Err(Kind::InvalidArgument.err(format!(
                    "checkpoint: only for a run directory; {} is a file",
                    weights.display()
                )));
            }
            let cfg = match (&config_json, &config_path) {
                (Some(j), None) => {
                    ModelConfig::from_json(&name, j, Path::new("<config dict>")).py()?
                }
                (None, Some(p)) => ModelConfig::from_file(&name, p).py()?,
                (None, None) => ModelConfig::default_for(&name).py()?,
                (Some(_), Some(_)) => {
                    return Err(Kind::InvalidArgument.err("config: give a dict or a path, not both"))
                }
            };
            (cfg, weights)
        };
        cfg.validate().py()?;
        let params = Params::new(0);
        let m = RsModel::new(&cfg, &params, &Device::Cpu).py()?;
        // The fixtures carry their PyTorch input and output beside the weights.
        params
            .load(&weights, &["input", "logits", "logits_f64"])
            .py()?;
        let config_json = serde_json::to_string(&cfg)
            .map_err(|e| Kind::Internal.err(format!("serialising the config: {e}")))?;
        Ok(Model {
            name,
            model: m,
            params,
            config_json,
        })
    })
}

/// The network config and the weights file of kept checkpoint `k` (negative: from the end) of
/// the run directory `dir`, checked to be a `name` network.
fn run_checkpoint(name: &str, dir: &Path, k: Option<i64>) -> PyResult<(ModelConfig, PathBuf)> {
    use crate::PyResultExt as _;
    let (manifest, _) = rareml::experiments::predict::RunManifest::read(dir).py()?;
    let cfg = manifest.network.config;
    if cfg.name() != name {
        return Err(Kind::InvalidArgument.err(format!(
            "{}: the run trained a {} network ({} experiment), not {name}",
            dir.display(),
            cfg.name(),
            manifest.experiment
        )));
    }
    let kept = &manifest.network.checkpoints;
    let n = kept.len() as i64;
    let k = k.unwrap_or(-1);
    let i = if k < 0 { n + k } else { k };
    if !(0..n).contains(&i) {
        return Err(Kind::Index.err(format!(
            "checkpoint {k}: the run keeps {n} checkpoint(s) (expected -{n} <= checkpoint < {n})"
        )));
    }
    Ok((cfg, dir.join(&kept[i as usize])))
}

#[pymethods]
impl Model {
    /// The network's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The configuration as JSON (the Python side makes it a dict).
    #[getter]
    fn config_json(&self) -> &str {
        &self.config_json
    }

    /// Trainable scalars (PyTorch's `sum(p.numel() for p in model.parameters())`).
    fn parameter_count(&self) -> usize {
        self.params.trainable_count()
    }

    /// Outputs (float32, `(N, outputs)`) of the batch `x` (float32, `(N, …)` the model's input
    /// layout), in eval mode, `batch_size` events at a time; Ctrl-C is answered between batches.
    #[pyo3(signature = (x, batch_size = 32))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        batch_size: usize,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        // float32 arrays are read in place; anything else array-like is converted once.
        let x: PyReadonlyArrayDyn<'py, f32> = match x.extract() {
            Ok(a) => a,
            Err(_) => py
                .import("numpy")?
                .call_method1("ascontiguousarray", (x, "float32"))
                .and_then(|a| a.extract())
                .map_err(|e| {
                    Kind::InvalidArgument.err(format!("x: not convertible to a float32 array: {e}"))
                })?,
        };
        if batch_size == 0 {
            return Err(Kind::InvalidArgument.err("batch_size: 0; expected at least 1"));
        }
        let view = x.as_array();
        if view.ndim() < 2 {
            return Err(Kind::InvalidArgument.err(format!(
                "x: shape {:?}; expected a batch (N, …) of {} inputs",
                view.shape(),
                self.name
            )));
        }
        if let Some((i, v)) = view.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Kind::InvalidArgument.err(format!(
                "x: element {i} (flat index) is {v}: expected finite inputs"
            )));
        }
        let out = detached(py, "Model.predict", || {
            let n = view.shape()[0];
            let sample: Vec<usize> = view.shape()[1..].to_vec();
            let per = sample.iter().product::<usize>();
            let owned;
            let flat = match view.as_slice() {
                Some(s) => s,
                None => {
                    owned = view.iter().copied().collect::<Vec<f32>>();
                    &owned
                }
            };
            let mut outputs: Vec<f32> = Vec::new();
            let mut width = 0;
            let mut start = 0;
            while start < n {
                let stop = (start + batch_size).min(n);
                let mut dims = vec![stop - start];
                dims.extend_from_slice(&sample);
                let t = Tensor::from_slice(&flat[start * per..stop * per], dims, &Device::Cpu)
                    .map_err(|e| candle_err(&self.name, e))?;
                let y = self
                    .model
                    .forward(&t, &Ctx::eval())
                    .map_err(|e| shape_err(&self.name, &sample, e))?;
                width = y.dims()[1..].iter().product();
                let y = y
                    .flatten_all()
                    .and_then(|y| y.to_vec1::<f32>())
                    .map_err(|e| candle_err(&self.name, e))?;
                outputs.extend(y);
                start = stop;
                check_signals()?;
            }
            let a = ndarray::Array2::from_shape_vec((n, width), outputs)
                .map_err(|e| Kind::Internal.err(format!("predict: {e}")))?;
            Ok(a.into_dyn())
        })?;
        Ok(out.into_pyarray(py))
    }

    fn __repr__(&self) -> String {
        format!(
            "Model({:?}, parameters={})",
            self.name,
            self.params.trainable_count()
        )
    }
}

fn candle_err(name: &str, e: candle_core::Error) -> PyErr {
    Kind::Internal.err(format!("{name}: {e}"))
}

fn shape_err(name: &str, sample: &[usize], e: rareml_models::Error) -> PyErr {
    Kind::InvalidArgument.err(format!(
        "{name}: cannot apply to inputs of shape {sample:?} per event: {e}"
    ))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_class::<Model>()?;
    Ok(())
}
