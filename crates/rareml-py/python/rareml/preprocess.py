"""Preprocessing, batch in, batch out: the NEWSdm emulsion pipeline (quality cuts, central crop,
background subtraction, scaling, rotation, periodic polarisation layout), PandaX-III XZ/YZ
images and SHiP TT hit maps at any pixel size with CoordConv's coordinate channels.

Configs are dicts of the Rust configs' fields laid over their defaults (:func:`default_config`:
the papers' settings); an unknown field is an error naming the known ones. Calls release the
GIL and run on all cores.

Examples
--------
>>> import rareml.sim, rareml.preprocess
>>> raw = rareml.sim.emulsion("fog", 3, seed=2)["images"]
>>> x, kept, report = rareml.preprocess.emulsion(raw)
>>> x.shape, kept
((3, 1, 9, 40, 40), [0, 1, 2])
>>> rareml.preprocess.default_config("emulsion")["scale"]
{'Constant': 128.0}
"""

import json
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import _rareml

__all__ = ["emulsion", "tpc_images", "tt_hit_maps", "add_coordinate_channels", "default_config"]

_pp = _rareml.preprocess

Config = Optional[Dict[str, Any]]


def _json(config: Config) -> Optional[str]:
    return None if config is None else json.dumps(config)


def emulsion(
    images: np.ndarray, config: Config = None, seed: int = 0, start: int = 0
) -> Tuple[np.ndarray, List[int], Dict[str, int]]:
    """Raw clusters ``images`` (uint8 or float32 ``(N, P, H, W)``, P = 8 or 9) through the
    pipeline: ``(x, kept, report)`` with ``x`` float32 ``(K, 1, P', H', W')`` (NEWSnet's input),
    ``kept`` the input index of each output cluster (clusters failing the quality cuts are
    absent) and ``report`` the cut counts. Cluster ``i`` is rotated by an angle drawn from
    ``seed`` and ``start + i``, so results do not depend on batching."""
    a = np.asarray(images)
    if a.dtype not in (np.uint8, np.float32):
        raise _type_error("images", a, "uint8 or float32 (N, P, H, W)")
    return _pp.emulsion(a, _json(config), seed, start)


def tpc_images(
    source: Any,
    start: int = 0,
    stop: Optional[int] = None,
    readout: Optional[Dict[str, np.ndarray]] = None,
    config: Config = None,
    seed: int = 0,
) -> Tuple[np.ndarray, List[Tuple[float, float]]]:
    """XZ/YZ images float32 ``(N, 2, H, W)`` of TPC events — events ``start..stop`` of a
    :class:`rareml.io.TpcFile`, or a list of event dicts (:func:`rareml.sim.tpc`) with their
    ``readout`` (default: the generator's) — and per event ``(total_adc, outside_adc)``: charge
    outside the image window is reported, not silently lost."""
    return _pp.tpc_images(source, start, stop, readout, _json(config), seed)


def tt_hit_maps(
    source: Any,
    start: int = 0,
    stop: Optional[int] = None,
    n_stations: Optional[int] = None,
    config: Config = None,
    coordinates: bool = False,
) -> Tuple[np.ndarray, List[Tuple[int, int]]]:
    """Hit maps float32 ``(N, K, H, W)`` of TT events (events ``start..stop`` of a
    :class:`rareml.io.TtFile`, or a list of event dicts) at ``config["pixel_cm"]``; with
    ``coordinates`` CoordConv's [y, x, r] channels first, ``(N, 3 + K, H, W)``. Also per event
    ``(hits, outside)``, the hits outside the station area."""
    return _pp.tt_hit_maps(source, start, stop, n_stations, _json(config), coordinates)


def add_coordinate_channels(x: np.ndarray) -> np.ndarray:
    """``(N, C, H, W)`` float32 → ``(N, 3 + C, H, W)`` with CoordConv's [y, x, r] channels
    first (y, x in [-1, 1], r = sqrt(x² + y²) / max)."""
    a = np.asarray(x)
    if a.dtype != np.float32:
        raise _type_error("x", a, "float32 (N, C, H, W)")
    return _pp.add_coordinate_channels(a)


def default_config(step: str) -> Dict[str, Any]:
    """The default config of ``step`` (``"emulsion"``, ``"tpc"``, ``"tt"``) as a dict."""
    return json.loads(_pp.default_config_json(step))


def _type_error(name: str, a: np.ndarray, expected: str) -> Exception:
    from .errors import InvalidArgumentError

    return InvalidArgumentError(
        f"{name}: expected {expected}, found {a.dtype} {a.shape} "
        f"(convert with np.asarray({name}, dtype=...))"
    )
