//! Training data: a [`Source`] of events (in memory or streamed from a file), the targets of a
//! task, and the train/validation/test split recorded with a run.

use crate::error::{config_err, Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
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

/// Values per item of shape `item`, after checking that `out` holds one item per index.
fn check_buffer(item: &[usize], indices: &[usize], out: &[f32]) -> Result<usize> {
    let per: usize = item.iter().product();
    if out.len() != indices.len() * per {
        return Err(Error::Data(format!(
            "batch buffer of {} values for {} events of {per}",
            out.len(),
            indices.len()
        )));
    }
    Ok(per)
}

/// An augmentation: modifies one event's input in place given a seed unique to (epoch seed, event).
pub type Augment = Box<dyn Fn(&mut [f32], u64) + Send + Sync>;

/// Turns one stored event into the network's input `(stored, out)`: e.g. nearest-neighbour
/// upsampling, so a source holds images at their native size and not ×f² larger.
pub type Expand = Box<dyn Fn(&[f32], &mut [f32]) + Send + Sync>;

/// Inputs held in memory, `(N, item…)` row-major.
pub struct InMemory {
    inputs: Vec<f32>,
    item: Vec<usize>,
    targets: Targets,
    augment: Option<Augment>,
    /// The network input's shape and the step that makes it from a stored item.
    expand: Option<(Vec<usize>, Expand)>,
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
            expand: None,
        })
    }

    /// Makes each event's network input of shape `item` from its stored values with `f`, before
    /// any augmentation (which then sees `item`). Errors on an empty shape.
    pub fn with_expand(mut self, item: Vec<usize>, f: Expand) -> Result<Self> {
        if item.iter().product::<usize>() == 0 {
            return Err(config_err(
                "expanded item shape",
                &item,
                "no zero or missing axis",
            ));
        }
        self.expand = Some((item, f));
        Ok(self)
    }

    /// Adds an augmentation applied to training batches.
    pub fn with_augment(mut self, f: Augment) -> Self {
        self.augment = Some(f);
        self
    }

    /// The stored values, `(N, stored item…)` (before [`InMemory::with_expand`]'s step).
    pub fn inputs(&self) -> &[f32] {
        &self.inputs
    }

    /// Shape of one stored event (the network input's is [`Source::item_shape`]).
    pub fn stored_shape(&self) -> &[usize] {
        &self.item
    }

    /// Shape of one event's network input: the expanded shape, or the stored one.
    fn input_shape(&self) -> &[usize] {
        match &self.expand {
            Some((item, _)) => item,
            None => &self.item,
        }
    }
}

impl Source for InMemory {
    fn len(&self) -> usize {
        self.targets.len()
    }

    fn item_shape(&self) -> Vec<usize> {
        self.input_shape().to_vec()
    }

    fn targets(&self) -> &Targets {
        &self.targets
    }

    fn fill(&self, indices: &[usize], augment_seed: Option<u64>, out: &mut [f32]) -> Result<()> {
        let per = check_buffer(self.input_shape(), indices, out)?;
        let stored: usize = self.item.iter().product();
        if let Some(&i) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(Error::Data(format!(
                "event {i} out of range (source has {})",
                self.len()
            )));
        }
        out.par_chunks_mut(per)
            .zip(indices.par_iter())
            .for_each(|(slot, &i)| {
                let values = &self.inputs[i * stored..(i + 1) * stored];
                match &self.expand {
                    Some((_, f)) => f(values, slot),
                    None => slot.copy_from_slice(values),
                }
                if let (Some(f), Some(seed)) = (&self.augment, augment_seed) {
                    f(slot, crate::mix(seed, i as u64));
                }
            });
        Ok(())
    }
}

/// The batch filler of a [`FnSource`]: `fill(indices, augment_seed, out)`.
pub type FillFn<'a> = dyn Fn(
        &[usize],
        Option<u64>,
        &mut [f32],
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>
    + Send
    + Sync
    + 'a;

