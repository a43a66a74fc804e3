"""The three networks (NEWSnet, EfficientNet, SNDNet) from PyTorch-named safetensors weights,
applied to numpy batches in eval mode.

Examples
--------
>>> m = rareml.models.load("newsnet", "newsnet.safetensors")      # doctest: +SKIP
>>> logits = m.predict(x, batch_size=32)     # x float32 (N, 1, 9, 40, 40)  # doctest: +SKIP
"""

import json
import os
from typing import Any, Dict, Optional, Union

import numpy as np

from . import _rareml
from .errors import InvalidArgumentError

__all__ = ["load", "config", "Model"]

Model = _rareml.Model

_NAMES = ("newsnet", "efficientnet", "sndnet", "resnet", "densenet")


def load(
    model: str,
    weights: Union[str, "os.PathLike[str]"],
    config: Optional[Union[Dict[str, Any], str, "os.PathLike[str]"]] = None,
    checkpoint: Optional[int] = None,
) -> "Model":
    """Builds ``model`` (``"newsnet"``, ``"efficientnet"``, ``"sndnet"``, ``"resnet"`` (ResNet-50) or
    ``"densenet"`` (DenseNet-169)) and loads ``weights``,
    a safetensors file with PyTorch ``state_dict`` names. ``config`` holds the model's fields as a
    dict or a JSON/TOML file (the fields of the Rust configs; missing ones take the paper's
    values); ``None`` is the paper's model.

    ``weights`` may also be a training run's output directory (``rareml.experiments.run``'s
    ``out``, or the examples'): its ``run.json`` gives the config, and kept checkpoint
    ``checkpoint`` (index into the kept ones, oldest first; default ``-1``, the last) is
    loaded."""
    if model not in _NAMES:
        raise InvalidArgumentError(f"model {model!r}: expected one of {', '.join(_NAMES)}")
    if config is None:
        return _rareml.load(model, os.fspath(weights), checkpoint=checkpoint)
    if isinstance(config, dict):
        return _rareml.load(model, os.fspath(weights), config_json=json.dumps(config), checkpoint=checkpoint)
    return _rareml.load(model, os.fspath(weights), config_path=os.fspath(config), checkpoint=checkpoint)


def config(m: "Model") -> Dict[str, Any]:
    """The configuration of a loaded model as a dict (``"model"`` names the network)."""
    return json.loads(m.config_json)
