"""Agent sensor specs -> CARLA blueprint ids, attribute strings and mounts (AgentWrapper rules)."""

from __future__ import annotations

import pytest

from driving.carla_backend.sensor_specs import attribute_text, sensor_request
from driving.carla_backend.sensors import streams_each_tick
from driving.errors import InputError
from driving.world import SensorSpec


def spec(**kwargs) -> SensorSpec:
    return SensorSpec.from_dict(kwargs)


def test_camera_spec_sets_size_fov_and_mount():
    req = sensor_request(
        spec(
            type="sensor.camera.rgb",
            id="front",
            x=1.3,
            y=0.0,
            z=2.3,
            roll=0.0,
            pitch=-5.0,
            yaw=60.0,
            width=320,
            height=160,
            fov=60,
        )
    )
    assert req.blueprint_id == "sensor.camera.rgb" and req.kind == "rgb"
    assert req.attributes == {"image_size_x": "320", "image_size_y": "160", "fov": "60"}
    loc, rot = req.transform.location, req.transform.rotation
    assert (loc.x, loc.y, loc.z) == pytest.approx((1.3, 0.0, 2.3))
    assert (rot.pitch, rot.yaw, rot.roll) == pytest.approx((-5.0, 60.0, 0.0))


@pytest.mark.parametrize(
    "spec_type, blueprint, kind",
    [
        ("sensor.camera", "sensor.camera.rgb", "rgb"),
        ("sensor.camera.depth", "sensor.camera.depth", "depth"),
        ("sensor.camera.semantic_segmentation", "sensor.camera.semantic_segmentation", "semantic"),
    ],
)
def test_camera_aliases_and_research_cameras(spec_type, blueprint, kind):
    req = sensor_request(spec(type=spec_type, id="c", width=64, height=32, fov=90.0))
    assert (req.blueprint_id, req.kind) == (blueprint, kind)
    assert req.attributes["image_size_x"] == "64" and req.attributes["fov"] == "90"


def test_lidar_gets_the_leaderboard_forced_attributes():
    req = sensor_request(spec(type="sensor.lidar.ray_cast", id="lidar", x=1.3, z=2.5, range=10, channels=16))
    a = req.attributes
    assert (a["range"], a["channels"], a["points_per_second"], a["rotation_frequency"]) == (
        "85",
        "64",
        "600000",
        "10",
    )
    assert (a["upper_fov"], a["lower_fov"], a["dropoff_general_rate"]) == ("10", "-30", "0.45")
    unforced = sensor_request(
        spec(type="sensor.lidar.ray_cast", id="lidar", range=10, channels=16), forced=False
    )
    assert (unforced.attributes["range"], unforced.attributes["channels"]) == ("10", "16")


def test_radar_takes_its_fov_from_the_spec_and_forces_range():
    req = sensor_request(spec(type="sensor.other.radar", id="radar", horizontal_fov=35, vertical_fov=20))
    a = req.attributes
    assert (a["horizontal_fov"], a["vertical_fov"], a["range"], a["points_per_second"]) == (
        "35",
        "20",
        "100",
        "1500",
    )
    default = sensor_request(spec(type="sensor.other.radar", id="radar"))
    assert default.attributes["horizontal_fov"] == "30"


def test_gnss_mount_has_no_rotation_and_noise_is_forced():
    req = sensor_request(spec(type="sensor.other.gnss", id="gps", x=-1.0, z=1.6, yaw=45.0))
    assert req.transform.rotation.yaw == 0.0 and req.transform.location.x == pytest.approx(-1.0)
    assert req.attributes["noise_lat_stddev"] == "5e-06" and req.attributes["noise_alt_bias"] == "0"
    imu = sensor_request(spec(type="sensor.other.imu", id="imu", yaw=10.0))
    assert (
        imu.transform.rotation.yaw == pytest.approx(10.0)
        and imu.attributes["noise_accel_stddev_z"] == "0.015"
    )


def test_pseudo_sensors_spawn_nothing():
    for spec_type, kind in (("sensor.speedometer", "speedometer"), ("sensor.opendrive_map", "opendrive")):
        req = sensor_request(spec(type=spec_type, id="p", reading_frequency=20))
        assert req.blueprint_id is None and req.kind == kind and req.attributes == {}
    with pytest.raises(InputError, match="unknown attribute"):
        sensor_request(spec(type="sensor.speedometer", id="p", range=3))


def test_bad_specs_raise_input_errors_naming_the_sensor():
    with pytest.raises(InputError, match="sensor 'x': unknown type 'sensor.camera.fisheye'"):
        sensor_request(spec(type="sensor.camera.fisheye", id="x"))
    with pytest.raises(InputError, match="sensor 'c'.*width must be"):
        sensor_request(spec(type="sensor.camera.rgb", id="c", width=0))
    with pytest.raises(InputError, match="sensor 'c'.*fov must be"):
        sensor_request(spec(type="sensor.camera.rgb", id="c", fov=180))
    with pytest.raises(InputError, match="attribute 'gamma'"):
        sensor_request(spec(type="sensor.camera.rgb", id="c", gamma=[2.2]))


def test_attribute_text_and_sensor_tick():
    assert [attribute_text(v, "w") for v in (3, 3.0, 0.25, True, "x")] == ["3", "3", "0.25", "true", "x"]
    cam = sensor_request(spec(type="sensor.camera.rgb", id="c", sensor_tick=0.5))
    assert cam.attributes["sensor_tick"] == "0.5" and not streams_each_tick(cam, 0.05)
    assert streams_each_tick(sensor_request(spec(type="sensor.camera.rgb", id="c", sensor_tick=0.0)), 0.05)
    assert streams_each_tick(sensor_request(spec(type="sensor.camera.rgb", id="c")), 0.05)
    with pytest.raises(InputError, match="sensor_tick must be a number"):
        streams_each_tick(sensor_request(spec(type="sensor.camera.rgb", id="c", sensor_tick="soon")), 0.05)
