//! `rareml.io`: the NEWSdm, `rareml.tpc.v1` and `rareml.tt.v1` readers, arrays handed to numpy
//! without a copy (the reader's own buffers become the arrays).

use std::ops::Range;
use std::path::PathBuf;

use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray4};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use rareml_io::emulsion::{ClusterSet as RsClusterSet, EmulsionFile as RsEmulsionFile};
use rareml_io::tpc::{TpcEvent, TpcFile as RsTpcFile};
use rareml_io::tt::{TtEvent, TtFile as RsTtFile};

use crate::{detached, Kind, PyResultExt};

/// `start..stop` of a set of `len` items, Python-style defaults (`stop=None` is the end); negative
/// or reversed bounds are errors, not empty reads.
fn range(what: &str, start: usize, stop: Option<usize>, len: usize) -> PyResult<Range<usize>> {
    let stop = stop.unwrap_or(len);
    if start > stop || stop > len {
        return Err(Kind::Index.err(format!(
            "{what}: rows {start}..{stop} out of range (the set holds {len}; expected 0 <= start <= stop <= {len})"
        )));
    }
    Ok(start..stop)
}

/// An open NEWSdm emulsion file.
#[pyclass(module = "rareml._rareml", frozen)]
struct EmulsionFile {
    inner: RsEmulsionFile,
}

#[pymethods]
impl EmulsionFile {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = detached(py, "EmulsionFile", || RsEmulsionFile::open(&path).py())?;
        Ok(Self { inner })
    }

    /// The file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_path_buf()
    }

    /// The groups holding clusters, e.g. `["C30keV", "background"]`.
    fn groups(&self) -> PyResult<Vec<String>> {
        self.inner.groups().py()
    }

    /// The cluster set of `group`.
    fn set(&self, group: &str) -> PyResult<ClusterSet> {
        Ok(ClusterSet {
            inner: self.inner.set(group).py()?,
        })
    }

    fn __repr__(&self) -> String {
        format!("EmulsionFile({:?})", self.inner.path())
    }
}

/// One group's clusters: images `(N, P, H, W)`, labels and `pol_ids`.
#[pyclass(module = "rareml._rareml", frozen)]
struct ClusterSet {
    inner: RsClusterSet,
}

#[pymethods]
impl ClusterSet {
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The group's name.
    #[getter]
    fn group(&self) -> String {
        self.inner.group().to_string()
    }

    /// Images per cluster (8 polarisations, or 9 with the periodic copy).
    #[getter]
    fn polarisations(&self) -> usize {
        self.inner.polarisations()
    }

    /// Image height in pixels.
    #[getter]
    fn height(&self) -> usize {
        self.inner.height()
    }

    /// Image width in pixels.
    #[getter]
    fn width(&self) -> usize {
        self.inner.width()
    }

    /// The stored pixel type, `"uint8"` or `"float32"`.
    #[getter]
    fn pixel_type(&self) -> &'static str {
        self.inner.pixel_type()
    }

    /// Clusters `start..stop` as float32 `(N, P, H, W)` (uint8 files convert exactly).
    #[pyo3(signature = (start = 0, stop = None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        stop: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray4<f32>>> {
        let r = range(self.inner.group(), start, stop, self.inner.len())?;
        let batch = detached(py, "ClusterSet.read", || self.inner.read::<f32>(r).py())?;
        Ok(batch.images.into_pyarray(py))
    }

    /// Class labels of clusters `start..stop` (int64: 0 C30keV, 1 C60keV, 2 C100keV,
    /// 3 background), or `None` when the file does not say.
    #[pyo3(signature = (start = 0, stop = None))]
    fn labels<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        stop: Option<usize>,
    ) -> PyResult<Option<Bound<'py, PyArray1<i64>>>> {
        let r = range(self.inner.group(), start, stop, self.inner.len())?;
        let classes = detached(py, "ClusterSet.labels", || self.inner.read_classes(r).py())?;
        Ok(classes.map(|c| {
            c.into_iter()
                .map(|c| c.label())
                .collect::<Vec<_>>()
                .into_pyarray(py)
        }))
    }

    /// The `pol_ids` rows `(N, 13)` (int32) of clusters `start..stop`, or `None` when absent.
    #[pyo3(signature = (start = 0, stop = None))]
    fn pol_ids<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        stop: Option<usize>,
    ) -> PyResult<Option<Bound<'py, PyArray2<i32>>>> {
        let r = range(self.inner.group(), start, stop, self.inner.len())?;
        let rows = detached(py, "ClusterSet.pol_ids", || self.inner.read_pol_ids(r).py())?;
        Ok(rows.map(|a| a.into_pyarray(py)))
    }

    /// Streams the set as `(images, labels)` batches of `batch_size` clusters (the last may be
    /// shorter); `labels` is `None` when the file does not say.
    fn batches(slf: Py<Self>, batch_size: usize) -> PyResult<Batches> {
        if batch_size == 0 {
            return Err(Kind::InvalidArgument.err("batch_size: 0; expected at least 1"));
        }
        Ok(Batches {
            set: slf,
            batch_size,
            next: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "ClusterSet(group={:?}, len={}, shape=({}, {}, {}), pixel_type={:?})",
            self.inner.group(),
            self.inner.len(),
            self.inner.polarisations(),
            self.inner.height(),
            self.inner.width(),
            self.inner.pixel_type()
        )
    }
}

