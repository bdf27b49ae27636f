"""Scenario2 FollowLeadingVehicle: a lead car drives ahead of the ego and brakes to a stop.

As LB1.0 (scenario_runner `FollowLeadingVehicle`): when the ego reaches the trigger, a car is
placed at rest 25 m ahead of the trigger on the ego's lane (it is hidden until then, so it does
not queue traffic for the whole route). It follows its lane at 10 m/s, ignoring everything, until
its lane point is within 20 m of the next junction, then brakes fully and stays there. The
scenario ends when the ego is within 20 m of it and has stood still for more than 1 s; the car
is removed then, so the ego can go on.

A car whose lane has no junction ahead (within the search range) drives to the end of its path
and stops there; one spawned within 20 m of the junction brakes at once (a standing obstacle).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from driving.errors import WorldError
from scenarios.behaviour import ScenarioBehaviour, ScenarioContext, ScenarioStatus, parameter
from scenarios.lane_actors import (
    lane_distance_to_junction_m,
    reference_waypoint,
    spawn_on_lane,
    trigger_reached,
)
from scenarios.route_geometry import RouteGeometry
from scenarios.scripted_vehicle import ScriptedVehicle, lane_path, waypoint_ahead

LEAD_AHEAD_M = 25.0
LEAD_SPEED_MPS = 10.0
STOP_BEFORE_JUNCTION_M = 20.0
#: Path length when no junction lies ahead of the lead car (it stops at the path's end).
NO_JUNCTION_PATH_M = 300.0
#: End: the ego within this distance of the lead car (centres, 2D) ...
END_DISTANCE_M = 20.0
#: ... standing still (speed at most this) for longer than END_STANDSTILL_S.
STANDSTILL_SPEED_MPS = 0.001
END_STANDSTILL_S = 1.0


@dataclass
class FollowLeadingVehicle(ScenarioBehaviour):
    """The lead car appears at the trigger (WAITING before), RUNNING while it drives and stands,
    DONE (car removed) once the ego has stopped behind it."""

    lead_ahead_m: float = parameter(LEAD_AHEAD_M, 10.0, 45.0)
    lead_speed_mps: float = parameter(LEAD_SPEED_MPS, 4.0, 16.0)
    stop_before_junction_m: float = parameter(STOP_BEFORE_JUNCTION_M, 5.0, 40.0)
    lead: ScriptedVehicle | None = None
    _brake_within_m: float = field(default=STOP_BEFORE_JUNCTION_M, repr=False)
    _still_since_s: float | None = field(default=None, repr=False)

    def setup(self, ctx: ScenarioContext) -> None:
        """Nothing to spawn yet: the car is placed when the trigger fires."""

    def tick(self, ctx: ScenarioContext) -> None:
        if self.status == ScenarioStatus.WAITING:
            if trigger_reached(self, ctx):
                self._place_lead(ctx)
            return
        if self.lead is None:
            return
        # The path ends at the junction entry, so what is left of it is the distance to the junction.
        self.lead.full_brake = self.lead.remaining_m <= self._brake_within_m
        self.lead.step()
        if self._ego_stopped_behind(ctx):
            self.status = ScenarioStatus.DONE
            self.cleanup(ctx)
            self.lead = None

    def _place_lead(self, ctx: ScenarioContext) -> None:
        start = waypoint_ahead(reference_waypoint(ctx, self.trigger), self.lead_ahead_m)
        try:
            actor_id, wp = spawn_on_lane(ctx, start)
        except WorldError as exc:
            self.skip(f"no room for the lead car {self.lead_ahead_m:.0f} m ahead: {exc}")
            return
        self.actor_ids.append(actor_id)
        to_junction_m = lane_distance_to_junction_m(wp)
        length_m = NO_JUNCTION_PATH_M if to_junction_m is None else max(to_junction_m, 2.0)
        self.lead = ScriptedVehicle(ctx.world, actor_id, lane_path(wp, length_m), self.lead_speed_mps)
        self._brake_within_m = 0.0 if to_junction_m is None else self.stop_before_junction_m
        self.status = ScenarioStatus.RUNNING

    def _ego_stopped_behind(self, ctx: ScenarioContext) -> bool:
        if ctx.ego is None or self.lead is None:
            return False
        lead = ctx.world.get_actor_state(self.lead.actor_id).transform.location
        ego = ctx.ego.transform.location
        close = math.hypot(lead.x - ego.x, lead.y - ego.y) <= END_DISTANCE_M
        if not close or abs(ctx.ego.speed_mps) > STANDSTILL_SPEED_MPS:
            self._still_since_s = None
            return False
        if self._still_since_s is None:
            self._still_since_s = ctx.time_s
        return ctx.time_s - self._still_since_s > END_STANDSTILL_S


def build(placed, route: RouteGeometry) -> FollowLeadingVehicle:
    """The behaviour for one placed Scenario2 (`placed`: scenarios.lb1_placement.PlacedScenario)."""
    return FollowLeadingVehicle(name=placed.family, label=placed.label, trigger_route_m=placed.route_distance_m,
                                trigger=placed.trigger)
