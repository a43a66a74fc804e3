"""rareml: machine learning on rare-event detector data (NEWSdm emulsion, PandaX-III TPC, SHiP
target tracker) from Python, on numpy arrays.

Modules: :mod:`rareml.io` (readers of the three HDF5 formats), :mod:`rareml.metrics` (ROC, AUC,
significance, working points with scikit-learn's semantics), :mod:`rareml.models` (the three
networks from PyTorch-named safetensors weights), :mod:`rareml.errors` (exceptions).
"""

from . import errors, io, metrics, models
from ._rareml import __version__
from .errors import RaremlError

__all__ = ["errors", "io", "metrics", "models", "RaremlError", "__version__"]
