"""Shared pieces of the official criteria: traffic events, the per-tick input, the Criterion ABC.

Each criterion reproduces one scenario_runner atomic criterion used by the official RouteScenario
(CollisionTest, RunningRedLightTest, RunningStopTest, OutsideRouteLanesTest, InRouteTest,
RouteCompletionTest, ActorSpeedAboveThresholdTest) plus the route timeout. They read plain
snapshots (`CriteriaTick`) instead of a live server, so they can be tested on recorded states.
"""
from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import carla

from driving.world import ActorState, CollisionEvent


class TrafficEventType(enum.Enum):
    """The event kinds the statistics turn into infractions and scores (scenario_runner's names)."""

    COLLISION_STATIC = "collisions_layout"
    COLLISION_VEHICLE = "collisions_vehicle"
    COLLISION_PEDESTRIAN = "collisions_pedestrian"
    TRAFFIC_LIGHT_INFRACTION = "red_light"
    STOP_INFRACTION = "stop_infraction"
    OUTSIDE_ROUTE_LANES_INFRACTION = "outside_route_lanes"
    ROUTE_DEVIATION = "route_dev"
    ROUTE_TIMEOUT = "route_timeout"
    VEHICLE_BLOCKED = "vehicle_blocked"
    ROUTE_COMPLETION = "route_completion"
    ROUTE_COMPLETED = "route_completed"


@dataclass
class TrafficEvent:
    """One infraction or progress report: its kind, the official message and its numbers."""

    type: TrafficEventType
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CriteriaTick:
    """What the criteria see each tick: the ego state, game time, the ego's collisions and lights.

    `game_time_s` is simulation seconds since the route started; `collisions` are this tick's
    collision events of the ego; `light_states` maps traffic-light id -> current state.
    """

    ego: ActorState
    game_time_s: float
    collisions: tuple[CollisionEvent, ...] = ()
    light_states: dict[int, carla.TrafficLightState] = field(default_factory=dict)


class Criterion(ABC):
    """One test over the route. `terminal` is set when it ends the route (deviation, blocked, ...)."""

    #: The route status suffix when this criterion ends the route ("Agent got blocked", ...).
    failure_message: str | None = None

    def __init__(self) -> None:
        self.events: list[TrafficEvent] = []
        self.terminal = False
        self.success = False

    @abstractmethod
    def update(self, tick: CriteriaTick) -> None:
        """Advance the test by one tick."""

    def terminate(self) -> None:
        """Called once when the route ends (some criteria emit their event only then)."""


def location_message(loc: carla.Location) -> str:
    """`(x=.., y=.., z=..)` with 3 decimals, as the official messages write positions."""
    return f"(x={round(loc.x, 3)}, y={round(loc.y, 3)}, z={round(loc.z, 3)})"


def location_dict(loc: carla.Location) -> dict[str, float]:
    return {"x": loc.x, "y": loc.y, "z": loc.z}


def forward_vector(yaw_deg: float) -> tuple[float, float]:
    """Unit vector (x, y) of a carla yaw in degrees."""
    import math

    rad = math.radians(yaw_deg)
    return math.cos(rad), math.sin(rad)
