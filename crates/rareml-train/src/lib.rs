//! Training loop, Adam with schedules, atomic checkpoints with exact resume, ensembles,
//! threshold choice, reports and plots for the rareml networks.

pub mod data;
pub mod error;
pub mod eval;
pub mod optim;
pub mod plot;
pub mod sources;
pub mod trainer;

pub use data::{Augment, InMemory, Source, Split, Targets};
pub use error::{Error, Result};
pub use optim::{Adam, AdamConfig, Decay, Schedule};
pub use sources::EmulsionSource;
pub use trainer::{atomic, mix, predict, CheckpointState, EpochRecord, Task, TrainConfig, Trainer};
