"""Weather presets by name, enumerated from the installed CARLA client, plus free parameters.

`carla.WeatherParameters` exposes its presets as class attributes (ClearNoon ... HardRainNight,
DustStorm: 23 in 0.9.16, night ones included); we list whatever the installed client has rather
than copying a table that would drift. Weather changes RGB images only.
"""
from __future__ import annotations

import carla

from driving.errors import InputError

#: Free parameters of carla.WeatherParameters that `make_weather` accepts (percent, degrees, metres).
PARAMETERS = ("cloudiness", "precipitation", "precipitation_deposits", "wind_intensity", "sun_azimuth_angle",
              "sun_altitude_angle", "fog_density", "fog_distance", "fog_falloff", "wetness",
              "scattering_intensity", "mie_scattering_scale", "rayleigh_scattering_scale", "dust_storm")


def weather_presets() -> dict[str, carla.WeatherParameters]:
    """Every preset of the installed client, by name (sorted)."""
    cls = carla.WeatherParameters
    return {name: getattr(cls, name) for name in sorted(dir(cls))
            if not name.startswith("_") and isinstance(getattr(cls, name), cls)}


def _copy(w: carla.WeatherParameters) -> carla.WeatherParameters:
    out = carla.WeatherParameters()
    for p in PARAMETERS:
        if hasattr(w, p):
            setattr(out, p, getattr(w, p))
    return out


def get_weather(name: str) -> carla.WeatherParameters:
    """A copy of preset `name` (case-sensitive as CARLA spells it); InputError lists the known names."""
    presets = weather_presets()
    if name not in presets:
        raise InputError(f"weather '{name}': unknown preset; known: {', '.join(presets)}")
    return _copy(presets[name])


def make_weather(base: str = "ClearNoon", **params: float) -> carla.WeatherParameters:
    """Preset `base` with some parameters overridden, e.g. make_weather(fog_density=60)."""
    w = get_weather(base)
    for key, value in params.items():
        if key not in PARAMETERS or not hasattr(w, key):
            raise InputError(f"weather parameter '{key}': unknown; known: {', '.join(PARAMETERS)}")
        try:
            setattr(w, key, float(value))
        except (TypeError, ValueError):
            raise InputError(f"weather parameter '{key}': expected a number, got {value!r}") from None
    return w
