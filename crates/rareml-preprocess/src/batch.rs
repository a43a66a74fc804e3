//! The generic batch builder: events in (a slice, an iterator, or indices into a reader), a
//! transform per event, and a preallocated `(B, item…)` f32 batch filled in parallel with rayon.
//!
//! A [`Transform`] writes one event into its slot of the batch and returns what it did to the
//! event (a report: charge or hits outside the image); the detector pipelines implement it
//! ([`TpcImages`], [`TtMaps`], [`EmulsionClusters`]) and any closure can ([`FnTransform`]).
//! Random transforms draw from `(seed, global event index)`, so a batch does not depend on how the
//! events were split into batches or on the number of threads. [`build_batch_skipping_empty`]
//! sets aside, and counts, the events with nothing to show ([`Error::EmptyEvent`]).

use ndarray::{ArrayD, ArrayViewMutD, Axis, IxDyn};
use rareml_io::emulsion::{Cluster, Pixel};
use rareml_io::tpc::{Readout, TpcEvent, TpcMeta};
use rareml_io::tt::TtEvent;
use rayon::prelude::*;

use crate::emulsion::EmulsionPipeline;
use crate::error::{Error, Result};
use crate::seed::item_rng;

/// One event → one item of a batch.
pub trait Transform<E>: Sync {
    /// What the transform tells about one event (`()` when nothing).
    type Report: Send;
    /// Shape of one output item (without the batch axis).
    fn item_shape(&self) -> Vec<usize>;
    /// Writes `event` (global index `index`, for seeding) into `out` (shape [`item_shape`](Self::item_shape)).
    fn apply(&self, event: &E, index: u64, out: ArrayViewMutD<'_, f32>) -> Result<Self::Report>;
}

/// A transform from a closure.
pub struct FnTransform<F> {
    shape: Vec<usize>,
    f: F,
}

impl<F> FnTransform<F> {
    /// `f(event, index, out)` fills an item of shape `shape`.
    pub fn new(shape: Vec<usize>, f: F) -> Self {
        Self { shape, f }
    }
}

impl<E, R: Send, F> Transform<E> for FnTransform<F>
where
    F: Fn(&E, u64, ArrayViewMutD<'_, f32>) -> Result<R> + Sync,
{
    type Report = R;
    fn item_shape(&self) -> Vec<usize> {
        self.shape.clone()
    }
    fn apply(&self, event: &E, index: u64, out: ArrayViewMutD<'_, f32>) -> Result<R> {
        (self.f)(event, index, out)
    }
}

/// Fills a preallocated batch `out (B, item…)` from `events` in parallel; event `i` has global
/// index `first_index + i`. Returns each event's report, in order.
pub fn fill_batch<E: Sync, T: Transform<E>>(
    transform: &T,
    events: &[E],
    first_index: u64,
    out: ArrayViewMutD<'_, f32>,
) -> Result<Vec<T::Report>> {
    fill_each(transform, events, first_index, out)?
        .into_iter()
        .collect()
}

/// Fills every slot in parallel and returns each event's outcome.
fn fill_each<E: Sync, T: Transform<E>>(
    transform: &T,
    events: &[E],
    first_index: u64,
    mut out: ArrayViewMutD<'_, f32>,
) -> Result<Vec<Result<T::Report>>> {
    let mut expected = vec![events.len()];
    expected.extend(transform.item_shape());
    if out.shape() != expected.as_slice() {
        return Err(Error::Shape {
            what: "preallocated batch",
            expected: format!("{expected:?}"),
            found: out.shape().to_vec(),
        });
    }
    Ok(out
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(events.par_iter().enumerate())
        .map(|(slot, (i, e))| transform.apply(e, first_index + i as u64, slot))
        .collect())
}

fn zeros_for<E, T: Transform<E>>(transform: &T, n: usize) -> Result<ArrayD<f32>> {
    if n == 0 {
        return Err(Error::EmptyEvent {
            what: "batch",
            reason: "no events".into(),
        });
    }
    let mut shape = vec![n];
    shape.extend(transform.item_shape());
    Ok(ArrayD::<f32>::zeros(IxDyn(&shape)))
}

/// Allocates and fills a batch `(B, item…)`; returns it with each event's report.
pub fn build_batch<E: Sync, T: Transform<E>>(
    transform: &T,
    events: &[E],
    first_index: u64,
) -> Result<(ArrayD<f32>, Vec<T::Report>)> {
    let mut out = zeros_for(transform, events.len())?;
    let reports = fill_batch(transform, events, first_index, out.view_mut())?;
    Ok((out, reports))
}

/// A batch built by [`build_batch_skipping_empty`].
#[derive(Debug)]
pub struct Kept<R> {
    /// The items of the kept events, `(kept, item…)`, in event order.
    pub items: ArrayD<f32>,
    /// Positions (in the input slice) of the kept events.
    pub kept: Vec<usize>,
    /// Their reports.
    pub reports: Vec<R>,
    /// The events set aside, with why ([`Error::EmptyEvent`]: nothing to show).
    pub set_aside: Vec<(usize, Error)>,
}

/// As [`fill_batch`], but an event whose transform finds it empty ([`Error::EmptyEvent`]) leaves
/// its slot zeroed and reports `None` instead of failing the batch; any other error fails it.
pub fn fill_batch_skipping_empty<E: Sync, T: Transform<E>>(
    transform: &T,
    events: &[E],
    first_index: u64,
    mut out: ArrayViewMutD<'_, f32>,
) -> Result<Vec<Option<T::Report>>> {
    let outcomes = fill_each(transform, events, first_index, out.view_mut())?;
    let mut reports = Vec::with_capacity(outcomes.len());
    for (i, o) in outcomes.into_iter().enumerate() {
        match o {
            Ok(r) => reports.push(Some(r)),
            Err(Error::EmptyEvent { .. }) => {
                out.index_axis_mut(Axis(0), i).fill(0.0);
                reports.push(None);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(reports)
}

/// As [`build_batch`], but an event whose transform finds it empty ([`Error::EmptyEvent`]: no
/// charge above threshold, no hits) is set aside and listed instead of failing the batch; any other
/// error fails it. Errors when every event is set aside.
pub fn build_batch_skipping_empty<E: Sync, T: Transform<E>>(
    transform: &T,
    events: &[E],
    first_index: u64,
) -> Result<Kept<T::Report>> {
    let mut all = zeros_for(transform, events.len())?;
    let outcomes = fill_each(transform, events, first_index, all.view_mut())?;
    let (mut kept, mut reports, mut set_aside) = (Vec::new(), Vec::new(), Vec::new());
    for (i, o) in outcomes.into_iter().enumerate() {
        match o {
            Ok(r) => {
                kept.push(i);
                reports.push(r);
            }
            Err(e @ Error::EmptyEvent { .. }) => set_aside.push((i, e)),
            Err(e) => return Err(e),
        }
    }
    let mut items = zeros_for(transform, kept.len())?;
    items
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(kept.par_iter())
        .for_each(|(mut to, &i)| to.assign(&all.index_axis(Axis(0), i)));
    Ok(Kept {
        items,
        kept,
        reports,
        set_aside,
    })
}

/// Batches of `batch_size` from an iterator of events (e.g. a file reader's stream), each with the
/// global index of its first event; the last batch may be shorter.
pub fn batches<'t, E, T, I>(
    transform: &'t T,
    events: I,
    batch_size: usize,
) -> impl Iterator<Item = Result<ArrayD<f32>>> + 't
where
    E: Sync + 't,
    T: Transform<E>,
    I: IntoIterator<Item = Result<E>> + 't,
{
    let mut it = events.into_iter();
    let mut next_index = 0u64;
    let batch_size = batch_size.max(1);
    std::iter::from_fn(move || {
        let mut chunk = Vec::with_capacity(batch_size);
        for e in it.by_ref() {
            match e {
                Ok(e) => chunk.push(e),
                Err(err) => return Some(Err(err)),
            }
            if chunk.len() == batch_size {
                break;
            }
        }
        if chunk.is_empty() {
            return None;
        }
        let first = next_index;
        next_index += chunk.len() as u64;
        Some(build_batch(transform, &chunk, first).map(|(b, _)| b))
    })
}

/// PandaX-III events → `(2, 128, 128)` images ([`crate::tpc::event_image`]), times `scale`.
pub struct TpcImages<'a> {
    /// The readout of the events' file.
    pub readout: &'a Readout,
    /// Its detector constants.
    pub meta: TpcMeta,
    /// Image parameters (flips on for training).
    pub config: crate::tpc::TpcImageConfig,
    /// Seed of the flips.
    pub seed: u64,
    /// Factor applied to the image (normalised to the event total): 1 for fractions, 100 for
    /// percent of the event's charge (values of order one, as BatchNorm starts from).
    pub scale: f32,
}

impl Transform<TpcEvent> for TpcImages<'_> {
    type Report = crate::tpc::ImageReport;
    fn item_shape(&self) -> Vec<usize> {
        let side = self.config.size * self.config.upsample;
        vec![2, side, side]
    }
    fn apply(
        &self,
        event: &TpcEvent,
        index: u64,
        mut out: ArrayViewMutD<'_, f32>,
    ) -> Result<Self::Report> {
        let flip = crate::tpc::draw_flips(&self.config, self.seed, index);
        let (img, report) =
            crate::tpc::event_image(event, self.readout, &self.meta, &self.config, flip)?;
        let scale = self.scale;
        out.zip_mut_with(&img.into_dyn(), |o, &v| *o = scale * v);
        Ok(report)
    }
}

/// SHiP TT events → `(K, 150, 185)` hit maps, optionally with the 3 coordinate channels prepended.
#[derive(Debug, Clone)]
pub struct TtMaps {
    /// Number of stations (K).
    pub n_stations: usize,
    /// Digitisation parameters.
    pub config: crate::tt::HitMapConfig,
    /// Prepend CoordConv's [y, x, r] channels.
    pub coordinates: bool,
}

impl Transform<TtEvent> for TtMaps {
    type Report = crate::tt::DigitiseReport;
    fn item_shape(&self) -> Vec<usize> {
        let (h, w) = self.config.size().unwrap_or((0, 0));
        vec![self.n_stations + if self.coordinates { 3 } else { 0 }, h, w]
    }
    fn apply(
        &self,
        event: &TtEvent,
        _index: u64,
        out: ArrayViewMutD<'_, f32>,
    ) -> Result<Self::Report> {
        let shape = out.shape().to_vec();
        let mut out = out
            .into_dimensionality::<ndarray::Ix3>()
            .map_err(|_| Error::Shape {
                what: "hit-map slot",
                expected: "(K, H, W)".into(),
                found: shape,
            })?;
        let first_map = if self.coordinates {
            let (h, w) = self.config.size()?;
            out.slice_mut(ndarray::s![..3, .., ..])
                .assign(&crate::tt::coordinate_channels(h, w)?);
            3
        } else {
            0
        };
        crate::tt::fill_maps(
            event,
            &self.config,
            out.slice_mut(ndarray::s![first_map.., .., ..]),
        )
    }
}

/// NEWSdm clusters → `(1, P, H, W)` through an [`EmulsionPipeline`] (its cuts are not applied here,
/// since a batch slot cannot be dropped: use [`EmulsionPipeline::process`] to apply them).
pub struct EmulsionClusters {
    /// The pipeline.
    pub pipeline: EmulsionPipeline,
    /// Output `(P, H, W)` of the pipeline for the input clusters.
    pub item: (usize, usize, usize),
    /// Seed of the rotations.
    pub seed: u64,
}

impl<T: Pixel> Transform<Cluster<T>> for EmulsionClusters {
    type Report = ();
    fn item_shape(&self) -> Vec<usize> {
        vec![1, self.item.0, self.item.1, self.item.2]
    }
    fn apply(&self, cluster: &Cluster<T>, index: u64, out: ArrayViewMutD<'_, f32>) -> Result<()> {
        let angle = self
            .pipeline
            .rotation
            .sample(&mut item_rng(self.seed, index));
        let shape = out.shape().to_vec();
        let mut out = out
            .into_dimensionality::<ndarray::Ix4>()
            .map_err(|_| Error::Shape {
                what: "processed cluster slot",
                expected: "(1, P, H, W)".into(),
                found: shape,
            })?;
        self.pipeline
            .process_into(cluster.images.view(), angle, out.index_axis_mut(Axis(0), 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn closure_batches_from_slices_and_iterators() {
        let t = FnTransform::new(
            vec![2],
            |e: &f32, i: u64, mut out: ArrayViewMutD<'_, f32>| {
                out[[0]] = *e;
                out[[1]] = i as f32;
                Ok(())
            },
        );
        let (b, _) = build_batch(&t, &[5.0, 6.0, 7.0], 10).unwrap();
        assert_eq!(
            b.into_raw_vec_and_offset().0,
            vec![5.0, 10.0, 6.0, 11.0, 7.0, 12.0]
        );
        let all: Vec<_> = batches(&t, (0..5).map(|v| Ok(v as f32)), 2)
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].shape(), &[1, 2]);
        assert_eq!(all[2][[0, 1]], 4.0, "global index carried across batches");
        let mut wrong = ArrayD::<f32>::zeros(IxDyn(&[3, 3]));
        assert!(fill_batch(&t, &[1.0, 2.0, 3.0], 0, wrong.view_mut()).is_err());
        assert!(build_batch(&t, &[] as &[f32], 0).is_err());
    }

    #[test]
    fn empty_events_are_set_aside_and_counted_other_errors_fail() {
        let t = FnTransform::new(
            vec![1],
            |e: &i32, _: u64, mut out: ArrayViewMutD<'_, f32>| match *e {
                0 => Err(Error::EmptyEvent {
                    what: "test event",
                    reason: "nothing".into(),
                }),
                v if v < 0 => Err(crate::error::data("test event", "negative")),
                v => {
                    out[[0]] = v as f32;
                    Ok(v)
                }
            },
        );
        let k = build_batch_skipping_empty(&t, &[3, 0, 5, 0], 0).unwrap();
        assert_eq!(k.kept, vec![0, 2]);
        assert_eq!(k.reports, vec![3, 5]);
        assert_eq!(k.items.into_raw_vec_and_offset().0, vec![3.0, 5.0]);
        assert_eq!(k.set_aside.len(), 2);
        assert_eq!(k.set_aside[1].0, 3);
        assert!(build_batch_skipping_empty(&t, &[3, -1], 0).is_err());
        assert!(build_batch_skipping_empty(&t, &[0, 0], 0).is_err());
    }

    #[test]
    fn tt_maps_refill_a_reused_buffer() {
        use rareml_io::tt::{Hits, TtEvent};
        let ev = |x: f32| TtEvent {
            energy_gev: 1.0,
            vertex_cm: [0.0; 3],
            distance_cm: 0.0,
            hits: Hits {
                x_cm: vec![x],
                y_cm: vec![0.01],
                station: vec![1],
                energy_gev: vec![1e-3],
            },
        };
        let t = TtMaps {
            n_stations: 6,
            config: crate::tt::HitMapConfig::default(),
            coordinates: true,
        };
        let mut buf = ArrayD::<f32>::zeros(IxDyn(&[2, 9, 150, 185]));
        fill_batch(&t, &[ev(0.01), ev(1.0)], 0, buf.view_mut()).unwrap();
        fill_batch(&t, &[ev(-1.0), ev(-2.0)], 0, buf.view_mut()).unwrap();
        // Only the second fill's hits remain; the coordinate channels are in front.
        assert_eq!(
            buf.index_axis(Axis(0), 0)
                .slice_each_axis(|a| if a.axis.index() == 0 {
                    (3..).into()
                } else {
                    (..).into()
                })
                .sum(),
            1.0
        );
        assert_eq!(buf[[0, 4, 75, 77]], 1.0);
        assert_eq!(buf[[1, 0, 0, 0]], -1.0);
    }

    #[test]
    fn emulsion_transform_matches_the_pipeline() {
        let c = Cluster::<f32> {
            images: Array3::from_shape_fn((8, 40, 40), |(p, y, x)| (p + y + 2 * x) as f32),
            class: None,
            pol_ids: None,
        };
        let t = EmulsionClusters {
            pipeline: EmulsionPipeline::default(),
            item: (9, 40, 40),
            seed: 3,
        };
        let (b, _) = build_batch(&t, &[c.clone(), c.clone()], 0).unwrap();
        let direct = EmulsionPipeline::default()
            .process_cluster(c.images.view(), 0.0)
            .unwrap();
        assert_eq!(
            b.index_axis(Axis(0), 1).index_axis(Axis(0), 0),
            direct.into_dyn()
        );
    }
}
