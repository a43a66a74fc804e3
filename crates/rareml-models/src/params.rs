//! Parameter store: a candle [`VarMap`] whose new variables are initialised from a seeded
//! generator, saved and loaded as safetensors under PyTorch `state_dict` names.

use crate::error::{Error, Result};
use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::init::{FanInOut, NormalOrUniform};
use candle_nn::{Init, VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Suffixes of BatchNorm buffers: stored and loaded with the weights, never trained.
const BUFFER_SUFFIXES: [&str; 2] = ["running_mean", "running_var"];

/// Names PyTorch checkpoints carry that hold no model value (BatchNorm's batch counter).
const IGNORED_SUFFIXES: [&str; 1] = ["num_batches_tracked"];

/// The variables of one model, created in construction order from a seeded generator.
#[derive(Clone)]
pub struct Params {
    map: VarMap,
    rng: Arc<Mutex<ChaCha8Rng>>,
}

impl Params {
    /// An empty store whose initial values are drawn from a generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            map: VarMap::new(),
            rng: Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed))),
        }
    }

    /// A [`VarBuilder`] creating (or returning existing) variables of `dtype` on `device`.
    pub fn var_builder(&self, dtype: DType, device: &Device) -> VarBuilder<'static> {
        VarBuilder::from_backend(Box::new(self.clone()), dtype, device.clone())
    }

    /// The underlying variable map.
    pub fn var_map(&self) -> &VarMap {
        &self.map
    }

    /// Every variable by name (parameters and BatchNorm running statistics), sorted by name.
    pub fn named(&self) -> BTreeMap<String, Var> {
        let data = self.map.data().lock().expect("parameter map lock");
        data.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Trainable variables (BatchNorm running statistics excluded), sorted by name.
    pub fn trainable(&self) -> Vec<Var> {
        self.named()
            .into_iter()
            .filter(|(k, _)| !is_buffer(k))
            .map(|(_, v)| v)
            .collect()
    }

    /// Number of trainable scalars (PyTorch's `sum(p.numel() for p in parameters())`).
    pub fn trainable_count(&self) -> usize {
        self.trainable().iter().map(|v| v.elem_count()).sum()
    }

    /// Number of all stored scalars, running statistics included (Keras' `count_params()`).
    pub fn total_count(&self) -> usize {
        self.named().values().map(|v| v.elem_count()).sum()
    }

    /// Writes every variable to a safetensors file under its name.
    pub fn save(&self, path: &Path) -> Result<()> {
        let tensors: std::collections::HashMap<String, Tensor> = self
            .named()
            .into_iter()
            .map(|(k, v)| (k, v.as_tensor().clone()))
            .collect();
        candle_core::safetensors::save(&tensors, path).map_err(|e| Error::File {
            path: path.to_path_buf(),
            reason: format!("cannot write weights: {e}"),
        })
    }

    /// Loads every variable from a safetensors file (any float dtype; converted to the variable's).
    /// Tensors named in `ignore` (e.g. a fixture's `input` and `logits`) and PyTorch's
    /// `num_batches_tracked` are skipped; any other difference between the file and the model
    /// (missing, unexpected or wrongly shaped tensors) is an error listing every offending name,
    /// and nothing is loaded.
    pub fn load(&self, path: &Path, ignore: &[&str]) -> Result<()> {
        let file = candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| Error::File {
            path: path.to_path_buf(),
            reason: format!("not a readable safetensors file: {e}"),
        })?;
        let vars = self.named();
        let mut missing = Vec::new();
        let mut mismatched = Vec::new();
        for (name, var) in &vars {
            match file.get(name) {
                None => missing.push(name.clone()),
                Some(t) if t.dims() != var.dims() => mismatched.push(format!(
                    "{name}: file {:?} vs model {:?}",
                    t.dims(),
                    var.dims()
                )),
                Some(_) => {}
            }
        }
        let ignore: BTreeSet<&str> = ignore.iter().copied().collect();
        let mut unexpected: Vec<String> = file
            .keys()
            .filter(|k| {
                !vars.contains_key(*k)
                    && !ignore.contains(k.as_str())
                    && !IGNORED_SUFFIXES.iter().any(|s| k.ends_with(s))
            })
            .cloned()
            .collect();
        unexpected.sort();
        if !(missing.is_empty() && mismatched.is_empty() && unexpected.is_empty()) {
            return Err(Error::WeightsMismatch {
                path: path.to_path_buf(),
                missing,
                unexpected,
                mismatched,
            });
        }
        for (name, var) in &vars {
            let t = &file[name];
            if !t.dtype().is_float() {
                return Err(Error::File {
                    path: path.to_path_buf(),
                    reason: format!("tensor {name}: expected a float dtype, got {:?}", t.dtype()),
                });
            }
            let t = t.to_dtype(var.dtype())?.to_device(var.device())?;
            var.set(&t)?;
        }
        Ok(())
    }
}

/// True for BatchNorm running statistics.
pub fn is_buffer(name: &str) -> bool {
    BUFFER_SUFFIXES.iter().any(|s| name.ends_with(s))
}

fn sample(rng: &mut ChaCha8Rng, init: Init, shape: &Shape) -> Vec<f64> {
    let n = shape.elem_count();
    match init {
        Init::Const(v) => vec![v; n],
        Init::Uniform { lo, up } => (0..n).map(|_| rng.random_range(lo..up)).collect(),
        Init::Randn { mean, stdev } => (0..n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                mean + stdev * z
            })
            .collect(),
        Init::Kaiming {
            dist,
            fan,
            non_linearity,
        } => {
            let fan = match fan {
                FanInOut::FanIn => fan.for_shape(shape),
                FanInOut::FanOut => fan.for_shape(shape),
            };
            let std = non_linearity.gain() / (fan.max(1) as f64).sqrt();
            match dist {
                NormalOrUniform::Uniform => {
                    let bound = 3f64.sqrt() * std;
                    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
                }
                NormalOrUniform::Normal => (0..n)
                    .map(|_| {
                        let z: f64 = StandardNormal.sample(rng);
                        std * z
                    })
                    .collect(),
            }
        }
    }
}

impl candle_nn::var_builder::SimpleBackend for Params {
    fn get(
        &self,
        s: Shape,
        name: &str,
        h: Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let mut data = self.map.data().lock().expect("parameter map lock");
        if let Some(v) = data.get(name) {
            if v.shape() != &s {
                candle_core::bail!(
                    "parameter {name} exists with shape {:?}, requested {:?}",
                    v.dims(),
                    s.dims()
                );
            }
            return Ok(v.as_tensor().clone());
        }
        let values = {
            let mut rng = self.rng.lock().expect("parameter generator lock");
            sample(&mut rng, h, &s)
        };
        let t = Tensor::from_vec(values, s, dev)?.to_dtype(dtype)?;
        let var = Var::from_tensor(&t)?;
        let out = var.as_tensor().clone();
        data.insert(name.to_string(), var);
        Ok(out)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let data = self.map.data().lock().expect("parameter map lock");
        match data.get(name) {
            Some(v) => v.as_tensor().to_dtype(dtype)?.to_device(dev),
            None => candle_core::bail!("parameter {name} does not exist"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.map
            .data()
            .lock()
            .expect("parameter map lock")
            .contains_key(name)
    }
}
