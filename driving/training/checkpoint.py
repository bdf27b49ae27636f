"""Training checkpoints: one file per epoch plus `last.pt`, written atomically, carrying their config.

A checkpoint is a dict with `format_version`, `epoch` (last finished, 1-based), `global_step`,
`model`, `optimizer`, `scheduler`, `scaler` (AMP, or None), `gradnorm` (or None), `rng` (rank 0's
torch RNG states, so a resumed run draws the same shuffles and augmentations as an uninterrupted
one), `config` (`{"model": ..., "train": ...}` as plain data) and `metrics` (the epoch's
validation figures).
Loading checks the version and the keys, and names the file in every error; older versions
are upgraded here when the format changes, so old checkpoints keep loading.

Security: checkpoints travel between users and the agent loads whatever path it is given, and a
pickle can run any code while it is read. So a checkpoint holds tensors and plain Python data
only (dicts, lists, tuples, str, numbers, bools, None), it is read with torch's `weights_only`
unpickler, which builds nothing else, and a file that asks for anything else is refused
before any of it runs. `save_checkpoint` checks the same rule on the way out, so the trainer
can never write a checkpoint that it could not read back.
"""
from __future__ import annotations

import pickle
import re
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from driving.atomic_io import atomic_path
from driving.errors import InputError

FORMAT_VERSION = 1
CHECKPOINT_DIR = "checkpoints"
LAST_NAME = "last.pt"
BEST_NAME = "best.pt"
REQUIRED_KEYS = ("format_version", "epoch", "global_step", "model", "optimizer", "scheduler", "config")

#: Leaf types `torch.load(weights_only=True)` rebuilds (besides tensors and containers).
_PLAIN_LEAVES = (type(None), bool, int, float, str, bytes, torch.dtype, torch.device, torch.Size)
#: The unpickler names the first global it refused as `GLOBAL module.name`.
_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def epoch_name(epoch: int) -> str:
    return f"epoch_{epoch:03d}.pt"


def check_plain(value: Any, where: str = "checkpoint") -> None:
    """Raise TypeError naming the first entry of `value` that is not a tensor or plain data
    (a programming error: such a checkpoint would be refused when loaded)."""
    if isinstance(value, torch.Tensor) or type(value) in _PLAIN_LEAVES:
        return
    if type(value) in (dict, OrderedDict):
        for key, item in value.items():
            check_plain(key, f"{where} key")
            check_plain(item, f"{where}[{key!r}]")
        return
    if type(value) in (list, tuple):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
        return
    raise TypeError(f"{where}: {type(value).__module__}.{type(value).__qualname__} is not a tensor or plain "
                    f"data; load_checkpoint (weights_only) would refuse it")


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """torch.save to a temporary file in the same folder, then renamed onto `path` (atomic)."""
    data = {"format_version": FORMAT_VERSION, **payload}
    check_plain(data, str(path))
    with atomic_path(path) as tmp:
        torch.save(data, tmp)


def _refused(path: Path, exc: pickle.UnpicklingError) -> InputError:
    """One line for a file the weights_only unpickler refused; torch's long advice (which
    suggests loading it unsafely) stays out, the refused global's name goes in when known."""
    reasons = f"{exc.__context__ or ''} {exc}"
    found = _GLOBAL.search(reasons)
    what = f" (it references {found.group(1)})" if found else ""
    return InputError(f"{path}: contains code or objects that are not plain tensors and data{what}; "
                      f"refused for safety")


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and check a checkpoint; a missing, truncated, foreign or unsafe file raises InputError naming it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    try:
        with warnings.catch_warnings():  # a foreign pickle's protocol warning would precede the one-line error
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            data = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:  # weights_only raises it for anything but tensors and plain data
        raise _refused(path, exc) from None
    except Exception as exc:  # noqa: BLE001 - a damaged file can fail anywhere in the reader
        first_line = (str(exc).splitlines() or [""])[0]
        raise InputError(f"{path}: corrupt or unreadable checkpoint ({type(exc).__name__}: {first_line})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a training checkpoint (got {type(data).__name__})")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise InputError(f"{path}: not a training checkpoint, missing {missing}")
    if not isinstance(data["format_version"], int) or data["format_version"] > FORMAT_VERSION:
        raise InputError(f"{path}: checkpoint format_version {data['format_version']!r} is not supported "
                         f"(this code reads <= {FORMAT_VERSION})")
    return data
