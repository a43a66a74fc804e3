//! `rareml.metrics`: ROC, AUC, Ξ and working points on numpy arrays (borrowed, not copied).

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::{detached, PyResultExt};

/// Binary labels as numpy hands them over: bool, or integers 0/1.
#[derive(FromPyObject)]
pub(crate) enum Labels<'py> {
    Bool(PyReadonlyArray1<'py, bool>),
    I64(PyReadonlyArray1<'py, i64>),
    I32(PyReadonlyArray1<'py, i32>),
    U8(PyReadonlyArray1<'py, u8>),
}

/// Scores: float64 or float32.
#[derive(FromPyObject)]
pub(crate) enum Scores<'py> {
    F64(PyReadonlyArray1<'py, f64>),
    F32(PyReadonlyArray1<'py, f32>),
}

/// Calls `$f(&labels_view, &scores_view, $args...)` for whichever dtypes arrived.
macro_rules! with_views {
    ($labels:expr, $scores:expr, |$l:ident, $s:ident| $body:expr) => {{
        macro_rules! scores {
            ($lv:expr) => {{
                let $l = $lv;
                match $scores {
                    Scores::F64(a) => {
                        let $s = a.as_array();
                        $body
                    }
                    Scores::F32(a) => {
                        let $s = a.as_array();
                        $body
                    }
                }
            }};
        }
        match $labels {
            Labels::Bool(a) => scores!(a.as_array()),
            Labels::I64(a) => scores!(a.as_array()),
            Labels::I32(a) => scores!(a.as_array()),
            Labels::U8(a) => scores!(a.as_array()),
        }
    }};
}

/// `(fpr, tpr, thresholds)`.
type RocArrays<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
);

/// `(fpr, tpr, thresholds)` as `sklearn.metrics.roc_curve`.
#[pyfunction]
#[pyo3(signature = (y_true, y_score, drop_intermediate = true))]
fn roc_curve<'py>(
    py: Python<'py>,
    y_true: Labels<'py>,
    y_score: Scores<'py>,
    drop_intermediate: bool,
) -> PyResult<RocArrays<'py>> {
    let roc = with_views!(&y_true, &y_score, |l, s| detached(py, "roc_curve", || {
        rareml_metrics::roc_curve(&l, &s, drop_intermediate).py()
    }))?;
    Ok((
        roc.fpr.into_pyarray(py),
        roc.tpr.into_pyarray(py),
        roc.thresholds.into_pyarray(py),
    ))
}

/// The area under the ROC curve, as `sklearn.metrics.roc_auc_score` for binary labels.
#[pyfunction]
fn roc_auc_score<'py>(py: Python<'py>, y_true: Labels<'py>, y_score: Scores<'py>) -> PyResult<f64> {
    with_views!(&y_true, &y_score, |l, s| detached(
        py,
        "roc_auc_score",
        || { rareml_metrics::roc_auc_score(&l, &s).py() }
    ))
}

/// Ξ = max εs/√εb and where it is reached, as JSON (the Python side makes it a dict).
#[pyfunction]
fn significance_json<'py>(
    py: Python<'py>,
    y_true: Labels<'py>,
    y_score: Scores<'py>,
) -> PyResult<String> {
    let s = with_views!(&y_true, &y_score, |l, s| detached(
        py,
        "significance",
        || { rareml_metrics::significance(&l, &s).py() }
    ))?;
    json(&s)
}

/// A working point chosen by `rule` (`"threshold"`, `"efficiency"` or `"rejection"`) at `value`,
/// intervals at confidence level `cl`, as JSON.
#[pyfunction]
fn working_point_json<'py>(
    py: Python<'py>,
    y_true: Labels<'py>,
    y_score: Scores<'py>,
    rule: &str,
    value: f64,
    cl: f64,
) -> PyResult<String> {
    use rareml_metrics::{efficiency_at_rejection, rejection_at_efficiency, working_point};
    let wp = with_views!(&y_true, &y_score, |l, s| detached(
        py,
        "working point",
        || {
            match rule {
            "threshold" => working_point(&l, &s, value, cl).py(),
            "efficiency" => rejection_at_efficiency(&l, &s, value, cl).py(),
            "rejection" => efficiency_at_rejection(&l, &s, value, cl).py(),
            other => Err(crate::Kind::InvalidArgument.err(format!(
                "working point rule {other:?}: expected \"threshold\", \"efficiency\" or \"rejection\""
            ))),
        }
        }
    ))?;
    json(&wp)
}

