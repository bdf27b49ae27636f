"""Our own scenario files (YAML): a family, a trigger, parameters and conditions per scenario.

```yaml
scenarios:
  - name: walker_behind_parked_car          # optional; the label in logs and infraction tags
    family: DynamicObjectCrossing           # readable family name or official type (Scenario3)
    trigger: {route_distance_m: 80}         # or {route_fraction: 0.3}
    parameters: {walker_speed_mps: [2.5, 4.5]}   # a value or a [low, high] range
  - family: SignalJunctionCrossingRoute     # Scenario7 (types 7/8/9 share a family: name the type)
    type: Scenario8
    trigger: {junction: left, signalized: true, before_m: 25, nth: 1}
conditions:                                 # optional: weather and sensor faults for the whole run
  weather: {preset: WetCloudyNoon, sun_altitude_deg: [-5, 10]}
  sensor_faults: [{kind: camera_blackout, start_s: 3.0, duration_ticks: 10}]
```
Triggers: `route_distance_m` (metres along the route), `route_fraction` (0..1 of its length),
or `junction` (`left`, `right`, `straight` or `any`: the `nth` junction from `after_m` where the
route makes that turn, optionally only `signalized: true/false` ones; the trigger lies `before_m`
metres before its entry). Parameters name the family's tunable fields (their defaults are the
scenario_runner numbers). A run is reproducible from (file, seed): each scenario draws its
ranges from its own stream of the seed. Every problem is one InputError line naming the file,
the scenario and the field.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from driving.config import read_yaml
from driving.errors import InputError
from scenarios.param_range import ParamRange, check_param, sample_float
from scenarios.perception_conditions import PerceptionConditions, conditions_from_dict
from scenarios.registry import READABLE_NAMES, behaviour_parameters, official_name

_SCENARIO_KEYS = ("name", "family", "type", "trigger", "parameters")
_TRIGGER_KINDS = ("route_distance_m", "route_fraction", "junction")
_JUNCTION_KEYS = ("junction", "signalized", "before_m", "after_m", "nth")
JUNCTION_TURNS = ("left", "right", "straight", "any")
DEFAULT_BEFORE_JUNCTION_M = 25.0


@dataclass(frozen=True)
class Trigger:
    """Where a scenario starts on a route: one of the three kinds (see the module docstring)."""

    route_distance_m: float | None = None
    route_fraction: float | None = None
    junction: str | None = None
    signalized: bool | None = None
    before_m: float = DEFAULT_BEFORE_JUNCTION_M
    after_m: float = 0.0
    nth: int = 1


@dataclass(frozen=True)
class ScenarioSpec:
    """One scenario of a file, checked: official type name, trigger, parameter values or ranges."""

    name: str
    scenario_type: str
    trigger: Trigger
    parameters: Mapping[str, ParamRange] = field(default_factory=dict)
    where: str = ""

    def sample_parameters(self, rng: np.random.Generator) -> dict[str, float]:
        """Every parameter drawn once (fixed, sorted order) for one run."""
        return {k: sample_float(self.parameters[k], rng) for k in sorted(self.parameters)}


@dataclass(frozen=True)
class ScenarioFile:
    """A loaded scenario file: its scenarios and the run's conditions."""

    path: str
    scenarios: tuple[ScenarioSpec, ...]
    conditions: PerceptionConditions = field(default_factory=PerceptionConditions)


def _fail(where: str, message: str) -> InputError:
    return InputError(f"{where}: {message}")


