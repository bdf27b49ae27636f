"""Which behaviour plays which scenario type: official LB1.0 names and readable family names.

Each family module exposes `build(placed, route) -> ScenarioBehaviour` (placed: a
`scenarios.lb1_placement.PlacedScenario`). The table is data: a type whose module is not there
is reported as skipped by the evaluator, never a crash.
"""
from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from driving.type_hints import get_type_hints
from scenarios.behaviour import ScenarioBehaviour
from scenarios.lb1_types import LB1_TYPES

#: Official type name -> module that builds it (Scenario7/8/9 share one family).
_MODULES = MappingProxyType({
    "Scenario1": "scenarios.control_loss",
    "Scenario2": "scenarios.follow_leading_vehicle",
    "Scenario3": "scenarios.object_crossing",
    "Scenario4": "scenarios.vehicle_turning_route",
    "Scenario5": "scenarios.other_leading_vehicle",
    "Scenario6": "scenarios.maneuver_opposite_direction",
    "Scenario7": "scenarios.signal_junction_crossing",
    "Scenario8": "scenarios.signal_junction_crossing",
    "Scenario9": "scenarios.signal_junction_crossing",
    "Scenario10": "scenarios.no_signal_junction_crossing",
})

#: Readable names accepted wherever a type is named (YAML files, `--family`).
READABLE_NAMES = MappingProxyType({t.family: name for name, t in reversed(list(LB1_TYPES.items()))})


def official_name(name: str) -> str:
    """'Scenario3' or 'DynamicObjectCrossing' -> 'Scenario3'; raises KeyError for others."""
    if name in _MODULES:
        return name
    return READABLE_NAMES[name]


def builder(type_name: str) -> Callable | None:
    """The `build` function for an official type name, None when no behaviour exists for it."""
    module_name = _MODULES.get(type_name)
    if module_name is None:
        return None
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:  # a real import error inside the module must surface
            raise
        return None
    return module.build


def behaviour_parameters(type_name: str) -> dict[str, float]:
    """Tunable parameters of a type's behaviour, name -> default: the fields its class declares
    with `scenarios.behaviour.parameter` (the class `build` returns, by its annotation). Empty when
    the type has no behaviour in this install."""
    return {name: default for name, (default, _) in parameter_fields(type_name).items()}


def parameter_fields(type_name: str) -> dict[str, tuple[float, tuple[float, float]]]:
    """name -> (default, (low, high)) of a type's parameters (see `behaviour_parameters`)."""
    build = builder(type_name)
    return {} if build is None else _class_parameters(get_type_hints(build).get("return"))


def _class_parameters(cls: Any) -> dict[str, tuple[float, tuple[float, float]]]:
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls) and issubclass(cls, ScenarioBehaviour)):
        return {}
    return {f.name: (f.default, f.metadata["range"]) for f in dataclasses.fields(cls) if f.metadata.get("parameter")}


def apply_parameters(behaviour: ScenarioBehaviour, parameters: dict[str, float]) -> ScenarioBehaviour:
    """Set sampled parameter values on a freshly built behaviour (names checked at file load)."""
    known = _class_parameters(type(behaviour))
    for name, value in parameters.items():
        if name not in known:
            raise KeyError(f"{type(behaviour).__name__} has no parameter {name!r}; known: {sorted(known)}")
        setattr(behaviour, name, type(known[name][0])(value))
    return behaviour


def supported_types() -> tuple[str, ...]:
    """Official type names that have a behaviour in this install."""
    return tuple(name for name in _MODULES if builder(name) is not None)
