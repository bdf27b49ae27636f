"""`sensor.other.gnss`: [lat, lon, alt] float64 from the map's geoReference (Mercator, as CARLA).

The conversion and the geoReference parsing are planning.gps's (one implementation of the
leaderboard's formulas); this model adds CARLA's GNSS noise and bias attributes. Altitude is
the sensor's world z (metres): the parent's road height plus the mount, turned by its pitch.
"""
from __future__ import annotations

from typing import ClassVar

import carla
import numpy as np

from driving.sim.sensor_models.base import FrameInputs, SensorModel
from driving.world import ActorState
from planning.gps import location_to_gps


class GnssModel(SensorModel):
    TYPES = ("sensor.other.gnss",)
    USES_SCENE = False  # reads its parent only
    DEFAULTS: ClassVar[dict[str, float]] = {"noise_lat_stddev": 0.0, "noise_lon_stddev": 0.0, "noise_alt_stddev": 0.0,
                "noise_lat_bias": 0.0, "noise_lon_bias": 0.0, "noise_alt_bias": 0.0, "noise_seed": 0.0}
    LEADERBOARD: ClassVar[dict[str, float]] = {"noise_lat_stddev": 0.000005, "noise_lon_stddev": 0.000005, "noise_alt_stddev": 0.000005,
                   "noise_lat_bias": 0.0, "noise_lon_bias": 0.0, "noise_alt_bias": 0.0}

    def read(self, parent: ActorState, inputs: FrameInputs) -> np.ndarray:
        p = self.world_pose(parent)[:3, 3]
        g = location_to_gps(self.ctx.lat0_deg, self.ctx.lon0_deg, carla.Location(*map(float, p)))
        gps = np.array([g["lat"], g["lon"], g["z"]], dtype=np.float64)
        a = self.attrs
        gps += [a["noise_lat_bias"], a["noise_lon_bias"], a["noise_alt_bias"]]
        gps += self.rng.normal(0.0, 1.0, 3) * [a["noise_lat_stddev"], a["noise_lon_stddev"], a["noise_alt_stddev"]]
        return gps
