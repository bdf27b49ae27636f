"""Shared pieces of the lane scenarios (S1, S2, S5): the trigger, lane distances, spawning, boxes.

Positions are measured as scenario_runner does: from the lane point nearest the trigger, along
lane-centre waypoints in 1 m steps, stopping at the first junction point. Spawning tries a
little further along the lane when the spot is taken, so one parked car does not cost a scenario.
"""
from __future__ import annotations

import math

import carla
import numpy as np

from driving.errors import WorldError
from driving.world import ActorKind, ActorState
from scenarios.behaviour import ScenarioBehaviour, ScenarioContext
from scenarios.route_geometry import RouteGeometry
from scenarios.scripted_vehicle import prefer, waypoint_ahead

#: The ego fires a trigger within this distance of it (official route trigger, 2D metres).
TRIGGER_RADIUS_M = 1.5
#: ...or once its route progress is this far past the trigger's route point (a trigger matched at
#: 1.5-2 m never fires officially; ours fires late instead of never).
TRIGGER_PASSED_M = 2.0
#: Spawn retries further along the lane when the spot is taken.
SPAWN_TRIES = 4
SPAWN_RETRY_STEP_M = 2.0
#: How far the junction search walks along a lane before it gives up (m).
JUNCTION_SEARCH_M = 500.0
#: Official `detect_lane_obstacle`: boxes grown by 2 %, only vehicles within 50 m are checked.
BOX_MARGIN = 1.02
BOX_CHECK_RADIUS_M = 50.0
_STRAIGHT = prefer("straight")


def trigger_reached(behaviour: ScenarioBehaviour, ctx: ScenarioContext) -> bool:
    """True once the ego is at the scenario's trigger point (or has driven past it)."""
    if ctx.ego is None:
        return False
    loc, trig = ctx.ego.transform.location, behaviour.trigger.location
    near = math.hypot(loc.x - trig.x, loc.y - trig.y) < TRIGGER_RADIUS_M
    return near or ctx.ego_route_m >= behaviour.trigger_route_m + TRIGGER_PASSED_M


def reference_waypoint(ctx: ScenarioContext, trigger: carla.Transform) -> carla.Waypoint:
    """The driving-lane point under the trigger: every distance ahead is measured from it."""
    return ctx.carla_map.get_waypoint(trigger.location)


def trigger_on_route_m(behaviour: ScenarioBehaviour, route: RouteGeometry) -> float:
    """Route distance of the route point nearest the trigger location itself (the placed
    `trigger_route_m` is where the ego enters the 2 m trigger zone, up to 2 m before it)."""
    lo = route.index_at(behaviour.trigger_route_m)
    hi = min(len(route), lo + 8)
    loc = behaviour.trigger.location
    k = lo + int(np.argmin(np.hypot(route.xyz[lo:hi, 0] - loc.x, route.xyz[lo:hi, 1] - loc.y)))
    return float(route.distance_m[k])


def lane_distance_to_junction_m(start: carla.Waypoint, max_m: float = JUNCTION_SEARCH_M) -> float | None:
    """Metres along `start`'s lane (1 m steps, straight on) to its first junction point; None
    when none lies within `max_m` or the lane ends first."""
    wp, travelled = start, 0.0
    while travelled < max_m:
        if wp.is_junction:
            return travelled
        options = wp.next(1.0)
        if not options:
            return None
        wp = options[0] if len(options) == 1 else _STRAIGHT(options)
        travelled += 1.0
    return None


def same_direction(a: carla.Waypoint, b: carla.Waypoint | None) -> bool:
    """True when `b` is a driving lane of `a`'s road side (lane ids of the same sign)."""
    return b is not None and b.lane_type == carla.LaneType.Driving and a.lane_id * b.lane_id > 0


def spawn_on_lane(ctx: ScenarioContext, start: carla.Waypoint,
                  role_name: str = "scenario") -> tuple[int, carla.Waypoint]:
    """Spawn a manually driven car on `start`'s lane centre, trying `SPAWN_RETRY_STEP_M` further
    up to `SPAWN_TRIES` times (never into a junction); returns (actor id, its lane point).

    Raises WorldError (the last spawn failure) when every spot is taken or off-road.
    """
    wp, error = start, WorldError("no spawn attempted")
    for _ in range(SPAWN_TRIES):
        try:
            return ctx.world.spawn_vehicle(wp.transform, "vehicle.car", role_name=role_name, autopilot=False), wp
        except WorldError as exc:
            error = exc
        nxt = waypoint_ahead(wp, SPAWN_RETRY_STEP_M)
        if nxt.transform.location.distance(wp.transform.location) < 0.5:  # clamped at a junction
            break
        wp = nxt
    raise error


def _corners(x: float, y: float, yaw_rad: float, half_length_m: float, half_width_m: float) -> np.ndarray:
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    local = np.array([(1, 1), (1, -1), (-1, -1), (-1, 1)], dtype=float) * (half_length_m, half_width_m)
    return local @ np.array([[c, s], [-s, c]]) + (x, y)


def boxes_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating-axis test for two convex quads given as (4, 2) corner arrays."""
    for quad in (a, b):
        for i in range(4):
            edge = quad[(i + 1) % 4] - quad[i]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = a @ axis, b @ axis
            if pa.max() <= pb.min() or pb.max() <= pa.min():
                return False
    return True


def vehicle_in_front_box(ctx: ScenarioContext, actor_id: int, length_factor: float = 3.0) -> bool:
    """Official `detect_lane_obstacle`: does any other vehicle overlap a box `length_factor` car
    lengths long and one car wide, centred (`length_factor` - 1) half-lengths ahead of the car?

    With the default 3 the box runs from the car's rear bumper to two car lengths past its nose.
    """
    me = ctx.world.get_actor_state(actor_id)
    yaw = math.radians(me.transform.rotation.yaw)
    ahead_m = (length_factor - 1.0) * me.extent.x
    cx = me.transform.location.x + ahead_m * math.cos(yaw)
    cy = me.transform.location.y + ahead_m * math.sin(yaw)
    box = _corners(cx, cy, yaw, BOX_MARGIN * me.extent.x * length_factor, BOX_MARGIN * me.extent.y)
    for other in ctx.world.get_actor_states():
        if other.id == actor_id or other.kind != ActorKind.VEHICLE or not _near(me, other):
            continue
        o = other.transform
        quad = _corners(o.location.x, o.location.y, math.radians(o.rotation.yaw),
                        BOX_MARGIN * other.extent.x, BOX_MARGIN * other.extent.y)
        if boxes_overlap(box, quad):
            return True
    return False


def _near(a: ActorState, b: ActorState) -> bool:
    return a.transform.location.distance(b.transform.location) < BOX_CHECK_RADIUS_M
