//! Writers of the three HDF5 formats from numpy arrays (`rareml.io.EmulsionWriter`,
//! `TpcWriter`, `TtWriter`): the Rust writers, so the files are the ones the readers and the
//! Rust pipelines expect.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

use rareml_io::emulsion::{
    ClusterBatch, ClusterClass, ClusterSetWriter, EmulsionWriter as RsEmulsionWriter, Pixel,
    SetLayout, SetMeta,
};
use rareml_io::tpc::{TpcEvent, TpcMeta, TpcWriter as RsTpcWriter};
use rareml_io::tt::{TtEvent, TtGeometry, TtWriter as RsTtWriter};
use rareml_io::Compression;

use crate::preprocess::Images;
use crate::{detached, Kind, PyResultExt};

/// Events buffered by the TPC and TT writers before one append (one HDF5 write per dataset).
const BUFFER_EVENTS: usize = 512;

/// `deflate` 0 (none) or a level 1–9 as the file's compression.
pub(crate) fn compression(deflate: u8) -> PyResult<Compression> {
    match deflate {
        0 => Ok(Compression::None),
        l @ 1..=9 => Ok(Compression::Deflate(l)),
        l => {
            Err(Kind::InvalidArgument.err(format!("deflate {l}: expected 0 (none) or a level 1–9")))
        }
    }
}

/// `e` with the file's path before its message (same class).
fn prefix(py: Python<'_>, path: &std::path::Path, e: PyErr) -> PyErr {
    let msg = format!("{}: {}", path.display(), e.value(py));
    match e.get_type(py).call1((msg,)) {
        Ok(v) => PyErr::from_value(v),
        Err(_) => e,
    }
}

fn closed(what: &str) -> PyErr {
    Kind::InvalidArgument.err(format!("{what}: the writer is closed"))
}

/// One group being written, of either pixel type.
enum SetWriter {
    U8(ClusterSetWriter<u8>),
    F32(ClusterSetWriter<f32>),
}

struct EmulsionState {
    file: RsEmulsionWriter,
    sets: HashMap<String, (SetWriter, SetLayout)>,
}

/// Writes a NEWSdm emulsion file, group by group (`append` may be called repeatedly per group).
#[pyclass(module = "rareml._rareml", frozen)]
struct EmulsionWriter {
    path: PathBuf,
    state: Mutex<Option<EmulsionState>>,
}

/// A batch of `images` with its `pol_ids` and classes (from `labels`, else the group's class).
fn batch<T: Pixel>(
    images: ndarray::ArrayView4<'_, T>,
    pol_ids: Option<ndarray::Array2<i32>>,
    classes: Option<Vec<ClusterClass>>,
) -> PyResult<ClusterBatch<T>> {
    ClusterBatch::new(images.to_owned(), pol_ids, classes).py()
}

#[pymethods]
impl EmulsionWriter {
    #[new]
    #[pyo3(signature = (path, deflate = 4))]
    fn new(py: Python<'_>, path: PathBuf, deflate: u8) -> PyResult<Self> {
        let c = compression(deflate)?;
        let file = detached(py, "EmulsionWriter", || {
            RsEmulsionWriter::create_with(&path, c).py()
        })?;
        Ok(Self {
            path,
            state: Mutex::new(Some(EmulsionState {
                file,
                sets: HashMap::new(),
            })),
        })
    }

