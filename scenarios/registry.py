"""Which behaviour plays which scenario type: official LB1.0 names and readable family names.

Each family module exposes `build(placed, route) -> ScenarioBehaviour` (placed: a
`scenarios.lb1_placement.PlacedScenario`). The table is data: a type whose module is not there
is reported as skipped by the evaluator, never a crash.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from types import MappingProxyType

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


def supported_types() -> tuple[str, ...]:
    """Official type names that have a behaviour in this install."""
    return tuple(name for name in _MODULES if builder(name) is not None)
