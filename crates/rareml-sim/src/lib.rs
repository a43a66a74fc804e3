//! Toy Monte Carlo generators that write exactly the formats the real detectors' files use, grounded
//! in the physics the papers rest on; deterministic per seed and parallel over events (event i draws
//! from ChaCha8 stream i of the seed, so the output does not depend on the thread count).
//!
//! - [`emulsion`]: NEWSdm clusters (carbon recoils, fog, gamma) → the NEWSdm raw layout.
//! - [`tpc`]: PandaX-III 0νββ and gamma-background tracks → `rareml.tpc.v1` strip waveforms.
//! - [`tt`]: SHiP target-tracker electromagnetic showers → `rareml.tt.v1` hits.

pub mod emulsion;
pub mod error;
pub mod rng;
pub mod tpc;
pub mod tt;

pub use error::{Error, Result};

/// Calls `append(first, count)` for consecutive batches of at most `batch` of `n` events, then
/// `progress(count)` after each.
pub(crate) fn in_batches(
    n: usize,
    batch: usize,
    progress: &mut dyn FnMut(usize),
    mut append: impl FnMut(u64, usize) -> Result<()>,
) -> Result<()> {
    let batch = batch.max(1);
    let mut done = 0;
    while done < n {
        let b = batch.min(n - done);
        append(done as u64, b)?;
        progress(b);
        done += b;
    }
    Ok(())
}
