"""Scenario3 DynamicObjectCrossing: a pedestrian steps off the kerb in front of the ego.

Reproduces scenario_runner v0.9.10 `DynamicObjectCrossing` as LB1.0 runs it (pedestrian only:
the cyclist branch exists there but routes never select it), in our own shapes:
- lateral search from the trigger lane: n = 1, d = 12 m; step right while lanes continue (a
  sidewalk or no lane stops; a shoulder wider than 2 m is moved onto, d += 1.5, then stop; any
  other lane is moved onto, d += 1.5, and the search goes on);
- the walker stands d m ahead on that lane (1 m steps, stopping at a junction unless the trigger
  itself is in one), one lane width to its right, facing left across the road;
- it starts when the ego has reached the trigger (the route scenario's 1.5 m) and is within
  12 + n m, along the route, of the walker's route projection (in practice at once);
- it walks 0.5 L at 3 + 0.4 n m/s, then up to L more or until the ego drives 5 m, with
  L = w (1 + 1.25 n) (w: trigger lane width); then it is removed with the occluder, and the
  scenario ends 40 m of ego driving later (it stays RUNNING until then, as the official tree).
  Our addition: each walk phase also ends `WALK_GRACE_S` after its nominal time, because a walker
  the ego hit stands still here (and cannot step into the ego's box), where CARLA's would be
  knocked on; without it a never-braking ego and the walker would hold each other until timeout.

Occluder: the official vending-machine prop 90 % of the way from the trigger to the walker. The
World seam has no static props, so a parked car (held with the hand brake, along its lane) stands
there when that spot is on a driving lane (a parking or outer lane); otherwise there is no
occluder: on a road with one lane and a sidewalk the spot is on the sidewalk, and a car there
would not be a spawnable actor. Failed spawns (walker or occluder): d += 0.4 m and retry, up to
20 tries, then the scenario is skipped with the reason (the official skip is silent).
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field

import carla

from driving.errors import WorldError
from scenarios.behaviour import ScenarioBehaviour, ScenarioContext, ScenarioStatus, parameter
from scenarios.lb1_placement import PlacedScenario
from scenarios.route_geometry import RouteGeometry
from scenarios.scripted_vehicle import waypoint_ahead

START_DISTANCE_M = 12.0
LANE_STEP_EXTRA_M = 1.5  # d grows by this per lane moved right
PARKING_MIN_WIDTH_M = 2.0  # a shoulder wider than this is a parking lane (moved onto)
MAX_LANES_SEARCHED = 8  # guard against a malformed map's endless right lanes
SPAWN_RETRY_STEP_M = 0.4
SPAWN_ATTEMPTS = 20
WALKER_BASE_SPEED_MPS = 3.0
WALKER_SPEED_PER_LANE_MPS = 0.4
START_RADIUS_BASE_M = 12.0  # start when the ego is within this + n metres of the walker
ROUTE_TRIGGER_REACH_M = 1.5  # the route scenario's trigger distance (official runtime)
CROSS_FACTOR_PER_LANE = 1.25  # L = w (1 + 1.25 n)
EGO_PASS_M = 5.0  # second walk phase ends after the ego drives this far
END_DRIVE_M = 40.0  # scenario ends after the ego drives this far past the walker's removal
WALK_GRACE_S = 2.0  # a walk phase this much over its time ends (the walker was hit or is held)
WALKED_TOLERANCE_M = 0.05
OCCLUDER_FRACTION = 0.9  # occluder at this fraction of the way from trigger to walker
OCCLUDER_TYPE = "vehicle.car"


def offset_right(loc: carla.Location, yaw_deg: float, metres: float) -> carla.Location:
    """`loc` moved `metres` to the right of heading `yaw_deg` (CARLA: right = yaw + 90 deg)."""
    a = math.radians(yaw_deg + 90.0)
    return carla.Location(loc.x + metres * math.cos(a), loc.y + metres * math.sin(a), loc.z)


def lateral_search(start: carla.Waypoint, start_distance_m: float = START_DISTANCE_M
                   ) -> tuple[carla.Waypoint, int, float]:
    """(walker lane, n, d): the official search right from the trigger lane (module docstring)."""
    wp, n, d = start, 1, start_distance_m
    for _ in range(MAX_LANES_SEARCHED):
        right = wp.get_right_lane()
        n += 1
        if right is None or right.lane_type == carla.LaneType.Sidewalk:
            break
        if right.lane_type == carla.LaneType.Shoulder:
            if right.lane_width > PARKING_MIN_WIDTH_M:
                wp, d = right, d + LANE_STEP_EXTRA_M
            break
        wp, d = right, d + LANE_STEP_EXTRA_M
    return wp, n, d


@dataclass
class DynamicObjectCrossing(ScenarioBehaviour):
    """One pedestrian crossing; see the module docstring for the numbers and their sources."""

    start_distance_m: float = parameter(START_DISTANCE_M, 5.0, 30.0)
    walker_base_speed_mps: float = parameter(WALKER_BASE_SPEED_MPS, 1.0, 5.0)
    start_radius_base_m: float = parameter(START_RADIUS_BASE_M, 4.0, 30.0)
    lanes_crossed: int = 0  # n
    walker_speed_mps: float = 0.0
    cross_m: float = 0.0  # L
    walker_start: carla.Transform | None = None
    occluder: carla.Transform | None = None  # None: no occluder spawned
    walker_route_m: float = 0.0
    _walker_id: int = -1
    _phase: str = "wait"  # wait -> walk1 -> walk2 -> gone
    _ego_last: carla.Location | None = None
    _ego_driven_m: float = 0.0
    _mark_m: float = 0.0  # ego odometer when the current phase began
    _phase_start_s: float = 0.0
    _spawn_errors: list[str] = field(default_factory=list)

    def setup(self, ctx: ScenarioContext) -> None:
        ref = ctx.carla_map.get_waypoint(self.trigger.location)
        if ref is None:
            self.skip("no driving lane at the trigger")
            return
        lane, n, d = lateral_search(ref, self.start_distance_m)
        self.lanes_crossed = n
        self.walker_speed_mps = self.walker_base_speed_mps + WALKER_SPEED_PER_LANE_MPS * n
        self.cross_m = ref.lane_width * (1.0 + CROSS_FACTOR_PER_LANE * n)
        last_error = ""
        for _ in range(SPAWN_ATTEMPTS):
            if self._try_spawn(ctx, ref, lane, d):
                loc = self.walker_start.location
                self.walker_route_m = _route_m_near(ctx.route, loc, self.trigger_route_m)
                return
            last_error = self._spawn_errors[-1]
            d += SPAWN_RETRY_STEP_M
        self.skip(f"walker spawn blocked {SPAWN_ATTEMPTS} times: {last_error}")

    def _try_spawn(self, ctx: ScenarioContext, ref: carla.Waypoint, lane: carla.Waypoint, d: float) -> bool:
        """Walker (and occluder where its spot is a driving lane) for distance `d`; False if blocked."""
        on_lane = waypoint_ahead(lane, d, stop_at_junction=not ref.is_junction)
        yaw = on_lane.transform.rotation.yaw
        loc = offset_right(on_lane.transform.location, yaw, lane.lane_width)
        walker_tf = carla.Transform(loc, carla.Rotation(yaw=(yaw + 270.0) % 360.0))
        a = ref.transform.location
        spot = carla.Location(a.x + OCCLUDER_FRACTION * (loc.x - a.x), a.y + OCCLUDER_FRACTION * (loc.y - a.y), loc.z)
        spot_wp = ctx.carla_map.get_waypoint(spot, project_to_road=False, lane_type=carla.LaneType.Driving)
        spawned: list[int] = []
        try:
            spawned.append(ctx.world.spawn_walker(walker_tf, "walker.pedestrian", role_name="scenario",
                                                  autopilot=False))
            if spot_wp is not None:
                occluder_tf = carla.Transform(spot, carla.Rotation(yaw=spot_wp.transform.rotation.yaw))
                spawned.append(ctx.world.spawn_vehicle(occluder_tf, OCCLUDER_TYPE, role_name="scenario"))
                ctx.world.apply_control(spawned[-1], carla.VehicleControl(brake=1.0, hand_brake=True))
                self.occluder = occluder_tf
        except WorldError as exc:
            for actor_id in spawned:
                with contextlib.suppress(WorldError):
                    ctx.world.destroy_actor(actor_id)
            self.occluder = None
            self._spawn_errors.append(str(exc))
            return False
        self.actor_ids.extend(spawned)
        self._walker_id, self.walker_start = spawned[0], walker_tf
        return True

    def tick(self, ctx: ScenarioContext) -> None:
        loc = ctx.ego.transform.location
        if self._ego_last is not None:
            self._ego_driven_m += loc.distance(self._ego_last)
        self._ego_last = loc
        if self._phase == "wait":
            reached = ctx.ego_route_m >= self.trigger_route_m - ROUTE_TRIGGER_REACH_M
            ahead_m = self.walker_route_m - ctx.ego_route_m
            if reached and ahead_m < self.start_radius_base_m + self.lanes_crossed:
                self.status = ScenarioStatus.RUNNING
                self._walk_to(ctx, 0.5 * self.cross_m, "walk1")
        elif self._phase == "walk1":
            if self._phase_over(ctx, 0.5 * self.cross_m):
                self._walk_to(ctx, 1.5 * self.cross_m, "walk2")
        elif self._phase == "walk2":
            if self._phase_over(ctx, 1.5 * self.cross_m) or self._ego_driven_m - self._mark_m >= EGO_PASS_M:
                self.cleanup(ctx)  # official: walker stops, then walker and prop are destroyed
                self._phase, self._mark_m = "gone", self._ego_driven_m
        elif self._ego_driven_m - self._mark_m >= END_DRIVE_M:
            self.status = ScenarioStatus.DONE

    def _walk_to(self, ctx: ScenarioContext, walked_m: float, phase: str) -> None:
        """Send the walker to `walked_m` along its facing from its start (it stops there)."""
        start = self.walker_start
        yaw = math.radians(start.rotation.yaw)
        target = carla.Location(start.location.x + walked_m * math.cos(yaw),
                                start.location.y + walked_m * math.sin(yaw), start.location.z)
        with contextlib.suppress(WorldError):  # removed by the world: the phases still run out
            ctx.world.set_walker_target(self._walker_id, target, self.walker_speed_mps)
        self._phase, self._mark_m, self._phase_start_s = phase, self._ego_driven_m, ctx.time_s

    def _phase_over(self, ctx: ScenarioContext, walked_m: float) -> bool:
        """The walker reached `walked_m`, or its phase ran `WALK_GRACE_S` over its time: a walker the
        ego hit stands still (and one pressed against the ego's box cannot step on), where the
        official walker would be knocked on."""
        phase_m = 0.5 * self.cross_m if self._phase == "walk1" else self.cross_m
        late = ctx.time_s - self._phase_start_s > phase_m / self.walker_speed_mps + WALK_GRACE_S
        return late or self._walked_m(ctx) >= walked_m - WALKED_TOLERANCE_M

    def _walked_m(self, ctx: ScenarioContext) -> float:
        try:
            loc = ctx.world.get_actor_state(self._walker_id).transform.location
        except WorldError:
            return math.inf
        yaw = math.radians(self.walker_start.rotation.yaw)
        s = self.walker_start.location
        return (loc.x - s.x) * math.cos(yaw) + (loc.y - s.y) * math.sin(yaw)


def _route_m_near(route: RouteGeometry, loc: carla.Location, from_m: float) -> float:
    """Route distance of the point nearest `loc` at or after `from_m` (the route projection)."""
    i0 = route.index_at(from_m)
    d = (route.xyz[i0:, 0] - loc.x) ** 2 + (route.xyz[i0:, 1] - loc.y) ** 2
    return float(route.distance_m[i0 + int(d.argmin())])


def build(placed: PlacedScenario, route: RouteGeometry) -> DynamicObjectCrossing:
    """The behaviour for one placed Scenario3."""
    return DynamicObjectCrossing(name=placed.family, label=placed.label, trigger_route_m=placed.route_distance_m,
                                 trigger=placed.trigger)
