//! The networks' sources of SHiP showers: the stored showers' hit maps, held in memory or made
//! per batch from the hits when they would not fit ([`Stored`]); and re-simulated showers
//! ([`Resimulated`]): each training batch holds, for every training event, a fresh shower of the
//! same true energy and vertex distance (another draw of its vertex XY, direction, longitudinal
//! profile and hits), so each epoch sees new showers — what a large simulated sample gives the
//! study (405,000 training showers) at the cost of generating instead of storing. Validation,
//! test and prediction read the stored showers.

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
use std::sync::Arc;

/// The stored showers' network inputs.
pub(crate) enum Stored {
    /// Hit maps `(N, K, H, W)` made once and held in memory.
    Maps(InMemory),
    /// Hit maps made per batch from the events' hits (for samples whose maps would not fit).
    OnTheFly(OnTheFly),
}

impl Source for Stored {
    fn len(&self) -> usize {
        self.inner().len()
    }

    fn item_shape(&self) -> Vec<usize> {
        self.inner().item_shape()
    }

    fn targets(&self) -> &Targets {
        self.inner().targets()
    }

    fn fill(
        &self,
        indices: &[usize],
        augment_seed: Option<u64>,
        out: &mut [f32],
    ) -> crate::train::Result<()> {
        self.inner().fill(indices, augment_seed, out)
    }
}

impl Stored {
    fn inner(&self) -> &dyn Source {
        match self {
            Stored::Maps(m) => m,
            Stored::OnTheFly(f) => f,
        }
    }
}

/// Writes `event`'s maps (shape `item`) into `slot`; errors as the trainer's.
fn map_into(
    maps: &TtMaps,
    event: &TtEvent,
    i: usize,
    item: &[usize],
    slot: &mut [f32],
) -> crate::train::Result<crate::preprocess::tt::DigitiseReport> {
    let view = ArrayViewMutD::from_shape(item.to_vec(), slot)
        .map_err(|e| TrainError::Data(format!("hit-map slot: {e}")))?;
    maps.apply(event, i as u64, view)
        .map_err(|e| TrainError::Source(Box::new(e)))
}

/// Hit maps made per batch from the showers' hits: the hits of 450,000 showers take ≈ 0.5 GB where
/// their 6 × 150 × 185 maps would take ≈ 300 GB.
pub(crate) struct OnTheFly {
    events: Arc<Vec<TtEvent>>,
    maps: TtMaps,
    targets: Targets,
}

impl OnTheFly {
    /// The source of `events` (`targets` one row per event), their maps made by `maps`. Makes
    /// every event's maps once (into a per-thread scratch buffer) so a shower the maps refuse
    /// fails here, not in the middle of training; returns the hits outside the maps.
    pub fn new(
        events: Arc<Vec<TtEvent>>,
        maps: TtMaps,
        targets: Targets,
    ) -> crate::train::Result<(Self, usize)> {
        if targets.len() != events.len() {
            return Err(TrainError::Data(format!(
                "{} targets for {} showers",
                targets.len(),
                events.len()
            )));
        }
        if let Targets::Values { data, .. } = &targets {
            if let Some(i) = data.iter().position(|v| !v.is_finite()) {
                return Err(TrainError::Data(format!(
                    "target value {i} is not finite ({})",
                    data[i]
                )));
            }
        }
        let item = maps.item_shape();
        let per: usize = item.iter().product();
        let outside = events
            .par_iter()
            .enumerate()
            .map_init(
                || vec![0f32; per],
                |buf, (i, e)| {
                    map_into(&maps, e, i, &item, buf)
                        .map(|r| r.outside)
                        .map_err(|err| TrainError::Data(format!("shower {i}: {err}")))
                },
            )
            .try_reduce(|| 0, |a, b| Ok(a + b))?;
        Ok((
            Self {
                events,
                maps,
                targets,
            },
            outside,
        ))
    }
}

impl Source for OnTheFly {
    fn len(&self) -> usize {
        self.events.len()
    }

    fn item_shape(&self) -> Vec<usize> {
        self.maps.item_shape()
    }

