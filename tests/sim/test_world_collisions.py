"""Collisions: swept oriented boxes (no tunnelling), inelastic response, event kinds and impulses."""
from __future__ import annotations

import math

import carla
import numpy as np
import pytest

from driving.sim.collisions import build_static_grid, first_free_fraction, obb_overlap
from driving.sim.embedded_world import EmbeddedWorld
from driving.world import ActorKind, CollisionEvent


def _collisions(world: EmbeddedWorld) -> list[CollisionEvent]:
    return [e for e in world.pop_events() if isinstance(e, CollisionEvent)]


def test_obb_overlap_separating_axes():
    assert obb_overlap(0, 0, 0, 2, 1, 3.9, 0, 0, 2, 1)
    assert not obb_overlap(0, 0, 0, 2, 1, 4.1, 0, 0, 2, 1)
    # rotated 45 deg: the corner reaches 2 * sqrt(2) = 2.83 m along x
    assert obb_overlap(0, 0, math.pi / 4, 2, 2, 4.7, 0, 0, 2, 2)
    assert not obb_overlap(0, 0, math.pi / 4, 2, 2, 4.9, 0, 0, 2, 2)
    # near miss diagonally: circles overlap, boxes do not
    assert not obb_overlap(0, 0, 0, 1, 1, 2.1, 2.1, 0, 1, 1)


@pytest.mark.parametrize("speed_mps", [20.0, 60.0])
def test_sweep_never_jumps_over_a_thin_pole(speed_mps):
    bounds = (-100.0, -100.0, 100.0, 100.0)
    grid = build_static_grid(np.array([10.0]), np.array([0.0]), np.zeros(1), np.array([0.1]),
                             np.array([0.1]), bounds)
    bodies = (np.zeros(1), np.zeros(1), np.zeros(1), np.array([2.4]), np.array([0.95]))
    x = 0.0
    hit = None
    for _ in range(40):
        step = speed_mps * 0.05
        f, contacts = first_free_fraction(x, 0.0, 0.0, x + step, 0.0, 0.0, 2.4, 0.95, 0, bodies, grid, bounds)
        x += f * step
        bodies[0][0] = x
        if contacts is not None:
            hit = contacts
            break
    assert hit is not None and hit.props.tolist() == [0]
    assert 10.0 - 0.1 - 2.4 - 0.11 <= x < 10.0 - 0.1 - 2.4  # stopped within one 0.1 m sweep step


def _aim_at_pole(world: EmbeddedWorld):
    """A spawn transform on the lane nearest to a street-lamp pole, facing the pole."""
    carla_map = world.get_map()
    for obj in world.layout.solid_objects():
        if obj.kind != "pole":
            continue
        wp = carla_map.get_waypoint(carla.Location(obj.center[0], obj.center[1], 0.0))
        loc = wp.transform.location
        d = math.hypot(obj.center[0] - loc.x, obj.center[1] - loc.y)
        if wp.is_junction or not 3.0 < d < 12.0:
            continue
        yaw = math.degrees(math.atan2(obj.center[1] - loc.y, obj.center[0] - loc.x))
        return obj, carla.Transform(loc, carla.Rotation(yaw=yaw))
    raise AssertionError("town_grid has no pole near a lane")


