//! `rareml.baselines`: the classical analyses — barycenter shift (NEWSdm), Bragg blobs
//! (PandaX-III), Gaussian moments + linear regression and the DBSCAN vertex (SHiP TT) — batch in,
//! arrays out.

use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray4,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use rareml_baselines::tpc::BlobParams;
use rareml_baselines::tt::{DbscanVertexParams, MomentRegression as RsMomentRegression, Vertex};

use crate::config::from_json;
use crate::io::{tpc_events_arg, tt_events_arg};
use crate::{detached, Kind, PyResultExt};

impl crate::errors::Classify for rareml_baselines::Error {
    fn kind(&self) -> Kind {
        Kind::InvalidArgument
    }
}

/// `f` of each item, an error naming the item (`what` and its index `first + i`).
fn each<E, T>(
    what: &str,
    first: usize,
    items: impl IntoIterator<Item = E>,
    f: impl Fn(E) -> rareml_baselines::Result<T>,
) -> PyResult<Vec<T>> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            f(e).map_err(|err| Kind::InvalidArgument.err(format!("{what} {}: {err}", first + i)))
        })
        .collect()
}

/// Rows of `k` values as an `(N, k)` array.
fn rows<'py, const K: usize>(
    py: Python<'py>,
    what: &str,
    r: Vec<[f64; K]>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let a = ndarray::Array2::from_shape_vec((r.len(), K), r.concat())
        .map_err(|e| Kind::Internal.err(format!("{what}: {e}")))?;
    Ok(a.into_pyarray(py))
}

/// Barycenter shifts of background-subtracted clusters `images` float32 `(N, P, H, W)` (a
/// periodic 9th image is ignored): dict `shift_nm` (N,), `direction_deg` (N,), `barycentres_px`
/// (N, P, 2) as (x, y), `pair` (N, 2) — the two images farthest apart.
#[pyfunction]
#[pyo3(signature = (images, pixel_nm = rareml_io::emulsion::PIXEL_SIZE_NM))]
fn barycenter_shift<'py>(
    py: Python<'py>,
    images: PyReadonlyArray4<'py, f32>,
    pixel_nm: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let v = images.as_array();
    let shifts = detached(py, "baselines.barycenter_shift", || {
        each("cluster", 0, v.outer_iter(), |c| {
            rareml_baselines::emulsion::barycenter_shift(c, pixel_nm)
        })
    })?;
    let n = shifts.len();
    let p = shifts.first().map_or(0, |s| s.barycentres_px.len());
    let d = PyDict::new(py);
    let shift: Vec<f64> = shifts.iter().map(|s| s.shift_nm).collect();
    let dir: Vec<f64> = shifts.iter().map(|s| s.direction_deg).collect();
    let bary: Vec<f64> = shifts
        .iter()
        .flat_map(|s| s.barycentres_px.iter().flatten().copied())
        .collect();
    let pair: Vec<i64> = shifts
        .iter()
        .flat_map(|s| [s.pair.0 as i64, s.pair.1 as i64])
        .collect();
    d.set_item("shift_nm", shift.into_pyarray(py))?;
    d.set_item("direction_deg", dir.into_pyarray(py))?;
    let bary = ndarray::Array3::from_shape_vec((n, p, 2), bary)
        .map_err(|e| Kind::Internal.err(format!("barycenter_shift: {e}")))?;
    d.set_item("barycentres_px", bary.into_pyarray(py))?;
    let pair = ndarray::Array2::from_shape_vec((n, 2), pair)
        .map_err(|e| Kind::Internal.err(format!("barycenter_shift: {e}")))?;
    d.set_item("pair", pair.into_pyarray(py))?;
    Ok(d)
}

/// The shift threshold: the `quantile` of a reference sample's shifts (nm, e.g. fog) with its
/// bootstrap standard error from `n_bootstrap` resamples drawn from `seed`. A dict
/// `quantile`, `value_nm`, `std_err_nm`, `n_reference`.
#[pyfunction]
#[pyo3(signature = (reference_shifts_nm, quantile, n_bootstrap = 1000, seed = 0))]
fn reference_threshold<'py>(
    py: Python<'py>,
    reference_shifts_nm: PyReadonlyArray1<'py, f64>,
    quantile: f64,
    n_bootstrap: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let v = reference_shifts_nm.as_array();
    let t = detached(py, "baselines.reference_threshold", || {
        let s = v
            .as_slice()
            .map(<[f64]>::to_vec)
            .unwrap_or_else(|| v.to_vec());
        rareml_baselines::emulsion::reference_threshold(&s, quantile, n_bootstrap, seed).py()
    })?;
    let d = PyDict::new(py);
    d.set_item("quantile", t.quantile)?;
    d.set_item("value_nm", t.value_nm)?;
    d.set_item("std_err_nm", t.std_err_nm)?;
    d.set_item("n_reference", t.n_reference)?;
    Ok(d)
}

