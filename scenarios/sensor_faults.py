"""Sensor faults a scenario can set: what goes wrong, when, on which sensors, how badly.

Each fault is a frozen dataclass registered by its YAML `kind`. It degrades what the agent's sensors
deliver (never the world's own buffers, never the ground truth the criteria use): the effects live
in `scenarios.sensor_fault_injector`, the pixel operations in `scenarios.image_faults`.

Timing, common to every fault (all optional):
- `start_s` (game time, seconds) or `start_tick` (0 = the first frame the agent receives); neither
  means from the first frame;
- `duration_s` or `duration_ticks`, counted from the tick the fault starts; neither means until the
  end of the run.
Targets: `sensors` (ids) and/or `sensor_types` (blueprint ids); neither means the fault's
`DEFAULT_TYPES`. Every numeric field (timing included) is a value or a `[low, high]` range, sampled
once per run by `sampled(rng)`, so a run is reproducible from (conditions, seed).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from scenarios.param_range import ParamRange, param_bounds, range_fields, sample_float, sample_int

RGB_TYPES = ("sensor.camera.rgb", "sensor.camera")
CAMERA_TYPES = (*RGB_TYPES, "sensor.camera.depth", "sensor.camera.semantic_segmentation")
GNSS_TYPES = ("sensor.other.gnss",)
ALL_TYPES = (*CAMERA_TYPES, *GNSS_TYPES, "sensor.other.imu", "sensor.speedometer", "sensor.lidar.ray_cast",
             "sensor.other.radar", "sensor.opendrive_map")
#: Largest calibration error accepted: the shift models a knocked mount, not a camera pointing elsewhere.
MAX_CALIBRATION_ERROR_DEG = 15.0

FAULT_KINDS: dict[str, type[SensorFault]] = {}


def _check_bounds(name: str, value: ParamRange | None, low: float | None = None,
                  high: float | None = None) -> None:
    """ValueError naming the field unless both ends of `value` lie in [low, high]."""
    if value is None:
        return
    lo, hi = param_bounds(value)
    if (low is not None and lo < low) or (high is not None and hi > high):
        if low is not None and high is not None:
            span = f"in [{low}, {high}]"
        else:
            span = f">= {low}" if low is not None else f"<= {high}"
        raise ValueError(f"{name}: expected values {span}, got {value!r}")


def _is_tick_field(name: str) -> bool:
    return name.endswith(("_tick", "_ticks"))


@dataclass(frozen=True)
class SensorFault:
    """Timing and targets shared by every fault (see the module docstring for their meaning)."""

    KIND: ClassVar[str] = ""
    #: Sensor types the fault targets when the file names neither `sensors` nor `sensor_types`.
    DEFAULT_TYPES: ClassVar[tuple[str, ...]] = RGB_TYPES
    #: Sensor types whose data the fault knows how to degrade.
    ALLOWED_TYPES: ClassVar[tuple[str, ...]] = CAMERA_TYPES
    #: Fields a file must give. They default to None only because a dataclass field without a
    #: default cannot follow the base's defaulted ones before Python 3.10 (no kw_only).
    REQUIRED: ClassVar[tuple[str, ...]] = ()

    start_s: ParamRange | None = None
    start_tick: ParamRange | None = None
    duration_s: ParamRange | None = None
    duration_ticks: ParamRange | None = None
    sensors: tuple[str, ...] = ()
    sensor_types: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.KIND:
            raise TypeError(f"{cls.__name__} must declare its YAML KIND")
        FAULT_KINDS[cls.KIND] = cls

    def __post_init__(self) -> None:
        missing = [name for name in self.REQUIRED if getattr(self, name) is None]
        if missing:
            raise TypeError(f"{missing[0]}: missing (required by {self.KIND})")
        if self.start_s is not None and self.start_tick is not None:
            raise ValueError("start_s, start_tick: give one start, not both")
        if self.duration_s is not None and self.duration_ticks is not None:
            raise ValueError("duration_s, duration_ticks: give one duration, not both")
        for name in ("start_s", "start_tick", "duration_s", "duration_ticks"):
            _check_bounds(name, getattr(self, name), low=0.0)
        bad = [t for t in self.sensor_types if t not in self.ALLOWED_TYPES]
        if bad:
            raise ValueError(f"sensor_types: {self.KIND} cannot apply to {bad}; expected some of "
                             f"{list(self.ALLOWED_TYPES)}")

    def sampled(self, rng: np.random.Generator) -> SensorFault:
        """A copy with every range replaced by one draw from `rng` (ticks as integers)."""
        values = {}
        for name in range_fields(type(self)):
            value = getattr(self, name)
            if value is not None:
                values[name] = sample_int(value, rng) if _is_tick_field(name) else sample_float(value, rng)
        return dataclasses.replace(self, **values)

    def value(self, name: str) -> float:
        """A sampled numeric parameter; sampling first is the injector's job, so a range here is a bug."""
        v = getattr(self, name)
        if isinstance(v, tuple):
            raise TypeError(f"{self.KIND}.{name} is still a range {v}; use sampled(rng) first")
        return float(v)

    def targets(self, sensor_id: str, sensor_type: str) -> bool:
        """Whether the fault degrades this sensor (named by id or type, or the default types)."""
        if not self.sensors and not self.sensor_types:
            return sensor_type in self.DEFAULT_TYPES
        return sensor_id in self.sensors or sensor_type in self.sensor_types


