"""rareml: machine learning on rare-event detector data (NEWSdm emulsion, PandaX-III TPC, SHiP
target tracker) from Python, on numpy arrays.

Modules: :mod:`rareml.io` (readers and writers of the three HDF5 formats, DECAY0),
:mod:`rareml.sim` (the toy Monte Carlo generators), :mod:`rareml.preprocess` (emulsion pipeline,
TPC images, TT hit maps), :mod:`rareml.metrics` (ROC, AUC, significance, working points,
resolution with scikit-learn's semantics), :mod:`rareml.baselines` (the classical analyses),
:mod:`rareml.models` (the three networks from PyTorch-named safetensors weights),
:mod:`rareml.experiments` (the three pipelines end to end), :mod:`rareml.errors` (exceptions).
"""

from . import baselines, errors, experiments, io, metrics, models, preprocess, sim
from ._rareml import __version__
from .errors import RaremlError

__all__ = [
    "baselines",
    "errors",
    "experiments",
    "io",
    "metrics",
    "models",
    "preprocess",
    "sim",
    "RaremlError",
    "__version__",
]
