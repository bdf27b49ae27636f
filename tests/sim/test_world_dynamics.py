"""Bicycle-model response to carla.VehicleControl: acceleration, top speed, braking, turning."""
from __future__ import annotations

import math

import carla
import numpy as np
import pytest

from driving.errors import InputError
from driving.sim.blueprints import VEHICLE_TYPES, vehicle_type, walker_type
from driving.sim.vehicle_dynamics import BicycleControls, BicycleParams, step_bicycle

DT = 0.05


def _params(type_id: str = "vehicle.car") -> BicycleParams:
    vt = VEHICLE_TYPES[type_id]
    one = np.ones(1)
    return BicycleParams(one * vt.wheelbase_m, one * math.radians(vt.max_steer_deg),
                         one * math.radians(vt.steer_rate_dps), one * vt.max_accel_mps2,
                         one * vt.max_brake_mps2, one * vt.top_speed_mps, one * vt.reverse_top_speed_mps)


def _drive(seconds: float, throttle=0.0, steer=0.0, brake=0.0, reverse=False, speed=0.0,
           type_id: str = "vehicle.car") -> np.ndarray:
    """Rows (t, x, y, yaw, speed, wheel) of a drive with constant controls from the origin."""
    p = _params(type_id)
    ctl = BicycleControls(np.array([throttle]), np.array([steer]), np.array([brake]),
                          np.array([False]), np.array([reverse]))
    x, y, yaw, v, wheel = np.zeros(1), np.zeros(1), np.zeros(1), np.array([speed]), np.zeros(1)
    rows = []
    for k in range(round(seconds / DT)):
        x, y, yaw, v, wheel, _ = step_bicycle(x, y, yaw, v, wheel, ctl, p, DT)
        rows.append(((k + 1) * DT, x[0], y[0], yaw[0], v[0], wheel[0]))
    return np.array(rows)


def test_full_throttle_accelerates_like_a_car_and_falls_off_with_speed():
    run = _drive(10.0, throttle=1.0)
    v3 = run[int(3.0 / DT) - 1, 4]
    assert 9.0 < v3 < 11.5  # ~3.4 m/s^2 average over the first 3 s
    early = (run[20, 4] - run[0, 4]) / (20 * DT)
    late = (run[-1, 4] - run[-21, 4]) / (20 * DT)
    assert 3.0 < early <= 3.8 and late < 0.8 * early


def test_top_speed_is_approached_and_never_exceeded():
    for type_id in ("vehicle.car", "vehicle.truck"):
        run = _drive(240.0, throttle=1.0, type_id=type_id)
        top = VEHICLE_TYPES[type_id].top_speed_mps
        assert run[:, 4].max() <= top
        assert run[-1, 4] > 0.85 * top


def test_full_brake_stops_at_about_8_mps2():
    run = _drive(5.0, brake=1.0, speed=20.0)
    stop = np.argmax(run[:, 4] == 0.0)
    assert run[stop, 4] == 0.0 and (run[stop:, 4] == 0.0).all()  # stays stopped, no rolling back
    assert 2.1 < run[stop, 0] < 2.8  # 20 / 8 = 2.5 s
    assert 22.0 < run[stop, 1] < 28.0  # 20^2 / 16 = 25 m


def test_coasting_slows_gently():
    run = _drive(10.0, speed=20.0)
    assert 15.0 < run[-1, 4] < 19.5


def test_full_lock_turning_radius_matches_the_bicycle_geometry():
    run = _drive(30.0, throttle=0.12, steer=1.0, speed=4.0)
    pts = run[int(10 / DT):, 1:3]
    # least-squares circle through the steady-state path
    a = np.c_[2 * pts, np.ones(len(pts))]
    cx, cy, c = np.linalg.lstsq(a, (pts ** 2).sum(1), rcond=None)[0]
    radius = math.sqrt(c + cx * cx + cy * cy)
    vt = VEHICLE_TYPES["vehicle.car"]
    delta = math.radians(vt.max_steer_deg)
    expected = (vt.wheelbase_m / 2) / math.sin(math.atan(0.5 * math.tan(delta)))
    assert radius == pytest.approx(expected, rel=0.05)
    assert 3.5 < radius < 6.0  # a car's turning circle is ~8-12 m across
    assert cy > 0  # positive steer turns right: towards +y in CARLA coordinates


def test_steering_is_rate_limited():
    run = _drive(1.0, steer=1.0, speed=5.0)
    rate = math.radians(VEHICLE_TYPES["vehicle.car"].steer_rate_dps)
    assert run[0, 5] == pytest.approx(rate * DT)
    assert run[-1, 5] == pytest.approx(math.radians(VEHICLE_TYPES["vehicle.car"].max_steer_deg))


def test_reverse_gear_drives_backwards_up_to_reverse_top_speed():
    run = _drive(20.0, throttle=1.0, reverse=True)
    assert run[-1, 4] < 0 and run[-1, 1] < -20.0
    assert abs(run[:, 4]).max() <= VEHICLE_TYPES["vehicle.car"].reverse_top_speed_mps


def test_carla_blueprint_ids_map_to_our_types():
    assert vehicle_type("vehicle.lincoln.mkz_2017").type_id == "vehicle.car"
    assert vehicle_type("vehicle.carlamotors.carlacola").type_id == "vehicle.truck"
    assert vehicle_type("vehicle.bh.crossbike").type_id == "vehicle.bicycle"
    assert vehicle_type("vehicle.mercedes.sprinter").type_id == "vehicle.van"
    assert walker_type("walker.pedestrian.0001").type_id == "walker.pedestrian"
    with pytest.raises(InputError, match="type_id"):
        vehicle_type("walker.pedestrian.0001")
    with pytest.raises(InputError, match="type_id"):
        walker_type("vehicle.car")


def test_world_ego_follows_controls(town_world):
    world = town_world
    spawn = world.get_spawn_points()[0]
    ego = world.spawn_vehicle(spawn, "vehicle.lincoln.mkz_2017")
    control = carla.VehicleControl(throttle=1.0)
    for _ in range(40):
        world.apply_control(ego, control)
        world.tick()
    state = world.get_actor_state(ego)
    assert state.type_id == "vehicle.lincoln.mkz_2017"
    assert 5.5 < state.speed_mps < 8.0
    moved = state.transform.location.distance(spawn.location)
    assert 6.0 < moved < 8.5  # ~0.5 * 3.5 m/s^2 * (2 s)^2
    heading = math.radians(spawn.rotation.yaw)
    d = state.transform.location - spawn.location
    assert d.x * math.cos(heading) + d.y * math.sin(heading) == pytest.approx(moved, rel=1e-3)
    assert state.control.throttle == 1.0
    assert state.velocity.length() == pytest.approx(state.speed_mps, rel=1e-6)
