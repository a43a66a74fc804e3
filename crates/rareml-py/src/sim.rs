//! `rareml.sim`: the toy Monte Carlo generators, seeded, into numpy or to a file.

use std::path::PathBuf;

use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use rareml_sim::emulsion::{EmulsionConfig, Sample};
use rareml_sim::tpc::TpcConfig;
use rareml_sim::tt::TtConfig;
use rareml_sim::WriteOptions;

use crate::config::{from_json, to_json};
use crate::io::{tpc_event_dict, tt_event_dict};
use crate::{detached, Kind, PyResultExt};

/// The samples a name may give, with their group names.
const SAMPLES: [Sample; 6] = Sample::ALL;

/// A sample from its group name (`"Carbon/30keV"`, `"fog"`, `"gamma"`) or a short name
/// (`"carbon30"`, `"C30keV"`).
fn sample(name: &str) -> PyResult<Sample> {
    let norm = name.to_ascii_lowercase().replace(['/', '_', ' '], "");
    SAMPLES
        .into_iter()
        .find(|s| {
            let g = s.group().to_ascii_lowercase().replace('/', "");
            let short = match s {
                Sample::Carbon(e) => format!("c{e}kev"),
                _ => g.clone(),
            };
            norm == g || norm == short || norm == g.trim_end_matches("kev")
        })
        .ok_or_else(|| {
            let names: Vec<String> = SAMPLES.iter().map(|s| s.group()).collect();
            Kind::InvalidArgument.err(format!(
                "sample {name:?}: expected one of {}",
                names.join(", ")
            ))
        })
}

/// Emulsion clusters `first .. first + n` of `sample`: dict of `images` (uint8 `(N, 9, 80, 80)`,
/// raw crops, the 9th image a copy of the 1st), `pol_ids` (int32 `(N, 13)`), `labels` (int64).
#[pyfunction]
#[pyo3(signature = (sample_name, n, seed = 0, first = 0, config_json = None))]
fn emulsion<'py>(
    py: Python<'py>,
    sample_name: &str,
    n: usize,
    seed: u64,
    first: u64,
    config_json: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let s = sample(sample_name)?;
    let cfg: EmulsionConfig = from_json("emulsion config", config_json)?;
    let batch = detached(py, "sim.emulsion", || {
        rareml_sim::emulsion::generate(&cfg, s, seed, first, n).py()
    })?;
    let d = PyDict::new(py);
    let labels: Vec<i64> = batch.classes.iter().flatten().map(|c| c.label()).collect();
    d.set_item("images", batch.images.into_pyarray(py))?;
    d.set_item("pol_ids", batch.pol_ids.map(|p| p.into_pyarray(py)))?;
    d.set_item("labels", labels.into_pyarray(py))?;
    Ok(d)
}

/// The DECAY0 events of `path` (signal kinematics for the TPC generator), or none.
fn decay0(path: Option<&PathBuf>) -> PyResult<Option<Vec<rareml_io::decay0::Decay0Event>>> {
    path.map(|p| rareml_io::decay0::read_all(p).map(|(_, e)| e).py())
        .transpose()
}

/// PandaX-III events `first .. first + n` (signal and background mixed as the config says), as
/// a list of event dicts like `TpcFile.event`; signal kinematics from the DECAY0 file `decay0`
/// when given (else the built-in two-electron sampler).
#[pyfunction]
#[pyo3(signature = (n, seed = 0, first = 0, config_json = None, decay0_path = None))]
fn tpc<'py>(
    py: Python<'py>,
    n: usize,
    seed: u64,
    first: u64,
    config_json: Option<&str>,
    decay0_path: Option<PathBuf>,
) -> PyResult<Bound<'py, PyList>> {
    let cfg: TpcConfig = from_json("tpc config", config_json)?;
    let events = detached(py, "sim.tpc", || {
        let d0 = decay0(decay0_path.as_ref())?;
        rareml_sim::tpc::generate(&cfg, d0.as_deref(), seed, first, n).py()
    })?;
    let list = PyList::empty(py);
    for e in events {
        list.append(tpc_event_dict(py, e)?)?;
    }
    Ok(list)
}

/// SHiP target-tracker showers `first .. first + n`, as a list of event dicts like `TtFile.event`.
#[pyfunction]
#[pyo3(signature = (n, seed = 0, first = 0, config_json = None))]
fn tt<'py>(
    py: Python<'py>,
    n: usize,
    seed: u64,
    first: u64,
    config_json: Option<&str>,
) -> PyResult<Bound<'py, PyList>> {
    let cfg: TtConfig = from_json("tt config", config_json)?;
    let events = detached(py, "sim.tt", || {
        rareml_sim::tt::generate(&cfg, seed, first, n).py()
    })?;
    let list = PyList::empty(py);
    for e in events {
        list.append(tt_event_dict(py, e)?)?;
    }
    Ok(list)
}

