"""Scenario6 ManeuverOppositeDirection: the ego lane is blocked, the way round is into oncoming traffic.

Official layout (scenario_runner `ManeuverOppositeDirection`, obstacle "barrier"), distances
along the ego lane from the trigger waypoint, stopping at the first junction:
- barrier 1 at `BARRIER_M` (50 m), barrier 2 `BARRIER_GAP_M` (2 m) further, shifted right by half
  a lane width;
- an oncoming car `ONCOMING_M` (110 m) ahead in the lane to the ego's left, which must run the
  other way (lane id of the other sign), else the scenario is skipped;
- from the trigger: oncoming cars at `ONCOMING_SPEED_MPS` with collision avoidance, a source at
  the first car's spot emitting a new car whenever nothing is within `SOURCE_GAP_M`, up to
  `SOURCE_LIMIT`, a sink at the first junction along the oncoming lane;
- end after the ego drives `END_DRIVE_M` (220 m) from the trigger; everything removed.

Ours, where the seam differs: the World has no static props, so each barrier is a parked car
("vehicle.car", held with full brake) along the lane, barrier 2 `BARRIER_GAP_M` behind barrier
1's rear (its centre a car length + 2 m further): a 4.8 m car turned across a 3.5 m lane, as the
1.5 m barrier prop stands, would reach into the oncoming lane, and oncoming traffic stopped for
it, so nobody could pass. Barrier 2 is shifted right only if that spot is still a driving lane
(on a road without a shoulder it would stand on the kerb), else it stays on the lane centre.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import carla

from driving.errors import WorldError
from scenarios.behaviour import ScenarioBehaviour, ScenarioContext, ScenarioStatus, parameter
from scenarios.lane_actors import lane_distance_to_junction_m
from scenarios.oncoming_flow import OncomingFlow, first_junction_along
from scenarios.route_geometry import RouteGeometry
from scenarios.scripted_vehicle import lane_path, waypoint_ahead

BARRIER_M = 50.0
BARRIER_GAP_M = 2.0
#: Length (m) of the parked car standing in for a barrier ("vehicle.car").
BARRIER_CAR_LENGTH_M = 4.8
#: Barrier 2's shift to the right, in lane widths.
BARRIER_SHIFT_LANES = 0.5
ONCOMING_M = 110.0
ONCOMING_SPEED_MPS = 5.56
SOURCE_GAP_M = 40.0
SOURCE_LIMIT = 7
#: Road (m) the pass needs past the second barrier before a junction: the ego's swing back.
PASS_ROOM_M = 25.0
END_DRIVE_M = 220.0
#: Longest oncoming path searched for the sink (m).
MAX_ONCOMING_PATH_M = 500.0


def _right_shifted(carla_map: carla.Map, wp: carla.Waypoint, lanes: float) -> carla.Location:
    """`wp`'s location moved right by `lanes` lane widths when that spot is a driving lane, else
    `wp`'s own location."""
    yaw = math.radians(wp.transform.rotation.yaw + 90.0)
    shift = lanes * wp.lane_width
    loc = wp.transform.location
    moved = carla.Location(loc.x + shift * math.cos(yaw), loc.y + shift * math.sin(yaw), loc.z)
    there = carla_map.get_waypoint(moved, project_to_road=False, lane_type=carla.LaneType.Any)
    return moved if there is not None and there.lane_type == carla.LaneType.Driving else loc


def _along(wp: carla.Waypoint, loc: carla.Location) -> carla.Transform:
    """A parked-car pose at `loc` along `wp`'s lane."""
    return carla.Transform(carla.Location(loc.x, loc.y, loc.z), carla.Rotation(yaw=wp.transform.rotation.yaw))


