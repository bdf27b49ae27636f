"""Training checkpoints: one file per epoch plus `last.pt`, written atomically, carrying their config.

A checkpoint is a dict with `format_version`, `epoch` (last finished, 1-based), `global_step`,
`model`, `optimizer`, `scheduler`, `scaler` (AMP, or None), `gradnorm` (or None), `rng` (rank 0's
torch RNG states, so a resumed run draws the same shuffles and augmentations as an uninterrupted
one), `config` (`{"model": ..., "train": ...}` as plain data) and `metrics` (the epoch's
validation figures).
Loading checks the version and the keys, and names the file in every error; older versions
are upgraded here when the format changes, so old checkpoints keep loading.
"""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from driving.atomic_io import atomic_path
from driving.errors import InputError

FORMAT_VERSION = 1
LAST_NAME = "last.pt"
REQUIRED_KEYS = ("format_version", "epoch", "global_step", "model", "optimizer", "scheduler", "config")


def epoch_name(epoch: int) -> str:
    return f"epoch_{epoch:03d}.pt"


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """torch.save to a temporary file in the same folder, then renamed onto `path` (atomic)."""
    with atomic_path(path) as tmp:
        torch.save({"format_version": FORMAT_VERSION, **payload}, tmp)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and check a checkpoint; a missing, truncated or foreign file raises InputError naming it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    try:
        data = torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as exc:
        raise InputError(f"{path}: corrupt or unreadable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a training checkpoint (got {type(data).__name__})")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise InputError(f"{path}: not a training checkpoint, missing {missing}")
    if not isinstance(data["format_version"], int) or data["format_version"] > FORMAT_VERSION:
        raise InputError(f"{path}: checkpoint format_version {data['format_version']!r} is not supported "
                         f"(this code reads <= {FORMAT_VERSION})")
    return data
