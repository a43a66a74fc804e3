//! The crate's error type.

/// Everything that can go wrong applying a kernel.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error raised by candle (device, dtype or shape inside an operation).
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// An input whose shape the operation cannot take.
    #[error("{what}: expected {expected}, got shape {got:?}")]
    Shape {
        /// The operation and operand.
        what: String,
        /// What was expected.
        expected: String,
        /// The shape received.
        got: Vec<usize>,
    },
    /// A parameter outside its allowed range.
    #[error("invalid {op} parameter: {field} = {value} ({allowed})")]
    Parameter {
        /// The operation or configuration.
        op: &'static str,
        /// The offending field.
        field: &'static str,
        /// Its value.
        value: String,
        /// The allowed range.
        allowed: &'static str,
    },
}

/// Result with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// The [`Error::Parameter`] of `op.field = value`, allowed `allowed`.
pub(crate) fn param_err(
    op: &'static str,
    field: &'static str,
    value: impl std::fmt::Debug,
    allowed: &'static str,
) -> Error {
    Error::Parameter {
        op,
        field,
        value: format!("{value:?}"),
        allowed,
    }
}
