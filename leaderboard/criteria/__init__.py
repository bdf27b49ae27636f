"""The official route criteria, grouped as the RouteScenario builds them.

`RouteCriteria` owns one instance of each test for one route, updates them every tick, says
when the route is over (completed, deviated, blocked or timed out) and hands every traffic event
to the statistics.
"""
from __future__ import annotations

import carla

from driving.world import StopSignInfo, TrafficLightInfo
from leaderboard.criteria.base import CriteriaTick, Criterion, TrafficEvent, TrafficEventType
from leaderboard.criteria.collision import CollisionTest
from leaderboard.criteria.route import (
    ActorBlockedTest,
    InRouteTest,
    OutsideRouteLanesTest,
    RouteCompletionTest,
    RoutePath,
    RouteTimeoutTest,
    route_timeout_s,
)
from leaderboard.criteria.signals import RunningRedLightTest, RunningStopTest

__all__ = [
    "CriteriaTick",
    "Criterion",
    "RouteCriteria",
    "RoutePath",
    "TrafficEvent",
    "TrafficEventType",
    "route_timeout_s",
]


class RouteCriteria:
    """All criteria of one route; `done` once one of them ends the route."""

    def __init__(self, route: list[carla.Transform], carla_map: carla.Map,
                 lights: list[TrafficLightInfo], stops: list[StopSignInfo]) -> None:
        self.path = RoutePath(route)
        self.timeout_s = route_timeout_s(self.path.length_m)
        self.completion = RouteCompletionTest(self.path)
        self.criteria: list[Criterion] = [
            CollisionTest(),
            RunningRedLightTest(carla_map, lights),
            RunningStopTest(carla_map, stops),
            OutsideRouteLanesTest(self.path, carla_map, route[0].location),
            InRouteTest(self.path),
            self.completion,
            ActorBlockedTest(),
            RouteTimeoutTest(self.timeout_s),
        ]
        self._terminated = False

    def update(self, tick: CriteriaTick) -> None:
        for criterion in self.criteria:
            criterion.update(tick)

    @property
    def done(self) -> bool:
        return any(c.terminal for c in self.criteria)

    @property
    def failure(self) -> str:
        """The official failure text of the first criterion that ended the route, or ''."""
        for criterion in self.criteria:
            if criterion.terminal and criterion.failure_message:
                return criterion.failure_message
        return ""

    def terminate(self) -> None:
        if not self._terminated:
            for criterion in self.criteria:
                criterion.terminate()
            self._terminated = True

    def events(self) -> list[TrafficEvent]:
        return [e for c in self.criteria for e in c.events]

    def infractions(self) -> list[TrafficEvent]:
        """Infractions recorded so far: every event but the completion reports."""
        progress = (TrafficEventType.ROUTE_COMPLETION, TrafficEventType.ROUTE_COMPLETED)
        return [e for e in self.events() if e.type not in progress]

    def infraction_count(self) -> int:
        """How many infractions so far, for live displays."""
        return len(self.infractions())
