//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong building, loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error raised by candle (shape mismatch inside an operation, device error, ...).
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// A configuration value that cannot describe a model.
    #[error("invalid {model} configuration: {field}: {reason}")]
    Config {
        /// Model or layer whose configuration is wrong.
        model: &'static str,
        /// Offending field.
        field: String,
        /// What was expected.
        reason: String,
    },
    /// An input tensor whose shape the layer or model cannot take.
    #[error("{what}: expected {expected}, got shape {got:?}")]
    Shape {
        /// Layer or model receiving the tensor.
        what: String,
        /// What was expected.
        expected: String,
        /// The shape received.
        got: Vec<usize>,
    },
    /// A weights file whose tensors do not match the model's parameters.
    #[error("{}: weights do not match the model{}{}{}", .path.display(), list("missing from the file", .missing), list("not in the model", .unexpected), list("with the wrong shape", .mismatched))]
    WeightsMismatch {
        /// The weights file.
        path: PathBuf,
        /// Model parameters absent from the file.
        missing: Vec<String>,
        /// File tensors that are not model parameters.
        unexpected: Vec<String>,
        /// `name: file shape vs model shape` for tensors present in both with different shapes.
        mismatched: Vec<String>,
    },
    /// A weights or config file that cannot be read or parsed.
    #[error("{}: {reason}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A loss or metric that became NaN or infinite.
    #[error("{what} is not finite ({value})")]
    NotFinite {
        /// Quantity that is not finite.
        what: String,
        /// Its value.
        value: f64,
    },
}

fn list(label: &str, names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!("; {} {label}: {}", names.len(), names.join(", "))
    }
}

/// Result with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn config_err(
    model: &'static str,
    field: impl Into<String>,
    reason: impl Into<String>,
) -> Error {
    Error::Config {
        model,
        field: field.into(),
        reason: reason.into(),
    }
}