    /// Appends clusters to `group`: `images` uint8 or float32 `(N, P, H, W)` (P = 8, or 9 with
    /// the periodic copy), `pol_ids` int32 `(N, 13)` and/or `labels` int64 `(N,)` (0 C30keV,
    /// 1 C60keV, 2 C100keV, 3 background). The first append of a group fixes its pixel type,
    /// image shape and which of `pol_ids` / `labels` it holds; a group named after a class
    /// (`C30keV`, `fog`, `gamma`, …) gets that `class` attribute.
    #[pyo3(signature = (group, images, pol_ids = None, labels = None))]
    fn append(
        &self,
        py: Python<'_>,
        group: &str,
        images: Images<'_>,
        pol_ids: Option<PyReadonlyArray2<'_, i32>>,
        labels: Option<PyReadonlyArray1<'_, i64>>,
    ) -> PyResult<()> {
        let what = format!("{}: group {group:?}", self.path.display());
        let pol = pol_ids.map(|p| p.as_array().to_owned());
        let classes = labels
            .map(|l| {
                l.as_array()
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        ClusterClass::from_label(v).ok_or_else(|| {
                            Kind::InvalidArgument.err(format!(
                                "{what}: labels[{i}] = {v}: expected 0 (C30keV), 1 (C60keV), 2 (C100keV) or 3 (background)"
                            ))
                        })
                    })
                    .collect::<PyResult<Vec<_>>>()
            })
            .transpose()?;
        let layout = SetLayout {
            pol_ids: pol.is_some(),
            labels: classes.is_some(),
        };
        let (b, s) = match &images {
            Images::U8(a) => (
                SetWriterBatch::U8(batch(a.as_array(), pol, classes)?),
                a.shape().to_vec(),
            ),
            Images::F32(a) => (
                SetWriterBatch::F32(batch(a.as_array(), pol, classes)?),
                a.shape().to_vec(),
            ),
        };
        let shape = (s[1], s[2], s[3]);
        let is_u8 = matches!(b, SetWriterBatch::U8(_));
        let mut guard = self.state.lock().map_err(|_| closed(&what))?;
        let state = guard.as_mut().ok_or_else(|| closed(&what))?;
        detached(py, "EmulsionWriter.append", move || {
            let (w, have) = match state.sets.entry(group.to_string()) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let meta = SetMeta {
                        class: ClusterClass::from_group_path(group),
                        generator: "rareml (Python)".into(),
                        ..SetMeta::default()
                    };
                    let w = if is_u8 {
                        SetWriter::U8(state.file.set::<u8>(group, layout, shape, &meta).py()?)
                    } else {
                        SetWriter::F32(state.file.set::<f32>(group, layout, shape, &meta).py()?)
                    };
                    v.insert((w, layout))
                }
            };
            if *have != layout {
                return Err(Kind::InvalidArgument.err(format!(
                    "{what}: the group was started with pol_ids {} and labels {}; this batch has pol_ids {} and labels {}",
                    have.pol_ids, have.labels, layout.pol_ids, layout.labels
                )));
            }
            match (w, b) {
                (SetWriter::U8(w), SetWriterBatch::U8(b)) => w.append(&b).py(),
                (SetWriter::F32(w), SetWriterBatch::F32(b)) => w.append(&b).py(),
                (SetWriter::U8(_), _) => Err(Kind::InvalidArgument
                    .err(format!("{what}: images float32, the group holds uint8"))),
                (SetWriter::F32(_), _) => Err(Kind::InvalidArgument
                    .err(format!("{what}: images uint8, the group holds float32"))),
            }
        })
    }

    /// Flushes and closes the file (also on leaving a `with` block); later appends are errors.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let state = self.state.lock().ok().and_then(|mut g| g.take());
        match state {
            Some(s) => detached(py, "EmulsionWriter.close", || {
                drop(s.sets);
                s.file.finish().py()
            }),
            None => Ok(()),
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _t: Option<&Bound<'_, PyAny>>,
        _v: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }
}

/// A batch of either pixel type (moved into the GIL-free closure).
enum SetWriterBatch {
    U8(ClusterBatch<u8>),
    F32(ClusterBatch<f32>),
}

/// A Rust event writer that the bindings buffer in front of.
trait EventSink: Send {
    /// Its event type.
    type Event: Send + Sync;
    /// Why an event cannot be appended, or `Ok`.
    fn check(&self, e: &Self::Event) -> Result<(), String>;
    /// Appends events.
    fn append(&mut self, events: &[Self::Event]) -> rareml_io::Result<()>;
    /// Events written.
    fn len(&self) -> usize;
    /// Flushes and closes.
    fn finish(self) -> rareml_io::Result<()>;
}