    fn targets(&self) -> &Targets {
        &self.targets
    }

    fn fill(
        &self,
        indices: &[usize],
        _augment_seed: Option<u64>,
        out: &mut [f32],
    ) -> crate::train::Result<()> {
        let item = self.item_shape();
        let per: usize = item.iter().product();
        if out.len() != indices.len() * per {
            return Err(TrainError::Data(format!(
                "batch buffer of {} values for {} showers of {per}",
                out.len(),
                indices.len()
            )));
        }
        if let Some(&i) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(TrainError::Data(format!(
                "shower {i} out of range (source has {})",
                self.len()
            )));
        }
        out.par_chunks_mut(per)
            .zip(indices.par_iter())
            .try_for_each(|(slot, &i)| {
                map_into(&self.maps, &self.events[i], i, &item, slot).map(|_| ())
            })
    }
}

/// Draws of a fresh shower that must pass the selection before the stored shower stands in for
/// it (a shower near the selection's edge, e.g. 1 GeV starting 7.5 cm before the brick's end).
pub const MAX_DRAWS: usize = 64;

/// Stream salt separating the re-simulation's generators from the shuffling and dropout ones.
const RESIM_SALT: u64 = 0x7e5_1a7e;

/// The stored showers' maps, and the truth and generator to re-simulate them.
pub(crate) struct Resimulated {
    stored: Stored,
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
        stored: Stored,
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

    /// The stored showers (validation, test, and the stand-ins).
    pub fn stored(&self) -> &Stored {
        &self.stored
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
        let Some(seed) = augment_seed else {
            return self.stored.fill(indices, None, out);
        };
        let item = self.item_shape();
        let per: usize = item.iter().product();
        if out.len() != indices.len() * per || indices.iter().any(|&i| i >= self.len()) {
            // The stored source names what is wrong.
            return self.stored.fill(indices, None, out);
        }
        // A fresh shower per slot; a slot whose draws all failed gets the stored shower.
        let fresh: usize = out
            .par_chunks_mut(per)
            .zip(indices.par_iter())
            .map(|(slot, &i)| match self.draw(seed, i) {
                Some(ev) => map_into(&self.maps, &ev, i, &item, slot).map(|_| 1),
                None => self.stored.fill(&[i], None, slot).map(|_| 0),
            })
            .try_reduce(|| 0, |a, b| Ok(a + b))?;
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
        let r = Resimulated::new(
            Stored::Maps(stored),
            &events,
            config,
            maps,
            Selection::default(),
        );
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

    /// Maps made per batch equal the maps made once; a hit the maps refuse fails the
    /// construction naming the shower; an index out of range fails the fill.
    #[test]
    fn on_the_fly_maps_equal_the_stored_ones() {
        let (r, events) = setup(30);
        let Stored::Maps(stored) = &r.stored else {
            panic!("setup stores maps")
        };
        let events = Arc::new(events);
        let (fly, outside) = OnTheFly::new(
            Arc::clone(&events),
            r.maps.clone(),
            stored.targets().clone(),
        )
        .unwrap();
        assert_eq!(
            outside, 0,
            "the generator puts every hit inside the stations"
        );
        assert_eq!(fly.targets(), stored.targets());
        let idx = [3, 0, 29, 3];
        let per: usize = r.item_shape().iter().product();
        let (mut a, mut b) = (vec![0f32; 4 * per], vec![1f32; 4 * per]);
        stored.fill(&idx, None, &mut a).unwrap();
        fly.fill(&idx, Some(9), &mut b).unwrap();
        assert_eq!(a, b);
        let e = fly
            .fill(&[30], None, &mut b[..per])
            .unwrap_err()
            .to_string();
        assert!(e.contains("shower 30 out of range"), "{e}");
        let mut bad = (*events).clone();
        bad[7].hits.x_cm[2] = f32::NAN;
        let e = OnTheFly::new(Arc::new(bad), r.maps.clone(), stored.targets().clone())
            .err()
            .expect("a NaN hit is refused")
            .to_string();
        assert!(e.contains("shower 7"), "{e}");
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
