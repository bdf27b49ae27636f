"""Radar rays spread over CARLA's elliptic cone (Radar.cpp), not over an azimuth x altitude box."""
from __future__ import annotations

import math

import carla
import numpy as np
import pytest
import shapely

from driving.errors import InputError
from driving.sim.maps import load_map
from driving.sim.scene import Layout, StaticObject, Surface
from driving.sim.sensors import SensorSuite
from driving.sim.weather import get_weather
from driving.tags import Tag
from driving.world import ActorKind, ActorState, SensorSpec

EGO = 1


def _ego() -> ActorState:
    return ActorState(id=EGO, kind=ActorKind.VEHICLE, type_id="vehicle.car", role_name="hero",
                      transform=carla.Transform(carla.Location(0.0, 0.0, 0.0), carla.Rotation()),
                      velocity=carla.Vector3D(), angular_velocity_dps=0.0, speed_mps=0.0,
                      extent=carla.Vector3D(2.2, 0.9, 0.75), tag=Tag.VEHICLES)


def _suite() -> SensorSuite:
    # A wall 10 m ahead, wider and taller than the cone: every ray hits the wall or the road.
    wall = StaticObject("wall", Tag.WALL, (10.5, 0.0, 10.0), (0.5, 40.0, 10.0))
    layout = Layout("wall", 0, [Surface("road", Tag.ROAD, shapely.box(-100, -100, 100, 100))], [wall],
                    bounds=(-100.0, -100.0, 100.0, 100.0))
    return SensorSuite(load_map("town_grid"), layout, None, seed=7)


def test_detections_lie_inside_carlas_elliptic_cone():
    fov_deg = 30.0
    with _suite() as suite:
        suite.attach(SensorSpec(type="sensor.other.radar", id="radar", z=1.0, fov=fov_deg), EGO)
        det = np.concatenate([suite.read(f, 0.05 * (f + 1), {EGO: _ego()}, {}, get_weather("ClearNoon"))["radar"][1]
                              for f in range(4)])
    depth, altitude, azimuth, _ = det.T.astype(np.float64)
    assert len(det) == 4 * 75  # 1500 points/s * 0.05 s, all hit
    # CARLA's ray direction is (1, a, b) with a^2 + b^2 <= tan(fov/2)^2; azimuth = atan(a),
    # altitude = atan2(b, sqrt(1 + a^2)).
    a = np.tan(azimuth)
    b = np.tan(altitude) * np.sqrt(1.0 + a**2)
    assert np.all(a**2 + b**2 <= math.tan(math.radians(fov_deg / 2)) ** 2 + 1e-5)
    ahead = depth * np.cos(altitude) * np.cos(azimuth)
    on_wall = ahead > 9.5
    assert on_wall.sum() > 100 and np.allclose(ahead[on_wall], 10.0, atol=0.15)


def test_radar_fov_out_of_range_is_rejected():
    with _suite() as suite, pytest.raises(InputError, match="'radar'.*horizontal_fov"):
        suite.attach(SensorSpec(type="sensor.other.radar", id="radar", fov=180.0), EGO)
