"""Scenario vehicles change lanes on request: a lane-change path eases across to the neighbour
lane, and a scripted car driving it ends up in that lane (a cut-in), on the highway's
three-lane carriageway."""
from __future__ import annotations

import carla
import numpy as np
import pytest

from driving.sim.embedded_world import EmbeddedWorld
from scenarios.scripted_vehicle import ScriptedVehicle, lane_change_path

START = carla.Location(-700.0, 5.25, 0.0)  # the middle of three lanes, a straight stretch


def test_path_eases_from_the_lane_to_its_neighbour_without_a_jump():
    with EmbeddedWorld() as world:
        carla_map = world.load_map("highway")
        start = carla_map.get_waypoint(START)
        left = start.get_left_lane()
        assert left is not None and left.lane_type == carla.LaneType.Driving
        path = lane_change_path(start, "left", before_m=20.0, change_m=30.0, after_m=20.0)
        steps = np.linalg.norm(np.diff(path[:, :2], axis=0), axis=1)
        assert steps.max() < 1.3  # no sideways jump anywhere
        lanes = [carla_map.get_waypoint(carla.Location(*p)).lane_id for p in path]
        assert lanes[0] == start.lane_id and lanes[15] == start.lane_id  # still on its lane before the move
        assert lanes[-1] == left.lane_id  # on the neighbour lane after it
        with pytest.raises(ValueError, match="no driving lane to the"):
            far = start
            while far.get_right_lane() is not None and far.get_right_lane().lane_type == carla.LaneType.Driving:
                far = far.get_right_lane()
            lane_change_path(far, "right", 5.0, 10.0, 5.0)


def test_scripted_car_cuts_into_the_neighbour_lane():
    with EmbeddedWorld() as world:
        carla_map = world.load_map("highway")
        start = carla_map.get_waypoint(START)
        path = lane_change_path(start, "left", before_m=10.0, change_m=25.0, after_m=40.0)
        car_id = world.spawn_vehicle(start.transform, role_name="scenario")
        car = ScriptedVehicle(world, car_id, path, target_speed_mps=8.0)
        for _ in range(int(12.0 / world.fixed_delta_seconds)):
            car.step()
            world.tick()
        state = world.get_actor_state(car_id)
        here = carla_map.get_waypoint(state.transform.location)
        assert here.lane_id == start.get_left_lane().lane_id
        assert here.transform.location.distance(state.transform.location) < 1.0  # well inside its new lane
        assert not [e for e in world.pop_events() if getattr(e, "actor_id", None) == car_id
                    and type(e).__name__ == "CollisionEvent"]