/// The Clopper–Pearson interval `(lower, upper)` of an efficiency `k / n` at confidence level `cl`.
#[pyfunction]
#[pyo3(signature = (k, n, cl = 0.95))]
fn clopper_pearson(k: u64, n: u64, cl: f64) -> PyResult<(f64, f64)> {
    if k > n {
        return Err(crate::Kind::InvalidArgument.err(format!(
            "clopper_pearson: k = {k} > n = {n}; expected 0 <= k <= n"
        )));
    }
    rareml_metrics::clopper_pearson(k, n, cl).py()
}

/// Bias, RMSE, σ of differences and relative resolution of `pred` against `truth`, as JSON.
#[pyfunction]
fn regression_summary_json(
    py: Python<'_>,
    truth: PyReadonlyArray1<'_, f64>,
    pred: PyReadonlyArray1<'_, f64>,
) -> PyResult<String> {
    let (t, p) = (truth.as_array(), pred.as_array());
    let s = detached(py, "regression_summary", || {
        rareml_metrics::regression_summary(&t, &p).py()
    })?;
    json(&s)
}

/// The statistics in bins of the true value (`edges` increasing), as JSON
/// `{"bins": [...], "below": n, "above": n}`.
#[pyfunction]
fn binned_resolution_json(
    py: Python<'_>,
    truth: PyReadonlyArray1<'_, f64>,
    pred: PyReadonlyArray1<'_, f64>,
    edges: Vec<f64>,
) -> PyResult<String> {
    let (t, p) = (truth.as_array(), pred.as_array());
    let (bins, (below, above)) = detached(py, "binned_resolution", || {
        rareml_metrics::binned_resolution(&t, &p, &edges).py()
    })?;
    json(&serde_json::json!({ "bins": bins, "below": below, "above": above }))
}

/// The fit of σ_E/E = a/√E (`"stochastic"`) or a/√E ⊕ b (`"stochastic_and_constant"`) to
/// `resolution` ± `resolution_err` at `energy`, as JSON.
#[pyfunction]
fn fit_resolution_json(
    energy: Vec<f64>,
    resolution: Vec<f64>,
    resolution_err: Vec<f64>,
    model: &str,
) -> PyResult<String> {
    use rareml_metrics::ResolutionModel as M;
    let m = match model {
        "stochastic" => M::Stochastic,
        "stochastic_and_constant" => M::StochasticAndConstant,
        other => {
            return Err(crate::Kind::InvalidArgument.err(format!(
                "model {other:?}: expected \"stochastic\" (a/sqrt(E)) or \"stochastic_and_constant\" (a/sqrt(E) + b in quadrature)"
            )))
        }
    };
    let f = rareml_metrics::fit_resolution(&energy, &resolution, &resolution_err, m).py()?;
    json(&f)
}

fn json(v: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| crate::Kind::Internal.err(format!("serialising: {e}")))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(roc_curve, m)?)?;
    m.add_function(wrap_pyfunction!(roc_auc_score, m)?)?;
    m.add_function(wrap_pyfunction!(significance_json, m)?)?;
    m.add_function(wrap_pyfunction!(working_point_json, m)?)?;
    m.add_function(wrap_pyfunction!(clopper_pearson, m)?)?;
    m.add_function(wrap_pyfunction!(regression_summary_json, m)?)?;
    m.add_function(wrap_pyfunction!(binned_resolution_json, m)?)?;
    m.add_function(wrap_pyfunction!(fit_resolution_json, m)?)?;
    Ok(())
}
