//! Toy Monte Carlo generators that write exactly the formats the real detectors' files use, grounded
//! in the physics the papers rest on; deterministic per seed and parallel over events (event i draws
//! from ChaCha8 stream i of the seed, so the output does not depend on the thread count).
//!
//! - [`tt`]: SHiP target-tracker electromagnetic showers → `rareml.tt.v1` hits.
//!
//! The emulsion (NEWSdm) and TPC (PandaX-III) generators are not written yet.

pub mod error;
pub mod rng;
pub mod tt;

pub use error::{Error, Result};
