//! Training on re-simulated showers: each training batch holds, for every training event, a
//! fresh shower of the same true energy and vertex distance (another draw of its vertex XY,
//! direction, longitudinal profile and hits), so each epoch sees new showers — what a large
//! simulated sample gives the study (405,000 training showers) at the cost of generating instead
//! of storing. Validation, test and prediction read the stored showers.

use crate::io::tt::TtEvent;
use crate::preprocess::batch::{Transform, TtMaps};
use crate::preprocess::tt::Selection;
use crate::sim::rng::event_rng;
use crate::sim::tt::{shower, TtConfig};
use crate::train::{mix, Error as TrainError, InMemory, Source, Targets};
use ndarray::ArrayViewMutD;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Draws of a fresh shower that must pass the selection before the stored shower stands in for
/// it (a shower near the selection's edge, e.g. 1 GeV starting 7.5 cm before the brick's end).
pub const MAX_DRAWS: usize = 64;

/// Stream salt separating the re-simulation's generators from the shuffling and dropout ones.
const RESIM_SALT: u64 = 0x7e5_1a7e;

/// The stored showers' maps, and the truth and generator to re-simulate them.
pub(crate) struct Resimulated {
    stored: InMemory,
    /// (E in GeV, d in cm) of every stored shower.
    truth: Vec<(f64, f64)>,
    config: TtConfig,
    maps: TtMaps,
    selection: Selection,
    counts: Counts,
}

#[derive(Default)]
struct Counts {
    fresh: AtomicUsize,
    draws: AtomicUsize,
    stood_in: AtomicUsize,
}

/// What the re-simulation drew over every training run of the experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResimCounts {
    /// Fresh showers placed into training batches.
    pub fresh: usize,
    /// Showers drawn for them (those failing the selection redrawn).
    pub draws: usize,
    /// Training events whose `MAX_DRAWS` draws all failed the selection: the stored shower stood
    /// in for them.
    pub stored_stood_in: usize,
}