@dataclass
class ManeuverOppositeDirection(ScenarioBehaviour):
    """Two barrier cars on the ego lane and a stream of oncoming cars in the lane to its left."""

    spawn_ahead_m: float = 120.0  # the oncoming car stands 110 m past the trigger
    barrier_m: float = parameter(BARRIER_M, 20.0, 90.0)
    oncoming_speed_mps: float = parameter(ONCOMING_SPEED_MPS, 2.0, 12.0)
    source_gap_m: float = parameter(SOURCE_GAP_M, 15.0, 80.0)
    barrier_ids: list[int] = field(default_factory=list)
    barrier_poses: list[carla.Transform] = field(default_factory=list)
    flow: OncomingFlow | None = None
    oncoming_lane: tuple[int, int] = (0, 0)  # (road id, lane id) of the oncoming lane
    barrier2_shifted: bool = False  # False: the spot to the right was no driving lane

    def setup(self, ctx: ScenarioContext) -> None:
        ref = ctx.carla_map.get_waypoint(self.trigger.location)
        far = waypoint_ahead(ref, ONCOMING_M)
        left = far.get_left_lane()
        if left is None or left.lane_type != carla.LaneType.Driving or (left.lane_id > 0) == (far.lane_id > 0):
            self.skip("no oncoming lane to the ego's left")
            return
        need_m = self.barrier_m + BARRIER_CAR_LENGTH_M + BARRIER_GAP_M + PASS_ROOM_M
        to_junction_m = lane_distance_to_junction_m(ref, need_m + 1.0)
        if to_junction_m is not None:
            # official positions lie on long straight roads; a junction right after the barriers
            # would leave no road to pass them on (and the barriers would stand in its entry)
            self.skip(f"a junction {to_junction_m:.0f} m ahead of the trigger leaves no room to pass barriers "
                      f"{self.barrier_m:.0f} m ahead (needs {need_m:.0f} m)")
            return
        first = waypoint_ahead(ref, self.barrier_m)
        nxt = first.next(BARRIER_CAR_LENGTH_M + BARRIER_GAP_M)
        second = nxt[0] if nxt else first
        second_loc = _right_shifted(ctx.carla_map, second, BARRIER_SHIFT_LANES)
        self.barrier2_shifted = second_loc.distance(second.transform.location) > 0.1
        self.barrier_poses = [_along(first, first.transform.location), _along(second, second_loc)]
        wps, sink = first_junction_along(left, MAX_ONCOMING_PATH_M)
        path = lane_path(left, len(wps) - 1)
        if len(path) < 2:
            self.skip("the oncoming lane ends at once")
            return
        try:
            for pose in self.barrier_poses:
                self.barrier_ids.append(ctx.world.spawn_vehicle(pose, "vehicle.car", role_name="scenario"))
                self.actor_ids.append(self.barrier_ids[-1])
            self.flow = OncomingFlow(ctx.world, left.transform, path, sink, self.oncoming_speed_mps, self.source_gap_m,
                                     SOURCE_LIMIT)
            self.actor_ids.append(self.flow.spawn())
        except WorldError as exc:
            self.cleanup(ctx)
            self.skip(f"could not spawn: {exc}")
            return
        self.oncoming_lane = (left.road_id, left.lane_id)

    def tick(self, ctx: ScenarioContext) -> None:
        if self.flow is None:
            return
        for barrier_id in self.barrier_ids:
            ctx.world.apply_control(barrier_id, carla.VehicleControl(brake=1.0, hand_brake=True))
        if self.status == ScenarioStatus.WAITING and ctx.ego_route_m >= self.trigger_route_m:
            self.status = ScenarioStatus.RUNNING
        if self.status == ScenarioStatus.RUNNING:
            self.flow.step(ctx.world.get_actor_states())
            if ctx.ego_route_m >= self.trigger_route_m + END_DRIVE_M:
                self.status = ScenarioStatus.DONE
        else:
            self.flow.hold()
        self.actor_ids = [*self.barrier_ids, *self.flow.cars]


def build(placed, route: RouteGeometry) -> ManeuverOppositeDirection:
    """The behaviour for one placed Scenario6 (`placed`: `lb1_placement.PlacedScenario`)."""
    return ManeuverOppositeDirection(name=placed.family, label=placed.label,
                                     trigger_route_m=placed.route_distance_m, trigger=placed.trigger)