/// Bragg-blob topological scores of TPC events (events `start..stop` of a `TpcFile`, or a list
/// of event dicts with `readout`): per event the mean over planes of weaker-blob charge / plane
/// charge, in [0, 0.5]; deposits are baseline-subtracted amplitudes above `threshold_adc`.
#[pyfunction]
#[pyo3(signature = (source, start = 0, stop = None, readout = None, threshold_adc = 30.0, params_json = None))]
fn blob_scores<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    start: usize,
    stop: Option<usize>,
    readout: Option<&Bound<'py, PyAny>>,
    threshold_adc: f64,
    params_json: Option<&str>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let p: BlobParams = from_json("blob parameters", params_json)?;
    let (events, readout, meta, first) = tpc_events_arg(py, source, start, stop, readout)?;
    let scores = detached(py, "baselines.blob_scores", || {
        each("event", first, &events, |e| {
            rareml_baselines::tpc::strip_event_score(e, &readout, &meta, threshold_adc, &p)
        })
    })?;
    Ok(scores.into_pyarray(py))
}

/// The two ends of the most energetic connected track of `points` (mm, `(N, 2)` or `(N, 3)`)
/// with `energies` `(N,)`: dict `ends` (2, D) mm, `energies` (2,), `path_length_mm`,
/// `component_energy`, `score` (the weaker blob's energy).
#[pyfunction]
#[pyo3(signature = (points, energies, params_json = None))]
fn find_blobs<'py>(
    py: Python<'py>,
    points: PyReadonlyArray2<'py, f64>,
    energies: PyReadonlyArray1<'py, f64>,
    params_json: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let p: BlobParams = from_json("blob parameters", params_json)?;
    let pts = points.as_array();
    let e: Vec<f64> = energies.as_array().to_vec();
    let d = PyDict::new(py);
    macro_rules! blobs {
        ($dim:literal) => {{
            let pts: Vec<[f64; $dim]> = pts
                .outer_iter()
                .map(|r| std::array::from_fn(|k| r[k]))
                .collect();
            let b = detached(py, "baselines.find_blobs", || {
                rareml_baselines::tpc::find_blobs::<$dim>(&pts, &e, &p).py()
            })?;
            d.set_item(
                "ends",
                b.ends.iter().map(|x| x.to_vec()).collect::<Vec<_>>(),
            )?;
            d.set_item("energies", b.energies.to_vec())?;
            d.set_item("path_length_mm", b.path_length_mm)?;
            d.set_item("component_energy", b.component_energy)?;
            d.set_item("score", b.score)?;
        }};
    }
    match pts.ncols() {
        2 => blobs!(2),
        3 => blobs!(3),
        c => {
            return Err(Kind::InvalidArgument.err(format!(
                "points: shape ({}, {c}): expected (N, 2) or (N, 3) positions in mm",
                pts.nrows()
            )))
        }
    }
    Ok(d)
}

/// Gaussian-moment features `(N, 4·len(stations))` of TT events (events `start..stop` of a
/// `TtFile`, or a list of event dicts): per station var(x), cov(x, y), var(y) in cm² and the hit
/// count.
#[pyfunction]
#[pyo3(signature = (source, stations = vec![0, 1, 2], start = 0, stop = None))]
fn gaussian_features<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    stations: Vec<usize>,
    start: usize,
    stop: Option<usize>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (events, _) = tt_events_arg(py, source, start, stop)?;
    let k = 4 * stations.len();
    let rows = detached(py, "baselines.gaussian_features", || {
        each("event", start, &events, |e| {
            rareml_baselines::tt::gaussian_features(e, &stations)
        })
    })?;
    let a = ndarray::Array2::from_shape_vec((rows.len(), k), rows.concat())
        .map_err(|e| Kind::Internal.err(format!("gaussian_features: {e}")))?;
    Ok(a.into_pyarray(py))
}

/// The Gaussian-moment baseline: linear regressions of E (GeV) and d (cm) on the features of
/// `stations`.
#[pyclass(module = "rareml._rareml", frozen)]
struct MomentRegression {
    inner: RsMomentRegression,
}

