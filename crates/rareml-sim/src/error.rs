//! The error type of `rareml-sim`.

/// Why a generator cannot run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value outside its domain (checked before generating).
    #[error("invalid configuration: {what}: {reason}")]
    Config {
        /// The parameter.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// Writing the output failed.
    #[error(transparent)]
    Io(#[from] rareml_io::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn config(what: &'static str, reason: impl Into<String>) -> Error {
    Error::Config {
        what,
        reason: reason.into(),
    }
}