@dataclass(frozen=True)
class CameraBlackout(SensorFault):
    """The camera delivers a black image (colour channels 0, alpha kept) for the fault's duration."""

    KIND = "camera_blackout"


@dataclass(frozen=True)
class FrozenFrame(SensorFault):
    """The camera repeats the frame it delivered before the fault began: same frame number, same pixels."""

    KIND = "frozen_frame"


@dataclass(frozen=True)
class GaussianNoise(SensorFault):
    """Additive Gaussian pixel noise, `sigma` in 0-255 units, independent per pixel and channel."""

    KIND = "gaussian_noise"
    ALLOWED_TYPES = RGB_TYPES
    REQUIRED = ("sigma",)
    sigma: ParamRange | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_bounds("sigma", self.sigma, low=0.0, high=255.0)


@dataclass(frozen=True)
class ExposureShift(SensorFault):
    """Over/under-exposure: colour channels multiplied by 2**stops and clipped to 0..255."""

    KIND = "exposure_shift"
    ALLOWED_TYPES = RGB_TYPES
    REQUIRED = ("stops",)
    stops: ParamRange | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_bounds("stops", self.stops, low=-8.0, high=8.0)


@dataclass(frozen=True)
class CalibrationShift(SensorFault):
    """A small rotation error of the camera mount (degrees, CARLA's signs: yaw right, pitch up).

    Applied as the image warp a pure rotation produces (see `image_faults.rotation_remap`): exact
    for the rotation, but the area the rotated camera would newly see is black, and an error in
    the mount's position (metres) is not modelled.
    """

    KIND = "calibration_shift"
    yaw_deg: ParamRange = 0.0
    pitch_deg: ParamRange = 0.0
    roll_deg: ParamRange = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("yaw_deg", "pitch_deg", "roll_deg"):
            _check_bounds(name, getattr(self, name), low=-MAX_CALIBRATION_ERROR_DEG, high=MAX_CALIBRATION_ERROR_DEG)


@dataclass(frozen=True)
class DroppedFrames(SensorFault):
    """Each tick, with `probability`, the sensor's new frame is lost and the agent gets the previous
    frame number and data again, as from a late sensor in CARLA's synchronous mode."""

    KIND = "dropped_frames"
    ALLOWED_TYPES = ALL_TYPES
    REQUIRED = ("probability",)
    probability: ParamRange | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_bounds("probability", self.probability, low=0.0, high=1.0)


@dataclass(frozen=True)
class GnssNoiseBurst(SensorFault):
    """Bursts of GNSS error (multipath, urban canyon): for `burst_ticks` ticks out of every `period_ticks`,
    lat/lon get Gaussian noise of `noise_m` metres standard deviation on each horizontal axis."""

    KIND = "gnss_noise_burst"
    DEFAULT_TYPES = GNSS_TYPES
    ALLOWED_TYPES = GNSS_TYPES
    REQUIRED = ("noise_m",)
    noise_m: ParamRange | None = None
    burst_ticks: ParamRange = 10.0
    period_ticks: ParamRange = 40.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_bounds("noise_m", self.noise_m, low=0.0)
        _check_bounds("burst_ticks", self.burst_ticks, low=1.0)
        _check_bounds("period_ticks", self.period_ticks, low=1.0)
