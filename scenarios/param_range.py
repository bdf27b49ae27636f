"""Scenario parameters given as one value or as a `[low, high]` range sampled from a seed.

A scenario file may fix a parameter (`sigma: 8`) or leave it to the seed (`sigma: [4, 12]`), so
that one file describes a family of runs and (file, seed) names exactly one of them. Ranges are
sampled uniformly, once per run, with a `numpy.random.Generator` the caller seeds; integer
parameters (ticks) are sampled uniformly among the integers of the closed range.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any

import numpy as np

from driving.type_hints import get_type_hints

#: A number, or a closed `(low, high)` range with low <= high.
ParamRange = typing.Union[float, typing.Tuple[float, float]]

_EXPECTED = "a number or a [low, high] pair of numbers with low <= high"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_param(value: Any, name: str) -> None:
    """Raise ValueError('<name>: expected ..., got ...') unless `value` is a number or a [low, high] range.

    Run on the raw YAML value, before type conversion, so that a three-item list or a string gets
    a message that says what a parameter may be rather than only "expected a number".
    """
    if _is_number(value):
        return
    if (isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) for v in value)
            and value[0] <= value[1]):
        return
    raise ValueError(f"{name}: expected {_EXPECTED}, got {value!r}")


def param_bounds(value: ParamRange) -> tuple[float, float]:
    """(low, high) of a parameter; a fixed value is the range (v, v)."""
    if isinstance(value, tuple):
        return float(value[0]), float(value[1])
    return float(value), float(value)


def sample_float(value: ParamRange, rng: np.random.Generator) -> float:
    """The value itself, or a uniform draw from [low, high] (one draw from `rng` either way).

    Drawing even for a fixed value keeps the stream aligned: fixing one parameter of a file does not
    change what the seed gives the others.
    """
    low, high = param_bounds(value)
    draw = float(rng.random())
    return low if low == high else low + (high - low) * draw


def sample_int(value: ParamRange, rng: np.random.Generator) -> int:
    """An integer parameter (ticks): the rounded value, or a uniform integer of [ceil(low), floor(high)]."""
    low, high = param_bounds(value)
    lo, hi = int(np.ceil(low)), int(np.floor(high))
    draw = float(rng.random())
    if lo >= hi:
        return round(low)
    return lo + min(int(draw * (hi - lo + 1)), hi - lo)


def range_fields(cls: type) -> tuple[str, ...]:
    """Names of the dataclass fields of `cls` annotated as ParamRange (a value or a [low, high] range)."""
    hints = get_type_hints(cls)
    return tuple(f.name for f in dataclasses.fields(cls)
                 if typing.Tuple[float, float] in typing.get_args(hints[f.name]))
