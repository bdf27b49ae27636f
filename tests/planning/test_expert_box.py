"""The expert does not stop across a signalized junction's entry: when the car ahead stands just
inside the junction, it holds before the entry instead (the official red-light test fires if the
light turns red while the entry line lies under the ego's tail, standing or not)."""
from __future__ import annotations

import math

import carla

from driving.sim.embedded_world import EmbeddedWorld
from planning.expert.driver import ExpertDriver
from planning.route_planner import interpolate_trajectory

# town_grid: east through the signalized four-way junction at (100, -100), entry ~38 m from the start
KEYPOINTS = [carla.Location(57.0, -98.25, 0.0), carla.Location(153.0, -98.25, 0.0)]


def test_holds_before_the_entry_when_the_car_ahead_stands_just_inside_the_junction():
    with EmbeddedWorld() as world:
        carla_map = world.load_map("town_grid", seed=0)
        plan = interpolate_trajectory(carla_map, KEYPOINTS).world
        ego_id = world.spawn_vehicle(plan[0][0], role_name="hero")
        driver = ExpertDriver(world, ego_id, plan)
        r, signals = driver.route, driver.signals
        light = next(line for line in signals.lines if line.is_light)
        for info in world.get_traffic_lights():
            world.set_traffic_light_state(info.id, carla.TrafficLightState.Green, freeze=True)
        hl = world.get_actor_state(ego_id).extent.x
        # a car standing 7 m past the entry: following it would stop the front 5 m past the entry,
        # with the tail (4.8 m long car) still over the entry line
        k = int(min(range(len(r)), key=lambda i: abs(r.s[i] - (light.entry_s_m + 7.0 + 2.4))))
        x, y = r.xy[k]
        blocker = world.spawn_vehicle(carla.Transform(carla.Location(float(x), float(y), 0.3),
                                                      carla.Rotation(yaw=math.degrees(r.heading[k]))),
                                      role_name="scenario")
        world.apply_control(blocker, carla.VehicleControl(brake=1.0, hand_brake=True))
        stood = []
        for _ in range(int(30 / world.fixed_delta_seconds)):
            control = driver.step()
            world.apply_control(ego_id, control)
            world.tick()
            if abs(world.get_actor_state(ego_id).speed_mps) < 0.05 and r.s_ego > 10.0:
                stood.append((r.s_ego + hl, driver.labels()["limits"]))
                if len(stood) > 40:
                    break
        assert stood, "the ego never stopped"
        front, limits = stood[-1]
        assert front <= light.entry_s_m, (front, light.entry_s_m)
        assert front > light.entry_s_m - 3.0  # it holds at the entry, not far before it
        assert "box" in limits and limits["box"] < 0.5
        # without the hold, following the blocker would have left the tail across the entry
        assert light.entry_s_m < light.entry_s_m + 7.0 - 2.0 < light.entry_s_m + signals.passed_m()
        world.destroy_actor(blocker)  # the junction clears: the ego goes on
        for _ in range(60):
            world.apply_control(ego_id, driver.step())
            world.tick()
        assert r.s_ego + hl > light.entry_s_m + 3.0


def test_no_hold_without_a_vehicle_obstacle():
    """Creeping out of a deadlock gives a vehicle speed limit with no obstacle on the path (Town03
    training 26 crashed the expert here)."""
    with EmbeddedWorld() as world:
        carla_map = world.load_map("town_grid", seed=0)
        plan = interpolate_trajectory(carla_map, KEYPOINTS).world
        ego_id = world.spawn_vehicle(plan[0][0], role_name="hero")
        driver = ExpertDriver(world, ego_id, plan)
        assert driver._box_limit(None, 1.0, 2.4, 30.0) is None
        driver._creep_left_s = 2.0  # as after creep_after_s of a standoff
        world.apply_control(ego_id, driver.step())  # must not raise
        assert "vehicle" in driver.labels()["limits"]
