"""The scenario seam: one behaviour per placed scenario, ticked by the scenario manager.

A behaviour lives above the World seam (it only spawns actors, drives them with
`apply_control`, moves walkers with `set_walker_target` and sets lights), so the same code runs
on the embedded simulator and on a CARLA server, as scenario_runner's behaviour trees do.

Life of one behaviour, driven by `ScenarioManager` from the ego's distance along its route:
1. `setup` when the ego comes within `spawn_ahead_m` of the trigger (actors appear out of the
   way of the traffic that would otherwise queue behind them for the whole route);
2. `tick` every frame until `done`; the behaviour decides when its trigger fires (most wait for
   the ego to reach the trigger point, as the official `InTriggerDistanceToLocation` /
   `InTriggerDistanceToVehicle` conditions);
3. `cleanup` once done and the ego is `cleanup_behind_m` past the trigger, or at route end.
`filter_control` lets a behaviour change the ego's control (ControlLoss's noise); it returns the
control unchanged otherwise.
"""
from __future__ import annotations

import contextlib
import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import carla
import numpy as np

from driving.errors import WorldError
from driving.world import ActorState, World
from scenarios.route_geometry import RouteGeometry


class ScenarioStatus(str, enum.Enum):
    """Where a behaviour is in its life."""

    PENDING = "pending"  # not set up yet (ego still far from the trigger)
    WAITING = "waiting"  # actors in place, trigger not fired
    RUNNING = "running"  # hazard under way
    DONE = "done"  # end condition met (or the scenario could not be set up: see `skip_reason`)


@dataclass
class ScenarioContext:
    """What a behaviour reads each tick. Distances in metres along the dense route."""

    world: World
    carla_map: carla.Map
    ego_id: int
    route: RouteGeometry
    rng: np.random.Generator
    ego: ActorState | None = None
    ego_route_m: float = 0.0  # the ego's distance along the route
    time_s: float = 0.0  # game time since the route started


def parameter(default: float, low: float, high: float) -> Any:
    """A behaviour field a scenario file may set and `driving attack` may search within [low, high]
    (defaults are scenario_runner's numbers); other fields are the behaviour's own state."""
    if not low <= default <= high:
        raise ValueError(f"parameter default {default} outside its range [{low}, {high}]")
    return field(default=default, metadata={"parameter": True, "range": (float(low), float(high))})


@dataclass
class ScenarioBehaviour(ABC):
    """One scenario instance on one route.

    `trigger_route_m` is where on the route the scenario's trigger lies; `name` the official
    family (`"FollowLeadingVehicle"`) and `label` what logs and infraction tags show
    (`"Scenario2"`, `"S4left"`).
    """

    name: str
    label: str
    trigger_route_m: float
    trigger: carla.Transform
    spawn_ahead_m: float = 60.0
    cleanup_behind_m: float = 40.0
    status: ScenarioStatus = ScenarioStatus.PENDING
    skip_reason: str = ""
    actor_ids: list[int] = field(default_factory=list)

    @abstractmethod
    def setup(self, ctx: ScenarioContext) -> None:
        """Spawn the scenario's actors; call `skip(reason)` instead when the place does not fit."""

    @abstractmethod
    def tick(self, ctx: ScenarioContext) -> None:
        """Advance the behaviour one frame (before the world ticks); set `status` as it goes."""

    def filter_control(self, control: carla.VehicleControl, ctx: ScenarioContext) -> carla.VehicleControl:
        """The ego's control as the world applies it (unchanged unless a behaviour perturbs it)."""
        return control

    def skip(self, reason: str) -> None:
        """Give up on this scenario (logged and counted, never a crash)."""
        self.status = ScenarioStatus.DONE
        self.skip_reason = reason

    def cleanup(self, ctx: ScenarioContext) -> None:
        """Remove every actor this scenario spawned."""
        for actor_id in self.actor_ids:
            with contextlib.suppress(WorldError):  # already gone (destroyed by the world) is fine
                ctx.world.destroy_actor(actor_id)
        self.actor_ids.clear()

    @property
    def active(self) -> bool:
        """True while the hazard is under way (infractions are tagged with the scenario)."""
        return self.status == ScenarioStatus.RUNNING
