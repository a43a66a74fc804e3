//! `rareml.experiments`: the three pipelines end to end (data, preprocessing, training, the
//! baseline, metrics, report and plots), as the `newsdm`, `pandax3` and `ship_tt` examples run
//! them; the report comes back as JSON (a dict on the Python side).

use std::path::PathBuf;
use std::time::Duration;

use pyo3::prelude::*;

use rareml::experiments::{newsdm, pandax3, ship_tt, Options, Preset};

use crate::config::{overlay, to_json};
use crate::{check_signals, Kind};

impl crate::errors::Classify for rareml::experiments::Error {
    fn kind(&self) -> Kind {
        use rareml::experiments::Error as E;
        match self {
            E::Io(e) => e.kind(),
            E::Sim(e) => e.kind(),
            E::Model(e) => e.kind(),
            E::Train(rareml_train::Error::Interrupted) => Kind::Internal,
            E::File { .. } => Kind::Os,
            E::Data { .. } => Kind::FileFormat,
            _ => Kind::InvalidArgument,
        }
    }
}

/// The preset named `name`.
fn preset(name: &str) -> PyResult<Preset> {
    name.parse::<Preset>()
        .map_err(|e| Kind::InvalidArgument.err(format!("preset: {e}")))
}

/// Runs `f` on a worker thread while this (the Python main) thread, without the GIL, looks for
/// Ctrl-C every 50 ms; on Ctrl-C it asks training to stop (`rareml_train::cancel`), waits for
/// the worker and raises `KeyboardInterrupt`.
fn interruptible<T: Send>(
    py: Python<'_>,
    what: &str,
    f: impl FnOnce() -> PyResult<T> + Send,
) -> PyResult<T> {
    rareml_train::cancel::reset();
    let mut interrupt: Option<PyErr> = None;
    let out = std::thread::scope(|s| {
        let worker = s.spawn(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
        while !worker.is_finished() {
            py.detach(|| std::thread::sleep(Duration::from_millis(50)));
            if interrupt.is_none() {
                if let Err(e) = check_signals() {
                    rareml_train::cancel::request();
                    interrupt = Some(e);
                }
            }
        }
        worker.join()
    });
    rareml_train::cancel::reset();
    if let Some(e) = interrupt {
        return Err(e);
    }
    match out {
        Ok(Ok(r)) => r,
        Ok(Err(payload)) | Err(payload) => Err(crate::errors::panic_error(what, payload)),
    }
}

/// Runs experiment `name` (`"newsdm"`, `"pandax3"`, `"ship_tt"`) with `preset`'s settings
/// overlaid with `settings_json`, writing the report, plots and checkpoints into `out`; data
/// from the user's `data` file or generated; `resume_with_new_config` lets checkpoints in `out`
/// made with another training configuration be resumed. Returns the report as JSON.
#[pyfunction]
#[pyo3(signature = (name, out, preset_name = "quick", data = None, seed = 42, device = "cpu", settings_json = None, progress = false, resume_with_new_config = false))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    name: &str,
    out: PathBuf,
    preset_name: &str,
    data: Option<PathBuf>,
    seed: u64,
    device: &str,
    settings_json: Option<&str>,
    progress: bool,
    resume_with_new_config: bool,
) -> PyResult<String> {
    let p = preset(preset_name)?;
    let options = Options {
        data,
        seed,
        out,
        device: device.to_string(),
        progress,
        resume_with_new_config,
    };
    let what = format!("experiments.run({name:?})");
    match name {
        "newsdm" => {
            let s = overlay(
                "newsdm settings",
                newsdm::Settings::preset(p),
                settings_json,
            )?;
            interruptible(py, &what, || report(newsdm::run(&options, &s)))
        }
        "pandax3" => {
            let s = overlay(
                "pandax3 settings",
                pandax3::Settings::preset(p),
                settings_json,
            )?;
            interruptible(py, &what, || report(pandax3::run(&options, &s)))
        }
        "ship_tt" => {
            let s = overlay(
                "ship_tt settings",
                ship_tt::Settings::preset(p),
                settings_json,
            )?;
            interruptible(py, &what, || report(ship_tt::run(&options, &s)))
        }
        other => Err(unknown(other)),
    }
}

fn unknown(name: &str) -> PyErr {
    Kind::InvalidArgument.err(format!(
        "experiment {name:?}: expected \"newsdm\", \"pandax3\" or \"ship_tt\""
    ))
}

fn report<R: serde::Serialize>(r: rareml::experiments::Result<R>) -> PyResult<String> {
    use crate::PyResultExt;
    to_json("report", &r.py()?)
}

/// The settings of experiment `name` at `preset_name` as JSON.
#[pyfunction]
#[pyo3(signature = (name, preset_name = "quick"))]
fn settings_json(name: &str, preset_name: &str) -> PyResult<String> {
    let p = preset(preset_name)?;
    match name {
        "newsdm" => to_json("settings", &newsdm::Settings::preset(p)),
        "pandax3" => to_json("settings", &pandax3::Settings::preset(p)),
        "ship_tt" => to_json("settings", &ship_tt::Settings::preset(p)),
        other => Err(unknown(other)),
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let sub = PyModule::new(m.py(), "experiments")?;
    sub.add_function(wrap_pyfunction!(run, &sub)?)?;
    sub.add_function(wrap_pyfunction!(settings_json, &sub)?)?;
    m.add_submodule(&sub)?;
    Ok(())
}
