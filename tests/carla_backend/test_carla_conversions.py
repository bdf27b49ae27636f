"""Sensor measurement conversions on buffers laid out as CARLA's raw_data, and the tag mapping."""

from __future__ import annotations

import math

import carla
import numpy as np
import pytest

from driving.carla_backend.conversions import (
    forward_speed_mps,
    gnss_array,
    image_bgra,
    imu_array,
    lidar_points,
    parse_server_version,
    radar_points,
    semantic_bgra,
    semantic_lut,
)
from driving.errors import WorldError
from driving.tags import Tag


def test_image_bytes_become_a_bgra_copy():
    rng = np.random.default_rng(0)
    src = rng.integers(0, 256, (3, 5, 4), dtype=np.uint8)
    raw = bytearray(src.tobytes())
    out = image_bgra(raw, width=5, height=3)
    assert out.shape == (3, 5, 4) and out.dtype == np.uint8 and np.array_equal(out, src)
    raw[0] = (raw[0] + 1) % 256  # the server reuses its buffer: our array must not change
    assert out[0, 0, 0] == src[0, 0, 0]
    with pytest.raises(WorldError, match="4x3"):
        image_bgra(src.tobytes(), width=4, height=3)


def test_lidar_and_radar_layouts():
    pts = np.array([[1.0, 2.0, 3.0, 0.5], [-4.0, 5.5, -0.25, 0.9]], np.float32)
    out = lidar_points(pts.tobytes())
    assert out.dtype == np.float32 and np.array_equal(out, pts)
    # CARLA radar raw rows: velocity, azimuth, altitude, depth; leaderboard rows: the reverse
    raw = np.array([[-3.0, 0.1, 0.02, 25.0], [1.5, -0.2, 0.0, 60.0]], np.float32)
    radar = radar_points(raw.tobytes())
    assert radar.dtype == np.float32 and radar.flags.c_contiguous
    assert np.array_equal(radar, raw[:, ::-1])  # exact float32 values, columns reversed
    assert radar[0].tolist() == pytest.approx([25.0, 0.02, 0.1, -3.0])
    assert lidar_points(b"").shape == (0, 4) and radar_points(b"").shape == (0, 4)
    with pytest.raises(WorldError):
        lidar_points(np.zeros(6, np.float32).tobytes())


def test_gnss_imu_and_speed():
    gnss = gnss_array(48.99, 8.0, 120.5)
    assert gnss.dtype == np.float64 and gnss.tolist() == [48.99, 8.0, 120.5]
    imu = imu_array((0.1, 0.2, 9.81), (0.0, 0.01, -0.3), 1.5)
    assert imu.dtype == np.float64 and imu.shape == (7,) and imu[-1] == 1.5 and imu[2] == pytest.approx(9.81)
    assert forward_speed_mps((0.0, 5.0, 0.0), 0.0, 90.0) == pytest.approx(5.0)
    assert forward_speed_mps((0.0, 5.0, 0.0), 0.0, -90.0) == pytest.approx(-5.0)  # reversing
    assert forward_speed_mps((3.0, 0.0, 4.0), math.degrees(math.atan2(4, 3)), 0.0) == pytest.approx(5.0)


def test_server_versions():
    assert parse_server_version("0.9.16") == (0, 9, 16)
    assert parse_server_version("0.9.10-1") == (0, 9, 10)
    assert parse_server_version("0.9.15.2-12-gabc") == (0, 9, 15, 2)
    with pytest.raises(WorldError):
        parse_server_version("unknown")


def test_new_servers_tags_map_to_the_0910_set():
    lut = semantic_lut((0, 9, 16))
    labels = carla.CityObjectLabel
    expected = {
        labels.Roads: Tag.ROAD,
        labels.Sidewalks: Tag.SIDEWALK,
        labels.Buildings: Tag.BUILDING,
        labels.Car: Tag.VEHICLES,
        labels.Truck: Tag.VEHICLES,
        labels.Bicycle: Tag.VEHICLES,
        labels.Pedestrians: Tag.PEDESTRIAN,
        labels.RoadLines: Tag.ROAD_LINE,
        labels.Sky: Tag.SKY,
        labels.TrafficLight: Tag.TRAFFIC_LIGHT,
        labels.Terrain: Tag.TERRAIN,
        labels.NONE: Tag.UNLABELED,
    }
    for label, tag in expected.items():
        assert lut[int(label)] == tag, label
    named = [int(v) for v in labels.values if int(v) != int(labels.Any)]
    assert len(named) == 29 and lut.max() < len(Tag)
    assert lut[int(labels.Any)] == Tag.UNLABELED


def test_old_servers_keep_their_tags_and_images_are_remapped_in_r():
    assert np.array_equal(semantic_lut((0, 9, 10))[: len(Tag)], np.arange(len(Tag)))
    tags = np.array([[1, 14, 24], [11, 0, 3]], np.uint8)  # 0.9.16: road, car, roadline / sky, none, building
    raw = np.zeros((2, 3, 4), np.uint8)
    raw[..., 2] = tags
    raw[..., 3] = 255
    out = semantic_bgra(raw.tobytes(), 3, 2, semantic_lut((0, 9, 16)))
    assert out[..., 2].tolist() == [
        [Tag.ROAD, Tag.VEHICLES, Tag.ROAD_LINE],
        [Tag.SKY, Tag.UNLABELED, Tag.BUILDING],
    ]
    assert (out[..., 3] == 255).all() and (out[..., :2] == 0).all()
    old = semantic_bgra(raw.tobytes(), 3, 2, semantic_lut((0, 9, 10)))
    assert old[..., 2].tolist() == [[1, 14, Tag.UNLABELED], [11, 0, 3]]  # 24 is no 0.9.10 tag