def _number(value: Any, where: str, what: str, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise _fail(where, f"{what}: expected a number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise _fail(where, f"{what}: expected a number in [{low}, {high}], got {value!r}")
    return float(value)


def _trigger(data: Any, where: str) -> Trigger:
    if not isinstance(data, dict):
        raise _fail(where, f"trigger: expected a mapping with one of {list(_TRIGGER_KINDS)}, got {data!r}")
    kinds = [k for k in _TRIGGER_KINDS if k in data]
    if len(kinds) != 1:
        raise _fail(where, f"trigger: give exactly one of {list(_TRIGGER_KINDS)}, got {sorted(data)}")
    kind = kinds[0]
    allowed = _JUNCTION_KEYS if kind == "junction" else (kind,)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise _fail(where, f"trigger: unknown key(s) {unknown} for a {kind} trigger; known: {list(allowed)}")
    if kind == "route_distance_m":
        return Trigger(route_distance_m=_number(data[kind], where, "trigger.route_distance_m", 0.0))
    if kind == "route_fraction":
        return Trigger(route_fraction=_number(data[kind], where, "trigger.route_fraction", 0.0, 1.0))
    turn = data["junction"]
    if turn not in JUNCTION_TURNS:
        raise _fail(where, f"trigger.junction: expected one of {list(JUNCTION_TURNS)}, got {turn!r}")
    signalized = data.get("signalized")
    if signalized is not None and not isinstance(signalized, bool):
        raise _fail(where, f"trigger.signalized: expected true or false, got {signalized!r}")
    nth = data.get("nth", 1)
    if isinstance(nth, bool) or not isinstance(nth, int) or nth < 1:
        raise _fail(where, f"trigger.nth: expected an integer >= 1, got {nth!r}")
    return Trigger(junction=turn, signalized=signalized, nth=nth,
                   before_m=_number(data.get("before_m", DEFAULT_BEFORE_JUNCTION_M), where, "trigger.before_m", 0.0),
                   after_m=_number(data.get("after_m", 0.0), where, "trigger.after_m", 0.0))


def _scenario(data: Any, where: str) -> ScenarioSpec:
    if not isinstance(data, dict):
        raise _fail(where, f"expected a mapping with family and trigger, got {data!r}")
    unknown = sorted(set(data) - set(_SCENARIO_KEYS))
    if unknown:
        raise _fail(where, f"unknown key(s) {unknown}; known keys: {list(_SCENARIO_KEYS)}")
    family = data.get("type") or data.get("family")
    try:
        type_name = official_name(family) if isinstance(family, str) else None
    except KeyError:
        type_name = None
    if type_name is None:
        raise _fail(where, f"family: unknown scenario family {family!r}; known: {sorted(READABLE_NAMES)} "
                           f"or Scenario1..Scenario10")
    name = data.get("name", type_name)
    if not isinstance(name, str) or not name:
        raise _fail(where, f"name: expected a non-empty string, got {name!r}")
    where = f"{where} ({name})"
    if "trigger" not in data:
        raise _fail(where, "trigger: missing; expected e.g. {route_distance_m: 80}")
    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        raise _fail(where, f"parameters: expected a mapping of name -> value or [low, high], got {params!r}")
    known = behaviour_parameters(type_name)
    for key, value in params.items():
        if key not in known:
            raise _fail(where, f"parameters.{key}: not a parameter of {type_name}; known: {sorted(known)}")
        try:
            check_param(value, f"parameters.{key}")
        except ValueError as exc:
            raise _fail(where, str(exc)) from None
    frozen = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    return ScenarioSpec(name, type_name, _trigger(data["trigger"], where), MappingProxyType(frozen), where)


def parse_scenario_file(data: Any, source: str) -> ScenarioFile:
    """Check decoded YAML `data`; `source` names the file in errors."""
    if not isinstance(data, dict):
        raise _fail(source, f"expected a mapping with 'scenarios', got {type(data).__name__}")
    unknown = sorted(set(data) - {"scenarios", "conditions"})
    if unknown:
        raise _fail(source, f"unknown key(s) {unknown}; known keys: ['conditions', 'scenarios']")
    items = data.get("scenarios")
    if not isinstance(items, list) or not items:
        raise _fail(source, "scenarios: expected a non-empty list of scenarios")
    specs = tuple(_scenario(item, f"{source}: scenarios[{i}]") for i, item in enumerate(items))
    return ScenarioFile(source, specs, conditions_from_dict(data.get("conditions"), f"{source}: conditions"))


def load_scenario_file(path: str | os.PathLike) -> ScenarioFile:
    """Read and check a scenario YAML file; any problem raises one InputError line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"scenario file {path}: no such file")
    return parse_scenario_file(read_yaml(path), f"scenario file {path}")

