//! The error type of `rareml-sim`.

/// Why a generator cannot run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value outside its allowed range (checked before generating).
    #[error("invalid generator configuration: {field} = {value} ({allowed})")]
    Config {
        /// The offending field.
        field: &'static str,
        /// Its value.
        value: String,
        /// The allowed values.
        allowed: &'static str,
    },
    /// Writing the output failed.
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
