//! The error type of `rareml-preprocess`.

/// Why an event or batch cannot be turned into model input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An array with the wrong shape.
    #[error("{what}: wrong shape: expected {expected}, found {found:?}")]
    Shape {
        /// The input.
        what: &'static str,
        /// The shape required, in words.
        expected: String,
        /// The shape given.
        found: Vec<usize>,
    },
    /// NaN or infinite values.
    #[error("{what}: {count} non-finite value(s), the first at {index:?}")]
    NonFinite {
        /// The input.
        what: &'static str,
        /// How many.
        count: usize,
        /// Index of the first.
        index: Vec<usize>,
    },
    /// An event with nothing in it (no signal, no hit, all-zero image) where content is needed.
    #[error("{what}: empty event: {reason}")]
    EmptyEvent {
        /// The input.
        what: &'static str,
        /// What is missing.
        reason: String,
    },
    /// A configuration value outside its allowed range.
    #[error("invalid preprocessing configuration: {field} = {value} ({allowed})")]
    Config {
        /// The offending field.
        field: &'static str,
        /// Its value.
        value: String,
        /// The allowed values.
        allowed: &'static str,
    },
    /// Event data inconsistent with the detector description or the layout asked for (a strip
    /// absent from the readout, a hit on a station without a map, a 9th image that is no copy).
    #[error("{what}: {reason}")]
    Data {
        /// The input.
        what: &'static str,
        /// What is inconsistent.
        reason: String,
    },
    /// An error reading events.
    #[error(transparent)]
    Io(#[from] rareml_io::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The [`Error::Config`] of `field = value`, allowed `allowed`.
pub(crate) fn config(
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

/// An [`Error::Data`].
pub(crate) fn data(what: &'static str, reason: impl Into<String>) -> Error {
    Error::Data {
        what,
        reason: reason.into(),
    }
}
