"""The deployable model file: a folder with `model.safetensors` (weights) and `model.json` (config).

A training checkpoint carries optimiser, scheduler and RNG state the agent never needs, and it is
a pickle; the deployable form holds only what driving needs, in formats that cannot carry code:
safetensors for the tensors, JSON for the rest:

    {"format": "letfuser-model", "format_version": 1,
     "model": <LeTFuserConfig as plain data>, "task_weights": {task: weight} or null,
     "source": {free metadata: epoch, validation metrics, the checkpoint it came from, ...}}

`load_model` takes that folder, either of its two files, a training checkpoint (read with the
secure loader of `driving.training.checkpoint`) or a training run folder, so a user can name
whatever they have. Every error is one `InputError` naming the path.
"""
from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from driving.atomic_io import atomic_path, atomic_write_text
from driving.config import from_dict, to_dict
from driving.errors import InputError
from driving.training.checkpoint import BEST_NAME, CHECKPOINT_DIR, LAST_NAME, load_checkpoint
from perception import pretrained
from perception.config import LeTFuserConfig
from perception.model import LeTFuser

MODEL_WEIGHTS_NAME = "model.safetensors"
MODEL_CONFIG_NAME = "model.json"
#: The model folder inside a training run folder (`driving train --out RUN` writes RUN/model/).
RUN_MODEL_DIR = "model"
FORMAT = "letfuser-model"
FORMAT_VERSION = 1
#: How many disagreeing keys an error lists (a wrong config usually breaks hundreds).
_SHOWN_KEYS = 3


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to drive: eval mode, on CPU, weights loaded (not yet `prepare_for_inference`'d)."""

    model: LeTFuser
    config: LeTFuserConfig
    task_weights: dict[str, float] | None  # GradNorm weights per task name, when the source knew them
    source: Path  # the file or folder it came from


def _json_safe(value: Any, where: str) -> Any:
    """Plain JSON data; non-finite floats become null so the file stays standard JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return _json_safe(value.item(), where)
    raise InputError(f"{where}: expected plain JSON data, got {type(value).__name__}")


def _weights_of(model: nn.Module) -> dict[str, torch.Tensor]:
    """CPU copies of the state dict, each with its own contiguous storage (safetensors refuses
    tensors that share memory, and views of a larger storage)."""
    return {k: v.detach().to("cpu").clone(memory_format=torch.contiguous_format)
            for k, v in model.state_dict().items()}


def save_model_file(out_dir: str | Path, model: nn.Module, config: LeTFuserConfig,
                    task_weights: Mapping[str, float] | None = None,
                    source: Mapping[str, Any] | None = None) -> Path:
    """Write `out_dir/model.safetensors` then `out_dir/model.json`, each atomically; returns `out_dir`.

    An old model.json is removed first and the new one written last, so a folder that has a
    model.json has the weights that belong to it (a crash in between leaves no model.json).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: expected a folder for the model files, found a file")
    weights = None if task_weights is None else {str(k): float(v) for k, v in task_weights.items()}
    if weights is not None and not all(math.isfinite(v) for v in weights.values()):
        raise InputError(f"{out_dir}: task_weights: expected finite numbers, got {weights}")
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": to_dict(config), "task_weights": weights,
           "source": _json_safe(dict(source or {}), f"{out_dir}: source")}
    text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MODEL_CONFIG_NAME).unlink(missing_ok=True)
    with atomic_path(out_dir / MODEL_WEIGHTS_NAME) as tmp:
        save_file(_weights_of(model), str(tmp), metadata={"format": FORMAT})
    atomic_write_text(out_dir / MODEL_CONFIG_NAME, text)
    return out_dir


def _disagreement(own: Mapping[str, torch.Tensor], state: Mapping[str, Any]) -> str | None:
    """What keeps `state` from loading into a model whose state dict is `own`: a few keys of each kind."""
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    misshaped = sorted(k for k in set(own) & set(state)
                       if not isinstance(state[k], torch.Tensor) or state[k].shape != own[k].shape)
    shapes = [f"{k} (weights {tuple(getattr(state[k], 'shape', ()))}, config {tuple(own[k].shape)})"
              for k in misshaped[:_SHOWN_KEYS]]
    problems = [f"{label} {len(keys)} key(s) e.g. {', '.join(shown)}"
                for label, keys, shown in (("missing", missing, missing[:_SHOWN_KEYS]),
                                           ("unexpected", unexpected, unexpected[:_SHOWN_KEYS]),
                                           ("shape mismatch in", misshaped, shapes)) if keys]
    return "; ".join(problems) or None


def _build(config: LeTFuserConfig, state: Mapping[str, Any], where: Path) -> LeTFuser:
    """LeTFuser(config) with `state` loaded strictly; a mismatch names the keys that disagree.

    The backbone is built without `pretrained_backbone_path`: the weights hold the whole
    backbone, and the initialisation path of the training machine need not exist here (so the
    random-initialisation warning is held back: it is not this model's case).
    """
    with pretrained.weights_loaded_afterwards():
        model = LeTFuser(dataclasses.replace(config, pretrained_backbone_path=None))
    problems = _disagreement(model.state_dict(), state)
    if problems:
        raise InputError(f"{where}: the model config and the weights disagree: {problems}")
    model.load_state_dict(state, strict=True)
    return model.eval()


