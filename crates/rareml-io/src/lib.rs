//! Detector event types and their storage: NEWSdm emulsion clusters, PandaX-III TPC strip
//! waveforms and SHiP target-tracker hits in HDF5 (readers, streaming batch readers and writers),
//! the DECAY0 generator text format, and NPY export for numpy users.
//!
//! One module per detector ([`emulsion`], [`tpc`], [`tt`]) plus [`decay0`]; [`scores`] holds a
//! trained network's outputs on a file's events; [`inspect`] tells what a file holds. Formats are specified in `docs/data-formats.md`.

#![warn(missing_docs)]

pub mod decay0;
pub mod emulsion;
pub mod error;
pub mod features;
mod h5;
pub mod inspect;
pub mod npy;
pub mod rest;
pub mod root;
pub mod scores;
pub mod shard;
pub mod tpc;
pub mod tt;

pub use error::{Error, Result};
pub use h5::{
    memory_available_bytes, read_limit_bytes, set_read_limit_bytes, Compression, H5File,
    MAX_GROUP_DEPTH,
};
pub use shard::Shard;
