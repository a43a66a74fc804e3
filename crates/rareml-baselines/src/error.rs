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
    /// A hyper-parameter outside its domain (checked before any work).
    #[error("invalid parameter {what}: {reason}")]
    Param {
        /// The parameter.
        what: &'static str,
        /// Why.
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

pub(crate) fn param(what: &'static str, reason: impl Into<String>) -> Error {
    Error::Param {
        what,
        reason: reason.into(),
    }
}
