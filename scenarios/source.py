"""The scenario-source seam: what `--scenarios FILE` gives a route, whichever format the file is.

An LB1.0 JSON file (official triggers matched against the route) and our YAML files (triggers by
route distance or map feature, sampled parameters, perception conditions) both answer the same
two questions per route: which scenarios sit where (`place`), and under which conditions the
run's sensors work (`conditions`). The route runner talks only to this protocol.
"""
from __future__ import annotations

import functools
import os
import typing
from pathlib import Path
from typing import Any, Protocol

import carla

from driving.errors import InputError
from scenarios.file_placement import SignalizedAt, place_file_scenarios
from scenarios.lb1_file import Lb1ScenarioFile, load_lb1_scenarios
from scenarios.lb1_placement import PlacedScenario, place_lb1_scenarios
from scenarios.perception_conditions import PerceptionConditions
from scenarios.route_geometry import RouteGeometry
from scenarios.scenario_file import ScenarioFile, load_scenario_file

Placement = typing.Tuple[typing.Tuple[PlacedScenario, ...], typing.Tuple[str, ...]]  # placed, reasons for skipped ones
_YAML_SUFFIXES = (".yaml", ".yml")


class ScenarioSource(Protocol):
    """A loaded, checked scenario file."""

    path: str

    @property
    def conditions(self) -> PerceptionConditions:
        """Weather and sensor faults for every route run with this file (empty for LB1.0 files)."""

    def place(self, plan_world: list[tuple[carla.Transform, Any]], town: str, seed: int,
              signalized_at: SignalizedAt) -> Placement:
        """The scenarios of route `plan_world` (dense plan) in `town` for run `seed`."""


class Lb1Source:
    """An official LB1.0 scenario JSON file."""

    def __init__(self, path: str, data: Lb1ScenarioFile) -> None:
        self.path, self.data = path, data

    @property
    def conditions(self) -> PerceptionConditions:
        return PerceptionConditions()

    def place(self, plan_world: list[tuple[carla.Transform, Any]], town: str, seed: int,
              signalized_at: SignalizedAt) -> Placement:
        """Official placement (its sampling seed is fixed at 0, as the official evaluator's)."""
        return place_lb1_scenarios(plan_world, self.data.events(town)), ()


class YamlSource:
    """One of our YAML scenario files (`scenarios.scenario_file`)."""

    def __init__(self, path: str, data: ScenarioFile) -> None:
        self.path, self.data = path, data

    @property
    def conditions(self) -> PerceptionConditions:
        return self.data.conditions

    def place(self, plan_world: list[tuple[carla.Transform, Any]], town: str, seed: int,
              signalized_at: SignalizedAt) -> Placement:
        return place_file_scenarios(RouteGeometry(plan_world), self.data.scenarios, seed, signalized_at)


def load_scenario_source(path: str | os.PathLike) -> ScenarioSource:
    """Read and check a scenario file by its suffix (.json: LB1.0, .yaml/.yml: ours)."""
    p = Path(path)
    if p.suffix.lower() in _YAML_SUFFIXES:
        return YamlSource(str(p), load_scenario_file(p))
    if p.suffix.lower() == ".json":
        return Lb1Source(str(p), load_lb1_scenarios(p))
    raise InputError(f"scenarios file {p}: unknown format; expected an LB1.0 .json file or a .yaml scenario file")


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int, size: int) -> ScenarioSource:
    return load_scenario_source(path)


def load_scenario_source_cached(path: str | os.PathLike) -> ScenarioSource:
    """`load_scenario_source`, read once per process while the file is unchanged (one per route job)."""
    try:
        stat = os.stat(path)
    except OSError:
        return load_scenario_source(path)  # raises the one-line error
    return _load_cached(str(path), stat.st_mtime_ns, stat.st_size)
