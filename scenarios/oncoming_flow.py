"""A stream of scripted cars along one lane: a source that emits, a sink that removes (S6).

Official ManeuverOppositeDirection drives its oncoming cars with `WaypointFollower(...,
avoid_collision=True)`, emits new ones with `ActorSource` (a new car whenever no actor is within
the gap of the source, up to a limit) and removes them with `ActorSink` (actors within 10 m of
the first junction along the lane). Our cars follow the lane centre with `ScriptedVehicle` and
avoid collisions with a plain check: brake fully when any other actor's centre lies ahead on
their path (within `AVOID_AHEAD_M` along it and `AVOID_LATERAL_M` across it), so an ego that
pulls out into their lane is met by a car that stops, not one that drives through it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import carla
import numpy as np

from driving.errors import WorldError
from driving.world import ActorState, World
from scenarios.scripted_vehicle import ScriptedVehicle

#: Look-ahead (m along the car's heading) and half-width (m across it) of the obstacle check.
AVOID_AHEAD_M = 12.0
AVOID_LATERAL_M = 1.6
#: Sink radius (official ActorSink threshold), metres.
SINK_RADIUS_M = 10.0


def first_junction_along(start: carla.Waypoint, max_m: float) -> tuple[list[carla.Waypoint], carla.Location]:
    """Lane waypoints (1 m apart) from `start` up to the first junction point (or `max_m`), and
    where the sink goes: that junction point (the path's end when there is none)."""
    wps = [start]
    while len(wps) < max_m:
        nxt = wps[-1].next(1.0)
        if not nxt:
            break
        wps.append(nxt[0])
        if nxt[0].is_junction:
            break
    return wps, wps[-1].transform.location


def blocked_ahead(me: ActorState, others: list[ActorState]) -> bool:
    """True when another actor's centre lies within the look-ahead box in front of `me`."""
    yaw = math.radians(me.transform.rotation.yaw)
    fx, fy = math.cos(yaw), math.sin(yaw)
    for other in others:
        if other.id == me.id:
            continue
        dx = other.transform.location.x - me.transform.location.x
        dy = other.transform.location.y - me.transform.location.y
        along = dx * fx + dy * fy
        if 0.0 < along <= AVOID_AHEAD_M + me.extent.x and abs(-dx * fy + dy * fx) <= AVOID_LATERAL_M:
            return True
    return False


@dataclass
class OncomingFlow:
    """Cars emitted at `source` (one at once, more when the source is clear) along `path`."""

    world: World
    source: carla.Transform
    path: np.ndarray  # (N, 3) lane-centre points from the source to the sink, metres
    sink: carla.Location
    speed_mps: float
    gap_m: float
    limit: int  # how many cars the source may emit after the first
    cars: dict[int, ScriptedVehicle] = field(default_factory=dict)
    emitted: int = 0
    spawned_ids: list[int] = field(default_factory=list)  # every car ever spawned, in order

    def spawn(self) -> int:
        """Put one car at the source, standing (raises WorldError when the spot is taken)."""
        actor_id = self.world.spawn_vehicle(self.source, "vehicle.car", role_name="scenario")
        driver = ScriptedVehicle(self.world, actor_id, self.path, self.speed_mps)
        self.cars[actor_id] = driver
        self.spawned_ids.append(actor_id)
        return actor_id

    def hold(self) -> None:
        """Keep every car standing (before the trigger)."""
        for driver in self.cars.values():
            driver.full_brake = True
            driver.step()

    def step(self, states: list[ActorState]) -> None:
        """Emit, remove at the sink, and drive every car one tick."""
        by_id = {s.id: s for s in states}
        if self.emitted < self.limit and not any(
                s.transform.location.distance(self.source.location) < self.gap_m for s in states):
            try:
                self.spawn()
                self.emitted += 1
            except WorldError:
                pass  # spot taken after all: try next tick
        for actor_id in list(self.cars):
            me = by_id.get(actor_id)
            driver = self.cars[actor_id]
            if me is None:  # emitted this tick: not in the snapshot yet
                driver.step()
                continue
            if me.transform.location.distance(self.sink) < SINK_RADIUS_M:
                self.remove(actor_id)
                continue
            driver.full_brake = blocked_ahead(me, states)
            driver.step()

    def remove(self, actor_id: int) -> None:
        self.cars.pop(actor_id, None)
        try:
            self.world.destroy_actor(actor_id)
        except WorldError:
            pass  # already gone
