"""ROC curve, AUC, the significance Xi = eps_s / sqrt(eps_b) and working points with
Clopper-Pearson intervals, with scikit-learn's semantics (``score >= threshold`` selects, ties enter
together, the curve starts at ``thresholds[0] = inf``).

Labels: bool, or integers in {0, 1} (or {-1, 1}; 1 is signal). Scores: float32 or float64, finite.
Arrays of those dtypes are read in place (no copy); others are converted once. The GIL is released
during the computation.

Examples
--------
>>> from rareml.metrics import roc_curve, roc_auc_score
>>> fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
>>> fpr.tolist(), tpr.tolist()
([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
>>> roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
0.75
"""

import json
from typing import Any, Dict, Tuple

import numpy as np

from . import _rareml
from .errors import InvalidArgumentError

__all__ = [
    "roc_curve",
    "roc_auc_score",
    "significance",
    "working_point",
    "rejection_at_efficiency",
    "efficiency_at_rejection",
    "clopper_pearson",
    "regression_summary",
    "binned_resolution",
    "fit_resolution",
    "energy_resolution",
]

_LABEL_DTYPES = (np.bool_, np.int64, np.int32, np.uint8)
_SCORE_DTYPES = (np.float64, np.float32)


def _labels(y_true: Any) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise InvalidArgumentError(f"y_true: shape {y.shape}; expected a 1-D array of labels")
    if y.dtype.kind == "f":
        if not np.all(np.isin(y, (-1.0, 0.0, 1.0))):
            raise InvalidArgumentError("y_true: float labels other than 0, 1 (or -1, 1)")
        y = y.astype(np.int64)
    if y.dtype.kind not in "biu":
        raise InvalidArgumentError(f"y_true: dtype {y.dtype}; expected bool or integer labels")
    if y.dtype.kind == "i" and y.size and y.min() == -1:
        # scikit-learn's {-1, 1} convention: 1 is the positive class.
        if not np.all((y == 1) | (y == -1)):
            raise InvalidArgumentError("y_true: labels mix -1 with values other than 1")
        return y == 1
    if y.dtype.type not in _LABEL_DTYPES:
        y = y.astype(np.int64)
    return np.ascontiguousarray(y)


def _scores(y_score: Any) -> np.ndarray:
    s = np.asarray(y_score)
    if s.ndim != 1:
        raise InvalidArgumentError(f"y_score: shape {s.shape}; expected a 1-D array of scores")
    if s.dtype.type not in _SCORE_DTYPES:
        if s.dtype.kind not in "biuf":
            raise InvalidArgumentError(f"y_score: dtype {s.dtype}; expected numbers")
        s = s.astype(np.float64)
    return s


