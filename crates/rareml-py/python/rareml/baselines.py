"""The classical analyses the networks are compared with: the barycenter-shift cut (NEWSdm),
Bragg-blob topology (PandaX-III), Gaussian moments + linear regression and the DBSCAN vertex
(SHiP TT). Batch in, numpy arrays out; errors name the cluster or event.

Examples
--------
>>> import numpy as np, rareml.baselines
>>> img = np.zeros((1, 8, 5, 5), np.float32); img[0, :, 2, 2] = 1; img[0, 4, 2, 3] = 3
>>> round(float(rareml.baselines.barycenter_shift(img, pixel_nm=10.0)["shift_nm"][0]), 3)
7.5
"""

import json
from typing import Any, Dict, Optional, Sequence

import numpy as np

from . import _rareml
from .errors import InvalidArgumentError

__all__ = [
    "barycenter_shift",
    "reference_threshold",
    "blob_scores",
    "find_blobs",
    "gaussian_features",
    "MomentRegression",
    "nhits_energy_fit",
    "dbscan_vertex",
    "weighted_mean_xy",
]

_b = _rareml.baselines
MomentRegression = _b.MomentRegression

#: NEWSdm scan pixel size in nm.
PIXEL_SIZE_NM = 27.47


def _json(params: Optional[Dict[str, Any]]) -> Optional[str]:
    return None if params is None else json.dumps(params)


def _f(name: str, x: Any, dtype: Any, ndim: int) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != ndim or not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise InvalidArgumentError(f"{name}: expected a {ndim}-d numeric array, found {a.dtype} {a.shape}")
    return np.ascontiguousarray(a, dtype=dtype)


def barycenter_shift(images: np.ndarray, pixel_nm: float = PIXEL_SIZE_NM) -> Dict[str, np.ndarray]:
    """Barycenter shifts of background-subtracted clusters ``(N, P, H, W)`` (a periodic 9th
    image is ignored): ``shift_nm``, ``direction_deg`` (in [0, 180) from +x towards -y),
    ``barycentres_px`` ``(N, P, 2)`` as (x, y), ``pair`` ``(N, 2)``."""
    return _b.barycenter_shift(_f("images", images, np.float32, 4), pixel_nm)


def reference_threshold(
    reference_shifts_nm: Any, quantile: float, n_bootstrap: int = 1000, seed: int = 0
) -> Dict[str, Any]:
    """The ``quantile`` of a reference sample's shifts (nm) and its bootstrap standard error:
    ``quantile``, ``value_nm``, ``std_err_nm``, ``n_reference``."""
    return _b.reference_threshold(_f("reference_shifts_nm", reference_shifts_nm, np.float64, 1), quantile, n_bootstrap, seed)


def blob_scores(
    source: Any,
    start: int = 0,
    stop: Optional[int] = None,
    readout: Optional[Dict[str, np.ndarray]] = None,
    threshold_adc: float = 30.0,
    params: Optional[Dict[str, Any]] = None,
) -> np.ndarray:
    """Bragg-blob scores in [0, 0.5] of TPC events (a :class:`rareml.io.TpcFile` range or a
    list of event dicts with ``readout``); ``params`` = ``{"voxel_mm", "radius_mm"}``."""
    return _b.blob_scores(source, start, stop, readout, threshold_adc, _json(params))


def find_blobs(points: Any, energies: Any, params: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The two ends of the most energetic track of ``points`` (mm, ``(N, 2)`` or ``(N, 3)``) and
    the energy around each."""
    return _b.find_blobs(_f("points", points, np.float64, 2), _f("energies", energies, np.float64, 1), _json(params))


def gaussian_features(
    source: Any, stations: Sequence[int] = (0, 1, 2), start: int = 0, stop: Optional[int] = None
) -> np.ndarray:
    """Per station var(x), cov(x, y), var(y) (cm²) and hit count: ``(N, 4·len(stations))``."""
    return _b.gaussian_features(source, list(stations), start, stop)


def nhits_energy_fit(n_hits: Sequence[int], energy_gev: Sequence[float]) -> Dict[str, float]:
    """E = a·N_hits + b by least squares: ``{"a_gev_per_hit", "b_gev"}``."""
    a, b = _b.nhits_energy_fit([int(n) for n in n_hits], [float(e) for e in energy_gev])
    return {"a_gev_per_hit": a, "b_gev": b}


def dbscan_vertex(
    source: Any, start: int = 0, stop: Optional[int] = None, params: Optional[Dict[str, Any]] = None
) -> Dict[str, np.ndarray]:
    """The DBSCAN transverse vertex: ``x_cm``, ``y_cm`` (NaN where fewer than two stations have a
    cluster) and ``n_stations``; ``params`` = ``{"eps_cm", "min_points", "max_stations",
    "max_clusters"}``."""
    return _b.dbscan_vertex(source, start, stop, _json(params))


def weighted_mean_xy(source: Any, start: int = 0, stop: Optional[int] = None) -> np.ndarray:
    """The intensity-weighted mean (x, y) of all hits, cm, ``(N, 2)``."""
    return _b.weighted_mean_xy(source, start, stop)
