"""Scores of one route and of a whole run, with the official coefficients and record layout.

A route's score is route completion (%) x penalty, where the penalty starts at 1.0 and is
multiplied per infraction (pedestrian 0.50, vehicle 0.60, layout 0.65, red light 0.70, stop
0.80) and by (1 - pct/100) for driving outside the route lanes. The global record averages the
routes, gives their sample standard deviation (official `scores_std_dev`), the spread of the
per-repetition means (how results are reported over repetitions), and infractions per km driven.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from leaderboard.criteria.base import TrafficEvent, TrafficEventType

PENALTY_COLLISION_PEDESTRIAN = 0.50
PENALTY_COLLISION_VEHICLE = 0.60
PENALTY_COLLISION_STATIC = 0.65
PENALTY_TRAFFIC_LIGHT = 0.70
PENALTY_STOP = 0.80

PENALTIES: dict[TrafficEventType, float] = {
    TrafficEventType.COLLISION_PEDESTRIAN: PENALTY_COLLISION_PEDESTRIAN,
    TrafficEventType.COLLISION_VEHICLE: PENALTY_COLLISION_VEHICLE,
    TrafficEventType.COLLISION_STATIC: PENALTY_COLLISION_STATIC,
    TrafficEventType.TRAFFIC_LIGHT_INFRACTION: PENALTY_TRAFFIC_LIGHT,
    TrafficEventType.STOP_INFRACTION: PENALTY_STOP,
}

INFRACTION_KEYS = ("collisions_pedestrian", "collisions_vehicle", "collisions_layout", "red_light",
                   "stop_infraction", "outside_route_lanes", "route_dev", "route_timeout", "vehicle_blocked")

SCORE_KEYS = ("score_route", "score_penalty", "score_composed")

#: Official route statuses (a failure is "Failed - " + one of FAILURE_*).
STATUS_COMPLETED = "Completed"
STATUS_STARTED = "Started"
FAILURE_DEVIATED = "Agent deviated from the route"
FAILURE_BLOCKED = "Agent got blocked"
FAILURE_TIMED_OUT = "Agent timed out"
FAILURE_SENSORS = "Agent's sensors were invalid"
FAILURE_SETUP = "Agent couldn't be set up"
FAILURE_AGENT_CRASHED = "Agent crashed"
FAILURE_SIMULATION = "Simulation crashed"

_CRITERIA_FAILURES = {
    TrafficEventType.ROUTE_DEVIATION: FAILURE_DEVIATED,
    TrafficEventType.VEHICLE_BLOCKED: FAILURE_BLOCKED,
    TrafficEventType.ROUTE_TIMEOUT: FAILURE_TIMED_OUT,
}


@dataclass
class RouteRecord:
    """One route's result in the official JSON layout (`to_json`)."""

    route_id: Any
    index: int
    status: str = STATUS_STARTED
    infractions: dict[str, Any] = field(default_factory=lambda: {k: [] for k in INFRACTION_KEYS})
    scores: dict[str, float] = field(default_factory=lambda: {k: 0.0 for k in SCORE_KEYS})
    meta: dict[str, Any] = field(default_factory=dict)
    scores_std_dev: dict[str, float | str] | None = None  # str: STD_UNDEFINED

    def to_json(self) -> dict[str, Any]:
        out = {"route_id": self.route_id, "index": self.index, "status": self.status,
               "infractions": self.infractions, "scores": self.scores, "meta": self.meta}
        if self.scores_std_dev is not None:
            out["scores_std_dev"] = self.scores_std_dev
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RouteRecord:
        return cls(route_id=data["route_id"], index=data["index"], status=data["status"],
                   infractions=data["infractions"], scores=data["scores"], meta=data["meta"],
                   scores_std_dev=data.get("scores_std_dev"))


def compute_route_record(route_id: str, index: int, events: list[TrafficEvent], failure: str,
                         route_length_m: float, duration_system_s: float,
                         duration_game_s: float) -> RouteRecord:
    """Turn a route's traffic events into its record; `failure` is a crash message or ''."""
    record = RouteRecord(route_id=route_id, index=index)
    score_route, penalty = 0.0, 1.0
    for event in events:
        kind = event.type
        if kind in PENALTIES:
            penalty *= PENALTIES[kind]
            record.infractions[kind.value].append(event.message)
        elif kind == TrafficEventType.OUTSIDE_ROUTE_LANES_INFRACTION:
            penalty *= 1 - event.data["percentage"] / 100.0
            record.infractions[kind.value].append(event.message)
        elif kind in _CRITERIA_FAILURES:
            record.infractions[kind.value].append(event.message)
            failure = _CRITERIA_FAILURES[kind]
        elif kind == TrafficEventType.ROUTE_COMPLETION:
            score_route = float(event.data.get("route_completed", 0.0))
        elif kind == TrafficEventType.ROUTE_COMPLETED:
            score_route = 100.0
    record.scores = {"score_route": score_route, "score_penalty": penalty,
                     "score_composed": max(score_route * penalty, 0.0)}
    record.meta = {"route_length": route_length_m, "duration_game": duration_game_s,
                   "duration_system": duration_system_s}
    record.status = f"Failed - {failure}" if failure else STATUS_COMPLETED
    return record


