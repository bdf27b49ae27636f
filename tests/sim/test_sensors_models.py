"""GNSS, IMU, speedometer, OpenDRIVE, LiDAR and radar through SensorSuite, in leaderboard formats."""
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
from planning.gps import geo_reference

EGO = 1


def _actor(actor_id, x, y=0.0, yaw=0.0, speed=0.0, extent=(2.2, 0.9, 0.75), vz=0.0):
    rad = math.radians(yaw)
    return ActorState(id=actor_id, kind=ActorKind.VEHICLE, type_id="vehicle.car", role_name="npc",
                      transform=carla.Transform(carla.Location(x, y, 0.0), carla.Rotation(yaw=yaw)),
                      velocity=carla.Vector3D(speed * math.cos(rad), speed * math.sin(rad), vz),
                      angular_velocity_dps=10.0, speed_mps=speed, extent=carla.Vector3D(*extent),
                      tag=Tag.VEHICLES)


def _layout():
    wall = StaticObject("wall", Tag.WALL, (20.5, 0.0, 5.0), (0.5, 30.0, 5.0))
    return Layout("test", 0, [Surface("road", Tag.ROAD, shapely.box(-100, -100, 100, 100))], [wall],
                  bounds=(-100.0, -100.0, 100.0, 100.0))


@pytest.fixture()
def suite():
    with SensorSuite(load_map("town_grid"), _layout(), None, seed=3) as s:
        yield s


def test_gnss_imu_speedometer_opendrive(suite):
    loaded = load_map("town_grid")
    suite.attach(SensorSpec(type="sensor.other.gnss", id="gps"), EGO)
    suite.attach(SensorSpec(type="sensor.other.imu", id="imu"), EGO)
    suite.attach(SensorSpec(type="sensor.speedometer", id="speed", attributes={"reading_frequency": 20}), EGO)
    suite.attach(SensorSpec(type="sensor.opendrive_map", id="hd", attributes={"reading_frequency": 1}), EGO)
    weather = get_weather("ClearNoon")
    suite.read(0, 0.0, {EGO: _actor(EGO, 0.0, yaw=0.0, speed=5.0)}, {}, weather)
    out = suite.read(1, 0.05, {EGO: _actor(EGO, 0.25, yaw=0.0, speed=6.0)}, {}, weather)
    lat0, lon0 = geo_reference(loaded.xodr_text)
    gps = out["gps"][1]
    assert gps.dtype == np.float64 and gps.shape == (3,)
    assert abs(gps[0] - lat0) < 1e-4 and abs(gps[1] - lon0) < 1e-4 and gps[1] > lon0  # x east -> lon grows
    imu = out["imu"][1]
    assert imu.dtype == np.float64 and imu.shape == (7,)
    assert imu[0] == pytest.approx(20.0, abs=0.1)  # (6 - 5) m/s over 0.05 s, forward
    assert imu[2] == pytest.approx(9.81, abs=0.1)
    assert imu[5] == pytest.approx(math.radians(10.0), abs=0.01)
    assert imu[6] == pytest.approx(math.pi / 2, abs=1e-6)  # facing +x = east
    assert out["speed"] == (1, {"speed": 6.0})
    assert out["hd"][1] == {"opendrive": loaded.xodr_text}


def test_forced_leaderboard_attributes_and_bad_attribute(suite):
    suite.attach(SensorSpec(type="sensor.lidar.ray_cast", id="lidar", attributes={"channels": "16"}), EGO)
    assert suite._models["lidar"].attrs["channels"] == 64  # the leaderboard forces 64 channels
    with pytest.raises(InputError, match="'imu2'.*noise_accel_stddev_x.*number"):
        suite.attach(SensorSpec(type="sensor.other.imu", id="imu2", attributes={"noise_accel_stddev_x": "abc"}), EGO)
    with pytest.raises(InputError, match="'g2'.*unknown attribute 'foo'"):
        suite.attach(SensorSpec(type="sensor.other.gnss", id="g2", attributes={"foo": 1}), EGO)


def test_lidar_sees_wall_and_ground():
    with SensorSuite(load_map("town_grid"), _layout(), None, seed=3, forced_attributes=False) as suite:
        suite.attach(SensorSpec(type="sensor.lidar.ray_cast", id="lidar", z=2.0, attributes={
            "range": 50, "channels": 32, "points_per_second": 200000, "rotation_frequency": 20,
            "dropoff_general_rate": 0.0, "dropoff_zero_intensity": 0.0}), EGO)
        points = suite.read(0, 0.0, {EGO: _actor(EGO, 0.0)}, {}, get_weather("ClearNoon"))["lidar"][1]
    assert points.dtype == np.float32 and points.ndim == 2 and points.shape[1] == 4 and len(points) > 1000
    ahead = points[(np.abs(points[:, 1]) < 2.0) & (points[:, 0] > 5.0) & (points[:, 2] > -1.0)]
    assert len(ahead) > 10 and np.allclose(ahead[:, 0], 20.0, atol=0.3)
    ground = points[np.hypot(points[:, 0], points[:, 1]) < 15.0]
    assert len(ground) > 100 and np.allclose(ground[:, 2], -2.0, atol=0.1)
    r = np.linalg.norm(points[:, :3], axis=1)
    assert np.all(r <= 50.01) and np.allclose(points[:, 3], np.exp(-0.004 * r), atol=1e-4)


def test_radar_reports_range_and_velocity_of_lead_vehicle():
    with SensorSuite(load_map("town_grid"), _layout(), None, seed=3) as suite:
        suite.attach(SensorSpec(type="sensor.other.radar", id="radar", z=0.8, fov=10.0), EGO)
        actors = {EGO: _actor(EGO, 0.0), 2: _actor(2, 12.0, speed=5.0)}
        det = suite.read(0, 0.0, actors, {}, get_weather("ClearNoon"))["radar"][1]
    assert det.dtype == np.float32 and det.shape[1] == 4 and len(det) > 10
    depth, altitude, azimuth, velocity = det.T
    car = np.abs(velocity) > 0.01  # the ego stands still: only the lead car moves (away, 5 m/s)
    assert car.sum() > 5 and np.all(velocity[car] > 4.5) and np.all(velocity[~car] == 0)
    assert np.allclose(depth[car], 9.8 / np.cos(azimuth[car]) / np.cos(altitude[car]), atol=0.3)
    assert np.all(np.abs(azimuth) <= math.radians(5.0) + 1e-6)


def test_range_sensors_are_deterministic_and_radar_fov_is_forced():
    def run():
        with SensorSuite(load_map("town_grid"), _layout(), None, seed=5) as suite:
            suite.attach(SensorSpec(type="sensor.lidar.ray_cast", id="lidar", z=2.0), EGO)
            suite.attach(SensorSpec(type="sensor.other.radar", id="radar", z=1.0, fov=20.0,
                                    attributes={"horizontal_fov": 90}), EGO)
            suite.attach(SensorSpec(type="sensor.camera", id="cam", z=1.5, width=32, height=16), EGO)
            assert suite._models["radar"].attrs["horizontal_fov"] == 20.0  # the leaderboard uses `fov`
            actors = {EGO: _actor(EGO, 0.0), 2: _actor(2, 12.0, speed=5.0)}
            return suite.read(3, 0.15, actors, {}, get_weather("ClearNoon"))
    a, b = run(), run()
    assert a["cam"][1].shape == (16, 32, 4)
    for key in ("lidar", "radar", "cam"):
        assert np.array_equal(a[key][1], b[key][1])
    assert len(a["lidar"][1]) > 1000  # forced: 64 channels, 600k points/s, 85 m
