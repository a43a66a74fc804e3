"""The three pipelines end to end, as the ``newsdm``, ``pandax3`` and ``ship_tt`` examples run
them: data (generated, or the user's file), preprocessing, training, the classical baseline,
metrics, then ``report.md``, ``report.json``, plots, checkpoints and ``run.json`` in ``out``.

The report comes back as a dict (``report.json``'s contents). Settings are the preset's with
the given fields replaced (:func:`settings` lists them); an unknown field is an error naming
the known ones. The call releases the GIL; Ctrl-C stops training at the next batch (the
checkpoints written so far are kept: the same call resumes) and raises ``KeyboardInterrupt``.

Examples
--------
>>> r = rareml.experiments.run("ship_tt", out="out/ship_tt", events=2000, epochs=4)  # doctest: +SKIP
>>> r["network"]["energy_resolution"]                                                  # doctest: +SKIP
>>> m = rareml.models.load("sndnet", "out/ship_tt")    # its last kept checkpoint       # doctest: +SKIP
"""

import json
import os
from typing import Any, Dict, Optional, Union

from . import _rareml

__all__ = ["run", "settings", "NAMES"]

_ex = _rareml.experiments

#: The experiments.
NAMES = ("newsdm", "pandax3", "ship_tt")

PathLike = Union[str, "os.PathLike[str]"]


def run(
    name: str,
    preset: str = "quick",
    out: Optional[PathLike] = None,
    data: Optional[PathLike] = None,
    seed: int = 42,
    device: str = "cpu",
    progress: bool = False,
    resume_with_new_config: bool = False,
    **settings: Any,
) -> Dict[str, Any]:
    """Runs experiment ``name`` (``"newsdm"``, ``"pandax3"``, ``"ship_tt"``) with ``preset``
    (``"quick"``: minutes on a 2-core CPU; ``"paper"``: the papers' sizes) and the ``settings``
    given as keywords (e.g. ``events=2000, epochs=4``); outputs go to ``out`` (default
    ``out/<name>``). ``data`` is the user's file of that experiment (else generated);
    ``progress`` shows the progress bars on standard error. Checkpoints already in ``out`` are
    resumed; if they were made with another training configuration the call is refused naming the
    changed fields, unless ``resume_with_new_config`` (more epochs than before always continue).
    Returns the report as a dict."""
    out = os.path.join("out", name) if out is None else os.fspath(out)
    text = _ex.run(
        name,
        out,
        preset,
        None if data is None else os.fspath(data),
        seed,
        device,
        json.dumps(settings) if settings else None,
        progress,
        resume_with_new_config,
    )
    return json.loads(text)


def settings(name: str, preset: str = "quick") -> Dict[str, Any]:
    """The settings of experiment ``name`` at ``preset``, as a dict."""
    return json.loads(_ex.settings_json(name, preset))