impl EventSink for RsTpcWriter {
    type Event = TpcEvent;
    fn check(&self, e: &TpcEvent) -> Result<(), String> {
        self.check_event(e)
    }
    fn append(&mut self, events: &[TpcEvent]) -> rareml_io::Result<()> {
        RsTpcWriter::append(self, events)
    }
    fn len(&self) -> usize {
        RsTpcWriter::len(self)
    }
    fn finish(self) -> rareml_io::Result<()> {
        RsTpcWriter::finish(self)
    }
}

impl EventSink for RsTtWriter {
    type Event = TtEvent;
    fn check(&self, e: &TtEvent) -> Result<(), String> {
        self.check_event(e)
    }
    fn append(&mut self, events: &[TtEvent]) -> rareml_io::Result<()> {
        RsTtWriter::append(self, events)
    }
    fn len(&self) -> usize {
        RsTtWriter::len(self)
    }
    fn finish(self) -> rareml_io::Result<()> {
        RsTtWriter::finish(self)
    }
}

/// A writer with the events not yet written: each event is checked when appended (so an error
/// names it at once), and written with the others of its buffer.
struct Buffered<W: EventSink> {
    path: PathBuf,
    state: Mutex<Option<(W, Vec<W::Event>)>>,
}

impl<W: EventSink> Buffered<W> {
    fn new(path: PathBuf, w: W) -> Self {
        Self {
            path,
            state: Mutex::new(Some((w, Vec::new()))),
        }
    }

    /// Events appended so far (0 once closed).
    fn len(&self) -> usize {
        self.state
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|(w, p)| w.len() + p.len()))
            .unwrap_or(0)
    }

    /// Checks and buffers `event` (described as `what` in errors), writing the buffer when full.
    fn push(&self, py: Python<'_>, what: &str, event: W::Event) -> PyResult<()> {
        let mut guard = self.state.lock().map_err(|_| closed(what))?;
        let (w, pending) = guard.as_mut().ok_or_else(|| closed(what))?;
        w.check(&event)
            .map_err(|r| Kind::InvalidArgument.err(format!("{what}: {r}")))?;
        pending.push(event);
        if pending.len() >= BUFFER_EVENTS {
            let events = std::mem::take(pending);
            detached(py, "writing events", || w.append(&events).py())?;
        }
        Ok(())
    }

    /// Writes the buffer, flushes and closes; closing twice does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        match self.state.lock().ok().and_then(|mut g| g.take()) {
            Some((mut w, pending)) => detached(py, "closing the writer", move || {
                w.append(&pending).py()?;
                w.finish().py()
            }),
            None => Ok(()),
        }
    }
}

/// Writes a `rareml.tpc.v1` file event by event (buffered; `close` writes the rest).
#[pyclass(module = "rareml._rareml", frozen)]
struct TpcWriter {
    /// Samples per waveform (T) of the file.
    #[pyo3(get)]
    samples_per_signal: usize,
    inner: Buffered<RsTpcWriter>,
}

