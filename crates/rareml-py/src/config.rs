//! Configs from Python dicts (passed as JSON): the Rust config's defaults with the given fields
//! laid over them; an unknown field is an error naming the known ones.

use serde::{de::DeserializeOwned, Serialize};

use crate::Kind;
use pyo3::PyResult;

/// `T::default()` overlaid with the fields of the JSON object `json` (`None`: the default).
pub(crate) fn from_json<T: Default + Serialize + DeserializeOwned>(
    what: &str,
    json: Option<&str>,
) -> PyResult<T> {
    overlay(what, T::default(), json)
}

/// `base` overlaid with the fields of the JSON object `json` (`None`: `base`).
pub(crate) fn overlay<T: Serialize + DeserializeOwned>(
    what: &str,
    base: T,
    json: Option<&str>,
) -> PyResult<T> {
    let Some(json) = json else {
        return Ok(base);
    };
    let bad = |reason: String| Kind::InvalidArgument.err(format!("{what}: {reason}"));
    let given: serde_json::Value =
        serde_json::from_str(json).map_err(|e| bad(format!("not JSON: {e}")))?;
    let serde_json::Value::Object(given) = given else {
        return Err(bad("expected a dict of the config's fields".into()));
    };
    let mut merged = match serde_json::to_value(base) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => return Err(Kind::Internal.err(format!("{what}: default is not a struct"))),
    };
    for (k, v) in given {
        if !merged.contains_key(&k) {
            let mut known: Vec<&String> = merged.keys().collect();
            known.sort();
            let known: Vec<&str> = known.into_iter().map(String::as_str).collect();
            return Err(bad(format!(
                "unknown field {k:?}; the fields are {}",
                known.join(", ")
            )));
        }
        merged.insert(k, v);
    }
    serde_json::from_value(serde_json::Value::Object(merged)).map_err(|e| bad(e.to_string()))
}

/// The config as JSON (for the Python side to show as a dict).
pub(crate) fn to_json<T: Serialize>(what: &str, cfg: &T) -> PyResult<String> {
    serde_json::to_string(cfg).map_err(|e| Kind::Internal.err(format!("{what}: {e}")))
}