/// The iterator of [`ClusterSet::batches`].
#[pyclass(module = "rareml._rareml", frozen)]
struct Batches {
    set: Py<ClusterSet>,
    batch_size: usize,
    next: std::sync::atomic::AtomicUsize,
}

/// One batch: images and labels.
type Batch<'py> = (Bound<'py, PyArray4<f32>>, Option<Bound<'py, PyArray1<i64>>>);

#[pymethods]
impl Batches {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Batch<'py>>> {
        use std::sync::atomic::Ordering;
        let set = self.set.get();
        let n = set.inner.len();
        let start = self.next.load(Ordering::Relaxed);
        if start >= n {
            return Ok(None);
        }
        let stop = (start + self.batch_size).min(n);
        self.next.store(stop, Ordering::Relaxed);
        Ok(Some((
            set.read(py, start, Some(stop))?,
            set.labels(py, start, Some(stop))?,
        )))
    }
}

/// An open `rareml.tpc.v1` file (PandaX-III strip waveforms).
#[pyclass(module = "rareml._rareml", frozen)]
pub(crate) struct TpcFile {
    pub(crate) inner: RsTpcFile,
}

#[pymethods]
impl TpcFile {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = detached(py, "TpcFile", || RsTpcFile::open(&path).py())?;
        Ok(Self { inner })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_path_buf()
    }

    /// Event `i`: `id`, `label` (1 signal, 0 background, -1 unknown), `energy_kev`,
    /// `vertex_mm` (None when unknown), `strip_id` (int32 `(S,)`), `samples` (int16 `(S, T)`).
    fn event<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyDict>> {
        let e = detached(py, "TpcFile.event", || self.inner.event(i).py())?;
        tpc_event_dict(py, e)
    }

    /// The strip readout: `strip_id` (int32), `axis` (0 = x, 1 = y, uint8), `position_mm` (float32).
    fn readout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        readout_dict(py, self.inner.readout())
    }

    fn __repr__(&self) -> String {
        format!("TpcFile({:?}, len={})", self.inner.path(), self.inner.len())
    }
}

/// An open `rareml.tt.v1` file (SHiP target-tracker showers).
#[pyclass(module = "rareml._rareml", frozen)]
pub(crate) struct TtFile {
    pub(crate) inner: RsTtFile,
}

#[pymethods]
impl TtFile {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = detached(py, "TtFile", || RsTtFile::open(&path).py())?;
        Ok(Self { inner })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_path_buf()
    }

    /// Event `i`: the shower's `energy_gev`, `distance_cm`, `vertex_cm` and its hits `x_cm`, `y_cm`
    /// (float32), `station` (uint8), `hit_energy_gev` (float32).
    fn event<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyDict>> {
        let e = detached(py, "TtFile.event", || self.inner.event(i).py())?;
        tt_event_dict(py, e)
    }

    fn __repr__(&self) -> String {
        format!("TtFile({:?}, len={})", self.inner.path(), self.inner.len())
    }
}

/// A readout as the dict of [`TpcFile::readout`].
pub(crate) fn readout_dict<'py>(
    py: Python<'py>,
    r: &rareml_io::tpc::Readout,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("strip_id", r.strip_ids().to_vec().into_pyarray(py))?;
    let axes: Vec<u8> = r.axes().iter().map(|&a| a as u8).collect();
    d.set_item("axis", axes.into_pyarray(py))?;
    d.set_item("position_mm", r.positions_mm().to_vec().into_pyarray(py))?;
    Ok(d)
}