#[pymethods]
impl TpcWriter {
    /// `readout` = a dict like `TpcFile.readout()`'s (`strip_id`, `axis` 0 x / 1 y,
    /// `position_mm`), or `None` for the generator's (3 × 3 PandaX-III modules); `meta` =
    /// `(sampling_ns, drift_velocity_mm_per_us, pitch_mm)` or `None` for PandaX-III's.
    #[new]
    #[pyo3(signature = (path, samples_per_signal = 512, readout = None, meta = None, deflate = 4))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        samples_per_signal: usize,
        readout: Option<&Bound<'_, PyAny>>,
        meta: Option<(f64, f64, f64)>,
        deflate: u8,
    ) -> PyResult<Self> {
        let c = compression(deflate)?;
        let readout = match readout {
            None => {
                rareml_sim::tpc::readout(rareml_sim::tpc::TpcConfig::default().modules_per_side)
            }
            Some(r) => crate::io::readout_from_dict(r)?,
        };
        let meta = match meta {
            None => TpcMeta::default(),
            Some((sampling_ns, drift_velocity_mm_per_us, pitch_mm)) => TpcMeta {
                sampling_ns,
                drift_velocity_mm_per_us,
                pitch_mm,
            },
        };
        let file = detached(py, "TpcWriter", || {
            RsTpcWriter::create_with(&path, &readout, &meta, samples_per_signal, c).py()
        })?;
        Ok(Self {
            samples_per_signal,
            inner: Buffered::new(path, file),
        })
    }

    /// Appends one event, a dict like `TpcFile.event`'s: `strip_id` int32 `(S,)`, `samples`
    /// int16 `(S, T)`, and optionally `id` (default: its index in the file), `label` (1 signal,
    /// 0 background, -1 unknown: the default), `energy_kev`, `vertex_mm` (x, y, z).
    fn append(&self, py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<()> {
        let n = self.inner.len();
        let path = &self.inner.path;
        let event = crate::io::tpc_event_from_dict(event, n).map_err(|e| prefix(py, path, e))?;
        let what = format!("{}: event {n} (id {})", path.display(), event.id);
        self.inner.push(py, &what, event)
    }

    /// Events written so far (including the buffered ones).
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Writes the buffered events, flushes and closes the file.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.close(py)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _t: Option<&Bound<'_, PyAny>>,
        _v: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.inner.close(py)?;
        Ok(false)
    }
}

/// Writes a `rareml.tt.v1` file event by event (buffered; `close` writes the rest).
#[pyclass(module = "rareml._rareml", frozen)]
struct TtWriter {
    inner: Buffered<RsTtWriter>,
}

#[pymethods]
impl TtWriter {
    /// `station_z_cm` (z of each station, cm) and `half_size_cm` (x, y) of the stations' area, or
    /// `None` for the SHiP geometry.
    #[new]
    #[pyo3(signature = (path, station_z_cm = None, half_size_cm = None, deflate = 4))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        station_z_cm: Option<Vec<f32>>,
        half_size_cm: Option<[f64; 2]>,
        deflate: u8,
    ) -> PyResult<Self> {
        let c = compression(deflate)?;
        let ship = TtGeometry::ship();
        let geometry = TtGeometry {
            station_z_cm: station_z_cm.unwrap_or(ship.station_z_cm),
            half_size_cm: half_size_cm.unwrap_or(ship.half_size_cm),
        };
        let file = detached(py, "TtWriter", || {
            RsTtWriter::create_with(&path, &geometry, c).py()
        })?;
        Ok(Self {
            inner: Buffered::new(path, file),
        })
    }

    /// Appends one shower, a dict like `TtFile.event`'s: its hits `x_cm`, `y_cm` (float32),
    /// `station` (uint8), `hit_energy_gev` (float32), and its `energy_gev`, `vertex_cm`
    /// (x, y, z), `distance_cm`.
    fn append(&self, py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<()> {
        let n = self.inner.len();
        let path = &self.inner.path;
        let event = crate::io::tt_event_from_dict(event, n).map_err(|e| prefix(py, path, e))?;
        let what = format!("{}: event {n}", path.display());
        self.inner.push(py, &what, event)
    }

    /// Events written so far (including the buffered ones).
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Writes the buffered events, flushes and closes the file.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.close(py)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _t: Option<&Bound<'_, PyAny>>,
        _v: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.inner.close(py)?;
        Ok(false)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<EmulsionWriter>()?;
    m.add_class::<TpcWriter>()?;
    m.add_class::<TtWriter>()?;
    Ok(())
}
