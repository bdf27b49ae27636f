"""Which LB1.0 scenarios a route gets, and where: the official placement rules as plain data.

Reproduces leaderboard-1.0 `route_parser.py` (scan_route_for_scenarios, get_scenario_type,
check_trigger_position) and `route_scenario.py` (_scenario_sampling, compare_scenarios), so a
scenario file gives the same scenarios at the same places as on the official evaluator:
1. match: an event applies when its trigger is < 2.0 m (3D: the files' z of ~1 m counts, so on
   flat roads the horizontal reach is ~1.7 m) and within 10 deg of yaw of a dense route point;
   the first such point, in route order, is where it sits on the route;
2. turn: the route's first command after that point that is not lane-follow or lane-change
   (LEFT/RIGHT/STRAIGHT at the next junction) sets the subtype of Scenario4/7/8/9; a type whose
   turn the route does not make (or a route with no junction ahead) is not placed;
3. group: matched events whose triggers are < 2.0 m apart (2D) and within 10 deg of the group's
   first trigger share one trigger position (groups in file order);
4. choose, per group in order: the highest scenario number (last listed among equal numbers);
   if it lies < 2.0 m (3D) from a scenario already chosen - comparing triggers and other_actors
   poses of both - draw another from the group with `RandomState(seed).choice` until one does
   not clash; none left: the position gets no scenario.
The official evaluator samples with seed 0 for every route (`OFFICIAL_SAMPLING_SEED`); the seed
only matters when step 4 has to redraw. Official quirk kept: the yaw test in compare_scenarios
subtracts a yaw from itself, so the clash test is position only.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import carla
import numpy as np

from planning.road_option import RoadOption
from scenarios.lb1_file import Lb1Event, OtherActors, Pose
from scenarios.lb1_types import LB1_TYPES, Lb1Type
from scenarios.route_geometry import RouteGeometry, RoutePlan

TRIGGER_DISTANCE_M = 2.0  # official TRIGGER_THRESHOLD
TRIGGER_YAW_DEG = 10.0  # official TRIGGER_ANGLE_THRESHOLD
OFFICIAL_SAMPLING_SEED = 0  # route_scenario._scenario_sampling(random_seed=0), never overridden


@dataclass(frozen=True)
class PlacedScenario:
    """One scenario placed on a route: what a behaviour needs to set itself up there.

    `route_index` is the first dense route point within the trigger thresholds (where the ego
    enters the trigger zone) and `route_distance_m` the route length up to it. `turn` is the
    route's command at the next junction after the trigger (None: no junction ahead); `subtype`
    the official tag derived from it for Scenario4/7/8/9 ("S4left", "S7opposite", ...), "" for
    types that do not depend on turns.
    """

    scenario_type: str  # "Scenario1" ... "Scenario10"
    family: str  # "VehicleTurningRoute", ...
    subtype: str
    turn: RoadOption | None
    trigger: carla.Transform
    route_index: int
    route_distance_m: float
    other_actors: OtherActors
    source: str  # the event in its file, e.g. "town 'Town01' scenario 2 (Scenario4) event 5"
    #: Sampled values of the behaviour's tunable fields (our YAML files; LB1.0 files set none).
    parameters: Mapping[str, float] = field(default_factory=dict)
    name: str = ""  # the scenario's own name (our YAML files); "" for LB1.0 events

    @property
    def label(self) -> str:
        """Short name for logs and tags: the file's name, else the subtype, else the type."""
        return self.name or self.subtype or self.scenario_type


@dataclass(frozen=True)
class _Candidate:
    """A matched event with a valid subtype, waiting for the per-position choice."""

    event: Lb1Event
    kind: Lb1Type
    subtype: str
    turn: RoadOption | None
    route_index: int

    def poses(self) -> tuple[Pose, ...]:
        return (self.event.trigger, *self.event.other_actors.poses())


def _yaw_close(a_deg: float | np.ndarray, b_deg: float | np.ndarray) -> bool | np.ndarray:
    """Within TRIGGER_YAW_DEG either way round, as the official `(a - b) % 360` test."""
    d = (a_deg - b_deg) % 360.0
    return (d < TRIGGER_YAW_DEG) | (d > 360.0 - TRIGGER_YAW_DEG)