/// A TPC event as the dict of [`TpcFile::event`].
pub(crate) fn tpc_event_dict(py: Python<'_>, e: TpcEvent) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", e.id)?;
    d.set_item("label", e.label as i8)?;
    d.set_item("energy_kev", e.energy_kev)?;
    d.set_item("vertex_mm", e.vertex_mm.map(|v| v.to_vec()))?;
    d.set_item("strip_id", e.signals.strip_id.into_pyarray(py))?;
    d.set_item("samples", e.signals.samples.into_pyarray(py))?;
    Ok(d)
}

/// A TT event as the dict of [`TtFile::event`].
pub(crate) fn tt_event_dict(py: Python<'_>, e: TtEvent) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("energy_gev", e.energy_gev)?;
    d.set_item("distance_cm", e.distance_cm)?;
    d.set_item("vertex_cm", e.vertex_cm.to_vec())?;
    d.set_item("x_cm", e.hits.x_cm.into_pyarray(py))?;
    d.set_item("y_cm", e.hits.y_cm.into_pyarray(py))?;
    d.set_item("station", e.hits.station.into_pyarray(py))?;
    d.set_item("hit_energy_gev", e.hits.energy_gev.into_pyarray(py))?;
    Ok(d)
}

/// Item `key` of event dict `d` (event `i` of a list), with an error naming both when absent.
fn item<'py>(d: &Bound<'py, PyDict>, i: usize, key: &str) -> PyResult<Bound<'py, PyAny>> {
    d.get_item(key)?.ok_or_else(|| {
        Kind::InvalidArgument.err(format!(
            "event {i}: no {key:?} (expected the keys of the reader's event dict)"
        ))
    })
}

/// Item `key` of event `i` as `T`, with an error naming the key and what was expected.
fn field<'py, T: for<'a> FromPyObject<'a, 'py>>(
    d: &Bound<'py, PyDict>,
    i: usize,
    key: &str,
    expected: &str,
) -> PyResult<T> {
    let v = item(d, i, key)?;
    v.extract::<T>().map_err(|_| {
        let found = describe(&v);
        Kind::InvalidArgument.err(format!(
            "event {i}: {key}: expected {expected}, found {found} (convert with np.asarray(x, dtype=...))"
        ))
    })
}

/// A value's type (and a numpy array's dtype and shape) for error messages.
fn describe(v: &Bound<'_, PyAny>) -> String {
    match v.cast::<numpy::PyUntypedArray>() {
        Ok(a) => {
            use numpy::PyUntypedArrayMethods;
            format!("a {} array of shape {:?}", a.dtype(), a.shape())
        }
        Err(_) => v
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "an object".into()),
    }
}

/// A TPC event from a dict like [`TpcFile::event`]'s (`id` defaults to `i`, `label` to -1,
/// `energy_kev` and `vertex_mm` to unknown).
pub(crate) fn tpc_event_from_dict(d: &Bound<'_, PyAny>, i: usize) -> PyResult<TpcEvent> {
    let d = d.cast::<PyDict>().map_err(|_| {
        Kind::InvalidArgument.err(format!("event {i}: expected a dict, found {}", describe(d)))
    })?;
    let opt = |key: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        Ok(d.get_item(key)?.filter(|v| !v.is_none()))
    };
    let id = match opt("id")? {
        Some(_) => field::<i64>(d, i, "id", "an integer")?,
        None => i as i64,
    };
    let code = match opt("label")? {
        Some(_) => field::<i8>(d, i, "label", "1, 0 or -1")?,
        None => -1,
    };
    let label = rareml_io::tpc::EventLabel::from_code(code).ok_or_else(|| {
        Kind::InvalidArgument.err(format!(
            "event {i}: label {code}: expected 1 (signal), 0 (background) or -1 (unknown)"
        ))
    })?;
    let energy_kev = match opt("energy_kev")? {
        Some(_) => Some(field::<f32>(d, i, "energy_kev", "a number (keV) or None")?),
        None => None,
    };
    let vertex_mm = match opt("vertex_mm")? {
        Some(_) => Some(field::<[f32; 3]>(
            d,
            i,
            "vertex_mm",
            "(x, y, z) in mm or None",
        )?),
        None => None,
    };
    let strip: numpy::PyReadonlyArray1<'_, i32> =
        field(d, i, "strip_id", "an int32 array of shape (S,)")?;
    let samples: numpy::PyReadonlyArray2<'_, i16> =
        field(d, i, "samples", "an int16 array of shape (S, T)")?;
    Ok(TpcEvent {
        id,
        label,
        energy_kev,
        vertex_mm,
        signals: rareml_io::tpc::Signals {
            strip_id: strip.as_array().to_vec(),
            samples: samples.as_array().to_owned(),
        },
    })
}

