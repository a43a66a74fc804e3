//! The classical analyses the networks are compared with, one module per detector:
//!
//! - [`emulsion`]: NEWSdm's barycenter-shift analysis (shift of the intensity barycentre between
//!   polarisation images; threshold at the 95 % quantile of a single-grain reference, bootstrapped).
//! - [`tt`]: SHiP target tracker: energy from the hit count, Gaussian-moment features + linear
//!   regression of E and d (linfa-linear), and the DBSCAN transverse-vertex finder (linfa-clustering)
//!   against the intensity-weighted mean of all hits.
//! - [`tpc`]: PandaX-III's topological Bragg-blob cut: track ends from the longest path through a
//!   voxel graph, blob energies around them, score = the weaker blob.
//!
//! Each returns per-event scores or estimates; `rareml-metrics` turns them into the same figures of
//! merit as the networks'.

#![warn(missing_docs)]

pub mod emulsion;
pub mod error;
pub mod tpc;
pub mod tt;

pub use error::{Error, Result};
