"""YAML -> frozen dataclass, read only at the edge, with errors that name file and field.

Every component keeps its config as a frozen, fully annotated dataclass next to its code and
validates values in `__post_init__`. `load_config(cls, path)` reads a YAML file into such a
class (nested dataclasses included), rejecting unknown keys with the list of known ones and
wrong types with the expected type, so a typo fails at start-up, not an hour into training.
"""
from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from driving.errors import InputError
from driving.type_hints import get_type_hints

T = TypeVar("T")


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, where)
            except InputError as exc:
                errors.append(str(exc))
        raise InputError(errors[0] if errors else f"{where}: unexpected value {value!r}")
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise InputError(f"{where}: expected a mapping for {hint.__name__}, got {type(value).__name__}")
        return from_dict(hint, value, where)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise InputError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise InputError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise InputError(f"{where}: expected a mapping, got {type(value).__name__}")
        return dict(value)
    if origin is typing.Literal:
        if value not in args:
            raise InputError(f"{where}: expected one of {list(args)}, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{where}: expected a number, got {type(value).__name__} {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{where}: expected an integer, got {type(value).__name__} {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise InputError(f"{where}: expected true/false, got {type(value).__name__} {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise InputError(f"{where}: expected a string, got {type(value).__name__} {value!r}")
        return value
    return value


def from_dict(cls: type[T], data: dict, where: str = "config") -> T:
    """Build dataclass `cls` from a plain mapping; unknown keys and wrong types raise InputError."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InputError(f"{where}: unknown key(s) {unknown}; known keys: {sorted(fields)}")
    kwargs = {name: _convert(value, hints[name], f"{where}.{name}") for name, value in data.items()}
    try:
        return cls(**kwargs)
    except InputError:
        raise
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: {exc}") from None


def read_yaml(path: str | Path) -> Any:
    """Parsed YAML of `path`; InputError in one line (file, line and column) when unreadable or malformed."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"{path}: cannot read config ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).replace("\n", " ")
        raise InputError(f"{path}: not valid YAML{where} ({problem})") from None


def _build(cls: type[T], data: Any, path: Path, where: str) -> T:
    try:
        return from_dict(cls, data, where=where)
    except InputError as exc:
        msg = str(exc)
        raise InputError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None


def load_config(cls: type[T], path: str | Path) -> T:
    """Read YAML file `path` into dataclass `cls`; every error names the file and the field."""
    path = Path(path)
    return _build(cls, read_yaml(path) or {}, path, str(path))


def load_config_section(cls: type[T], path: str | Path, section: str, required: bool = True) -> T:
    """Read the `section:` mapping of YAML file `path` into `cls` (one file can hold the configs
    of several components, e.g. `model:` and `train:`); a missing optional section gives defaults."""
    path = Path(path)
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    if section not in data or data[section] is None:
        if required:
            raise InputError(f"{path}: missing the `{section}:` section (found {sorted(data)})")
        return _build(cls, {}, path, f"{path}: {section}")
    return _build(cls, data[section], path, f"{path}: {section}")


def to_dict(obj: Any) -> dict:
    """Plain-data form of a config dataclass (tuples as lists), for YAML/JSON and checkpoints."""
    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v
    return plain(obj)