impl Resimulated {
    /// Re-simulation of `events` (whose maps and targets `stored` holds) with the generator
    /// `config`, its maps made by `maps` and kept under `selection`.
    pub fn new(
        stored: InMemory,
        events: &[TtEvent],
        config: TtConfig,
        maps: TtMaps,
        selection: Selection,
    ) -> Self {
        Self {
            stored,
            truth: events
                .iter()
                .map(|e| (e.energy_gev as f64, e.distance_cm as f64))
                .collect(),
            config,
            maps,
            selection,
            counts: Counts::default(),
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> ResimCounts {
        ResimCounts {
            fresh: self.counts.fresh.load(Ordering::Relaxed),
            draws: self.counts.draws.load(Ordering::Relaxed),
            stored_stood_in: self.counts.stood_in.load(Ordering::Relaxed),
        }
    }

    /// A fresh shower of event `i` passing the selection, or `None` after `MAX_DRAWS` draws.
    fn draw(&self, seed: u64, i: usize) -> Option<TtEvent> {
        let (e, d) = self.truth[i];
        let mut rng = event_rng(mix(seed, RESIM_SALT), i as u64);
        for k in 1..=MAX_DRAWS {
            let s = shower(&self.config, e, d, &mut rng);
            if self.selection.keep(&s) {
                self.counts.draws.fetch_add(k, Ordering::Relaxed);
                return Some(s);
            }
        }
        self.counts.draws.fetch_add(MAX_DRAWS, Ordering::Relaxed);
        None
    }
}

impl Source for Resimulated {
    fn len(&self) -> usize {
        self.stored.len()
    }

    fn item_shape(&self) -> Vec<usize> {
        self.stored.item_shape()
    }

    fn targets(&self) -> &Targets {
        self.stored.targets()
    }

    fn fill(
        &self,
        indices: &[usize],
        augment_seed: Option<u64>,
        out: &mut [f32],
    ) -> crate::train::Result<()> {
        // The stored maps first (range and size checks included); fresh ones overwrite them.
        self.stored.fill(indices, None, out)?;
        let Some(seed) = augment_seed else {
            return Ok(());
        };
        let item = self.item_shape();
        let per: usize = item.iter().product();
        let results: Vec<std::result::Result<bool, TrainError>> = out
            .par_chunks_mut(per)
            .zip(indices.par_iter())
            .map(|(slot, &i)| {
                let Some(ev) = self.draw(seed, i) else {
                    return Ok(false);
                };
                let view = ArrayViewMutD::from_shape(item.clone(), slot)
                    .map_err(|e| TrainError::Data(format!("hit-map slot: {e}")))?;
                self.maps
                    .apply(&ev, i as u64, view)
                    .map_err(|e| TrainError::Source(Box::new(e)))?;
                Ok(true)
            })
            .collect();
        let mut fresh = 0;
        for r in results {
            fresh += usize::from(r?);
        }
        self.counts.fresh.fetch_add(fresh, Ordering::Relaxed);
        self.counts
            .stood_in
            .fetch_add(indices.len() - fresh, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::tt::TtGeometry;
    use crate::preprocess::batch::fill_batch;
    use crate::preprocess::tt::HitMapConfig;

    fn setup(n: usize) -> (Resimulated, Vec<TtEvent>) {
        let config = TtConfig::default();
        let events: Vec<TtEvent> = crate::sim::tt::generate(&config, 5, 0, 4 * n)
            .unwrap()
            .into_iter()
            .filter(|e| e.hits.len() >= 6)
            .take(n)
            .collect();
        let g: &TtGeometry = &config.geometry;
        let maps = TtMaps {
            n_stations: g.n_stations(),
            config: HitMapConfig {
                pixel_cm: 0.35,
                half_size_cm: g.half_size_cm,
                ..Default::default()
            },
            coordinates: false,
        };
        let item = maps.item_shape();
        let mut inputs = vec![0f32; events.len() * item.iter().product::<usize>()];
        let mut shape = vec![events.len()];
        shape.extend(&item);
        fill_batch(
            &maps,
            &events,
            0,
            ArrayViewMutD::from_shape(shape, &mut inputs).unwrap(),
        )
        .unwrap();
        let targets = Targets::Values {
            data: events
                .iter()
                .flat_map(|e| [e.energy_gev, e.distance_cm])
                .collect(),
            width: 2,
        };
        let stored = InMemory::new(inputs, item, targets).unwrap();
        let r = Resimulated::new(stored, &events, config, maps, Selection::default());
        (r, events)
    }

    /// Without a seed the stored maps come back; with one, fresh showers of the same truth: the
    /// same seed gives the same batch, another seed another, and their total hit counts follow
    /// the stored showers' energies.
    #[test]
    fn fresh_showers_keep_the_truth() {
        let (r, events) = setup(40);
        let idx: Vec<usize> = (0..events.len()).collect();
        let per: usize = r.item_shape().iter().product();
        let fill = |seed| {
            let mut out = vec![0f32; idx.len() * per];
            r.fill(&idx, seed, &mut out).unwrap();
            out
        };
        let stored = fill(None);
        let mut expected = vec![0f32; idx.len() * per];
        r.stored.fill(&idx, None, &mut expected).unwrap();
        assert_eq!(stored, expected);
        let (a, a2, b) = (fill(Some(1)), fill(Some(1)), fill(Some(2)));
        assert_eq!(a, a2);
        assert_ne!(a, b);
        assert_ne!(a, stored);
        let c = r.counts();
        assert_eq!(c.fresh + c.stored_stood_in, 3 * idx.len());
        assert!(c.draws >= c.fresh);
        // Every fresh map holds at least the selection's 6 hits; the hits follow E (correlation
        // of the fresh and the stored totals over 1–100 GeV).
        let totals = |m: &[f32]| -> Vec<f64> {
            m.chunks(per)
                .map(|s| s.iter().map(|&v| v as f64).sum())
                .collect()
        };
        let (ta, ts) = (totals(&a), totals(&stored));
        assert!(ta.iter().all(|&t| t >= 6.0), "{ta:?}");
        let corr = correlation(&ta, &ts);
        assert!(
            corr > 0.8,
            "correlation of fresh and stored hit totals {corr}"
        );
    }

    /// Fresh showers are drawn from the stored ones' distribution: over 400 showers the mean
    /// hit total per event agrees within 3 standard errors of the difference.
    #[test]
    fn fresh_showers_have_the_stored_hit_totals() {
        let (r, events) = setup(400);
        let idx: Vec<usize> = (0..events.len()).collect();
        let per: usize = r.item_shape().iter().product();
        let mut stored = vec![0f32; idx.len() * per];
        r.fill(&idx, None, &mut stored).unwrap();
        let mut diffs = Vec::new();
        for seed in 1..=3 {
            let mut fresh = vec![0f32; idx.len() * per];
            r.fill(&idx, Some(seed), &mut fresh).unwrap();
            for (a, b) in fresh.chunks(per).zip(stored.chunks(per)) {
                let sum = |m: &[f32]| m.iter().map(|&v| v as f64).sum::<f64>();
                diffs.push(sum(a) - sum(b));
            }
        }
        let n = diffs.len() as f64;
        let mean = diffs.iter().sum::<f64>() / n;
        let sd = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!(
            mean.abs() < 3.0 * sd / n.sqrt(),
            "fresh − stored hits per shower: {mean:.2} ± {:.2}",
            sd / n.sqrt()
        );
    }

    fn correlation(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    }
}
