"""Weather and sun -> the handful of lighting uniforms the shaders use.

Only the RGB image depends on these; depth and semantic outputs never do. Every field of
`carla.WeatherParameters` that changes what a camera sees has an effect: sun altitude and azimuth
(direction, colour, day/night), cloudiness (softer, greyer light and sky), precipitation (rain
streaks, darker scene), precipitation deposits and wetness (dark, reflective roads and puddles),
fog density/distance/falloff and dust storm (distance fog in the sky colour or brown dust).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import carla
import numpy as np

if TYPE_CHECKING:
    from driving.sim.render.shaders import ShaderFeatures


def _smoothstep(e0: float, e1: float, x: float) -> float:
    t = min(max((x - e0) / (e1 - e0), 0.0), 1.0)
    return t * t * (3 - 2 * t)


def _mix(a, b, t: float) -> np.ndarray:
    return np.asarray(a, np.float64) * (1 - t) + np.asarray(b, np.float64) * t


@dataclass(frozen=True)
class Lighting:
    """Shader-ready lighting (linear RGB in [0, 1], directions in CARLA world axes)."""

    sun_dir: tuple[float, float, float]
    sun_color: tuple[float, float, float]
    ambient: tuple[float, float, float]
    sky_zenith: tuple[float, float, float]
    sky_horizon: tuple[float, float, float]
    fog_color: tuple[float, float, float]
    fog_per_m: float
    fog_start_m: float
    wetness: float
    puddles: float
    rain: float
    night: float  # 0 day .. 1 night: vehicle lamps, lit windows, headlights
    cloud: float  # 0 clear .. 1 overcast (sky clouds)

    def features(self) -> ShaderFeatures:
        """The shader variant this weather needs (features with no visible effect stay off)."""
        from driving.sim.render.shaders import ShaderFeatures

        return ShaderFeatures(wet=self.wetness + self.puddles > 0.01, puddles=self.puddles > 0.01,
                              rain=self.rain > 0.01, night=self.night > 0.3, clouds=self.cloud > 0.1)

    def uniforms(self) -> dict[str, object]:
        return {"u_sun_dir": self.sun_dir, "u_sun_color": self.sun_color, "u_ambient": self.ambient,
                "u_sky_zenith": self.sky_zenith, "u_sky_horizon": self.sky_horizon,
                "u_fog_color": self.fog_color, "u_fog_per_m": self.fog_per_m,
                "u_fog_start_m": self.fog_start_m, "u_wetness": self.wetness, "u_puddles": self.puddles,
                "u_rain": self.rain, "u_night": self.night, "u_cloud": self.cloud}


def _tuple(v) -> tuple[float, float, float]:
    return tuple(float(x) for x in np.clip(v, 0.0, 4.0))


#: Every numeric field of `carla.WeatherParameters` (a key for caching the lighting of a weather).
WEATHER_FIELDS = ("sun_altitude_angle", "sun_azimuth_angle", "cloudiness", "precipitation", "precipitation_deposits",
                  "wetness", "fog_density", "fog_distance", "fog_falloff", "dust_storm", "wind_intensity",
                  "scattering_intensity", "mie_scattering_scale", "rayleigh_scattering_scale")


def weather_key(w: carla.WeatherParameters) -> tuple[float, ...]:
    """The weather's field values: equal keys give equal `lighting_from_weather` results."""
    return tuple(float(getattr(w, name, 0.0)) for name in WEATHER_FIELDS)


def lighting_from_weather(w: carla.WeatherParameters) -> Lighting:
    """Map CARLA's weather parameters (percentages 0..100, angles in degrees) to shader lighting."""
    alt, az = w.sun_altitude_angle, w.sun_azimuth_angle
    day = _smoothstep(-8.0, 12.0, alt)
    low_sun = 1.0 - _smoothstep(2.0, 30.0, alt)
    cloud = min(max(w.cloudiness / 100.0, 0.0), 1.0)
    rain = min(max(w.precipitation / 100.0, 0.0), 1.0)
    dust = min(max(getattr(w, "dust_storm", 0.0) / 100.0, 0.0), 1.0)
    fog = min(max(w.fog_density / 100.0, 0.0), 1.0)
    sun_dir = np.array([math.cos(math.radians(alt)) * math.cos(math.radians(az)),
                        math.cos(math.radians(alt)) * math.sin(math.radians(az)),
                        math.sin(math.radians(max(alt, 2.0)))])
    sun_dir /= np.linalg.norm(sun_dir)
    sun_tint = _mix((1.0, 0.97, 0.9), (1.0, 0.6, 0.32), low_sun * day)
    sun_strength = 1.05 * day * (1.0 - 0.8 * cloud) * (1.0 - 0.4 * rain) * (1.0 - 0.6 * dust)
    moon = (0.06, 0.07, 0.11)
    ambient_day = _mix((0.36, 0.4, 0.48), (0.5, 0.5, 0.52), cloud) * (1.0 - 0.35 * rain)
    ambient = _mix(moon, ambient_day, day)
    zenith_day = _mix(_mix((0.22, 0.42, 0.82), (0.45, 0.5, 0.62), low_sun), (0.55, 0.57, 0.6), cloud)
    horizon_day = _mix(_mix((0.7, 0.8, 0.93), (0.98, 0.62, 0.38), low_sun), (0.72, 0.73, 0.75), cloud)
    zenith = _mix((0.01, 0.015, 0.04), zenith_day * (1.0 - 0.35 * rain), day)
    horizon = _mix((0.04, 0.05, 0.09), horizon_day * (1.0 - 0.3 * rain), day)
    dust_color = _mix((0.05, 0.04, 0.03), (0.72, 0.55, 0.35), day)
    zenith = _mix(zenith, dust_color * 0.9, dust)
    horizon = _mix(horizon, dust_color, dust)
    fog_per_m = 0.0008 + 0.09 * fog**1.5 + 0.004 * rain + 0.035 * dust
    wet = max(w.wetness, 0.8 * w.precipitation_deposits, 0.6 * w.precipitation) / 100.0
    return Lighting(sun_dir=_tuple(sun_dir), sun_color=_tuple(sun_tint * sun_strength),
                    ambient=_tuple(ambient), sky_zenith=_tuple(zenith), sky_horizon=_tuple(horizon),
                    fog_color=_tuple(horizon), fog_per_m=float(fog_per_m),
                    fog_start_m=float(max(w.fog_distance, 0.0)), wetness=float(min(max(wet, 0.0), 1.0)),
                    puddles=float(min(max(w.precipitation_deposits / 100.0, 0.0), 1.0)), rain=rain,
                    night=float(1.0 - day), cloud=cloud)