#[pymethods]
impl MomentRegression {
    /// Fits on TT events with their truth (a `TtFile` range or a list of event dicts).
    #[staticmethod]
    #[pyo3(signature = (source, stations = vec![0, 1, 2], start = 0, stop = None))]
    fn fit(
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        stations: Vec<usize>,
        start: usize,
        stop: Option<usize>,
    ) -> PyResult<Self> {
        let (events, _) = tt_events_arg(py, source, start, stop)?;
        let inner = detached(py, "MomentRegression.fit", || {
            RsMomentRegression::fit(&events, &stations).py()
        })?;
        Ok(Self { inner })
    }

    /// Predicted `(N, 2)`: E in GeV, d in cm.
    #[pyo3(signature = (source, start = 0, stop = None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        source: &Bound<'py, PyAny>,
        start: usize,
        stop: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let (events, _) = tt_events_arg(py, source, start, stop)?;
        let out = detached(py, "MomentRegression.predict", || {
            each("event", start, &events, |e| {
                self.inner.predict(e).map(|(a, b)| [a, b])
            })
        })?;
        rows(py, "MomentRegression.predict", out)
    }
}

/// E = a·N_hits + b by least squares: `(a_gev_per_hit, b_gev)`.
#[pyfunction]
fn nhits_energy_fit(
    py: Python<'_>,
    n_hits: Vec<usize>,
    energy_gev: Vec<f64>,
) -> PyResult<(f64, f64)> {
    let f = detached(py, "baselines.nhits_energy_fit", || {
        rareml_baselines::tt::NHitsEnergy::fit(&n_hits, &energy_gev).py()
    })?;
    Ok((f.a_gev_per_hit, f.b_gev))
}

/// The DBSCAN transverse vertex of TT events (a `TtFile` range, its station z; or a list of
/// event dicts, the SHiP stations): dict `x_cm`, `y_cm` (NaN where no vertex: fewer than two
/// stations with a cluster), `n_stations` (stations used, or with a cluster when none found).
#[pyfunction]
#[pyo3(signature = (source, start = 0, stop = None, params_json = None))]
fn dbscan_vertex<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    start: usize,
    stop: Option<usize>,
    params_json: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let p: DbscanVertexParams = from_json("DBSCAN vertex parameters", params_json)?;
    let (events, geometry) = tt_events_arg(py, source, start, stop)?;
    let found = detached(py, "baselines.dbscan_vertex", || {
        each("event", start, &events, |e| {
            rareml_baselines::tt::dbscan_vertex(e, &geometry.station_z_cm, &p)
        })
    })?;
    let (mut x, mut y, mut n) = (Vec::new(), Vec::new(), Vec::new());
    for v in found {
        match v {
            Vertex::Found {
                x_cm,
                y_cm,
                stations,
            } => {
                x.push(x_cm);
                y.push(y_cm);
                n.push(stations.len() as i64);
            }
            Vertex::NoVertex {
                stations_with_cluster,
            } => {
                x.push(f64::NAN);
                y.push(f64::NAN);
                n.push(stations_with_cluster as i64);
            }
        }
    }
    let d = PyDict::new(py);
    d.set_item("x_cm", x.into_pyarray(py))?;
    d.set_item("y_cm", y.into_pyarray(py))?;
    d.set_item("n_stations", n.into_pyarray(py))?;
    Ok(d)
}

/// The intensity-weighted mean (x, y) in cm of all hits of each event, `(N, 2)`.
#[pyfunction]
#[pyo3(signature = (source, start = 0, stop = None))]
fn weighted_mean_xy<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    start: usize,
    stop: Option<usize>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (events, _) = tt_events_arg(py, source, start, stop)?;
    let out = detached(py, "baselines.weighted_mean_xy", || {
        each(
            "event",
            start,
            &events,
            rareml_baselines::tt::weighted_mean_xy,
        )
    })?;
    rows(py, "weighted_mean_xy", out)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let sub = PyModule::new(m.py(), "baselines")?;
    sub.add_function(wrap_pyfunction!(barycenter_shift, &sub)?)?;
    sub.add_function(wrap_pyfunction!(reference_threshold, &sub)?)?;
    sub.add_function(wrap_pyfunction!(blob_scores, &sub)?)?;
    sub.add_function(wrap_pyfunction!(find_blobs, &sub)?)?;
    sub.add_function(wrap_pyfunction!(gaussian_features, &sub)?)?;
    sub.add_function(wrap_pyfunction!(nhits_energy_fit, &sub)?)?;
    sub.add_function(wrap_pyfunction!(dbscan_vertex, &sub)?)?;
    sub.add_function(wrap_pyfunction!(weighted_mean_xy, &sub)?)?;
    sub.add_class::<MomentRegression>()?;
    m.add_submodule(&sub)?;
    Ok(())
}
