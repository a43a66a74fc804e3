//! # rareml
//!
//! Machine learning on rare-event detector data: read the detector's files, turn events into
//! tensors, train CNNs with candle, measure the physics figures of merit and compare with the
//! classical analyses, for NEWSdm (nuclear emulsion), PandaX-III (high-pressure xenon TPC) and the
//! SHiP target tracker.
//!
//! This crate re-exports the workspace's libraries under short names, and holds the experiment
//! pipelines ([`experiments`]) and their reports and plots ([`report`]); see
//! `docs/architecture.md`.

#![warn(missing_docs)]

pub use rareml_baselines as baselines;
pub use rareml_io as io;
pub use rareml_kernels as kernels;
pub use rareml_metrics as metrics;
pub use rareml_models as models;
pub use rareml_preprocess as preprocess;
pub use rareml_sim as sim;
pub use rareml_train as train;

pub mod experiments;
pub mod report;
