"""The expert pulls away uphill behind a slow car on a steep ramp without rolling back.

CARLA's Town03 climbs at up to 21 deg (road 49, a 40 % grade). There the expert stopped behind a
queue; the low target speed that followed gave little throttle, the car rolled back, and the
controller, reading the speed unsigned, braked instead of accelerating and rolled into the car
behind (training route 18). The map here is one straight road generated as OpenDRIVE with a
ramp of `GRADE` between two level stretches.
"""
from __future__ import annotations

import math
from pathlib import Path

import carla
from scenariogeneration import xodr
from two_lane_road import write_road

from driving.sim.embedded_world import EmbeddedWorld
from planning.expert.driver import ExpertDriver
from planning.road_option import RoadOption

GRADE = 0.35  # rise per metre on the ramp (19 deg)
EASE_M = 10.0  # the grade eases in and out over this length (metres) at each end of the ramp
RAMP_FROM_M, RAMP_TO_M, LENGTH_M = 20.0, 70.0, 120.0


def _write_ramp_road(folder: Path) -> Path:
    road = xodr.create_road(xodr.Line(LENGTH_M), id=1, left_lanes=1, right_lanes=1, lane_width=3.5)
    c = GRADE / (2.0 * EASE_M)  # z = c s^2 reaches GRADE after EASE_M
    z_in = c * EASE_M ** 2
    z_top = z_in + GRADE * (RAMP_TO_M - RAMP_FROM_M - 2 * EASE_M) + z_in
    road.add_elevation(0.0, 0.0, 0.0, 0.0, 0.0)
    road.add_elevation(RAMP_FROM_M, 0.0, 0.0, c, 0.0)
    road.add_elevation(RAMP_FROM_M + EASE_M, z_in, GRADE, 0.0, 0.0)
    road.add_elevation(RAMP_TO_M - EASE_M, z_top - z_in, GRADE, -c, 0.0)
    road.add_elevation(RAMP_TO_M, z_top, 0.0, 0.0, 0.0)
    return write_road(road, folder / "ramp_road.xodr")


def _on_lane(carla_map: carla.Map, s_m: float, lift_m: float = 0.0) -> carla.Transform:
    tf = carla_map.get_waypoint_xodr(1, -1, s_m).transform
    return carla.Transform(tf.location + carla.Location(z=lift_m), tf.rotation)


def test_the_expert_follows_a_slow_car_up_a_steep_ramp_without_rolling_back(tmp_path: Path) -> None:
    with EmbeddedWorld() as world:
        carla_map = world.load_map(str(_write_ramp_road(tmp_path)), seed=0)
        assert math.degrees(math.atan(GRADE)) - 1.0 < carla_map.get_waypoint_xodr(1, -1, 45.0).transform.rotation.pitch
        plan = [(_on_lane(carla_map, float(s)), RoadOption.LANEFOLLOW) for s in range(2, 116)]
        ego = world.spawn_vehicle(_on_lane(carla_map, 4.0, 0.1), role_name="hero")
        lead = world.spawn_vehicle(_on_lane(carla_map, 45.0, 0.1), role_name="scenario")
        driver = ExpertDriver(world, ego, plan)
        stood_s, lowest_speed, start_x = 0.0, 0.0, world.get_actor_state(ego).transform.location.x
        for _ in range(int(90.0 / world.fixed_delta_seconds)):
            world.apply_control(ego, driver.step())
            state = world.get_actor_state(ego)
            if stood_s < 3.0:  # the lead car holds on the ramp until the ego has stood behind it
                world.apply_control(lead, carla.VehicleControl(brake=1.0))
                stood_s += world.fixed_delta_seconds if abs(state.speed_mps) < 0.05 else 0.0
            else:  # then crawls up at 1 m/s: the ego follows with a low target speed
                yaw = math.radians(world.get_actor_state(lead).transform.rotation.yaw)
                world.set_target_velocity(lead, carla.Vector3D(math.cos(yaw), math.sin(yaw), 0.0))
                lowest_speed = min(lowest_speed, state.speed_mps)
            world.tick()
            if state.transform.location.x > start_x + RAMP_TO_M - 10.0:
                break
        assert stood_s >= 3.0, "the ego never stood behind the lead car on the ramp"
        assert world.get_actor_state(ego).transform.location.x > start_x + RAMP_TO_M - 10.0, "the ego did not climb"
        assert lowest_speed > -0.05, f"the ego rolled back at {lowest_speed:.2f} m/s"