/// A source defined by a batch filler from elsewhere — a detector's streamed file reader (e.g.
/// `rareml_preprocess::emulsion::ClusterSource`) — with its item shape and targets. The filler
/// writes `indices.len()` items into `out`, augmented from `augment_seed` when given.
pub struct FnSource<'a> {
    item: Vec<usize>,
    targets: Targets,
    fill: Box<FillFn<'a>>,
}

impl<'a> FnSource<'a> {
    /// A source of `targets.len()` events of shape `item`, filled by `fill`.
    pub fn new<F, E>(item: Vec<usize>, targets: Targets, fill: F) -> Self
    where
        F: Fn(&[usize], Option<u64>, &mut [f32]) -> std::result::Result<(), E> + Send + Sync + 'a,
        E: std::error::Error + Send + Sync + 'static,
    {
        Self {
            item,
            targets,
            fill: Box::new(move |i, s, o| fill(i, s, o).map_err(|e| e.into())),
        }
    }
}

impl Source for FnSource<'_> {
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
        check_buffer(&self.item, indices, out)?;
        (self.fill)(indices, augment_seed, out).map_err(Error::Source)
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
    /// Checks split fractions: each in [0, 1), their sum below 1 (some events train).
    pub fn validate_fractions(val: f64, test: f64) -> Result<()> {
        if !(0.0..1.0).contains(&val) {
            return Err(config_err("split.val", val, "in [0, 1)"));
        }
        if !(0.0..1.0).contains(&test) {
            return Err(config_err(
                "split.test",
                test,
                "in [0, 1) with val + test < 1",
            ));
        }
        if val + test >= 1.0 {
            return Err(config_err(
                "split.test",
                test,
                "below 1 − val (some events must train)",
            ));
        }
        Ok(())
    }

    /// A random split of `n` events with fractions `val` and `test` (the rest trains).
    pub fn random(n: usize, val: f64, test: f64, seed: u64) -> Result<Self> {
        Self::validate_fractions(val, test)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Two events of one row of 2 values, stored; expanded to 2 × 2 by repeating the row.
    fn repeated_rows() -> InMemory {
        InMemory::new(
            vec![1.0, 2.0, 3.0, 4.0],
            vec![1, 2],
            Targets::Classes(vec![0, 1]),
        )
        .unwrap()
        .with_expand(
            vec![2, 2],
            Box::new(|stored: &[f32], out: &mut [f32]| {
                out[..2].copy_from_slice(stored);
                out[2..].copy_from_slice(stored);
            }),
        )
        .unwrap()
    }

    #[test]
    fn expand_makes_the_network_input_before_the_augmentation() {
        let src = repeated_rows().with_augment(Box::new(|v: &mut [f32], _| v[0] = -v[0]));
        assert_eq!(src.item_shape(), vec![2, 2]);
        assert_eq!(src.stored_shape(), &[1, 2]);
        assert_eq!(src.inputs().len(), 4);
        let mut out = vec![0.0; 8];
        src.fill(&[1, 0], None, &mut out).unwrap();
        assert_eq!(out, [3.0, 4.0, 3.0, 4.0, 1.0, 2.0, 1.0, 2.0]);
        src.fill(&[1, 0], Some(5), &mut out).unwrap();
        assert_eq!(out, [-3.0, 4.0, 3.0, 4.0, -1.0, 2.0, 1.0, 2.0]);
        // A buffer sized for the stored items is refused, not half filled.
        let err = src.fill(&[1, 0], None, &mut [0.0; 4]).unwrap_err();
        assert!(
            err.to_string().contains("4 values for 2 events of 4"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_expanded_shape_is_refused() {
        let src = InMemory::new(vec![1.0, 2.0], vec![2], Targets::Classes(vec![0])).unwrap();
        let err = src
            .with_expand(vec![2, 0], Box::new(|_: &[f32], _: &mut [f32]| {}))
            .err()
            .expect("a zero axis is refused");
        assert!(err.to_string().contains("expanded item shape"), "{err}");
    }
}
