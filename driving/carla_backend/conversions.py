"""CARLA sensor measurements -> the leaderboard's `input_data` formats, as pure functions.

Each function takes what a `carla.SensorData` carries (its `raw_data` bytes and sizes, or its
scalar fields) so it can be checked on real numpy buffers without a server; the sensor rig
calls them from the measurement callbacks. Formats (leaderboard `sensor_interface.py`):
cameras H x W x 4 uint8 BGRA, LiDAR N x 4 float32 [x, y, z, intensity], radar N x 4 float32
[depth m, altitude rad, azimuth rad, velocity m/s] (CARLA's raw columns reversed), GNSS float64
[lat, lon, alt], IMU float64 [ax, ay, az, gx, gy, gz, compass rad], speedometer {'speed': m/s}.
Every output is a fresh array (the server's buffer is reused after the callback returns).
"""

from __future__ import annotations

import math
import re

import numpy as np

from driving.errors import WorldError
from driving.tags import CARLA_0916_TO_0910, Tag

#: First server version whose semantic camera uses the 29-tag set (`carla.CityObjectLabel`).
NEW_TAGS_SINCE = (0, 9, 14)


def image_bgra(raw: bytes | memoryview | np.ndarray, width: int, height: int) -> np.ndarray:
    """A camera image's raw bytes (BGRA, row-major) -> H x W x 4 uint8 array (a copy)."""
    flat = np.frombuffer(raw, dtype=np.uint8)
    if flat.size != width * height * 4:
        raise WorldError(f"camera image: {flat.size} bytes do not make a {width}x{height} BGRA image")
    return flat.reshape(height, width, 4).copy()


def lidar_points(raw: bytes | memoryview | np.ndarray) -> np.ndarray:
    """LiDAR raw bytes (float32 x, y, z, intensity per point; CARLA >= 0.9.10) -> N x 4 float32."""
    flat = np.frombuffer(raw, dtype=np.float32)
    if flat.size % 4:
        raise WorldError(f"lidar measurement: {flat.size} floats are not a whole number of 4-float points")
    return flat.reshape(-1, 4).copy()


def radar_points(raw: bytes | memoryview | np.ndarray) -> np.ndarray:
    """Radar raw bytes (float32 velocity, azimuth, altitude, depth) -> N x 4 [depth, alt, az, vel]."""
    flat = np.frombuffer(raw, dtype=np.float32)
    if flat.size % 4:
        raise WorldError(f"radar measurement: {flat.size} floats are not a whole number of detections")
    return np.ascontiguousarray(np.flip(flat.reshape(-1, 4), 1))


def gnss_array(latitude: float, longitude: float, altitude: float) -> np.ndarray:
    """[lat deg, lon deg, alt m] float64, as the leaderboard hands GNSS fixes to agents."""
    return np.array([latitude, longitude, altitude], dtype=np.float64)


def imu_array(
    accelerometer: tuple[float, float, float], gyroscope: tuple[float, float, float], compass_rad: float
) -> np.ndarray:
    """[ax, ay, az (m/s^2), gx, gy, gz (rad/s), compass (rad)] float64."""
    return np.array([*accelerometer, *gyroscope, compass_rad], dtype=np.float64)


def forward_speed_mps(velocity: tuple[float, float, float], pitch_deg: float, yaw_deg: float) -> float:
    """Velocity (m/s, world) projected on the heading: signed forward speed, as the speedometer reads."""
    pitch, yaw = math.radians(pitch_deg), math.radians(yaw_deg)
    forward = (math.cos(pitch) * math.cos(yaw), math.cos(pitch) * math.sin(yaw), math.sin(pitch))
    return float(sum(v * f for v, f in zip(velocity, forward)))


def parse_server_version(text: str) -> tuple[int, ...]:
    """ "0.9.16", "0.9.10-1", "0.9.15.2-dirty" -> (0, 9, 16), (0, 9, 10), (0, 9, 15, 2)."""
    match = re.match(r"\s*(\d+(?:\.\d+)*)", text or "")
    if match is None:
        raise WorldError(f"CARLA server version {text!r}: expected a version like '0.9.16'")
    return tuple(int(p) for p in match.group(1).split("."))


def semantic_lut(server_version: tuple[int, ...]) -> np.ndarray:
    """256-entry uint8 table: the server's semantic tag -> our `Tag` (CARLA 0.9.10 numbering).

    Servers before 0.9.14 already use 0.9.10 tags (identity for 0..22); newer ones are mapped with
    `driving.tags.CARLA_0916_TO_0910`. Tags outside the table become UNLABELED.
    """
    lut = np.full(256, int(Tag.UNLABELED), dtype=np.uint8)
    if tuple(server_version[:3]) >= NEW_TAGS_SINCE:
        for server_tag, ours in CARLA_0916_TO_0910.items():
            lut[server_tag] = int(ours)
    else:
        for tag in Tag:
            lut[int(tag)] = int(tag)
    return lut


def semantic_bgra(
    raw: bytes | memoryview | np.ndarray, width: int, height: int, lut: np.ndarray
) -> np.ndarray:
    """A semantic camera's raw BGRA (tag in R) -> the same layout with the tag mapped through `lut`."""
    image = image_bgra(raw, width, height)
    image[..., 2] = np.take(lut, image[..., 2])
    return image
