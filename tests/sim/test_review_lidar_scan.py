"""LiDAR scan pattern as CARLA 0.9.11+ (RayCastSemanticLidar::SimulateLidar) lays it out."""
from __future__ import annotations

import carla
import numpy as np
import pytest
import shapely

from driving.errors import InputError
from driving.sim.maps import load_map
from driving.sim.scene import Layout, Surface
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


def _read_frames(attributes: dict, frames: int) -> list[np.ndarray]:
    """LiDAR 2 m above flat road: every ray pointing down hits the ground."""
    layout = Layout("flat", 0, [Surface("road", Tag.ROAD, shapely.box(-100, -100, 100, 100))], [],
                    bounds=(-100.0, -100.0, 100.0, 100.0))
    attrs = {"range": 50, "upper_fov": -20, "lower_fov": -40, "dropoff_general_rate": 0.0,
             "dropoff_zero_intensity": 0.0, **attributes}
    out = []
    with SensorSuite(load_map("town_grid"), layout, None, seed=1, forced_attributes=False) as suite:
        suite.attach(SensorSpec(type="sensor.lidar.ray_cast", id="lidar", z=2.0, attributes=attrs), EGO)
        for frame in range(frames):
            data = suite.read(frame, 0.05 * (frame + 1), {EGO: _ego()}, {}, get_weather("ClearNoon"))
            out.append(data["lidar"][1])
    return out


def test_limited_horizontal_fov_sweeps_fov_times_frequency_per_tick():
    # 90 deg fov at 10 Hz, 20 Hz ticks: CARLA sweeps 10 * 90 * 0.05 = 45 deg per tick, azimuth
    # fmod(angle, 90) - 45: first tick [-45, 0), second [0, 45).
    first, second = _read_frames({"horizontal_fov": 90, "rotation_frequency": 10, "channels": 4,
                                  "points_per_second": 16000}, 2)
    az1 = np.degrees(np.arctan2(first[:, 1], first[:, 0]))
    az2 = np.degrees(np.arctan2(second[:, 1], second[:, 0]))
    assert len(first) > 100 and len(second) > 100
    assert az1.min() == pytest.approx(-45.0, abs=0.5) and az1.max() < 0.1
    assert az2.min() > -0.1 and az2.max() == pytest.approx(45.0, abs=0.5)


def test_full_scan_starts_behind_and_rounds_points_per_channel_half_up():
    # 360 deg at 10 Hz, 20 Hz ticks: half a turn per tick, azimuth fmod(angle, 360) - 180, so the
    # first tick covers [-180, 0) (the left half, y <= 0) and the second [0, 180).
    # 1000 points/s * 0.05 s / 4 channels = 12.5 -> CARLA's RoundHalfFromZero gives 13 per channel.
    first, second = _read_frames({"rotation_frequency": 10, "channels": 4, "points_per_second": 1000}, 2)
    assert len(first) == 4 * 13 and len(second) == 4 * 13
    assert np.all(first[:, 1] <= 1e-3) and np.all(second[:, 1] >= -1e-3)


def test_bad_horizontal_fov_is_rejected():
    with pytest.raises(InputError, match="'lidar'.*horizontal_fov"):
        _read_frames({"horizontal_fov": 0}, 1)


def test_range_noise_moves_points_but_not_their_intensity():
    # One ring at -30 deg, 2 m above the road: every true range is 4 m, so CARLA's intensity
    # (computed before the noise is added) is exp(-0.004 * 4) for every point.
    (points,) = _read_frames({"channels": 1, "upper_fov": -30, "lower_fov": -30, "points_per_second": 4000,
                              "noise_stddev": 0.5}, 1)
    r = np.linalg.norm(points[:, :3].astype(np.float64), axis=1)
    assert len(points) > 50 and r.std() > 0.2
    assert np.allclose(points[:, 3], np.exp(-0.004 * 4.0), atol=2e-4)
