//! The error type of `rareml-baselines`.

/// Why a baseline cannot run on the given input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing to work on (no pixel above background, no hit, no deposit, empty sample).
    #[error("{what}: empty input: {reason}")]
    Empty {
        /// The input.
        what: &'static str,
        /// What is missing.
        reason: String,
    },
    /// Inputs of inconsistent shapes or lengths.
    #[error("{what}: expected {expected}, found {found}")]
    Shape {
        /// The input.
        what: &'static str,
        /// What was expected.
        expected: String,
        /// What was given.
        found: String,
    },
    /// NaN or infinite values.
    #[error("{what}: non-finite value at {index}")]
    NonFinite {
        /// The input.
        what: &'static str,
        /// Position of the first one.
        index: usize,
    },
    /// A parameter outside its allowed range (checked before any work).
    #[error("invalid baseline parameter: {field} = {value} ({allowed})")]
    Param {
        /// The offending field.
        field: &'static str,
        /// Its value.
        value: String,
        /// The allowed values.
        allowed: &'static str,
    },
    /// Event data inconsistent with the detector description given (a strip absent from the
    /// readout, a hit on a station beyond the geometry).
    #[error("{what}: {reason}")]
    Data {
        /// The input.
        what: &'static str,
        /// What is inconsistent.
        reason: String,
    },
    /// A linfa fit failed (e.g. singular design matrix).
    #[error("{what}: fit failed: {reason}")]
    Fit {
        /// The model.
        what: &'static str,
        /// linfa's message.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The [`Error::Param`] of `field = value`, allowed `allowed`.
pub(crate) fn param(
    field: &'static str,
    value: impl std::fmt::Debug,
    allowed: &'static str,
) -> Error {
    Error::Param {
        field,
        value: format!("{value:?}"),
        allowed,
    }
}
