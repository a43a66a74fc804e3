//! The error type of `rareml-io`: every variant names the file and, where there is one, the path
//! inside it, and says what was expected versus what was found.

use std::path::PathBuf;

/// Everything that can go wrong reading or writing detector data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file does not exist (or cannot be read at all).
    #[error("{file}: cannot open: {source}")]
    Open {
        /// The file asked for.
        file: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },

    /// The path is not a regular file (a directory, FIFO, socket or device): refused before
    /// anything is read from it (reading a FIFO would block).
    #[error("{file}: not a regular file ({kind}): expected a data file")]
    NotRegular {
        /// The path asked for.
        file: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },

    /// The file exists but carries no HDF5 signature.
    #[error("{file}: not an HDF5 file (no HDF5 signature found)")]
    NotHdf5 {
        /// The file asked for.
        file: PathBuf,
    },

    /// An HDF5 library call failed (corrupt or truncated file, unwritable location, ...).
    #[error("{file}: {path}: HDF5 error while {action}: {source}")]
    Hdf5 {
        /// The file.
        file: PathBuf,
        /// The object path inside the file ("/" for the file itself).
        path: String,
        /// What was being done.
        action: String,
        /// The HDF5 library's error.
        source: hdf5::Error,
    },

    /// A dataset, group or attribute the format requires is absent.
    #[error("{file}: {path}: missing {what}{hint}")]
    Missing {
        /// The file.
        file: PathBuf,
        /// The object path that was looked up.
        path: String,
        /// "dataset", "group" or "attribute".
        what: &'static str,
        /// Extra context (empty or starting with "; ").
        hint: String,
    },

    /// A dataset has the wrong element type.
    #[error("{file}: {path}: wrong dtype: expected {expected}, found {found}")]
    Dtype {
        /// The file.
        file: PathBuf,
        /// The dataset path.
        path: String,
        /// The dtype(s) the format allows.
        expected: String,
        /// The dtype in the file.
        found: String,
    },

    /// A dataset has the wrong rank or extent.
    #[error("{file}: {path}: wrong shape: expected {expected}, found {found:?}")]
    Shape {
        /// The file.
        file: PathBuf,
        /// The dataset path.
        path: String,
        /// The shape the format requires, in words (e.g. "(N, 13)").
        expected: String,
        /// The shape in the file.
        found: Vec<usize>,
    },

    /// The values break an invariant of the format (offsets not monotonic, unknown strip id, NaN pixels, ...).
    #[error("{file}: {path}: {reason}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The dataset or attribute path.
        path: String,
        /// What is wrong, with the offending index and value.
        reason: String,
    },

    /// A read larger than the memory ceiling ([`crate::read_limit_bytes`]): refused before
    /// anything is allocated.
    #[error("{file}: {path}: {what} would take {bytes} bytes, above the read ceiling of {limit} bytes (RAREML_MAX_READ_MIB raises it)")]
    TooLarge {
        /// The file.
        file: PathBuf,
        /// The dataset path.
        path: String,
        /// What was to be read ("rows 0..1000000").
        what: String,
        /// Bytes the read would allocate.
        bytes: u64,
        /// The ceiling in bytes.
        limit: u64,
    },

    /// An event index beyond the end of the data set.
    #[error("{file}: {path}: index {index} out of range (the data set holds {len} entries)")]
    OutOfRange {
        /// The file.
        file: PathBuf,
        /// The dataset path.
        path: String,
        /// The index asked for.
        index: usize,
        /// The number of entries.
        len: usize,
    },

    /// An in-memory event or batch that cannot be written as it is (inconsistent lengths, bad shape).
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// The kind of object ("TPC event", "cluster batch", ...).
        what: &'static str,
        /// What is wrong.
        reason: String,
    },

    /// A DECAY0 text file that does not parse.
    #[error("{file}:{line}: DECAY0: {reason}")]
    Decay0 {
        /// The file.
        file: PathBuf,
        /// 1-based line number where the problem was seen.
        line: usize,
        /// What was expected versus found.
        reason: String,
    },

    /// An I/O error on a plain file (DECAY0 text, NPY output).
    #[error("{file}: I/O error: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// Writing an NPY file failed.
    #[error("{file}: cannot write NPY: {source}")]
    Npy {
        /// The file.
        file: PathBuf,
        /// ndarray-npy's error.
        source: ndarray_npy::WriteNpyError,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks that `path` is a regular file (following symbolic links) before it is opened: missing
/// paths are [`Error::Open`], directories, FIFOs, sockets and devices [`Error::NotRegular`].
pub(crate) fn regular_file(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(path).map_err(|source| Error::Open {
        file: path.to_path_buf(),
        source,
    })?;
    let t = meta.file_type();
    let kind = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a file"
    };
    Err(Error::NotRegular {
        file: path.to_path_buf(),
        kind,
    })
}
