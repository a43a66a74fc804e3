//! Training data: a [`Source`] of events (in memory or streamed from a file), the targets of a
//! task, and the train/validation/test split recorded with a run.

use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Targets of every event of a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Targets {
    /// Class index per event (multi-class and binary tasks; binary uses 0/1).
    Classes(Vec<u32>),
    /// `width` regression targets per event, row-major.
    Values {
        /// Values, `len = events × width`.
        data: Vec<f32>,
        /// Targets per event.
        width: usize,
    },
}

impl Targets {
    /// Number of events.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(c) => c.len(),
            Targets::Values { data, width } => data.len() / width.max(&1),
        }
    }

    /// True when there are no events.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Events a trainer reads by index. Implementations fill a preallocated f32 buffer with the
/// model inputs of a list of events, applying augmentation drawn from `augment_seed` (and each
/// event's index) when given — so a batch does not depend on threads or batching.
pub trait Source: Sync {
    /// Number of events.
    fn len(&self) -> usize;
    /// True when there are no events.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Shape of one event's input (without the batch axis).
    fn item_shape(&self) -> Vec<usize>;
    /// The targets of all events.
    fn targets(&self) -> &Targets;
    /// Writes the inputs of `indices` into `out` (`indices.len() × item` values).
    fn fill(&self, indices: &[usize], augment_seed: Option<u64>, out: &mut [f32]) -> Result<()>;
}

/// An augmentation: modifies one event's input in place given a seed unique to (epoch seed, event).
pub type Augment = Box<dyn Fn(&mut [f32], u64) + Send + Sync>;

/// Inputs held in memory, `(N, item…)` row-major.
pub struct InMemory {
    inputs: Vec<f32>,
    item: Vec<usize>,
    targets: Targets,
    augment: Option<Augment>,
}

impl InMemory {
    /// Inputs `(N, item…)` and their targets; errors when the sizes disagree or a value is not finite.
    pub fn new(inputs: Vec<f32>, item: Vec<usize>, targets: Targets) -> Result<Self> {
        let per: usize = item.iter().product();
        if per == 0 || !inputs.len().is_multiple_of(per) || inputs.len() / per != targets.len() {
            return Err(Error::Data(format!(
                "{} input values do not make {} events of shape {item:?}",
                inputs.len(),
                targets.len()
            )));
        }
        if let Some(i) = inputs.iter().position(|v| !v.is_finite()) {
            return Err(Error::Data(format!(
                "input value {} of event {} is not finite",
                inputs[i],
                i / per
            )));
        }
        if let Targets::Values { data, .. } = &targets {
            if let Some(i) = data.iter().position(|v| !v.is_finite()) {
                return Err(Error::Data(format!(
                    "target value {i} is not finite ({})",
                    data[i]
                )));
            }
        }
        Ok(Self {
            inputs,
            item,
            targets,
            augment: None,
        })
    }

    /// Adds an augmentation applied to training batches.
    pub fn with_augment(mut self, f: Augment) -> Self {
        self.augment = Some(f);
        self
    }

    /// The input values.
    pub fn inputs(&self) -> &[f32] {
        &self.inputs
    }
}

impl Source for InMemory {
    fn len(&self) -> usize {
        self.targets.len()
    }

    fn item_shape(&self) -> Vec<usize> {
        self.item.clone()
    }

    fn targets(&self) -> &Targets {
        &self.targets
    }

    fn fill(&self, indices: &[usize], augment_seed: Option<u64>, out: &mut [f32]) -> Result<()> {
        let per: usize = self.item.iter().product();
        if out.len() != indices.len() * per {
            return Err(Error::Data(format!(
                "batch buffer of {} values for {} events of {per}",
                out.len(),
                indices.len()
            )));
        }
        for (slot, &i) in out.chunks_mut(per).zip(indices) {
            if i >= self.len() {
                return Err(Error::Data(format!(
                    "event {i} out of range (source has {})",
                    self.len()
                )));
            }
            slot.copy_from_slice(&self.inputs[i * per..(i + 1) * per]);
            if let (Some(f), Some(seed)) = (&self.augment, augment_seed) {
                f(slot, crate::mix(seed, i as u64));
            }
        }
        Ok(())
    }
}

/// Event indices of the training, validation and test sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Training events.
    pub train: Vec<usize>,
    /// Validation events (threshold choice, model selection).
    pub val: Vec<usize>,
    /// Test events (the reported figures).
    pub test: Vec<usize>,
}

impl Split {
    /// A random split of `n` events with fractions `val` and `test` (the rest trains).
    pub fn random(n: usize, val: f64, test: f64, seed: u64) -> Result<Self> {
        if !(0.0..1.0).contains(&val) || !(0.0..1.0).contains(&test) || val + test >= 1.0 {
            return Err(Error::Config {
                field: "split".into(),
                reason: format!(
                    "validation {val} and test {test} fractions must be ≥ 0 and sum below 1"
                ),
            });
        }
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let nv = (n as f64 * val).round() as usize;
        let nt = (n as f64 * test).round() as usize;
        let split = Self {
            val: idx[..nv].to_vec(),
            test: idx[nv..nv + nt].to_vec(),
            train: idx[nv + nt..].to_vec(),
        };
        if split.train.is_empty() {
            return Err(Error::Data(format!("{n} events leave no training events")));
        }
        Ok(split)
    }
}
