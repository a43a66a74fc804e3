//! `rareml.io`: the NEWSdm, `rareml.tpc.v1` and `rareml.tt.v1` readers, arrays handed to numpy
//! without a copy (the reader's own buffers become the arrays).

use std::ops::Range;
use std::path::PathBuf;

use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray4};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use rareml_io::emulsion::{ClusterSet as RsClusterSet, EmulsionFile as RsEmulsionFile};
use rareml_io::tpc::TpcFile as RsTpcFile;
use rareml_io::tt::TtFile as RsTtFile;

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
struct TpcFile {
    inner: RsTpcFile,
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
        let d = PyDict::new(py);
        d.set_item("id", e.id)?;
        d.set_item("label", e.label as i8)?;
        d.set_item("energy_kev", e.energy_kev)?;
        d.set_item("vertex_mm", e.vertex_mm.map(|v| v.to_vec()))?;
        d.set_item("strip_id", e.signals.strip_id.into_pyarray(py))?;
        d.set_item("samples", e.signals.samples.into_pyarray(py))?;
        Ok(d)
    }

    /// The strip readout: `strip_id` (int32), `axis` (0 = x, 1 = y, uint8), `position_mm` (float32).
    fn readout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = self.inner.readout();
        let d = PyDict::new(py);
        d.set_item("strip_id", r.strip_ids().to_vec().into_pyarray(py))?;
        let axes: Vec<u8> = r.axes().iter().map(|&a| a as u8).collect();
        d.set_item("axis", axes.into_pyarray(py))?;
        d.set_item("position_mm", r.positions_mm().to_vec().into_pyarray(py))?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!("TpcFile({:?}, len={})", self.inner.path(), self.inner.len())
    }
}

/// An open `rareml.tt.v1` file (SHiP target-tracker showers).
#[pyclass(module = "rareml._rareml", frozen)]
struct TtFile {
    inner: RsTtFile,
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

    fn __repr__(&self) -> String {
        format!("TtFile({:?}, len={})", self.inner.path(), self.inner.len())
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<EmulsionFile>()?;
    m.add_class::<ClusterSet>()?;
    m.add_class::<Batches>()?;
    m.add_class::<TpcFile>()?;
    m.add_class::<TtFile>()?;
    Ok(())
}
