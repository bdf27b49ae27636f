"""Perception conditions of a scenario: weather and lighting, and sensor faults, read from YAML.

```yaml
weather:                      # or just `weather: HardRainNoon`
  preset: WetCloudyNoon       # a carla.WeatherParameters preset (driving.sim.weather lists them)
  sun_altitude_deg: [-5, 10]  # low sun glare / dusk; a value or a [low, high] range
  parameters: {fog_density: 40, fog_distance: [5, 20]}
sensor_faults:
  - {kind: camera_blackout, start_s: 3.0, duration_ticks: 10, sensors: [rgb_front]}
  - {kind: gaussian_noise, sigma: [4, 12], sensor_types: [sensor.camera.rgb]}
  - {kind: gnss_noise_burst, noise_m: 5, burst_ticks: 10, period_ticks: 60}
```
The fault kinds and their fields are in `scenarios.sensor_faults`. Weather maps onto
`driving.sim.weather.make_weather`, which both backends accept through `World.set_weather`. Every
problem is one InputError line naming the file, the entry and the field, and what was expected.
A run is reproducible from (conditions, seed): weather and each fault draw from their own streams.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import carla
import numpy as np

from driving.config import from_dict, read_yaml
from driving.errors import InputError
from driving.sim.weather import PARAMETERS, make_weather, weather_presets
from scenarios.param_range import ParamRange, check_param, range_fields, sample_float
from scenarios.sensor_fault_injector import SensorFaultInjector
from scenarios.sensor_faults import FAULT_KINDS, SensorFault

#: Generator stream of the weather draw (the sensor faults use FAULT_STREAM).
WEATHER_STREAM = 0


@dataclass(frozen=True)
class WeatherCondition:
    """A weather preset with some parameters overridden (percent, degrees, metres as CARLA's)."""

    preset: str = "ClearNoon"
    sun_altitude_deg: ParamRange | None = None
    parameters: dict[str, ParamRange] = field(default_factory=dict)

    def __post_init__(self) -> None:
        presets = weather_presets()
        if self.preset not in presets:
            raise ValueError(f"preset: unknown weather preset {self.preset!r}; known: {', '.join(presets)}")
        unknown = sorted(set(self.parameters) - set(PARAMETERS))
        if unknown:
            raise ValueError(f"parameters: unknown weather parameter(s) {unknown}; known: {', '.join(PARAMETERS)}")
        if self.sun_altitude_deg is not None and "sun_altitude_angle" in self.parameters:
            raise ValueError("sun_altitude_deg: also given as parameters.sun_altitude_angle; give it once")
        for name, value in self.parameters.items():
            check_param(value, f"parameters.{name}")
        # YAML lists -> tuples, so that a range reads the same whichever way it was built.
        object.__setattr__(self, "parameters", {k: tuple(v) if isinstance(v, list) else v
                                                for k, v in self.parameters.items()})

    def sample(self, rng: np.random.Generator) -> carla.WeatherParameters:
        """The run's weather: every range drawn once from `rng`, in a fixed (sorted) order."""
        params = {name: sample_float(self.parameters[name], rng) for name in sorted(self.parameters)}
        if self.sun_altitude_deg is not None:
            params["sun_altitude_angle"] = sample_float(self.sun_altitude_deg, rng)
        return make_weather(self.preset, **params)


@dataclass(frozen=True)
class PerceptionConditions:
    """Weather (None: keep the route's) and sensor faults of a scenario or suite."""

    weather: WeatherCondition | None = None
    sensor_faults: tuple[SensorFault, ...] = ()

    def weather_for(self, seed: int) -> carla.WeatherParameters | None:
        """The weather of run `seed`, for `World.set_weather`; None when the conditions set none."""
        if self.weather is None:
            return None
        return self.weather.sample(np.random.default_rng([int(seed), WEATHER_STREAM]))

    def injector_for(self, seed: int) -> SensorFaultInjector | None:
        """The sensor-fault injector of run `seed` for `AgentWrapper`; None when there are no faults."""
        return SensorFaultInjector(self.sensor_faults, seed) if self.sensor_faults else None


def _required_fields(cls: type) -> list[str]:
    """Fields without a default, and those a fault lists in REQUIRED (defaulted to None for 3.8)."""
    return [f.name for f in dataclasses.fields(cls)
            if (f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
            or f.name in getattr(cls, "REQUIRED", ())]


def _ranged_from_dict(cls: type, fields: dict[str, Any], where: str) -> Any:
    """`from_dict` after checking required and range fields, so their errors say what a range may be."""
    if not isinstance(fields, dict):
        raise InputError(f"{where}: expected a mapping, got {type(fields).__name__} {fields!r}")
    for name in _required_fields(cls):
        if name not in fields:
            raise InputError(f"{where}: {name}: missing; expected a number or a [low, high] range")
    for name in range_fields(cls):
        if fields.get(name) is not None:
            try:
                check_param(fields[name], name)
            except ValueError as exc:
                raise InputError(f"{where}: {exc}") from None
    return from_dict(cls, fields, where)


def fault_from_dict(data: Any, where: str) -> SensorFault:
    """One `sensor_faults` entry -> its fault dataclass; InputError naming `where`, the kind and the field."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping with a 'kind', got {type(data).__name__} {data!r}")
    kind = data.get("kind")
    cls = FAULT_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise InputError(f"{where}: kind: unknown sensor fault kind {kind!r}; known: {', '.join(sorted(FAULT_KINDS))}")
    return _ranged_from_dict(cls, {k: v for k, v in data.items() if k != "kind"}, f"{where} ({kind})")


def conditions_from_dict(data: Any, where: str) -> PerceptionConditions:
    """The `weather:` and `sensor_faults:` of a mapping (a conditions file, or a section of a scenario file)."""
    if data is None:
        return PerceptionConditions()
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping with weather and/or sensor_faults, got {type(data).__name__}")
    unknown = sorted(set(data) - {"weather", "sensor_faults"})
    if unknown:
        raise InputError(f"{where}: unknown key(s) {unknown}; known keys: ['sensor_faults', 'weather']")
    weather = data.get("weather")
    if isinstance(weather, str):
        weather = {"preset": weather}
    faults = data.get("sensor_faults") or []
    if not isinstance(faults, list):
        raise InputError(f"{where}: sensor_faults: expected a list of faults, got {type(faults).__name__}")
    return PerceptionConditions(
        weather=None if weather is None else _ranged_from_dict(WeatherCondition, weather, f"{where}: weather"),
        sensor_faults=tuple(fault_from_dict(f, f"{where}: sensor_faults[{i}]") for i, f in enumerate(faults)))


def load_perception_conditions(path: str | Path) -> PerceptionConditions:
    """Read a conditions YAML file (see the module docstring); every error names the file."""
    return conditions_from_dict(read_yaml(path), str(path))
