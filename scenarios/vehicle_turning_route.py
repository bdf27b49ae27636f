"""Scenario4 VehicleTurningRoute (S4left / S4right): a cyclist crosses just after the ego's turn.

Reproduces scenario_runner v0.9.10 `VehicleTurningRoute` as LB1.0 runs it, in our own shapes:
- the bicycle's lane point: the first route point past the route's next junction, 8 m on along
  its lane, then moved right to the outermost lane (n counts the lanes crossed; a parking
  shoulder - wider than 2 m with a shoulder and a sidewalk to its right - is moved onto and adds
  one more); then n m on, one lane width to the right, facing left across the road. A blocked
  spawn moves it 0.5 m on, up to 6 tries, then the scenario is skipped with the reason;
- trigger: the ego has reached the trigger point (the route scenario's 1.5 m) and the bike's
  route projection is ahead of it by less than 13 + D, D = w (1 + 1.1 n) (w: trigger lane width);
- the bike rides straight across at full throttle up to 10 m/s (the official KeepVelocity; our
  bicycle's own acceleration and top speed limit it) for D metres, then coasts; 5 s later it is
  removed and the scenario is DONE. It is RUNNING (infractions tagged) from trigger to removal.

Deviation (World seam): `spawn_vehicle` only accepts spots on a driving lane, and the official
spot (one lane width right of the outermost lane) is usually on the sidewalk. Then the bike is
spawned at the closest driving-lane spot on its line (the outermost lane's right edge, less
`EDGE_MARGIN_M`) and, while the scenario waits, reverses at walking pace back onto the official
spot, so that it waits out of the lane and starts its crossing where and when the official one
does. Anything in the way (a pole, a kerbside prop) just stops it there.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import carla

from driving.errors import WorldError
from scenarios.behaviour import ScenarioBehaviour, ScenarioContext, ScenarioStatus, parameter
from scenarios.lb1_placement import PlacedScenario
from scenarios.object_crossing import ROUTE_TRIGGER_REACH_M, offset_right
from scenarios.route_geometry import RouteGeometry

PAST_JUNCTION_M = 8.0
PARKING_MIN_WIDTH_M = 2.0
MAX_LANES_SEARCHED = 8
SPAWN_RETRY_STEP_M = 0.5
SPAWN_ATTEMPTS = 6
TRIGGER_BASE_M = 13.0  # trigger when the bike is < 13 + D ahead along the route
CROSS_FACTOR_PER_LANE = 1.1  # D = w (1 + 1.1 n)
BIKE_TARGET_SPEED_MPS = 10.0
REMOVE_AFTER_S = 5.0
BIKE_TYPE = "vehicle.bicycle"
EDGE_MARGIN_M = 0.1  # the fallback spot lies this far inside the outermost lane's right edge
BACK_UP_THROTTLE = 0.5  # reverse throttle while wheeling back to the official spot
BACK_UP_DONE_M = 0.15  # close enough to the official spot


def _is_parking(wp: carla.Waypoint) -> bool:
    """Official is_lane_a_parking: a wide shoulder followed by a small shoulder and a sidewalk."""
    if wp.lane_width <= PARKING_MIN_WIDTH_M:
        return False
    nxt = wp.get_right_lane()
    if nxt is None or nxt.lane_type != carla.LaneType.Shoulder:
        return False
    after = nxt.get_right_lane()
    return after is not None and after.lane_type == carla.LaneType.Sidewalk


def outermost_lane(wp: carla.Waypoint) -> tuple[carla.Waypoint, int]:
    """(outermost driving/parking lane, n): the official get_right_driving_lane."""
    n = 0
    for _ in range(MAX_LANES_SEARCHED):
        right = wp.get_right_lane()
        n += 1
        if right is None or right.lane_type == carla.LaneType.Sidewalk:
            break
        if right.lane_type == carla.LaneType.Shoulder:
            if _is_parking(right):
                n += 1
                wp = right
            break
        wp = right
    return wp, n


@dataclass
class VehicleTurningRoute(ScenarioBehaviour):
    """One crossing cyclist after the route's turn; see the module docstring."""

    trigger_base_m: float = parameter(TRIGGER_BASE_M, 3.0, 30.0)
    bike_target_speed_mps: float = parameter(BIKE_TARGET_SPEED_MPS, 2.0, 10.0)
    lanes_crossed: int = 0  # n
    ride_m: float = 0.0  # D
    bike_spot: carla.Transform | None = None  # the official spot (where the bike waits)
    spawned_at: carla.Transform | None = None  # where it was spawned (the spot or the fallback)
    bike_route_m: float = 0.0
    _bike_id: int = -1
    _phase: str = "wait"  # wait -> ride -> coast
    _ridden_m: float = 0.0
    _last: carla.Location | None = None
    _coast_since_s: float = 0.0

    def setup(self, ctx: ScenarioContext) -> None:
        ref = ctx.carla_map.get_waypoint(self.trigger.location)
        junction = ctx.route.turn_junction_m(self.trigger_route_m)
        if ref is None or junction is None:
            self.skip("no turn junction after the trigger" if ref is not None else "no driving lane at the trigger")
            return
        i = min(ctx.route.index_at(junction[1]) + 1, len(ctx.route) - 1)
        past = ctx.carla_map.get_waypoint(carla.Location(*map(float, ctx.route.xyz[i])))
        ahead = past.next(PAST_JUNCTION_M) if past is not None else []
        if not ahead:
            self.skip("no lane 8 m past the junction")
            return
        lane, n = outermost_lane(ahead[0])
        self.lanes_crossed, self.ride_m = n, ref.lane_width * (1.0 + CROSS_FACTOR_PER_LANE * n)
        added_m, error = float(n), ""
        for _ in range(SPAWN_ATTEMPTS):
            try:
                self._spawn(ctx, lane, added_m)
                break
            except WorldError as exc:
                error = str(exc)
                added_m += SPAWN_RETRY_STEP_M
        else:
            self.skip(f"bicycle spawn blocked {SPAWN_ATTEMPTS} times: {error}")
            return
        loc = self.bike_spot.location
        i0 = ctx.route.index_at(junction[0])
        d = (ctx.route.xyz[i0:, 0] - loc.x) ** 2 + (ctx.route.xyz[i0:, 1] - loc.y) ** 2
        self.bike_route_m = float(ctx.route.distance_m[i0 + int(d.argmin())])

    def _spawn(self, ctx: ScenarioContext, lane: carla.Waypoint, added_m: float) -> None:
        """Spawn at the official spot `added_m` on, or at the fallback on the lane edge; raises WorldError."""
        nxt = lane.next(added_m) if added_m > 0 else [lane]
        if not nxt:
            raise WorldError(f"no lane point {added_m:.1f} m past the outermost lane point")
        wp = nxt[-1]
        yaw = wp.transform.rotation.yaw
        spot = carla.Transform(offset_right(wp.transform.location, yaw, wp.lane_width),
                               carla.Rotation(yaw=(yaw + 270.0) % 360.0))
        on_lane = ctx.carla_map.get_waypoint(spot.location, project_to_road=False, lane_type=carla.LaneType.Driving)
        where = spot if on_lane is not None else carla.Transform(
            offset_right(wp.transform.location, yaw, 0.5 * wp.lane_width - EDGE_MARGIN_M), spot.rotation)
        self._bike_id = ctx.world.spawn_vehicle(where, BIKE_TYPE, role_name="scenario", autopilot=False)
        self.actor_ids.append(self._bike_id)
        self.bike_spot, self.spawned_at = spot, where

    def tick(self, ctx: ScenarioContext) -> None:
        try:
            state = ctx.world.get_actor_state(self._bike_id)
        except WorldError:  # removed by the world: nothing left to run
            self.status = ScenarioStatus.DONE
            return
        if self._phase == "wait":
            self._back_up(ctx, state)
            ahead_m = self.bike_route_m - ctx.ego_route_m
            reached = ctx.ego_route_m >= self.trigger_route_m - ROUTE_TRIGGER_REACH_M
            if reached and 0.0 < ahead_m < self.trigger_base_m + self.ride_m:
                self.status, self._phase, self._last = ScenarioStatus.RUNNING, "ride", state.transform.location
            elif ahead_m < -self.trigger_base_m:  # official: never fires once passed; we end it, reported
                self.skip("the ego passed the bicycle before the trigger fired")
        elif self._phase == "ride":
            self._ridden_m += state.transform.location.distance(self._last)
            self._last = state.transform.location
            if self._ridden_m >= self.ride_m:
                ctx.world.apply_control(self._bike_id, carla.VehicleControl())
                self._phase, self._coast_since_s = "coast", ctx.time_s
            else:
                throttle = 1.0 if state.speed_mps < self.bike_target_speed_mps else 0.0
                ctx.world.apply_control(self._bike_id, carla.VehicleControl(throttle=throttle))
        elif ctx.time_s - self._coast_since_s >= REMOVE_AFTER_S:
            self.cleanup(ctx)
            self.status = ScenarioStatus.DONE

    def _back_up(self, ctx: ScenarioContext, state) -> None:
        """Reverse towards the official spot while waiting; hold the brake once there."""
        here, spot = state.transform.location, self.bike_spot.location
        yaw = math.radians(self.bike_spot.rotation.yaw)
        behind_m = (here.x - spot.x) * math.cos(yaw) + (here.y - spot.y) * math.sin(yaw)  # > 0: not back yet
        if behind_m > BACK_UP_DONE_M:
            control = carla.VehicleControl(throttle=BACK_UP_THROTTLE, reverse=True)
        else:
            control = carla.VehicleControl(brake=1.0)
        with contextlib.suppress(WorldError):
            ctx.world.apply_control(self._bike_id, control)


def build(placed: PlacedScenario, route: RouteGeometry) -> VehicleTurningRoute:
    """The behaviour for one placed Scenario4 (label S4left / S4right)."""
    return VehicleTurningRoute(name=placed.family, label=placed.label, trigger_route_m=placed.route_distance_m,
                               trigger=placed.trigger)
