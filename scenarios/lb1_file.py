"""Official Leaderboard 1.0 scenario files (`--scenarios FILE`), read into plain data.

Layout (leaderboard-1.0 `data/all_towns_traffic_scenarios_public.json`):
`{"available_scenarios": [{"Town01": [{"scenario_type": "Scenario4",
"available_event_configurations": [{"transform": {"x", "y", "z", "yaw", "pitch"},
"other_actors": {"front" | "left" | "right": [transform, ...]}}]}]}]}`.
Numbers may be JSON numbers or numeric strings (the official files mix both); metres and degrees
in CARLA's world frame.

Users bring these files to an evaluation, so every problem is found at load time and reported as
one `InputError` line naming the file, the town/scenario/event and the field, instead of a
KeyError deep inside a route. As in the official parser, a town listed twice keeps its last
entry. Unlike it, unknown keys are rejected with the known ones listed (a misspelt "other_actors"
would otherwise be dropped silently) and types outside Scenario1..10 are rejected (the official
evaluator would crash on them once placed).
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import carla

from driving.errors import InputError
from scenarios.lb1_types import LB1_TYPES

ACTOR_SIDES = ("front", "left", "right")
_TRANSFORM_FIELDS = ("x", "y", "z", "yaw")  # required; pitch and roll are read by nobody
_TRANSFORM_KEYS = (*_TRANSFORM_FIELDS, "pitch", "roll")
_EVENT_KEYS = ("transform", "other_actors")
_SCENARIO_KEYS = ("scenario_type", "available_event_configurations")


@dataclass(frozen=True)
class Pose:
    """A position and heading as written in the file (metres, degrees; CARLA world frame).

    Kept as Python floats rather than a `carla.Transform` (float32) so matching against a route
    uses the file's exact numbers, as the official code does.
    """

    x_m: float
    y_m: float
    z_m: float
    yaw_deg: float

    @property
    def transform(self) -> carla.Transform:
        """As the official `convert_json_to_transform`: pitch and roll 0."""
        return carla.Transform(carla.Location(x=self.x_m, y=self.y_m, z=self.z_m),
                               carla.Rotation(pitch=0.0, yaw=self.yaw_deg, roll=0.0))

    def distance_m(self, other: Pose) -> float:
        """Straight-line (3D) distance in metres."""
        return math.dist((self.x_m, self.y_m, self.z_m), (other.x_m, other.y_m, other.z_m))


@dataclass(frozen=True)
class OtherActors:
    """The event's `other_actors` poses by side (empty when the file gives none).

    LB1.0's scenarios compute their actors' positions themselves; these poses are kept because
    the official sampling uses them to keep chosen scenarios apart, and for behaviours that want
    them.
    """

    front: tuple[Pose, ...] = ()
    left: tuple[Pose, ...] = ()
    right: tuple[Pose, ...] = ()

    def poses(self) -> tuple[Pose, ...]:
        return (*self.front, *self.left, *self.right)


@dataclass(frozen=True)
class Lb1Event:
    """One `available_event_configurations` entry: a trigger pose for one scenario type."""

    scenario_type: str  # "Scenario1" ... "Scenario10"
    trigger: Pose
    other_actors: OtherActors
    where: str  # "town 'Town01' scenario 2 (Scenario4) event 5", for messages


@dataclass(frozen=True)
class Lb1ScenarioFile:
    """A loaded scenario file: each town's events in file order (types as listed, then events)."""

    source: str
    towns: Mapping[str, tuple[Lb1Event, ...]]

    def events(self, town: str) -> tuple[Lb1Event, ...]:
        """The town's events (none when the file has no entry for it, as officially)."""
        return self.towns.get(town, ())

    @property
    def n_events(self) -> int:
        return sum(len(events) for events in self.towns.values())