/// A TT event from a dict like [`TtFile::event`]'s.
pub(crate) fn tt_event_from_dict(d: &Bound<'_, PyAny>, i: usize) -> PyResult<TtEvent> {
    let d = d.cast::<PyDict>().map_err(|_| {
        Kind::InvalidArgument.err(format!("event {i}: expected a dict, found {}", describe(d)))
    })?;
    let col = |key: &str| -> PyResult<Vec<f32>> {
        let a: numpy::PyReadonlyArray1<'_, f32> =
            field(d, i, key, "a float32 array of shape (hits,)")?;
        Ok(a.as_array().to_vec())
    };
    let station: numpy::PyReadonlyArray1<'_, u8> =
        field(d, i, "station", "a uint8 array of shape (hits,)")?;
    Ok(TtEvent {
        energy_gev: field(d, i, "energy_gev", "a number (GeV)")?,
        vertex_cm: field(d, i, "vertex_cm", "(x, y, z) in cm")?,
        distance_cm: field(d, i, "distance_cm", "a number (cm)")?,
        hits: rareml_io::tt::Hits {
            x_cm: col("x_cm")?,
            y_cm: col("y_cm")?,
            station: station.as_array().to_vec(),
            energy_gev: col("hit_energy_gev")?,
        },
    })
}

/// A readout from a dict like [`TpcFile::readout`]'s (`strip_id` int32, `axis` uint8 0 = x / 1 = y,
/// `position_mm` float32).
pub(crate) fn readout_from_dict(r: &Bound<'_, PyAny>) -> PyResult<rareml_io::tpc::Readout> {
    let d = r.cast::<PyDict>().map_err(|_| {
        Kind::InvalidArgument.err(format!(
            "readout: expected a dict with strip_id, axis, position_mm (as TpcFile.readout() returns), found {}",
            describe(r)
        ))
    })?;
    let get = |key: &str, expected: &str| -> PyResult<Bound<'_, PyAny>> {
        d.get_item(key)?
            .ok_or_else(|| Kind::InvalidArgument.err(format!("readout: no {key:?} ({expected})")))
    };
    let ext = |key: &str, expected: &str| -> PyResult<Vec<f64>> {
        let v = get(key, expected)?;
        v.extract::<Vec<f64>>().map_err(|_| {
            Kind::InvalidArgument.err(format!(
                "readout: {key}: expected {expected}, found {}",
                describe(&v)
            ))
        })
    };
    let ids = ext("strip_id", "integer strip ids")?;
    let axes = ext("axis", "0 (x) or 1 (y) per strip")?;
    let pos = ext("position_mm", "positions in mm")?;
    let ids = ids
        .iter()
        .map(|&v| {
            (v.fract() == 0.0 && v >= i32::MIN as f64 && v <= i32::MAX as f64)
                .then_some(v as i32)
                .ok_or_else(|| {
                    Kind::InvalidArgument.err(format!("readout: strip_id {v} is not an int32"))
                })
        })
        .collect::<PyResult<Vec<_>>>()?;
    let axes = axes
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            (a == 0.0 || a == 1.0)
                .then(|| rareml_io::tpc::StripAxis::from_code(a as u8))
                .flatten()
                .ok_or_else(|| {
                    Kind::InvalidArgument
                        .err(format!("readout: axis[{i}] = {a}: expected 0 (x) or 1 (y)"))
                })
        })
        .collect::<PyResult<Vec<_>>>()?;
    let pos = pos.iter().map(|&p| p as f32).collect();
    rareml_io::tpc::Readout::new(ids, axes, pos).py()
}

/// TPC events from a `TpcFile` (events `start..stop`, its readout and constants) or a list of
/// event dicts (with `readout`, else the generator's default readout, and PandaX-III constants);
/// also the index of the first event.
pub(crate) fn tpc_events_arg(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    start: usize,
    stop: Option<usize>,
    readout: Option<&Bound<'_, PyAny>>,
) -> PyResult<(
    Vec<TpcEvent>,
    rareml_io::tpc::Readout,
    rareml_io::tpc::TpcMeta,
    usize,
)> {
    if let Ok(f) = source.cast::<TpcFile>() {
        if readout.is_some() {
            return Err(Kind::InvalidArgument.err("readout: a TpcFile has its own readout"));
        }
        let f = &f.get().inner;
        let r = range(&f.path().display().to_string(), start, stop, f.len())?;
        let first = r.start;
        let events = detached(py, "reading TPC events", || f.read(r).py())?;
        return Ok((events, f.readout().clone(), *f.meta(), first));
    }
    let events = event_list(source, start, stop, "a TpcFile", tpc_event_from_dict)?;
    let readout = match readout {
        Some(r) => readout_from_dict(r)?,
        None => rareml_sim::tpc::readout(rareml_sim::tpc::TpcConfig::default().modules_per_side),
    };
    Ok((events, readout, Default::default(), start))
}

