"""`sensor.other.imu`: [ax, ay, az, gx, gy, gz, compass] float64, as CARLA's IMU.

Accelerometer in m/s^2 in the sensor frame, gravity included (a resting sensor reads +9.81 on
z; on a slope gravity splits between x and z by the parent's pitch, as the sensor frame
follows the parent's transform), from the parent's velocity difference between reads;
gyroscope in rad/s: the yaw rate about world z plus the pitch rate (from the pitch change
between reads, positive nose up) about the parent's lateral axis, both expressed in the
sensor frame (the embedded vehicles do not roll); compass in radians in [0, 2 pi), 0 = north =
-y of the CARLA world, pi/2 = east (+x).
"""
from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from driving.sim.render.geometry import transform_matrix
from driving.sim.sensor_models.base import FrameInputs, SensorModel
from driving.world import ActorState

GRAVITY_MPS2 = 9.81


class ImuModel(SensorModel):
    TYPES = ("sensor.other.imu",)
    USES_SCENE = False  # reads its parent only
    DEFAULTS: ClassVar[dict[str, float]] = {"noise_accel_stddev_x": 0.0, "noise_accel_stddev_y": 0.0, "noise_accel_stddev_z": 0.0,
                "noise_gyro_stddev_x": 0.0, "noise_gyro_stddev_y": 0.0, "noise_gyro_stddev_z": 0.0,
                "noise_gyro_bias_x": 0.0, "noise_gyro_bias_y": 0.0, "noise_gyro_bias_z": 0.0, "noise_seed": 0.0}
    LEADERBOARD: ClassVar[dict[str, float]] = {"noise_accel_stddev_x": 0.001, "noise_accel_stddev_y": 0.001, "noise_accel_stddev_z": 0.015,
                   "noise_gyro_stddev_x": 0.001, "noise_gyro_stddev_y": 0.001, "noise_gyro_stddev_z": 0.001}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._last_velocity: np.ndarray | None = None
        self._last_pitch_deg: float | None = None

    def read(self, parent: ActorState, inputs: FrameInputs) -> np.ndarray:
        pose = self.world_pose(parent)
        rot = pose[:3, :3]
        v = parent.velocity
        velocity = np.array([v.x, v.y, v.z])
        accel_world = np.zeros(3)
        if self._last_velocity is not None and inputs.delta_seconds > 0:
            accel_world = (velocity - self._last_velocity) / inputs.delta_seconds
        self._last_velocity = velocity
        pitch_deg = parent.transform.rotation.pitch
        pitch_rate = 0.0
        if self._last_pitch_deg is not None and inputs.delta_seconds > 0:
            pitch_rate = math.radians(pitch_deg - self._last_pitch_deg) / inputs.delta_seconds
        self._last_pitch_deg = pitch_deg
        accel = rot.T @ (accel_world + [0.0, 0.0, GRAVITY_MPS2])
        lateral = transform_matrix(parent.transform)[:3, 1]  # the parent's y (right) axis, world frame
        gyro = rot.T @ (np.array([0.0, 0.0, math.radians(parent.angular_velocity_dps)]) + pitch_rate * lateral)
        a = self.attrs
        accel += self.rng.normal(0.0, 1.0, 3) * [a["noise_accel_stddev_x"], a["noise_accel_stddev_y"],
                                                 a["noise_accel_stddev_z"]]
        gyro += [a["noise_gyro_bias_x"], a["noise_gyro_bias_y"], a["noise_gyro_bias_z"]]
        gyro += self.rng.normal(0.0, 1.0, 3) * [a["noise_gyro_stddev_x"], a["noise_gyro_stddev_y"],
                                                a["noise_gyro_stddev_z"]]
        yaw_deg = math.degrees(math.atan2(pose[1, 0], pose[0, 0]))
        compass = math.radians((yaw_deg + 90.0) % 360.0)
        return np.concatenate([accel, gyro, [compass]]).astype(np.float64)
