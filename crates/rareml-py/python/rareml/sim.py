"""The toy Monte Carlo generators of the three detectors, seeded: events into numpy arrays, or
straight into the HDF5 files the readers and the Rust pipelines use.

The same ``seed`` gives the same events; event ``i`` depends only on ``seed`` and ``i``, so
``first`` continues a sequence (``emulsion("fog", 100, first=100)`` are clusters 100-199).
Configs are dicts of the Rust generators' fields laid over their defaults
(:func:`default_config`); an unknown field is an error naming the known ones.

Examples
--------
>>> import rareml.sim
>>> c = rareml.sim.emulsion("C30keV", 4, seed=1)
>>> c["images"].shape, c["images"].dtype.name, c["labels"].tolist()
((4, 9, 80, 80), 'uint8', [0, 0, 0, 0])
>>> ev = rareml.sim.tt(2, seed=1)
>>> sorted(ev[0])[:3]
['distance_cm', 'energy_gev', 'hit_energy_gev']
"""

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _rareml

__all__ = ["emulsion", "tpc", "tt", "tpc_readout", "write", "default_config", "SAMPLES"]

_sim = _rareml.sim

#: The emulsion samples (file group names).
SAMPLES = ("Carbon/30keV", "Carbon/60keV", "Carbon/100keV", "fog", "gamma", "nanoparticles")

Config = Optional[Dict[str, Any]]
PathLike = Union[str, "os.PathLike[str]"]


def _json(config: Config) -> Optional[str]:
    return None if config is None else json.dumps(config)


def emulsion(
    sample: str, n: int, seed: int = 0, first: int = 0, config: Config = None
) -> Dict[str, np.ndarray]:
    """Clusters ``first .. first + n`` of ``sample`` (``"Carbon/30keV"`` or ``"C30keV"``,
    ``"C60keV"``, ``"C100keV"``, ``"fog"``, ``"gamma"``, ``"nanoparticles"``, the barycenter
    cut's reference sample): a dict of ``images`` (uint8
    ``(n, 9, 80, 80)`` raw crops, the 9th image a copy of the 1st), ``pol_ids`` (int32
    ``(n, 13)``) and ``labels`` (int64: 0 C30keV, 1 C60keV, 2 C100keV, 3 background)."""
    return _sim.emulsion(sample, n, seed, first, _json(config))


def tpc(
    n: int,
    seed: int = 0,
    first: int = 0,
    config: Config = None,
    decay0: Optional[PathLike] = None,
) -> List[Dict[str, Any]]:
    """PandaX-III events ``first .. first + n``, signal and background mixed as
    ``config["signal_fraction"]`` says, as dicts like :meth:`rareml.io.TpcFile.event`; signal
    kinematics from the DECAY0 file ``decay0`` when given. Their readout is
    :func:`tpc_readout` of the config's ``modules_per_side``."""
    d0 = None if decay0 is None else os.fspath(decay0)
    return _sim.tpc(n, seed, first, _json(config), d0)


def tpc_readout(modules_per_side: int = 3) -> Dict[str, np.ndarray]:
    """The generator's readout (a square of ``modules_per_side``² PandaX-III modules) as the dict
    of :meth:`rareml.io.TpcFile.readout`."""
    return _sim.tpc_readout(modules_per_side)


def tt(n: int, seed: int = 0, first: int = 0, config: Config = None) -> List[Dict[str, Any]]:
    """SHiP target-tracker showers ``first .. first + n`` as dicts like
    :meth:`rareml.io.TtFile.event`."""
    return _sim.tt(n, seed, first, _json(config))


def write(
    detector: str,
    path: PathLike,
    n: int,
    seed: int = 0,
    deflate: int = 4,
    samples: Optional[Sequence[str]] = None,
    config: Config = None,
    decay0: Optional[PathLike] = None,
) -> None:
    """Writes ``n`` events (per sample for ``"emulsion"``) of ``detector`` (``"emulsion"``,
    ``"tpc"``, ``"tt"``) into the HDF5 file ``path``, as the ``simulate`` example does;
    ``deflate`` 0 writes uncompressed. Releases the GIL; Ctrl-C stops it between batches (the file
    is then incomplete)."""
    _sim.write(
        detector,
        os.fspath(path),
        n,
        seed,
        deflate,
        None if samples is None else list(samples),
        _json(config),
        None if decay0 is None else os.fspath(decay0),
    )


def default_config(detector: str) -> Dict[str, Any]:
    """The default generator config of ``detector`` as a dict."""
    return json.loads(_sim.default_config_json(detector))