def failed_record(route_id: str, index: int, failure: str, route_length_m: float,
                  duration_system_s: float = 0.0) -> RouteRecord:
    """Record of a route that never drove (agent setup failed, invalid sensors, crash at load)."""
    return compute_route_record(route_id, index, [], failure, route_length_m, duration_system_s, 0.0)


#: Official LB1.0 `scores_std_dev` value when there is a single route: the string "NaN" (the
#: official code assigns the string, so the JSON stays strict; a float NaN would not be).
STD_UNDEFINED = "NaN"


def _sample_std(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def km_driven(record: RouteRecord) -> float:
    """Kilometres a route's ego actually drove along it: route length x route completion."""
    return float(record.meta.get("route_length", 0.0)) / 1000.0 * float(record.scores["score_route"]) / 100.0


def infractions_per_km(records: list[RouteRecord]) -> dict[str, float]:
    """Each infraction kind's count divided by the kilometres driven over all routes.

    Kilometres driven are route length x completion (LB1.0 and LB2.0), so a route abandoned
    early does not dilute the rate with metres never driven. As LB1.0, a route that drove no
    distance (completion 0) is left out: its infractions are most likely the evaluator's (spawn
    contacts), not the agent's. Hence with no kilometre driven there is nothing to count and
    every rate is 0.0 (as LB1.0 gives): finite, where LB2.0 divides by a 1 m floor instead (one
    infraction -> 1000 per km). The rate is the total count over the total distance (as LB2.0);
    LB1.0 summed per-route rates, which grows with the number of routes.
    """
    moved = [r for r in records if km_driven(r) > 0.0]
    if not moved:
        return {k: 0.0 for k in INFRACTION_KEYS}
    total_km = sum(km_driven(r) for r in moved)
    return {k: sum(len(r.infractions[k]) for r in moved) / total_km for k in INFRACTION_KEYS}


def compute_global_record(records: list[RouteRecord], repetitions: int = 1) -> RouteRecord:
    """Mean scores over routes, their sample std, per-repetition spread and infractions per km.

    The sample std of a single route is undefined: written as the official "NaN" string.
    """
    glob = RouteRecord(route_id=-1, index=-1, status=STATUS_COMPLETED)
    glob.infractions = {k: 0.0 for k in INFRACTION_KEYS}
    glob.scores_std_dev = {k: 0.0 for k in SCORE_KEYS}
    exceptions = []
    for r in records:
        if r.status != STATUS_COMPLETED:
            glob.status = "Failed"
            exceptions.append((r.route_id, r.index, r.status))
    if records:
        for key in SCORE_KEYS:
            values = [float(r.scores[key]) for r in records]
            glob.scores[key] = sum(values) / len(values)
            glob.scores_std_dev[key] = _sample_std(values) if len(values) > 1 else STD_UNDEFINED
        glob.infractions = infractions_per_km(records)
    # official global meta: plain sums of the routes' metres and seconds
    glob.meta = {"total_length": sum(float(r.meta.get("route_length", 0.0)) for r in records),
                 "duration_system": sum(float(r.meta.get("duration_system", 0.0)) for r in records),
                 "duration_game": sum(float(r.meta.get("duration_game", 0.0)) for r in records),
                 "exceptions": exceptions}
    if repetitions > 1 and records:
        per_rep = {}
        for r in records:
            per_rep.setdefault(r.index % repetitions, []).append(float(r.scores["score_composed"]))
        means = [sum(v) / len(v) for _, v in sorted(per_rep.items())]
        glob.meta["repetitions"] = {"score_composed_means": means,
                                    "score_composed_std": _sample_std(means)}
    return glob


def global_values(glob: RouteRecord) -> list[str]:
    """The results file's top-level "values" (3 decimals), in the order of `GLOBAL_LABELS`."""
    nums = [glob.scores[k] for k in ("score_composed", "score_route", "score_penalty")] + [glob.infractions[k] for k in INFRACTION_KEYS]
    return [f"{v:.3f}" for v in nums]


GLOBAL_LABELS = ["Avg. driving score", "Avg. route completion", "Avg. infraction penalty",
                 "Collisions with pedestrians", "Collisions with vehicles", "Collisions with layout",
                 "Red lights infractions", "Stop sign infractions", "Off-road infractions",
                 "Route deviations", "Route timeouts", "Agent blocked"]