def roc_curve(
    y_true: Any, y_score: Any, drop_intermediate: bool = True
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)`` as ``sklearn.metrics.roc_curve(y_true, y_score,
    drop_intermediate=...)``: false- and true-positive rates (background and signal efficiencies)
    at the strictly decreasing thresholds, ``thresholds[0] = inf``.

    Raises :class:`~rareml.errors.InvalidArgumentError` (a ``ValueError``) for one class only,
    constant or non-finite scores, or lengths that differ."""
    return _rareml.roc_curve(_labels(y_true), _scores(y_score), drop_intermediate)


def roc_auc_score(y_true: Any, y_score: Any) -> float:
    """Area under the ROC curve, as ``sklearn.metrics.roc_auc_score`` for binary labels (ties
    count one half)."""
    return _rareml.roc_auc_score(_labels(y_true), _scores(y_score))


def significance(y_true: Any, y_score: Any) -> Dict[str, float]:
    """The best threshold by Xi = eps_s / sqrt(eps_b) (PandaX-III's figure of merit): a dict with
    ``xi``, ``threshold`` (select ``score >= threshold``), ``tpr``, ``fpr`` and ``index`` (the point
    in the full ROC curve)."""
    return json.loads(_rareml.significance_json(_labels(y_true), _scores(y_score)))


def _point(y_true: Any, y_score: Any, rule: str, value: float, cl: float) -> Dict[str, Any]:
    return json.loads(
        _rareml.working_point_json(_labels(y_true), _scores(y_score), rule, float(value), float(cl))
    )


def working_point(y_true: Any, y_score: Any, threshold: float, cl: float = 0.95) -> Dict[str, Any]:
    """What the selection ``score >= threshold`` keeps: a dict with ``signal`` and ``background``
    efficiencies (``value``, ``lower``, ``upper``: Clopper-Pearson at level ``cl``), ``rejection``
    and ``significance`` (``{"kind": "value" | "lower_limit", "value": x}``: a one-sided limit when
    no background is selected) and ``rejection_interval``."""
    return _point(y_true, y_score, "threshold", threshold, cl)


def rejection_at_efficiency(
    y_true: Any, y_score: Any, efficiency: float, cl: float = 0.95
) -> Dict[str, Any]:
    """The working point of the highest threshold keeping at least signal efficiency
    ``efficiency`` (0 < efficiency <= 1); fields as :func:`working_point`."""
    return _point(y_true, y_score, "efficiency", efficiency, cl)


def efficiency_at_rejection(
    y_true: Any, y_score: Any, rejection: float, cl: float = 0.95
) -> Dict[str, Any]:
    """The working point of the lowest threshold whose background rejection 1/eps_b reaches
    ``rejection`` (>= 1); fields as :func:`working_point`."""
    return _point(y_true, y_score, "rejection", rejection, cl)


def clopper_pearson(k: int, n: int, cl: float = 0.95) -> Tuple[float, float]:
    """The Clopper-Pearson (exact binomial) interval ``(lower, upper)`` of the efficiency ``k/n``
    at confidence level ``cl``; 0 below at ``k = 0``, 1 above at ``k = n``."""
    return _rareml.clopper_pearson(int(k), int(n), float(cl))


def _reals(name: str, x: Any) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1 or a.dtype.kind not in "biuf":
        raise InvalidArgumentError(f"{name}: expected a 1-D array of numbers, found {a.dtype} {a.shape}")
    return np.ascontiguousarray(a, dtype=np.float64)


def regression_summary(y_true: Any, y_pred: Any) -> Dict[str, Any]:
    """``n``, ``bias`` = mean(p - t), ``rmse``, ``sigma_diff`` = std(t - p) (1/n), ``resolution`` =
    std((t - p)/t) (None when some t = 0) and ``mean_truth``."""
    return json.loads(_rareml.regression_summary_json(_reals("y_true", y_true), _reals("y_pred", y_pred)))


def binned_resolution(y_true: Any, y_pred: Any, edges: Any) -> Dict[str, Any]:
    """:func:`regression_summary` in bins of the true value (``edges`` increasing; the last bin
    closed): ``bins`` (each ``lo``, ``hi``, ``n``, ``summary`` or None below 2 items,
    ``resolution_err`` = resolution/sqrt(2(n-1))) and the counts ``below`` / ``above`` the edges."""
    return json.loads(
        _rareml.binned_resolution_json(_reals("y_true", y_true), _reals("y_pred", y_pred), [float(e) for e in edges])
    )


def fit_resolution(
    energy: Any, resolution: Any, resolution_err: Any, model: str = "stochastic_and_constant"
) -> Dict[str, Any]:
    """Weighted least-squares fit of sigma_E/E = a/sqrt(E) (``"stochastic"``) or
    a/sqrt(E) (+) b (``"stochastic_and_constant"``): ``a``, ``a_err`` (unit sqrt(E)), ``b``,
    ``b_err``, ``chi2``, ``ndf``."""
    return json.loads(
        _rareml.fit_resolution_json(
            [float(v) for v in energy], [float(v) for v in resolution], [float(v) for v in resolution_err], model
        )
    )


def energy_resolution(
    y_true: Any, y_pred: Any, edges: Any, model: str = "stochastic_and_constant"
) -> Dict[str, Any]:
    """The regression resolution and its fit: :func:`binned_resolution`, then
    :func:`fit_resolution` of each bin's relative resolution at its mean true energy (bins with
    fewer than 2 items or no resolution skipped). ``{"bins": ..., "below", "above", "fit"}``."""
    b = binned_resolution(y_true, y_pred, edges)
    pts = [
        (x["summary"]["mean_truth"], x["summary"]["resolution"], x["resolution_err"])
        for x in b["bins"]
        if x["summary"] is not None and x["summary"]["resolution"] is not None and x["resolution_err"]
    ]
    e, r, err = zip(*pts) if pts else ((), (), ())
    b["fit"] = fit_resolution(e, r, err, model)
    return b
