"""Lane-invasion and off-road events, and clear errors for bad input to the embedded world."""
from __future__ import annotations

import math

import carla
import pytest

from driving.config import from_dict
from driving.errors import InputError, WorldError
from driving.sim.embedded_world import EmbeddedWorld
from driving.sim.events import LaneEventTracker
from driving.sim.lane_follow_driver import LaneFollowDriver
from driving.sim.world_config import EmbeddedWorldConfig
from driving.world import LaneInvasionEvent, OffRoadEvent


def _outer_lane_with_same_direction_neighbour(world: EmbeddedWorld) -> carla.Waypoint:
    carla_map = world.get_map()
    for spawn in world.get_spawn_points():
        wp = carla_map.get_waypoint(spawn.location)
        left = wp.get_left_lane()
        ahead = wp.next(40.0)
        if (left is not None and left.lane_type == carla.LaneType.Driving and left.lane_id * wp.lane_id > 0
                and ahead and not ahead[0].is_junction and ahead[0].road_id == wp.road_id):
            return wp
    raise AssertionError("town_grid has no two-lane carriageway")


def _drive(world, ego, control, ticks):
    events = []
    for _ in range(ticks):
        world.apply_control(ego, control)
        world.tick()
        events += world.pop_events()
    return events


def test_drifting_across_the_lane_line_reports_its_marking(town_world):
    world = town_world
    wp = _outer_lane_with_same_direction_neighbour(world)
    ego = world.spawn_vehicle(wp.transform)
    yaw = math.radians(wp.transform.rotation.yaw)
    world.set_target_velocity(ego, carla.Vector3D(8.0 * math.cos(yaw), 8.0 * math.sin(yaw), 0.0))
    events = _drive(world, ego, carla.VehicleControl(throttle=0.3, steer=-0.02), 60)
    invasions = [e for e in events if isinstance(e, LaneInvasionEvent)]
    assert invasions, "no lane invasion while drifting into the left lane"
    assert all(e.actor_id == ego for e in invasions)
    assert wp.left_lane_marking.type in invasions[0].crossed_lane_markings
    assert not [e for e in events if isinstance(e, OffRoadEvent)]
    lane = world.get_map().get_waypoint(world.get_actor_state(ego).transform.location)
    assert lane.lane_id == wp.get_left_lane().lane_id


def test_lane_following_crosses_no_line(town_world):
    world = town_world
    wp = _outer_lane_with_same_direction_neighbour(world)
    ego = world.spawn_vehicle(wp.transform)
    driver = LaneFollowDriver(world, ego, target_speed_mps=8.0)
    events = []
    for _ in range(300):
        world.apply_control(ego, driver.run_step())
        world.tick()
        events += world.pop_events()
    assert events == []
    assert world.get_actor_state(ego).transform.location.distance(wp.transform.location) > 50.0


def test_leaving_the_road_reports_the_kerb_marking_and_one_off_road_event(town_world):
    world = town_world
    wp = _outer_lane_with_same_direction_neighbour(world)
    ego = world.spawn_vehicle(wp.transform)
    yaw = math.radians(wp.transform.rotation.yaw)
    world.set_target_velocity(ego, carla.Vector3D(6.0 * math.cos(yaw), 6.0 * math.sin(yaw), 0.0))
    events = _drive(world, ego, carla.VehicleControl(throttle=0.2, steer=0.1), 40)
    off = [e for e in events if isinstance(e, OffRoadEvent)]
    assert len(off) == 1 and off[0].actor_id == ego
    crossed = [m for e in events if isinstance(e, LaneInvasionEvent) for m in e.crossed_lane_markings]
    assert wp.right_lane_marking.type in crossed