/// Events per batch of [`write`]: two emulsion chunks (18 crops each) per thread. Ctrl-C is
/// answered between batches, so a batch must stay short on a slow CPU too — 36 clusters per
/// thread take ≈ 0.4 s at the 85 clusters/s per thread measured on an AVX2-only EPYC (issue 25:
/// 171 clusters/s on 2 cores, deflate 4) — while every thread still compresses a chunk.
fn answering_batch() -> usize {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    36 * threads
}

/// Writes `n` events (per sample for emulsion) of `detector` (`"emulsion"`, `"tpc"`, `"tt"`) to
/// the HDF5 file `path`, as the `simulate` example does; `deflate` 0 = uncompressed, 1–9 = level.
#[pyfunction]
#[pyo3(signature = (detector, path, n, seed = 0, deflate = 4, samples = None, config_json = None, decay0_path = None))]
#[allow(clippy::too_many_arguments)]
fn write(
    py: Python<'_>,
    detector: &str,
    path: PathBuf,
    n: usize,
    seed: u64,
    deflate: u8,
    samples: Option<Vec<String>>,
    config_json: Option<&str>,
    decay0_path: Option<PathBuf>,
) -> PyResult<()> {
    if decay0_path.is_some() && detector != "tpc" {
        return Err(
            Kind::InvalidArgument.err("decay0_path: only the tpc generator reads DECAY0 events")
        );
    }
    let compression = crate::writers::compression(deflate)?;
    let opts = WriteOptions {
        compression,
        batch: answering_batch(),
        ..WriteOptions::default()
    };
    match detector {
        "emulsion" => {
            let cfg: EmulsionConfig = from_json("emulsion config", config_json)?;
            let s = match samples {
                Some(names) => names
                    .iter()
                    .map(|n| sample(n))
                    .collect::<PyResult<Vec<_>>>()?,
                None => SAMPLES.to_vec(),
            };
            detached(py, "sim.write", || {
                rareml_sim::emulsion::write(&path, &cfg, &s, seed, n, &opts, |_| {
                    crate::poll_signals()
                })
                .py()
            })
        }
        "tpc" | "tt" if samples.is_some() => {
            Err(Kind::InvalidArgument.err("samples: only emulsion files have samples"))
        }
        "tpc" => {
            let cfg: TpcConfig = from_json("tpc config", config_json)?;
            detached(py, "sim.write", || {
                let d0 = decay0(decay0_path.as_ref())?;
                rareml_sim::tpc::write(&path, &cfg, d0.as_deref(), seed, n, &opts, |_| {
                    crate::poll_signals()
                })
                .py()
            })
        }
        "tt" => {
            let cfg: TtConfig = from_json("tt config", config_json)?;
            detached(py, "sim.write", || {
                rareml_sim::tt::write(&path, &cfg, seed, n, &opts, |_| crate::poll_signals()).py()
            })
        }
        other => Err(Kind::InvalidArgument.err(format!(
            "detector {other:?}: expected \"emulsion\", \"tpc\" or \"tt\""
        ))),
    }
}

/// The generator's readout of `modules_per_side`² modules, as the dict of `TpcFile.readout`.
#[pyfunction]
#[pyo3(signature = (modules_per_side = 3))]
fn tpc_readout(py: Python<'_>, modules_per_side: usize) -> PyResult<Bound<'_, PyDict>> {
    if !(1..=8).contains(&modules_per_side) {
        return Err(
            Kind::InvalidArgument.err(format!("modules_per_side {modules_per_side}: expected 1–8"))
        );
    }
    crate::io::readout_dict(py, &rareml_sim::tpc::readout(modules_per_side))
}

/// The default config of a generator as JSON.
#[pyfunction]
fn default_config_json(detector: &str) -> PyResult<String> {
    match detector {
        "emulsion" => to_json("emulsion", &EmulsionConfig::default()),
        "tpc" => to_json("tpc", &TpcConfig::default()),
        "tt" => to_json("tt", &TtConfig::default()),
        other => Err(Kind::InvalidArgument.err(format!(
            "detector {other:?}: expected \"emulsion\", \"tpc\" or \"tt\""
        ))),
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let sim = PyModule::new(m.py(), "sim")?;
    sim.add_function(wrap_pyfunction!(emulsion, &sim)?)?;
    sim.add_function(wrap_pyfunction!(tpc, &sim)?)?;
    sim.add_function(wrap_pyfunction!(tt, &sim)?)?;
    sim.add_function(wrap_pyfunction!(write, &sim)?)?;
    sim.add_function(wrap_pyfunction!(tpc_readout, &sim)?)?;
    sim.add_function(wrap_pyfunction!(default_config_json, &sim)?)?;
    m.add_submodule(&sim)?;
    Ok(())
}
