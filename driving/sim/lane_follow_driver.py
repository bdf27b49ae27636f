"""A tiny lane-following driver: pure pursuit on `carla.Map` waypoints plus a P speed controller.

For demos and tests of a manually driven vehicle (it ignores traffic, lights and signs). It
works against any `World`: it reads the actor state and the map, and returns the
`carla.VehicleControl` to apply. At junctions it takes the straightest branch, so its path is
stable from tick to tick.

    world = EmbeddedWorld(); world.load_map("town_grid", seed=0)
    ego = world.spawn_vehicle(world.get_spawn_points()[0])
    driver = LaneFollowDriver(world, ego)
    for _ in range(200):
        world.apply_control(ego, driver.run_step())
        world.tick()
"""
from __future__ import annotations

import math

import carla

from driving.errors import InputError
from driving.sim.blueprints import vehicle_type
from driving.world import World


class LaneFollowDriver:
    """Pure pursuit: steer so that the rear-axle arc passes through a point `lookahead` ahead.

    Lookahead distance (m) = `min_lookahead_m` + `lookahead_s` x speed; target speed in m/s,
    lowered in bends so that lateral acceleration stays under `max_lateral_accel_mps2`.
    """

    def __init__(self, world: World, actor_id: int, target_speed_mps: float = 8.0,
                 min_lookahead_m: float = 4.0, lookahead_s: float = 0.8,
                 max_lateral_accel_mps2: float = 3.0):
        if not math.isfinite(target_speed_mps) or target_speed_mps <= 0:
            raise InputError(f"LaneFollowDriver: target_speed_mps must be > 0, got {target_speed_mps!r}")
        self.world = world
        self.actor_id = actor_id
        self.target_speed_mps = target_speed_mps
        self.min_lookahead_m = min_lookahead_m
        self.lookahead_s = lookahead_s
        self.max_lateral_accel_mps2 = max_lateral_accel_mps2
        state = world.get_actor_state(actor_id)
        vt = vehicle_type(state.type_id)
        self._wheelbase_m = vt.wheelbase_m
        self._max_steer_rad = math.radians(vt.max_steer_deg)

    def _target(self, wp: carla.Waypoint, distance_m: float, yaw_deg: float) -> carla.Waypoint:
        options = wp.next(distance_m)
        if not options:
            return wp
        return min(options, key=lambda o: abs((o.transform.rotation.yaw - yaw_deg + 180.0) % 360.0 - 180.0))

    def run_step(self) -> carla.VehicleControl:
        """The control for the next tick."""
        state = self.world.get_actor_state(self.actor_id)
        loc = state.transform.location
        yaw = math.radians(state.transform.rotation.yaw)
        speed = state.speed_mps
        wp = self.world.get_map().get_waypoint(loc, project_to_road=True, lane_type=carla.LaneType.Driving)
        lookahead = self.min_lookahead_m + self.lookahead_s * max(speed, 0.0)
        target = self._target(wp, lookahead, state.transform.rotation.yaw).transform.location
        dx, dy = target.x - loc.x, target.y - loc.y
        lx = dx * math.cos(yaw) + dy * math.sin(yaw)
        ly = -dx * math.sin(yaw) + dy * math.cos(yaw)
        dist = max(math.hypot(lx, ly), 1e-3)
        alpha = math.atan2(ly, lx)
        curvature = 2.0 * math.sin(alpha) / dist
        wheel = math.atan(self._wheelbase_m * curvature)
        steer = max(-1.0, min(1.0, wheel / self._max_steer_rad))
        v_target = self.target_speed_mps
        if abs(curvature) > 1e-4:
            v_target = min(v_target, math.sqrt(self.max_lateral_accel_mps2 / abs(curvature)))
        error = v_target - speed
        throttle = max(0.0, min(1.0, 0.5 * error + 0.2)) if error > 0 else 0.0
        brake = max(0.0, min(1.0, -0.3 * error)) if error < -0.5 else 0.0
        return carla.VehicleControl(throttle=throttle, steer=steer, brake=brake)
