//! Toy Monte Carlo generators that write exactly the formats the real detectors' files use, grounded
//! in the physics the papers rest on; deterministic per seed and parallel over events (event i draws
//! from ChaCha8 stream i of the seed, so the output does not depend on the thread count).
//!
//! - [`emulsion`]: NEWSdm clusters (carbon recoils, fog, gamma) → the NEWSdm raw layout.
//! - [`tpc`]: PandaX-III 0νββ and gamma-background tracks → `rareml.tpc.v1` strip waveforms.
//! - [`tt`]: SHiP target-tracker electromagnetic showers → `rareml.tt.v1` hits.

#![warn(missing_docs)]

pub mod emulsion;
pub mod error;
pub mod rng;
pub mod tpc;
pub mod tt;

pub use error::{Error, Result};

/// How a generator writes its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// Events generated and written per batch (a multiple of a dataset's chunk rows — 18 for
    /// emulsion crops — lets every chunk be compressed in parallel).
    pub batch: usize,
    /// Dataset compression.
    pub compression: rareml_io::Compression,
    /// Index of the first event written (per sample for emulsion): events are seeded by their
    /// index, so the files of `first` = ⌊I·n/N⌋ for I = 0 … N−1 hold, in order, the events of one
    /// unsharded run (`simulate --shard I/N`).
    pub first: u64,
}

impl Default for WriteOptions {
    /// Batches of 360 events, shuffle + deflate 4.
    fn default() -> Self {
        Self {
            batch: 360,
            compression: rareml_io::Compression::default(),
            first: 0,
        }
    }
}

impl WriteOptions {
    /// Checks the options: a batch of at least one event, a deflate level 1–9.
    pub fn validate(&self) -> Result<()> {
        if self.batch == 0 {
            return Err(crate::error::config("batch", self.batch, "≥ 1 event"));
        }
        if let rareml_io::Compression::Deflate(l) = self.compression {
            if !(1..=9).contains(&l) {
                return Err(crate::error::config(
                    "compression",
                    self.compression,
                    "none or deflate 1–9",
                ));
            }
        }
        Ok(())
    }
}

/// Consecutive batches `(first, count)` of at most `batch` of the `n` events from `start`.
pub(crate) fn batches(start: u64, n: usize, batch: usize) -> Vec<(u64, usize)> {
    let batch = batch.max(1);
    (0..n)
        .step_by(batch)
        .map(|k| (start + k as u64, batch.min(n - k)))
        .collect()
}

/// Runs `generate` for each job and hands the results to `write` in order, then calls
/// `progress(count(job))`. Job k + 1 is generated (in parallel, on the rayon pool) while job k is
/// written, so writing hides behind generation.
pub(crate) fn pipelined<J: Sync, B: Send>(
    jobs: &[J],
    count: impl Fn(&J) -> usize,
    progress: &mut dyn FnMut(usize),
    generate: impl Fn(&J) -> Result<B> + Sync,
    mut write: impl FnMut(&J, B) -> Result<()> + Send,
) -> Result<()> {
    let mut pending: Option<(&J, B)> = None;
    for next_job in jobs.iter().map(Some).chain([None]) {
        let (next, written) = rayon::join(
            || next_job.map(&generate).transpose(),
            || {
                pending
                    .take()
                    .map(|(j, x)| write(j, x).map(|()| j))
                    .transpose()
            },
        );
        if let Some(j) = written? {
            progress(count(j));
        }
        pending = next_job.zip(next?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule names its field.
    #[test]
    fn write_option_rules() {
        let d = WriteOptions::default;
        for (o, field) in [
            (WriteOptions { batch: 0, ..d() }, "batch"),
            (
                WriteOptions {
                    compression: rareml_io::Compression::Deflate(12),
                    ..d()
                },
                "compression",
            ),
        ] {
            let e = o.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
        assert!(d().validate().is_ok());
    }
}
