//! Preprocessing and augmentation: detector events → model-ready ndarray batches, in parallel with
//! rayon. Transforms take views and return owned arrays; every random transform takes a seed and
//! gives the same output for the same seed whatever the thread count.
//!
//! - [`emulsion`]: NEWSdm clusters → `(B, 1, P, H, W)`: background subtraction, scaling, quality cuts,
//!   crop, periodic polarisation, rotation.
//! - [`tpc`]: PandaX-III waveforms → XZ/YZ images `(B, 2, 128, 128)`.
//! - [`tt`]: SHiP TT hits → station hit maps `(B, K, H, W)`, target scaling, coordinate channels.

pub mod batch;
pub mod emulsion;
pub mod error;
pub mod seed;
pub mod tpc;
pub mod tt;

pub use error::{Error, Result};
