//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong building, loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error raised by candle (shape mismatch inside an operation, device error, ...).
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// An error of one of the CPU kernels (`rareml-kernels`).
    #[error(transparent)]
    Kernel(#[from] rareml_kernels::Error),
    /// A configuration value outside its allowed range.
    #[error("invalid {model} configuration: {field} = {value} ({allowed})")]
    Config {
        /// Model or layer whose configuration is wrong.
        model: &'static str,
        /// Offending field (a layer's parameter path for a layer).
        field: String,
        /// Its value.
        value: String,
        /// The allowed values.
        allowed: String,
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
    /// A layer the ONNX exporter cannot express (named by its parameter path).
    #[error("cannot export {layer} to ONNX: {reason}")]
    Export {
        /// The layer (its parameter path) or model.
        layer: String,
        /// Why, and what would make it exportable.
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

/// The [`Error::Config`] of `model.field = value`, allowed `allowed`.
/// The BatchNorm rules every network shares: `bn_eps` > 0 and `bn_momentum` in [0, 1].
pub(crate) fn check_norm(model: &'static str, bn_eps: f64, bn_momentum: f64) -> Result<()> {
    if bn_eps.is_nan() || bn_eps <= 0.0 {
        return Err(config_err(model, "bn_eps", bn_eps, "> 0"));
    }
    if !(0.0..=1.0).contains(&bn_momentum) {
        return Err(config_err(model, "bn_momentum", bn_momentum, "in [0, 1]"));
    }
    Ok(())
}

pub(crate) fn config_err(
    model: &'static str,
    field: impl Into<String>,
    value: impl std::fmt::Debug,
    allowed: impl Into<String>,
) -> Error {
    Error::Config {
        model,
        field: field.into(),
        value: format!("{value:?}"),
        allowed: allowed.into(),
    }
}