/// TT events from a `TtFile` (events `start..stop` and its geometry) or a list of event dicts
/// (the SHiP geometry).
pub(crate) fn tt_events_arg(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    start: usize,
    stop: Option<usize>,
) -> PyResult<(Vec<TtEvent>, rareml_io::tt::TtGeometry)> {
    if let Ok(f) = source.cast::<TtFile>() {
        let f = &f.get().inner;
        let r = range(&f.path().display().to_string(), start, stop, f.len())?;
        let events = detached(py, "reading TT events", || f.read(r).py())?;
        return Ok((events, f.geometry().clone()));
    }
    let events = event_list(source, start, stop, "a TtFile", tt_event_from_dict)?;
    Ok((events, rareml_io::tt::TtGeometry::ship()))
}

/// Events `start..stop` of a list (or other sequence) of event dicts.
fn event_list<E>(
    source: &Bound<'_, PyAny>,
    start: usize,
    stop: Option<usize>,
    file: &str,
    convert: impl Fn(&Bound<'_, PyAny>, usize) -> PyResult<E>,
) -> PyResult<Vec<E>> {
    let items: Vec<Bound<'_, PyAny>> = source.extract().map_err(|_| {
        Kind::InvalidArgument.err(format!(
            "events: expected {file} or a list of event dicts, found {}",
            describe(source)
        ))
    })?;
    let r = range("events", start, stop, items.len())?;
    items[r.clone()]
        .iter()
        .zip(r)
        .map(|(d, i)| convert(d, i))
        .collect()
}

/// The DECAY0 file `path`: `(header, events)`, the header a dict `description` (list of
/// lines), `first_event`, `n_events`; each event a dict `number`, `time_s`, `geant_id` (int32
/// `(K,)`), `momentum_mev` (float64 `(K, 3)`, MeV/c), `time_shift_s` (float64 `(K,)`) and
/// `kinetic_energy_mev` (float64 `(K,)`, NaN for an unknown species).
#[pyfunction]
fn read_decay0<'py>(
    py: Python<'py>,
    path: PathBuf,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyList>)> {
    let (header, events) = detached(py, "read_decay0", || {
        rareml_io::decay0::read_all(&path).py()
    })?;
    let h = PyDict::new(py);
    h.set_item("description", header.description)?;
    h.set_item("first_event", header.first_event)?;
    h.set_item("n_events", header.n_events)?;
    let list = PyList::empty(py);
    for e in events {
        let d = PyDict::new(py);
        d.set_item("number", e.number)?;
        d.set_item("time_s", e.time_s)?;
        let k = e.particles.len();
        let ids: Vec<i32> = e.particles.iter().map(|p| p.geant_id).collect();
        let mom: Vec<f64> = e.particles.iter().flat_map(|p| p.momentum_mev).collect();
        let dt: Vec<f64> = e.particles.iter().map(|p| p.time_shift_s).collect();
        let ke: Vec<f64> = e
            .particles
            .iter()
            .map(|p| p.kinetic_energy_mev().unwrap_or(f64::NAN))
            .collect();
        d.set_item("geant_id", ids.into_pyarray(py))?;
        let mom = ndarray::Array2::from_shape_vec((k, 3), mom)
            .map_err(|e| Kind::Internal.err(format!("read_decay0: {e}")))?;
        d.set_item("momentum_mev", mom.into_pyarray(py))?;
        d.set_item("time_shift_s", dt.into_pyarray(py))?;
        d.set_item("kinetic_energy_mev", ke.into_pyarray(py))?;
        list.append(d)?;
    }
    Ok((h, list))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_decay0, m)?)?;
    m.add_class::<EmulsionFile>()?;
    m.add_class::<ClusterSet>()?;
    m.add_class::<Batches>()?;
    m.add_class::<TpcFile>()?;
    m.add_class::<TtFile>()?;
    Ok(())
}
