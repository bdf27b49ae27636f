"""The expert on a real map without traffic: it stops at a red light, goes on green, and stops
behind a standing vehicle without touching it."""
from __future__ import annotations

import math

import carla
import pytest

from driving.collect.layout import REQUIRED_MEASUREMENT_KEYS
from driving.sim.embedded_world import EmbeddedWorld
from driving.world import CollisionEvent
from planning.expert.driver import ExpertDriver
from planning.route_planner import interpolate_trajectory


def _approach(carla_map: carla.Map, stop_wp: carla.Waypoint, back_m: float) -> carla.Waypoint | None:
    """A waypoint `back_m` before `stop_wp` on a straight run of the same road, or None."""
    prev = stop_wp.previous(back_m)
    if not prev or prev[0].road_id != stop_wp.road_id or prev[0].is_junction:
        return None
    return prev[0]


def _drive(world: EmbeddedWorld, driver: ExpertDriver, ego_id: int, seconds: float) -> list[CollisionEvent]:
    hits = []
    for _ in range(int(seconds / world.fixed_delta_seconds)):
        world.apply_control(ego_id, driver.step())
        world.tick()
        hits += [e for e in world.pop_events() if isinstance(e, CollisionEvent) and e.actor_id == ego_id]
    return hits


def _ahead_of(ego_loc: carla.Location, wp: carla.Waypoint) -> float:
    """Signed distance (m) from the ego centre to `wp` along `wp`'s lane direction (+: wp ahead)."""
    f = wp.transform.get_forward_vector()
    loc = wp.transform.location
    return (loc.x - ego_loc.x) * f.x + (loc.y - ego_loc.y) * f.y


@pytest.fixture(scope="module")
def world():
    w = EmbeddedWorld()  # each test loads the map again (a fresh world)
    yield w
    w.close()


def _red_light_setup(world: EmbeddedWorld):
    carla_map = world.load_map("town_grid", seed=0)
    for light in world.get_traffic_lights():
        for stop_wp in light.stop_waypoints:
            start = _approach(carla_map, stop_wp, 40.0)
            if start is None:
                continue
            beyond = stop_wp.next(25.0)
            if not beyond:
                continue
            plan = interpolate_trajectory(carla_map, [start.transform.location, beyond[0].transform.location])
            return light, stop_wp, start, plan
    raise AssertionError("town_grid has no light with a 40 m straight approach")


def test_stops_at_forced_red_light_and_goes_on_green(world):
    light, stop_wp, start, plan = _red_light_setup(world)
    ego_id = world.spawn_vehicle(start.transform, role_name="hero")
    world.set_traffic_light_state(light.id, carla.TrafficLightState.Red, freeze=True)
    driver = ExpertDriver(world, ego_id, plan.world)
    hits = _drive(world, driver, ego_id, 15.0)
    ego = world.get_actor_state(ego_id)
    ahead = _ahead_of(ego.transform.location, stop_wp)
    assert abs(ego.speed_mps) < 0.1
    assert ego.extent.x - 0.5 <= ahead <= ego.extent.x + 4.0  # front bumper at most 0.5 m past the line
    assert driver.labels()["light_hazard"] is True
    assert driver.labels()["target_speed"] == 0.0
    world.set_traffic_light_state(light.id, carla.TrafficLightState.Green, freeze=True)
    hits += _drive(world, driver, ego_id, 8.0)
    assert _ahead_of(world.get_actor_state(ego_id).transform.location, stop_wp) < -5.0  # crossed on green
    assert driver.labels()["light_hazard"] is False
    assert not hits


def test_stops_behind_a_standing_vehicle(world):
    _, _, start, plan = _red_light_setup(world)
    for lt in world.get_traffic_lights():
        world.set_traffic_light_state(lt.id, carla.TrafficLightState.Green, freeze=True)
    blocker_wp = start.next(28.0)[0]
    blocker_id = world.spawn_vehicle(blocker_wp.transform, role_name="scenario", autopilot=False)
    ego_id = world.spawn_vehicle(start.transform, role_name="hero")
    driver = ExpertDriver(world, ego_id, plan.world)
    hits = _drive(world, driver, ego_id, 15.0)
    ego = world.get_actor_state(ego_id)
    blocker = world.get_actor_state(blocker_id)
    gap = ego.transform.location.distance(blocker.transform.location) - ego.extent.x - blocker.extent.x
    assert not hits
    assert abs(ego.speed_mps) < 0.1
    assert 0.5 < gap < 6.0
    labels = driver.labels()
    assert labels["vehicle_hazard"] is True and labels["light_hazard"] is False
    assert labels["target_speed"] == 0.0
    assert set(REQUIRED_MEASUREMENT_KEYS) <= set(labels)  # everything a dataset frame needs
    # planned waypoints stay where the expert stands: it plans to wait
    assert all(math.dist(p, (ego.transform.location.x, ego.transform.location.y)) < 0.2
               for p in labels["waypoints"])


def test_deadlock_breaking_creeps_then_backs_up_without_touching(world):
    """A vehicle standing across the route never moves: the expert waits, creeps closer, then
    backs up (as it would to let a waiting NPC pass), and never touches it."""
    _, _, start, plan = _red_light_setup(world)
    for lt in world.get_traffic_lights():
        world.set_traffic_light_state(lt.id, carla.TrafficLightState.Green, freeze=True)
    across = start.next(22.0)[0].transform
    blocker_tf = carla.Transform(across.location, carla.Rotation(yaw=across.rotation.yaw + 90.0))
    blocker_id = world.spawn_vehicle(blocker_tf, role_name="scenario", autopilot=False)
    ego_id = world.spawn_vehicle(start.transform, role_name="hero")
    driver = ExpertDriver(world, ego_id, plan.world)
    hits, gaps, reversed_ = [], [], False
    for _ in range(int(20.0 / world.fixed_delta_seconds)):
        hits += _drive(world, driver, ego_id, world.fixed_delta_seconds)
        reversed_ |= driver.labels()["reverse"]
        ego = world.get_actor_state(ego_id)
        gaps.append(_ahead_of(ego.transform.location, world.get_map().get_waypoint(across.location))
                    - ego.extent.x - world.get_actor_state(blocker_id).extent.y)
    assert not hits
    assert reversed_
    assert min(gaps) > 0.2
    assert min(gaps) < 1.5  # it crept closer than the normal 2 m standing gap before backing up