class _Checker:
    """Typed field readers that know where they are in the file, for one-line error messages."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> InputError:
        return InputError(f"{self.source}: {where}: {message}" if where else f"{self.source}: {message}")

    def obj(self, value: Any, where: str, what: str, known: tuple[str, ...] | None = None) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"{what} must be a JSON object, got {_kind(value)}")
        if known is not None:
            unknown = [k for k in value if k not in known]
            if unknown:
                raise self.fail(where, f"{what} has unknown field {unknown[0]!r}; known: {list(known)}")
        return value

    def array(self, value: Any, where: str, what: str) -> list:
        if not isinstance(value, list):
            raise self.fail(where, f"{what} must be a JSON array, got {_kind(value)}")
        return value

    def field(self, mapping: dict, key: str, where: str, what: str, expected: str) -> Any:
        if key not in mapping:
            raise self.fail(where, f"{what} is missing field {key!r} ({expected})")
        return mapping[key]

    def number(self, value: Any, where: str, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.fail(where, f"{what} must be a number, got {_kind(value)}")
        try:
            out = float(value)
        except ValueError:
            raise self.fail(where, f"{what} must be a number, got {value!r}") from None
        if not math.isfinite(out):
            raise self.fail(where, f"{what} must be finite, got {value!r}")
        return out

    def pose(self, value: Any, where: str, what: str) -> Pose:
        fields = self.obj(value, where, what, _TRANSFORM_KEYS)
        x, y, z, yaw = (self.number(self.field(fields, key, where, what, "a number"), where, f"{what} field {key!r}")
                        for key in _TRANSFORM_FIELDS)
        for key in ("pitch", "roll"):  # optional, unused, but must not be garbage
            if key in fields:
                self.number(fields[key], where, f"{what} field {key!r}")
        return Pose(x, y, z, yaw)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), f"a number ({value!r})")


def _other_actors(c: _Checker, value: Any, where: str) -> OtherActors:
    sides = c.obj(value, where, "other_actors", ACTOR_SIDES)
    poses = {side: tuple(c.pose(p, where, f"other_actors {side}[{i}]")
                         for i, p in enumerate(c.array(items, where, f"other_actors {side!r}")))
             for side, items in sides.items()}
    return OtherActors(**poses)


def _town_events(c: _Checker, town: str, entries: Any) -> tuple[Lb1Event, ...]:
    events: list[Lb1Event] = []
    for i, entry in enumerate(c.array(entries, f"town {town!r}", "the town's value")):
        where = f"town {town!r} scenario {i}"
        entry = c.obj(entry, where, "scenario", _SCENARIO_KEYS)
        stype = c.field(entry, "scenario_type", where, "scenario", "a type name Scenario1..Scenario10")
        if stype not in LB1_TYPES:
            raise c.fail(where, f"scenario_type {stype!r} is not an LB1.0 type; known: {list(LB1_TYPES)}")
        where = f"{where} ({stype})"
        configs = c.field(entry, "available_event_configurations", where, "scenario", "an array of events")
        for j, event in enumerate(c.array(configs, where, "available_event_configurations")):
            at = f"{where} event {j}"
            event = c.obj(event, at, "event", _EVENT_KEYS)
            trigger = c.pose(c.field(event, "transform", at, "event", "an object with x, y, z, yaw"), at, "transform")
            others = _other_actors(c, event["other_actors"], at) if "other_actors" in event else OtherActors()
            events.append(Lb1Event(stype, trigger, others, at))
    return tuple(events)


def parse_lb1_scenarios(data: Any, source: str) -> Lb1ScenarioFile:
    """Check decoded JSON `data` and return its events; `source` names it in error messages."""
    c = _Checker(source)
    top = c.obj(data, "", "the top level", ("available_scenarios",))
    towns: dict[str, tuple[Lb1Event, ...]] = {}
    listing = c.field(top, "available_scenarios", "", "the top level", "an array of {town: [scenarios]} objects")
    for k, town_dict in enumerate(c.array(listing, "", "available_scenarios")):
        for town, entries in c.obj(town_dict, f"available_scenarios[{k}]", "entry").items():
            towns[town] = _town_events(c, town, entries)  # a repeated town keeps its last entry
    return Lb1ScenarioFile(source, MappingProxyType(towns))


def load_lb1_scenarios(path: str | os.PathLike) -> Lb1ScenarioFile:
    """Read and check an LB1.0 scenario JSON file; any problem raises one InputError line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"scenarios file {path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"scenarios file {path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"scenarios file {path}: cannot be read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"scenarios file {path}: not valid JSON (line {exc.lineno} column {exc.colno}: "
                         f"{exc.msg})") from None
    return parse_lb1_scenarios(data, f"scenarios file {path}")
