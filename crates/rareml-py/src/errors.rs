//! Rust errors as the exception classes of `rareml.errors` (defined in Python so that each can
//! also derive from the natural built-in: `FileNotFoundError`, `ValueError`, `IndexError`, …).

use std::any::Any;
use std::fmt::Display;

use pyo3::prelude::*;

/// Which `rareml.errors` class an error becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The file does not exist (`FileNotFoundError`).
    MissingFile,
    /// The file exists but its contents are not what was expected: not HDF5, a missing data set,
    /// a wrong dtype or shape, invalid values (`ValueError`).
    FileFormat,
    /// An argument from Python is wrong: shape, dtype, value, parameter (`ValueError`).
    InvalidArgument,
    /// An index beyond the data (`IndexError`).
    Index,
    /// Reading or writing failed at the system or HDF5-library level (`OSError`).
    Os,
    /// A bug: a panic caught at the binding's boundary (`RuntimeError`).
    Internal,
}

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Kind::MissingFile => "MissingFileError",
            Kind::FileFormat => "FileFormatError",
            Kind::InvalidArgument => "InvalidArgumentError",
            Kind::Index => "RaremlIndexError",
            Kind::Os => "RaremlOSError",
            Kind::Internal => "InternalError",
        }
    }

    /// The Python exception of this kind with `message`.
    pub(crate) fn err(self, message: impl Display) -> PyErr {
        let message = message.to_string();
        Python::attach(|py| {
            let made = py
                .import("rareml.errors")
                .and_then(|m| m.getattr(self.class_name()))
                .and_then(|cls| cls.call1((message.clone(),)));
            match made {
                Ok(instance) => PyErr::from_value(instance),
                // The Python half of the package is missing (the extension imported alone).
                Err(_) => pyo3::exceptions::PyRuntimeError::new_err(message),
            }
        })
    }
}

/// The error kinds of the Rust crates.
pub(crate) trait Classify: Display {
    /// The class this error becomes.
    fn kind(&self) -> Kind;
}

impl Classify for rareml_io::Error {
    fn kind(&self) -> Kind {
        use rareml_io::Error as E;
        match self {
            E::Open { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Kind::MissingFile
            }
            E::Open { .. }
            | E::Io { .. }
            | E::Npy { .. }
            | E::NotRegular { .. }
            | E::Hdf5 { .. } => Kind::Os,
            E::OutOfRange { .. } => Kind::Index,
            E::InvalidInput { .. } => Kind::InvalidArgument,
            _ => Kind::FileFormat,
        }
    }
}

impl Classify for rareml_metrics::Error {
    fn kind(&self) -> Kind {
        Kind::InvalidArgument
    }
}

impl Classify for rareml_models::Error {
    fn kind(&self) -> Kind {
        use rareml_models::Error as E;
        match self {
            // A config given as a dict has no file: its parse errors are format errors.
            E::File { reason, .. } if reason.starts_with("not a valid") => Kind::FileFormat,
            E::File { path, .. } if !path.exists() => Kind::MissingFile,
            E::File { .. } => Kind::FileFormat,
            _ => Kind::InvalidArgument,
        }
    }
}

impl Classify for rareml_sim::Error {
    fn kind(&self) -> Kind {
        match self {
            rareml_sim::Error::Config { .. } => Kind::InvalidArgument,
            rareml_sim::Error::Io(e) => e.kind(),
        }
    }
}

/// `?` from a Rust crate's result to a Python exception.
pub(crate) trait PyResultExt<T> {
    /// The result with its error as the `rareml.errors` class of its kind.
    fn py(self) -> PyResult<T>;
}

impl<T, E: Classify> PyResultExt<T> for Result<T, E> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| e.kind().err(&e))
    }
}

/// A caught panic as `InternalError`.
pub(crate) fn panic_error(what: &str, payload: Box<dyn Any + Send>) -> PyErr {
    let reason = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Kind::Internal.err(format!(
        "{what}: internal error (a bug in rareml, please report it): {reason}"
    ))
}