def _config(data: Any, where: str) -> LeTFuserConfig:
    """LeTFuserConfig from plain data; its own checks name only the field, so add `where`."""
    try:
        return from_dict(LeTFuserConfig, data, where=where)
    except InputError as exc:
        message = str(exc)
        raise InputError(message if message.startswith(where) else f"{where}: {message}") from None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable or corrupt model JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    if doc.get("format") != FORMAT:
        raise InputError(f"{path}: format: expected {FORMAT!r}, got {doc.get('format')!r}")
    version = doc.get("format_version")
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        raise InputError(f"{path}: format_version {version!r} is not supported (this code reads 1.."
                         f"{FORMAT_VERSION})")
    return doc


def _task_weights(value: Any, where: str) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) for k, v in value.items()):
        raise InputError(f"{where}: expected a mapping task name -> number or null, got {value!r}")
    return {k: float(v) for k, v in value.items()}


def _load_folder(config_path: Path, weights_path: Path, shown: Path) -> LoadedModel:
    """A model folder's two files; `shown` is the path the user named (kept as `source`)."""
    for required in (config_path, weights_path):
        if not required.is_file():
            raise InputError(f"{required}: model file not found (a model folder holds {MODEL_CONFIG_NAME} "
                             f"and {MODEL_WEIGHTS_NAME})")
    doc = _read_json(config_path)
    config = _config(doc.get("model"), f"{config_path}: model")
    task_weights = _task_weights(doc.get("task_weights"), f"{config_path}: task_weights")
    try:
        state = load_file(str(weights_path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{weights_path}: unreadable or corrupt safetensors file ({exc})") from None
    return LoadedModel(_build(config, state, weights_path), config, task_weights, shown)


def _gradnorm_weights(gradnorm: Any, where: Path) -> dict[str, float] | None:
    """GradNorm's state (`GradNorm.state_dict`: task names + one weight tensor) as task -> weight."""
    if gradnorm is None:
        return None
    tasks = gradnorm.get("tasks") if isinstance(gradnorm, dict) else None
    weights = gradnorm.get("weights") if isinstance(gradnorm, dict) else None
    if (not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks)
            or not isinstance(weights, torch.Tensor) or weights.shape != (len(tasks),)):
        raise InputError(f"{where}: gradnorm: expected task names and one weight per task")
    return {t: float(w) for t, w in zip(tasks, weights.tolist())}


def _load_checkpoint_model(path: Path) -> tuple[LoadedModel, dict[str, Any]]:
    """A training checkpoint as a model, and the checkpoint itself (for export metadata)."""
    ckpt = load_checkpoint(path, map_location="cpu")
    model_config = ckpt["config"].get("model") if isinstance(ckpt["config"], dict) else None
    if not isinstance(model_config, dict):
        raise InputError(f"{path}: config.model: expected the model config as a mapping, got "
                         f"{type(model_config).__name__}")
    config = _config(model_config, f"{path}: config.model")
    if not isinstance(ckpt["model"], dict):
        raise InputError(f"{path}: model: expected a state dict, got {type(ckpt['model']).__name__}")
    loaded = LoadedModel(_build(config, ckpt["model"], path), config,
                         _gradnorm_weights(ckpt.get("gradnorm"), path), path)
    return loaded, ckpt


def _from_folder(path: Path) -> LoadedModel:
    """A model folder, or a run folder: its model/, else checkpoints/best.pt, else last.pt."""
    if (path / MODEL_CONFIG_NAME).exists() or (path / MODEL_WEIGHTS_NAME).exists():
        return _load_folder(path / MODEL_CONFIG_NAME, path / MODEL_WEIGHTS_NAME, path)
    run_model = path / RUN_MODEL_DIR
    if (run_model / MODEL_CONFIG_NAME).is_file():
        return _load_folder(run_model / MODEL_CONFIG_NAME, run_model / MODEL_WEIGHTS_NAME, run_model)
    for name in (BEST_NAME, LAST_NAME):
        if (path / CHECKPOINT_DIR / name).is_file():
            return _load_checkpoint_model(path / CHECKPOINT_DIR / name)[0]
    raise InputError(f"{path}: holds no model: expected {MODEL_CONFIG_NAME} + {MODEL_WEIGHTS_NAME}, or a "
                     f"training run with {RUN_MODEL_DIR}/ or {CHECKPOINT_DIR}/{BEST_NAME} or {LAST_NAME}")


def load_model(path: str | Path) -> LoadedModel:
    """The model at `path`: a model folder, its model.json or model.safetensors, a training
    checkpoint, or a training run folder (its model/, else checkpoints/best.pt, else last.pt)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: model not found (expected a model folder, {MODEL_CONFIG_NAME}, "
                         f"{MODEL_WEIGHTS_NAME}, a training checkpoint or a training run folder)")
    if path.is_dir():
        return _from_folder(path)
    if path.suffix == ".json":
        return _load_folder(path, path.parent / MODEL_WEIGHTS_NAME, path)
    if path.suffix == ".safetensors":
        return _load_folder(path.parent / MODEL_CONFIG_NAME, path, path)
    return _load_checkpoint_model(path)[0]


def export_checkpoint(checkpoint: str | Path, out_dir: str | Path) -> Path:
    """Write the model of training checkpoint `checkpoint` as a model folder `out_dir`; returns it.

    The weights are loaded into a model of the checkpoint's config first, so a folder is only
    written for a checkpoint that loads.
    """
    checkpoint = Path(checkpoint)
    loaded, ckpt = _load_checkpoint_model(checkpoint)
    source = {"checkpoint": str(checkpoint), "epoch": ckpt.get("epoch"), "global_step": ckpt.get("global_step"),
              "val": ckpt.get("metrics")}
    return save_model_file(out_dir, loaded.model, loaded.config, loaded.task_weights, source)