def first_trigger_match(route: RouteGeometry, pose: Pose) -> int | None:
    """Index of the first route point within 2.0 m (3D) and 10 deg of `pose`, else None (the
    official trigger match)."""
    if not len(route):
        return None
    d = np.linalg.norm(route.xyz - (pose.x_m, pose.y_m, pose.z_m), axis=1)
    ok = (d < TRIGGER_DISTANCE_M) & _yaw_close(pose.yaw_deg, route.yaw_deg)
    return int(np.argmax(ok)) if ok.any() else None


def _same_position(a: Pose, b: Pose) -> bool:
    """Official check_trigger_position: < 2.0 m in the ground plane and within 10 deg."""
    return bool(np.hypot(a.x_m - b.x_m, a.y_m - b.y_m) < TRIGGER_DISTANCE_M and _yaw_close(a.yaw_deg, b.yaw_deg))


def _clash(a: _Candidate, b: _Candidate) -> bool:
    """Official compare_scenarios: any pose of one < 2.0 m (3D) from any pose of the other."""
    return any(p.distance_m(q) < TRIGGER_DISTANCE_M for p, q in itertools.product(a.poses(), b.poses()))


def _candidates(route: RouteGeometry, events: Sequence[Lb1Event]) -> list[_Candidate]:
    out = []
    for event in events:
        index = first_trigger_match(route, event.trigger)
        if index is None:
            continue
        kind = LB1_TYPES[event.scenario_type]
        turn = route.next_turn(index)
        subtype = kind.turn_subtypes.get(turn) if kind.needs_turn else ""
        if subtype is not None:
            out.append(_Candidate(event, kind, subtype, turn, index))
    return out


def _group(candidates: list[_Candidate]) -> list[list[_Candidate]]:
    """Candidates per trigger position; a position is its first trigger (file order)."""
    groups: list[list[_Candidate]] = []
    for cand in candidates:
        home = next((g for g in groups if _same_position(g[0].event.trigger, cand.event.trigger)), None)
        if home is None:
            groups.append([cand])
        else:
            home.append(cand)
    return groups


def _choose(groups: list[list[_Candidate]], seed: int) -> list[_Candidate]:
    rng = np.random.RandomState(seed)
    chosen: list[_Candidate] = []
    for group in groups:
        remaining = list(group)
        best = 0
        for i, cand in enumerate(remaining):  # highest number; the last one among equals
            if cand.kind.number >= remaining[best].kind.number:
                best = i
        choice: _Candidate | None = remaining.pop(best)
        while any(_clash(choice, other) for other in chosen):
            if not remaining:
                choice = None
                break
            choice = remaining.pop(int(rng.randint(len(remaining))))  # = RandomState.choice(list)
        if choice is not None:
            chosen.append(choice)
    return chosen


def place_lb1_scenarios(plan: RoutePlan, events: Sequence[Lb1Event],
                        seed: int = OFFICIAL_SAMPLING_SEED) -> tuple[PlacedScenario, ...]:
    """The scenarios LB1.0 runs on the route `plan` (dense (Transform, RoadOption) points, as
    `interpolate_trajectory(...).world`) given its town's `events`, in route order.

    Deterministic for a seed; see the module docstring for the rules.
    """
    route = RouteGeometry(plan)
    chosen = _choose(_group(_candidates(route, events)), seed)
    placed = [PlacedScenario(c.event.scenario_type, c.kind.family, c.subtype, c.turn, c.event.trigger.transform,
                             c.route_index, float(route.distance_m[c.route_index]), c.event.other_actors,
                             c.event.where) for c in chosen]
    return tuple(sorted(placed, key=lambda p: p.route_index))


def describe_placed(placed: Sequence[PlacedScenario]) -> str:
    """One line for logs: 'Scenario3 @44m, S4left @239m, ...' in route order."""
    return ", ".join(f"{p.label} @{p.route_distance_m:.0f}m" for p in placed) or "none"