def test_standing_still_reports_nothing_and_moving_on_reports_again(town_world):
    """The tracker skips its map queries for an actor whose pose did not change: standing must
    stay silent and the next move must still compare against the lanes it stood on."""
    wp = _outer_lane_with_same_direction_neighbour(town_world)
    tracker = LaneEventTracker(town_world.get_map(), town_world.layout.drivable)
    yaw = math.radians(wp.transform.rotation.yaw)
    left = wp.get_left_lane().transform.location
    right = wp.transform.location + carla.Location(-30.0 * math.sin(yaw), 30.0 * math.cos(yaw), 0.0)

    def update(frame, loc):
        return tracker.update(frame, 7, loc.x, loc.y, wp.transform.location.z, yaw, 2.4, 1.0)

    assert update(1, wp.transform.location) == [] and update(2, wp.transform.location) == []
    into_left = update(3, left)
    assert [type(e) for e in into_left] == [LaneInvasionEvent]
    assert wp.left_lane_marking.type in into_left[0].crossed_lane_markings
    assert update(4, left) == [] and update(5, left) == []
    off = update(6, right)
    assert OffRoadEvent in {type(e) for e in off}
    assert update(7, right) == []
    tracker.forget(7)
    assert [type(e) for e in update(8, right)] == [OffRoadEvent]  # forgotten: a new actor there


def test_bad_controls_raise_input_errors_naming_field_and_value(town_world):
    world = town_world
    ego = world.spawn_vehicle(world.get_spawn_points()[0])
    with pytest.raises(InputError, match=r"throttle.*nan"):
        world.apply_control(ego, carla.VehicleControl(throttle=float("nan")))
    with pytest.raises(InputError, match=r"steer.*1\.5"):
        world.apply_control(ego, carla.VehicleControl(steer=1.5))
    with pytest.raises(InputError, match=r"brake.*inf"):
        world.apply_control(ego, carla.VehicleControl(brake=float("inf")))
    with pytest.raises(InputError, match="throttle"):
        world.apply_control(ego, carla.VehicleControl(throttle=-0.1))
    with pytest.raises(WorldError, match="unknown actor id 999"):
        world.apply_control(999, carla.VehicleControl())
    with pytest.raises(WorldError, match="unknown actor id"):
        world.get_actor_state(12345)


def test_bad_spawns_and_requests_raise_clear_errors(town_world):
    world = town_world
    spawn = world.get_spawn_points()[0]
    ego = world.spawn_vehicle(spawn)
    with pytest.raises(WorldError, match="overlaps actor"):
        world.spawn_vehicle(spawn)
    with pytest.raises(WorldError, match="not on a driving lane"):
        world.spawn_vehicle(carla.Transform(carla.Location(-40.0, 40.0, 0.0)))
    with pytest.raises(InputError, match="type_id"):
        world.spawn_vehicle(world.get_spawn_points()[5], "walker.pedestrian")
    with pytest.raises(InputError, match="finite"):
        world.spawn_vehicle(carla.Transform(carla.Location(float("nan"), 0.0, 0.0)))
    with pytest.raises(WorldError, match="not a walker"):
        world.set_walker_target(ego, carla.Location(0, 0, 0), 1.0)
    with pytest.raises(WorldError, match="unknown traffic light"):
        world.get_traffic_light_state(-5)
    with pytest.raises(InputError, match="n_vehicles"):
        world.spawn_traffic(-1, 0)
    world.destroy_actor(ego)
    with pytest.raises(WorldError, match="unknown actor id"):
        world.destroy_actor(ego)
    assert world.spawn_vehicle(spawn) != ego  # the spot is free again, ids are never reused


def test_world_needs_a_map_and_config_is_validated():
    world = EmbeddedWorld()
    with pytest.raises(WorldError, match="load_map"):
        world.tick()
    with pytest.raises(InputError, match="green_s"):
        EmbeddedWorldConfig(green_s=0.0)
    with pytest.raises(InputError, match="unknown key"):
        from_dict(EmbeddedWorldConfig, {"green_secs": 5.0})
    with pytest.raises(InputError, match="walker_speed_max_mps"):
        EmbeddedWorldConfig(walker_speed_min_mps=2.0, walker_speed_max_mps=1.0)
