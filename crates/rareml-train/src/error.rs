//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong training or evaluating.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model error (shapes, weights files).
    #[error(transparent)]
    Model(#[from] rareml_models::Error),
    /// A candle error.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// A source that could not fill a batch (its own error: a detector file, preprocessing).
    #[error("source: {0}")]
    Source(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A training configuration value outside its allowed range.
    #[error("invalid training configuration: {field} = {value} ({allowed})")]
    Config {
        /// Offending field.
        field: &'static str,
        /// Its value.
        value: String,
        /// The allowed values.
        allowed: &'static str,
    },
    /// Data that does not fit the task (shapes, labels, empty sets).
    #[error("data: {0}")]
    Data(String),
    /// Stopped on request ([`crate::cancel::request`], e.g. Ctrl-C) between batches.
    #[error("interrupted: training or evaluation stopped on request (the checkpoints written so far are kept; run again to resume)")]
    Interrupted,
    /// The loss became NaN or infinite.
    #[error("loss is {loss} at epoch {epoch}, batch {batch}: training stopped (lower the learning rate or check the inputs for NaN)")]
    NotFinite {
        /// Epoch (0-based).
        epoch: usize,
        /// Batch within the epoch (0-based).
        batch: usize,
        /// The loss value.
        loss: f64,
    },
    /// A file that cannot be written or read.
    #[error("{}: {reason}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Result with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// The [`Error::Config`] of `field = value`, allowed `allowed`.
pub(crate) fn config_err(
    field: &'static str,
    value: impl std::fmt::Debug,
    allowed: &'static str,
) -> Error {
    Error::Config {
        field,
        value: format!("{value:?}"),
        allowed,
    }
}

pub(crate) fn file_err(path: &std::path::Path, reason: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}
