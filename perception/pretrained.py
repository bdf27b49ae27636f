"""Backbone weights from a local path only: this project never downloads weights.

`pretrained_backbone_path` may name a Hugging Face folder (config.json + model.safetensors or
pytorch_model.bin, e.g. a saved `microsoft/cvt-13`) or one state-dict file (.safetensors, .pt,
.pth, .bin). Keys of a `CvtForImageClassification` checkpoint (`cvt.` prefix, classifier and final
layer norm) are accepted; the classifier is dropped. Without a path the backbone keeps its random
initialisation and the process is told so once, because driving with it is meaningless.
"""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from driving.errors import InputError

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_STATE_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")

#: Set after the first random-initialisation warning; the warning is given once per process.
_WARNED_RANDOM_INIT = False


class RandomInitWarning(UserWarning):
    """The CvT backbone was built without pretrained weights."""


@contextlib.contextmanager
def weights_loaded_afterwards() -> Iterator[None]:
    """Build a model whose weights are loaded right after (a model file): the random-init warning
    would be false there, so it is held back, without using up its one showing in this process."""
    global _WARNED_RANDOM_INIT
    shown = _WARNED_RANDOM_INIT
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RandomInitWarning)
            yield
    finally:
        _WARNED_RANDOM_INIT = shown


def warn_random_init() -> None:
    """Say once per process that the backbone is randomly initialised (no local weights given)."""
    global _WARNED_RANDOM_INIT
    if _WARNED_RANDOM_INIT:
        return
    _WARNED_RANDOM_INIT = True
    warnings.warn("LeTFuser: model.pretrained_backbone_path is not set; the CvT backbone is randomly "
                  "initialised (fine for tests and training from scratch, not for driving)",
                  RandomInitWarning, stacklevel=2)


def _weights_file(path: Path) -> Path:
    if path.is_dir():
        for name in _WEIGHT_FILES:
            if (path / name).is_file():
                return path / name
        raise InputError(f"model.pretrained_backbone_path: folder {path} holds none of {list(_WEIGHT_FILES)}")
    if path.suffix not in _STATE_SUFFIXES:
        raise InputError(f"model.pretrained_backbone_path: {path} is not a folder or a state-dict file "
                         f"({', '.join(_STATE_SUFFIXES)})")
    return path


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a local checkpoint; a missing or unreadable path raises InputError naming it."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"model.pretrained_backbone_path: {path} does not exist")
    file = _weights_file(path)
    try:
        if file.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(file))
        else:
            state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's input problem
        raise InputError(f"model.pretrained_backbone_path: cannot read {file} ({exc})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InputError(f"model.pretrained_backbone_path: {file} does not hold a state dict")
    return state


def load_backbone_weights(cvt: nn.Module, path: str | Path) -> None:
    """Copy CvT weights from `path` into `cvt` (a transformers CvtModel); every CvT key must be there."""
    state = read_state_dict(path)
    own = cvt.state_dict()
    picked: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = _strip_prefix(_strip_prefix(key, "cvt."), "backbone.cvt.")
        if name in own:
            if own[name].shape != value.shape:
                raise InputError(f"model.pretrained_backbone_path: {path}: {key} has shape "
                                 f"{tuple(value.shape)}, the configured CvT expects {tuple(own[name].shape)}")
            picked[name] = value
    missing = sorted(k for k in set(own) - set(picked) if not k.endswith("num_batches_tracked"))
    if missing:
        raise InputError(f"model.pretrained_backbone_path: {path} lacks {len(missing)} CvT weight(s), "
                         f"e.g. {missing[:3]}; expected a CvT checkpoint matching the configured sizes")
    cvt.load_state_dict(picked, strict=False)


def _strip_prefix(text: str, prefix: str) -> str:
    """`text` without a leading `prefix` (str.removeprefix, which Python 3.8 lacks)."""
    return text[len(prefix):] if text.startswith(prefix) else text
