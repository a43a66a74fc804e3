"""Readers and writers of the NEWSdm emulsion, ``rareml.tpc.v1`` and ``rareml.tt.v1`` HDF5
files, and the DECAY0 reader.

Arrays come back as numpy arrays in the Rust layout, handed over without a copy: emulsion images
float32 ``(N, P, H, W)`` (polarisations first), labels int64, ``pol_ids`` int32 ``(N, 13)``, TPC
waveforms int16 ``(S, T)``. Reads and writes release the GIL. The writers are the Rust
writers, so what they write is what the readers and the pipelines expect; an event dict for
:class:`TpcWriter` / :class:`TtWriter` has the keys :meth:`TpcFile.event` / :meth:`TtFile.event`
return (arrays of exactly those dtypes).

Examples
--------
>>> f = rareml.io.EmulsionFile("clusters.h5")          # doctest: +SKIP
>>> s = f.set(f.groups()[0])                            # doctest: +SKIP
>>> x = s.read(0, 100)                                  # (100, 8, H, W) float32  # doctest: +SKIP
>>> for images, labels in s.batches(256): ...           # doctest: +SKIP
>>> with rareml.io.TtWriter("showers.h5") as w:         # doctest: +SKIP
...     for e in rareml.sim.tt(100): w.append(e)
"""

import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np

from . import _rareml
from ._rareml import (
    ClusterSet,
    EmulsionFile,
    EmulsionWriter,
    TpcFile,
    TpcWriter,
    TtFile,
    TtWriter,
)

__all__ = [
    "EmulsionFile",
    "ClusterSet",
    "TpcFile",
    "TtFile",
    "EmulsionWriter",
    "TpcWriter",
    "TtWriter",
    "write_emulsion",
    "write_tpc",
    "write_tt",
    "read_decay0",
]

PathLike = Union[str, "os.PathLike[str]"]


def read_decay0(path: PathLike) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """Reads a DECAY0 generator file: ``(header, events)``. The header has ``description``
    (lines), ``first_event`` and ``n_events``; each event ``number``, ``time_s`` and its particles
    as arrays ``geant_id`` (int32; 1 gamma, 2 e+, 3 e-, 47 alpha), ``momentum_mev`` ((K, 3),
    MeV/c), ``time_shift_s`` and ``kinetic_energy_mev`` (NaN for an unknown species). Errors name
    the file and the line."""
    return _rareml.read_decay0(os.fspath(path))


def write_emulsion(
    path: PathLike, groups: Mapping[str, Mapping[str, Any]], deflate: int = 4
) -> None:
    """Writes a NEWSdm file with one group per item of ``groups``: ``{"images": (N, P, H, W)
    uint8 or float32, "pol_ids": (N, 13) int32 (optional), "labels": (N,) int64 (optional)}``."""
    with EmulsionWriter(os.fspath(path), deflate) as w:
        for name, g in groups.items():
            unknown = set(g) - {"images", "pol_ids", "labels"}
            if unknown:
                from .errors import InvalidArgumentError

                raise InvalidArgumentError(
                    f"{path}: group {name!r}: unknown keys {sorted(unknown)}; expected images, pol_ids, labels"
                )
            w.append(name, g["images"], g.get("pol_ids"), g.get("labels"))


def write_tpc(
    path: PathLike,
    events: Iterable[Mapping[str, Any]],
    readout: Optional[Mapping[str, Any]] = None,
    samples_per_signal: Optional[int] = None,
    deflate: int = 4,
) -> None:
    """Writes TPC events (dicts like :meth:`TpcFile.event`'s) with their ``readout`` (default:
    the generator's) into a ``rareml.tpc.v1`` file; ``samples_per_signal`` defaults to the
    first event's T."""
    events = list(events)
    if samples_per_signal is None:
        samples_per_signal = int(np.shape(events[0]["samples"])[1]) if events else 512
    with TpcWriter(os.fspath(path), samples_per_signal, readout, None, deflate) as w:
        for e in events:
            w.append(e)


def write_tt(path: PathLike, events: Iterable[Mapping[str, Any]], deflate: int = 4) -> None:
    """Writes TT showers (dicts like :meth:`TtFile.event`'s) into a ``rareml.tt.v1`` file with the
    SHiP geometry."""
    with TtWriter(os.fspath(path), None, None, deflate) as w:
        for e in events:
            w.append(e)