def test_car_at_20_mps_hits_a_pole_stops_and_does_not_pass_through(town_world):
    world = town_world
    pole, spawn = _aim_at_pole(world)
    ego = world.spawn_vehicle(spawn)
    world.set_target_velocity(ego, carla.Vector3D(20.0 * math.cos(math.radians(spawn.rotation.yaw)),
                                                  20.0 * math.sin(math.radians(spawn.rotation.yaw)), 0.0))
    events = []
    for _ in range(20):
        world.apply_control(ego, carla.VehicleControl(throttle=1.0))
        world.tick()
        events += _collisions(world)
    assert events, "no collision reported"
    first = events[0]
    assert first.actor_id == ego and first.other_kind == ActorKind.STATIC and first.other_type_id == "pole"
    assert first.impulse.length() == pytest.approx(1500.0 * 20.0, rel=0.15)  # mass x speed, N s
    state = world.get_actor_state(ego)
    assert abs(state.speed_mps) < 1.0  # full throttle against a pole: pushed back to rest every tick
    yaw = math.radians(state.transform.rotation.yaw)
    loc = state.transform.location
    assert not obb_overlap(loc.x, loc.y, yaw, state.extent.x, state.extent.y, pole.center[0], pole.center[1],
                           math.radians(pole.yaw_deg), pole.half_extent[0], pole.half_extent[1])
    ahead = (pole.center[0] - loc.x) * math.cos(yaw) + (pole.center[1] - loc.y) * math.sin(yaw)
    assert ahead > state.extent.x  # the pole is still in front of the bumper
    # CARLA's collision sensor reports every frame of contact while the car keeps pushing
    assert len({e.frame for e in events}) >= 10


def test_rear_ending_a_parked_car_reports_vehicle_kind_on_both_cars(town_world):
    world = town_world
    spawn = world.get_spawn_points()[0]
    wp_ahead = world.get_map().get_waypoint(spawn.location).next(15.0)[0]
    parked = world.spawn_vehicle(wp_ahead.transform, "vehicle.car", role_name="scenario")
    ego = world.spawn_vehicle(spawn, "vehicle.car")
    yaw = math.radians(spawn.rotation.yaw)
    world.set_target_velocity(ego, carla.Vector3D(10.0 * math.cos(yaw), 10.0 * math.sin(yaw), 0.0))
    events = []
    for _ in range(30):
        world.tick()
        events += _collisions(world)
        if events:
            break
    by_actor = {e.actor_id: e for e in events}
    assert set(by_actor) == {ego, parked}
    assert by_actor[ego].other_id == parked and by_actor[ego].other_kind == ActorKind.VEHICLE
    assert by_actor[parked].other_id == ego and by_actor[parked].other_type_id == "vehicle.car"
    # equal masses, perfectly inelastic: both move on at half the closing speed
    ego_speed = world.get_actor_state(ego).speed_mps
    parked_speed = world.get_actor_state(parked).speed_mps
    assert ego_speed == pytest.approx(parked_speed, abs=1e-6) and 3.0 < ego_speed < 5.5
    closing = 2 * ego_speed
    assert by_actor[ego].impulse.length() == pytest.approx(750.0 * closing, rel=0.05)
    e, p = world.get_actor_state(ego), world.get_actor_state(parked)
    assert not obb_overlap(e.transform.location.x, e.transform.location.y, math.radians(e.transform.rotation.yaw),
                           e.extent.x, e.extent.y, p.transform.location.x, p.transform.location.y,
                           math.radians(p.transform.rotation.yaw), p.extent.x, p.extent.y)


def test_hitting_a_walker_reports_walker_kind(town_world):
    world = town_world
    spawn = world.get_spawn_points()[0]
    ahead = world.get_map().get_waypoint(spawn.location).next(12.0)[0].transform
    walker = world.spawn_walker(ahead, autopilot=False)
    ego = world.spawn_vehicle(spawn)
    yaw = math.radians(spawn.rotation.yaw)
    world.set_target_velocity(ego, carla.Vector3D(8.0 * math.cos(yaw), 8.0 * math.sin(yaw), 0.0))
    events = []
    for _ in range(30):
        world.tick()
        events += _collisions(world)
    mine = [e for e in events if e.actor_id == ego]
    assert mine
    assert {e.other_kind for e in mine} == {ActorKind.WALKER}
    assert mine[0].other_id == walker and mine[0].other_type_id == "walker.pedestrian"
    assert mine[0].location.distance(ahead.location) < 1.0
    # the walker's sensor reports the same contacts, from its side
    theirs = [e for e in events if e.actor_id == walker]
    assert [(e.frame, e.other_id, e.other_kind) for e in theirs] == [(e.frame, ego, ActorKind.VEHICLE) for e in mine]
    assert all(t.impulse.x == -m.impulse.x and t.impulse.y == -m.impulse.y for t, m in zip(theirs, mine))
