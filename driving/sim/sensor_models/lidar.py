"""`sensor.lidar.ray_cast`: N x 4 float32 [x, y, z, intensity] in the sensor frame (x fwd, y right, z up).

As CARLA (0.9.11+): each tick scans `points_per_second * dt` rays over
`horizontal_fov * rotation_frequency * dt` degrees of azimuth (continuing where the last tick
stopped; azimuth 0 = forward, positive to the right, a 360-degree scan starting behind), in
`channels` rings between `upper_fov` and `lower_fov` degrees; intensity = exp(-atmosphere_attenuation_rate * range);
a random `dropoff_general_rate` share of rays is dropped, and points below
`dropoff_intensity_limit` are dropped with probability `dropoff_zero_intensity * (1 - i / limit)`.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from driving.errors import InputError
from driving.sim.sensor_models.base import FrameInputs, SensorModel
from driving.sim.sensor_models.raycast import cast_rays
from driving.world import ActorState


class LidarModel(SensorModel):
    TYPES = ("sensor.lidar.ray_cast",)
    DEFAULTS: ClassVar[dict[str, float]] = {"channels": 32.0, "range": 10.0, "points_per_second": 56000.0, "rotation_frequency": 10.0,
                "upper_fov": 10.0, "lower_fov": -30.0, "horizontal_fov": 360.0,
                "atmosphere_attenuation_rate": 0.004, "dropoff_general_rate": 0.45,
                "dropoff_intensity_limit": 0.8, "dropoff_zero_intensity": 0.4, "noise_stddev": 0.0,
                "noise_seed": 0.0}
    LEADERBOARD: ClassVar[dict[str, float]] = {"range": 85.0, "rotation_frequency": 10.0, "channels": 64.0, "upper_fov": 10.0,
                   "lower_fov": -30.0, "points_per_second": 600000.0, "atmosphere_attenuation_rate": 0.004,
                   "dropoff_general_rate": 0.45, "dropoff_intensity_limit": 0.8, "dropoff_zero_intensity": 0.4}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._angle_deg = 0.0
        if not 0.0 < self.attrs["horizontal_fov"] <= 360.0:
            raise InputError(f"sensor '{self.spec.id}' ({self.spec.type}): horizontal_fov must be in (0, 360] "
                             f"degrees, got {self.attrs['horizontal_fov']}")

    def read(self, parent: ActorState, inputs: FrameInputs) -> np.ndarray:
        a = self.attrs
        dt = inputs.delta_seconds if inputs.delta_seconds > 0 else 0.05
        channels = max(int(a["channels"]), 1)
        # CARLA (RayCastSemanticLidar::SimulateLidar): RoundHalfFromZero(pps * dt / channels) rays per
        # channel over rotation_frequency * horizontal_fov * dt degrees, azimuth = fmod(angle,
        # horizontal_fov) - horizontal_fov / 2 (so a 360-degree scan starts straight behind).
        per_channel = max(int(np.floor(a["points_per_second"] * dt / channels + 0.5)), 1)
        hfov = a["horizontal_fov"]
        sweep = a["rotation_frequency"] * hfov * dt
        az = np.fmod(self._angle_deg + np.arange(per_channel) * (sweep / per_channel), hfov) - hfov / 2.0
        self._angle_deg = float(np.fmod(self._angle_deg + sweep, hfov))
        elev = np.linspace(a["upper_fov"], a["lower_fov"], channels)
        az_r, el_r = np.meshgrid(np.radians(az), np.radians(elev))
        dirs = np.stack([np.cos(el_r) * np.cos(az_r), np.cos(el_r) * np.sin(az_r), np.sin(el_r)], -1).reshape(-1, 3)
        dirs = dirs[self.rng.random(len(dirs)) >= a["dropoff_general_rate"]]
        ranges, _ = cast_rays(self.ctx.renderer(), self.world_pose(parent), dirs, inputs.actors.values(),
                              inputs.light_states, inputs.lighting, self.parent_id, a["range"])
        hit = np.isfinite(ranges)
        dirs, ranges = dirs[hit], ranges[hit]
        # CARLA (ComputeDetection, then PostprocessDetection): intensity from the true distance; the
        # noise then moves the point along its ray and does not change the intensity.
        intensity = np.exp(-a["atmosphere_attenuation_rate"] * ranges)
        if a["noise_stddev"] > 0:
            ranges = ranges + self.rng.normal(0.0, a["noise_stddev"], len(ranges))
        limit = a["dropoff_intensity_limit"]
        if limit > 0:
            drop_p = np.where(intensity < limit, a["dropoff_zero_intensity"] * (1.0 - intensity / limit), 0.0)
            keep = self.rng.random(len(ranges)) >= drop_p
            dirs, ranges, intensity = dirs[keep], ranges[keep], intensity[keep]
        return np.c_[dirs * ranges[:, None], intensity].astype(np.float32)
