"""Runs a route's scenarios: sets each up as the ego nears it, ticks it, cleans it up behind.

The route runner calls `before_tick` once per frame (after the agent's step, before the world
ticks) and passes the ego's control through `filter_control`. Infractions the criteria record
while a scenario is running are tagged with it (`tag_new_events`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import carla
import numpy as np

from driving.world import World
from scenarios.behaviour import ScenarioBehaviour, ScenarioContext, ScenarioStatus
from scenarios.registry import apply_parameters, builder
from scenarios.route_geometry import RouteGeometry


@dataclass(frozen=True)
class TaggedInfraction:
    """One infraction with the scenarios that were running when it happened."""

    kind: str
    message: str
    scenarios: tuple[str, ...]


class ScenarioManager:
    """The behaviours of one route, in route order."""

    def __init__(self, behaviours: Sequence[ScenarioBehaviour], world: World, carla_map: carla.Map,
                 ego_id: int, route: RouteGeometry, seed: int) -> None:
        self.behaviours = list(behaviours)
        self.ctx = ScenarioContext(world, carla_map, ego_id, route, np.random.default_rng([seed, 11]))
        self.tagged: list[TaggedInfraction] = []
        self._seen_events: set[int] = set()  # ids of the criteria's (long-lived) event objects

    @classmethod
    def from_placed(cls, placed: Sequence, world: World, carla_map: carla.Map, ego_id: int,
                    route: RouteGeometry, seed: int) -> tuple[ScenarioManager, list[str]]:
        """Behaviours for the placed scenarios that have one; also returns the type names skipped."""
        behaviours, skipped = [], []
        for p in placed:
            build = builder(p.scenario_type)
            if build is None:
                skipped.append(p.scenario_type)
            else:
                behaviour = apply_parameters(build(p, route), dict(p.parameters))
                behaviour.label = p.label
                behaviours.append(behaviour)
        return cls(behaviours, world, carla_map, ego_id, route, seed), skipped

    def before_tick(self, time_s: float) -> None:
        """Advance every behaviour by one frame, given the world as it is now."""
        ctx = self.ctx
        ctx.ego = ctx.world.get_actor_state(ctx.ego_id)
        loc = ctx.ego.transform.location
        ctx.ego_route_m = ctx.route.progress_m(loc.x, loc.y)
        ctx.time_s = time_s
        for b in self.behaviours:
            if b.status == ScenarioStatus.PENDING and ctx.ego_route_m >= b.trigger_route_m - b.spawn_ahead_m:
                b.status = ScenarioStatus.WAITING
                b.setup(ctx)
            if b.status in (ScenarioStatus.WAITING, ScenarioStatus.RUNNING):
                b.tick(ctx)
            if (b.status == ScenarioStatus.DONE and b.actor_ids
                    and ctx.ego_route_m > b.trigger_route_m + b.cleanup_behind_m):
                b.cleanup(ctx)

    def filter_control(self, control: carla.VehicleControl) -> carla.VehicleControl:
        """The ego's control after every running behaviour had its say (ControlLoss noise)."""
        for b in self.behaviours:
            if b.status in (ScenarioStatus.WAITING, ScenarioStatus.RUNNING):
                control = b.filter_control(control, self.ctx)
        return control

    def active_labels(self) -> tuple[str, ...]:
        return tuple(b.label for b in self.behaviours if b.active)

    def tag_new_events(self, infractions: Sequence) -> None:
        """Tag the infractions added since the last call with the running scenarios;
        `infractions` is `RouteCriteria.infractions()` (official TrafficEvent objects)."""
        labels = self.active_labels()
        for event in infractions:
            if id(event) not in self._seen_events:
                self._seen_events.add(id(event))
                self.tagged.append(TaggedInfraction(event.type.value, event.message, labels))

    def summary(self) -> list[dict]:
        """Per behaviour: label, family, where (route m), final status and why skipped, for the record."""
        return [{"scenario": b.label, "family": b.name, "route_m": round(b.trigger_route_m, 1),
                 "status": b.status.value, "skipped": b.skip_reason} for b in self.behaviours]

    def close(self) -> None:
        """Remove every scenario actor still in the world."""
        for b in self.behaviours:
            b.cleanup(self.ctx)
