"""A vehicle following the expert closely is never its obstacle ahead (it would brake and be hit)."""
from __future__ import annotations

import math

import carla

from driving.sim.embedded_world import EmbeddedWorld
from planning.expert.driver import ExpertDriver
from planning.route_planner import interpolate_trajectory


def _straight_start(carla_map: carla.Map, spawns: list[carla.Transform], run_m: float) -> carla.Waypoint:
    """A spawn waypoint with `run_m` metres of the same road ahead and 10 m behind (no junction)."""
    for tf in spawns:
        wp = carla_map.get_waypoint(tf.location)
        ahead, behind = wp.next(run_m), wp.previous(10.0)
        if ahead and behind and ahead[0].road_id == wp.road_id == behind[0].road_id and not wp.is_junction:
            return wp
    raise AssertionError("town_grid has no straight run long enough")


def test_a_close_follower_at_the_same_speed_does_not_make_the_expert_brake() -> None:
    with EmbeddedWorld() as world:
        carla_map = world.load_map("town_grid", seed=0)
        start = _straight_start(carla_map, world.get_spawn_points(), 40.0)
        plan = interpolate_trajectory(carla_map, [start.transform.location, start.next(40.0)[0].transform.location])
        ego = world.spawn_vehicle(plan.world[0][0], role_name="hero")
        behind = start.previous(6.0)[0].transform
        follower = world.spawn_vehicle(carla.Transform(behind.location + carla.Location(z=0.1), behind.rotation),
                                       role_name="npc")
        yaw = math.radians(start.transform.rotation.yaw)
        world.set_target_velocity(ego, carla.Vector3D(7.0 * math.cos(yaw), 7.0 * math.sin(yaw), 0.0))
        world.set_target_velocity(follower, carla.Vector3D(7.0 * math.cos(yaw), 7.0 * math.sin(yaw), 0.0))
        world.tick()
        driver = ExpertDriver(world, ego, plan.world)
        for _ in range(40):  # 2 s: the follower's speed goes just above and below the ego's
            control = driver.step()
            assert driver.obstacles["vehicle"] is None
            assert "vehicle" not in driver.labels()["limits"]
            world.apply_control(ego, control)
            world.apply_control(follower, carla.VehicleControl(throttle=0.5))
            world.tick()
