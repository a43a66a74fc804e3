//! `rareml.preprocess`: the emulsion pipeline, TPC XZ/YZ images and TT hit maps, batch in, batch
//! out, with the Rust crates' configs (given as dicts over their defaults).

use numpy::{IntoPyArray, PyArray4, PyArray5, PyReadonlyArray4};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use rareml_io::emulsion::{ClusterBatch, Pixel};
use rareml_preprocess::emulsion::EmulsionPipeline;
use rareml_preprocess::tpc::TpcImageConfig;
use rareml_preprocess::tt::HitMapConfig;

use crate::config::{from_json, to_json};
use crate::io::{tpc_events_arg, tt_events_arg};
use crate::{detached, Kind, PyResultExt};

impl crate::errors::Classify for rareml_preprocess::Error {
    fn kind(&self) -> Kind {
        match self {
            rareml_preprocess::Error::Io(e) => e.kind(),
            _ => Kind::InvalidArgument,
        }
    }
}

/// Images of either pixel type from Python.
#[derive(FromPyObject)]
pub(crate) enum Images<'py> {
    U8(PyReadonlyArray4<'py, u8>),
    F32(PyReadonlyArray4<'py, f32>),
}

fn run<T: Pixel>(
    p: &EmulsionPipeline,
    images: ndarray::ArrayView4<'_, T>,
    seed: u64,
    start: usize,
) -> PyResult<rareml_preprocess::emulsion::EmulsionInput> {
    let mut batch = ClusterBatch::new(images.to_owned(), None, None).py()?;
    batch.start = start;
    p.process(&batch, seed).py()
}

/// The emulsion pipeline on raw clusters `images` (uint8 or float32 `(N, P, H, W)`, P = 8 or 9):
/// returns `(x, kept, report)` — `x` float32 `(K, 1, P', H', W')` (the NEWSnet input), `kept` the
/// input index of each output cluster (those failing the quality cuts are absent), `report` the
/// cut counts. Cluster i is rotated by an angle drawn from `seed` and `start + i`.
#[pyfunction]
#[pyo3(signature = (images, config_json = None, seed = 0, start = 0))]
#[allow(clippy::type_complexity)]
fn emulsion<'py>(
    py: Python<'py>,
    images: Images<'py>,
    config_json: Option<&str>,
    seed: u64,
    start: usize,
) -> PyResult<(Bound<'py, PyArray5<f32>>, Vec<usize>, Bound<'py, PyDict>)> {
    let p: EmulsionPipeline = from_json("emulsion pipeline", config_json)?;
    let out = match &images {
        Images::U8(a) => {
            let v = a.as_array();
            detached(py, "preprocess.emulsion", || run(&p, v, seed, start))?
        }
        Images::F32(a) => {
            let v = a.as_array();
            detached(py, "preprocess.emulsion", || run(&p, v, seed, start))?
        }
    };
    let r = PyDict::new(py);
    r.set_item("seen", out.report.seen)?;
    r.set_item("kept", out.report.kept)?;
    r.set_item("rejected_peak", out.report.rejected_peak)?;
    r.set_item("rejected_pedestal", out.report.rejected_pedestal)?;
    Ok((out.images.into_pyarray(py), out.kept, r))
}

/// XZ/YZ images `(N, 2, H, W)` of TPC events — events `start..stop` of a `TpcFile`, or a list
/// of event dicts with `readout` (the dict of `TpcFile.readout()`; default: the generator's) —
/// and per event `(total_adc, outside_adc)`.
#[pyfunction]
#[pyo3(signature = (source, start = 0, stop = None, readout = None, config_json = None, seed = 0))]
#[allow(clippy::type_complexity)]
fn tpc_images<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    start: usize,
    stop: Option<usize>,
    readout: Option<&Bound<'py, PyAny>>,
    config_json: Option<&str>,
    seed: u64,
) -> PyResult<(Bound<'py, PyArray4<f32>>, Vec<(f64, f64)>)> {
    let cfg: TpcImageConfig = from_json("tpc image config", config_json)?;
    let (events, readout, meta, first) = tpc_events_arg(py, source, start, stop, readout)?;
    let (x, reports) = detached(py, "preprocess.tpc_images", || {
        rareml_preprocess::tpc::batch_images(&events, &readout, &meta, &cfg, seed, first as u64)
            .py()
    })?;
    let reports = reports
        .iter()
        .map(|r| (r.total_adc, r.outside_adc))
        .collect();
    Ok((x.into_pyarray(py), reports))
}

/// Hit maps `(N, K, H, W)` of TT events (events `start..stop` of a `TtFile`, or a list of event
/// dicts with `n_stations`), at `config`'s pixel size; with `coordinates` the CoordConv
/// channels [y, x, r] first, `(N, 3 + K, H, W)`. Also per event `(hits, outside)`: hits outside
/// the station area are counted, not silently lost.
#[pyfunction]
#[pyo3(signature = (source, start = 0, stop = None, n_stations = None, config_json = None, coordinates = false))]
#[allow(clippy::type_complexity)]
fn tt_hit_maps<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    start: usize,
    stop: Option<usize>,
    n_stations: Option<usize>,
    config_json: Option<&str>,
    coordinates: bool,
) -> PyResult<(Bound<'py, PyArray4<f32>>, Vec<(usize, usize)>)> {
    let cfg: HitMapConfig = from_json("hit map config", config_json)?;
    let (events, geometry) = tt_events_arg(py, source, start, stop)?;
    let k = n_stations.unwrap_or(geometry.n_stations());
    let (x, reports) = detached(py, "preprocess.tt_hit_maps", || {
        let (x, r) = rareml_preprocess::tt::batch_hit_maps(&events, k, &cfg).py()?;
        let x = if coordinates {
            rareml_preprocess::tt::add_coordinate_channels(x.view()).py()?
        } else {
            x
        };
        Ok((x, r))
    })?;
    let reports = reports.iter().map(|r| (r.hits, r.outside)).collect();
    Ok((x.into_pyarray(py), reports))
}

/// `(N, C, H, W)` → `(N, 3 + C, H, W)`: CoordConv's [y, x, r] channels prepended.
#[pyfunction]
fn add_coordinate_channels<'py>(
    py: Python<'py>,
    x: PyReadonlyArray4<'py, f32>,
) -> PyResult<Bound<'py, PyArray4<f32>>> {
    let v = x.as_array();
    let out = detached(py, "preprocess.add_coordinate_channels", || {
        rareml_preprocess::tt::add_coordinate_channels(v).py()
    })?;
    Ok(out.into_pyarray(py))
}

/// The default config of a preprocessing step as JSON.
#[pyfunction]
fn default_config_json(step: &str) -> PyResult<String> {
    match step {
        "emulsion" => to_json("emulsion", &EmulsionPipeline::default()),
        "tpc" => to_json("tpc", &TpcImageConfig::default()),
        "tt" => to_json("tt", &HitMapConfig::default()),
        other => Err(Kind::InvalidArgument.err(format!(
            "step {other:?}: expected \"emulsion\", \"tpc\" or \"tt\""
        ))),
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let sub = PyModule::new(m.py(), "preprocess")?;
    sub.add_function(wrap_pyfunction!(emulsion, &sub)?)?;
    sub.add_function(wrap_pyfunction!(tpc_images, &sub)?)?;
    sub.add_function(wrap_pyfunction!(tt_hit_maps, &sub)?)?;
    sub.add_function(wrap_pyfunction!(add_coordinate_channels, &sub)?)?;
    sub.add_function(wrap_pyfunction!(default_config_json, &sub)?)?;
    m.add_submodule(&sub)?;
    Ok(())
}
