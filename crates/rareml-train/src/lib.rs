//! Detector-agnostic training of the rareml networks (or any [`rareml_models::Model`]): a
//! [`Source`] of events and a [`Split`], Adam with L2 or decoupled decay and per-epoch schedules,
//! batches prepared on a thread ahead of the model, atomic checkpoints every epoch with exact
//! resume, K checkpoints kept as an ensemble (the last K, or the PandaX-III paper's best-validation
//! rule: [`EnsembleRule`]), and eval-mode prediction.
//!
//! Detector sources and augmentations live with the detector (`rareml-preprocess`), the metrics
//! in `rareml-metrics`, reports and plots in the `rareml` package.

#![warn(missing_docs)]

pub mod cancel;
pub mod data;
pub mod ensemble;
pub mod error;
pub mod optim;
pub mod trainer;

pub use data::{Augment, Expand, FnSource, InMemory, Source, Split, Targets};
pub use ensemble::EnsembleRule;
pub use error::{Error, Result};
pub use optim::{Adam, AdamConfig, Decay, Schedule, WeightDecaySchedule};
pub use trainer::{
    atomic, config_changes, mix, predict, predict_ensemble, CheckpointState, EpochRecord,
    FileDigest, Task, TrainConfig, Trainer,
};
