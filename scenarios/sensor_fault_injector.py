"""`SensorFaultInjector`: degrades the agent's `input_data` ({id: (frame, data)}) tick by tick.

It sits between the world and the agent (`AgentWrapper(agent, injector=...)`): the world's sensor
buffers, and everything the criteria read, stay as they were. Untouched sensors pass through as the
world delivered them; a degraded sensor gets a new array. Deterministic for a seed: each fault has
its own generator, seeded by (seed, fault index), which first samples the fault's ranges and then
draws its per-tick noise, so adding a fault to a file does not change what the others do.

Ticks are counted by the injector: tick 0 is the first frame the agent receives.
"""
from __future__ import annotations

import copy
import math
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from driving.errors import InputError
from driving.world import SensorSpec
from planning.gps import EARTH_RADIUS_EQUA_M
from scenarios import image_faults
from scenarios.sensor_faults import (
    CalibrationShift,
    CameraBlackout,
    DroppedFrames,
    ExposureShift,
    FrozenFrame,
    GaussianNoise,
    GnssNoiseBurst,
    SensorFault,
)

SensorItem = typing.Tuple[int, Any]
#: Game time is a sum of 0.05 s steps: compare it with start/duration seconds with this slack.
TIME_EPS_S = 1e-6
#: Generator stream of the sensor faults (other condition kinds, e.g. weather, use other streams).
FAULT_STREAM = 1


def metres_to_degrees(north_m: np.ndarray | float, east_m: np.ndarray | float, lat_deg: float
                      ) -> tuple[np.ndarray | float, np.ndarray | float]:
    """(dlat, dlon) in degrees for a small displacement at latitude `lat_deg`.

    Local spherical conversion with the leaderboard's Earth radius: one degree of latitude is
    pi R / 180 m, one of longitude that times cos(lat). The leaderboard's Mercator uses cos(lat_ref)
    of the map's geoReference instead; within a town (lat within ~0.01 deg of lat_ref) the two differ
    by under 0.1 per mil, far below any noise worth injecting.
    """
    metres_per_deg = math.pi * EARTH_RADIUS_EQUA_M / 180.0
    return north_m / metres_per_deg, east_m / (metres_per_deg * math.cos(math.radians(lat_deg)))


@dataclass
class _ActiveFault:
    """One fault of a run: its sampled parameters, generator, targets and what it remembers."""

    fault: SensorFault
    rng: np.random.Generator
    sensor_ids: tuple[str, ...] = ()
    onset_tick: int | None = None
    onset_s: float = 0.0
    held: dict[str, SensorItem] = field(default_factory=dict)  # frozen frames, by sensor
    cache: dict[Any, Any] = field(default_factory=dict)  # lookup tables and warp maps

    def active(self, tick: int, time_s: float) -> bool:
        """Whether the fault acts at this tick (it starts once and ends once; see sensor_faults)."""
        f = self.fault
        if self.onset_tick is None:
            started = (time_s + TIME_EPS_S >= f.value("start_s") if f.start_s is not None
                       else tick >= int(f.value("start_tick") if f.start_tick is not None else 0))
            if not started:
                return False
            self.onset_tick, self.onset_s = tick, time_s
        if f.duration_ticks is not None:
            return tick - self.onset_tick < f.value("duration_ticks")
        if f.duration_s is not None:
            return time_s - self.onset_s < f.value("duration_s") - TIME_EPS_S
        return True


@dataclass(frozen=True)
class _Tick:
    """What an effect may read besides its own fault: the tick, the sensor and the last delivered frames."""

    index: int
    sensor: SensorSpec
    delivered: Mapping[str, SensorItem]


Effect = typing.Callable[[_ActiveFault, SensorItem, _Tick], SensorItem]


def _repeat(item: SensorItem) -> SensorItem:
    """A held frame handed out again: a copy, so an agent that edits its input cannot edit the held one."""
    return item[0], copy.deepcopy(item[1])


def _blackout(af: _ActiveFault, item: SensorItem, t: _Tick) -> SensorItem:
    return item[0], image_faults.blackout(item[1])


def _frozen(af: _ActiveFault, item: SensorItem, t: _Tick) -> SensorItem:
    sid = t.sensor.id
    if sid not in af.held:
        af.held[sid] = t.delivered[sid] if sid in t.delivered else _repeat(item)
    return _repeat(af.held[sid])


def _noise(af: _ActiveFault, item: SensorItem, t: _Tick) -> SensorItem:
    return item[0], image_faults.add_gaussian_noise(item[1], af.fault.value("sigma"), af.rng)


def _exposure(af: _ActiveFault, item: SensorItem, t: _Tick) -> SensorItem:
    if "lut" not in af.cache:
        af.cache["lut"] = image_faults.exposure_lut(af.fault.value("stops"))
    return item[0], image_faults.apply_lut(item[1], af.cache["lut"])


def _calibration(af: _ActiveFault, item: SensorItem, t: _Tick) -> SensorItem:
    image, f = item[1], af.fault
    key = (t.sensor.id, image.shape[:2], t.sensor.fov)
    if key not in af.cache:
        af.cache[key] = image_faults.rotation_remap(image.shape[0], image.shape[1], t.sensor.fov,
                                                    f.value("roll_deg"), f.value("pitch_deg"), f.value("yaw_deg"))
    return item[0], image_faults.remap(image, *af.cache[key])


def _dropped(af: _ActiveFault, item: SensorItem, t: _Tick) -> SensorItem:
    drop = af.rng.random() < af.fault.value("probability")  # drawn every tick: the stream stays aligned
    previous = t.delivered.get(t.sensor.id)
    return _repeat(previous) if drop and previous is not None else item


def _gnss_burst(af: _ActiveFault, item: SensorItem, t: _Tick) -> SensorItem:
    f = af.fault
    phase = (t.index - (af.onset_tick or 0)) % max(int(f.value("period_ticks")), 1)
    if phase >= f.value("burst_ticks"):
        return item
    gps = np.array(item[1], dtype=np.float64)
    north_m, east_m = af.rng.normal(0.0, f.value("noise_m"), 2)
    dlat, dlon = metres_to_degrees(north_m, east_m, gps[0])
    gps[0] += dlat
    gps[1] += dlon
    return item[0], gps


EFFECTS: dict[type[SensorFault], Effect] = {
    CameraBlackout: _blackout, FrozenFrame: _frozen, GaussianNoise: _noise, ExposureShift: _exposure,
    CalibrationShift: _calibration, DroppedFrames: _dropped, GnssNoiseBurst: _gnss_burst,
}
#: Faults that hand out earlier frames: the injector keeps a copy of what it delivered to their sensors.
HOLDING = (FrozenFrame, DroppedFrames)


def _as_spec(spec: SensorSpec | dict[str, Any]) -> SensorSpec:
    return spec if isinstance(spec, SensorSpec) else SensorSpec.from_dict(spec)


class SensorFaultInjector:
    """Applies a list of sensor faults to each frame's `input_data` (see the module docstring).

    Call `bind(specs)` once with the agent's rig (ids, types, fov), then `apply(input_data, game_time_s)`
    once per tick. Faults act in the order given; each sees the output of the ones before it.
    """

    def __init__(self, faults: Iterable[SensorFault], seed: int) -> None:
        self.seed = int(seed)
        self._faults: list[_ActiveFault] = []
        for index, fault in enumerate(faults):
            if type(fault) not in EFFECTS:
                raise TypeError(f"no effect registered for {type(fault).__name__}")
            rng = np.random.default_rng([self.seed, FAULT_STREAM, index])
            self._faults.append(_ActiveFault(fault.sampled(rng), rng))
        self._specs: dict[str, SensorSpec] | None = None
        self._delivered: dict[str, SensorItem] = {}
        self._holding: set[str] = set()
        self._tick = 0

    @property
    def faults(self) -> tuple[SensorFault, ...]:
        """The faults of this run with their sampled parameters (what a replay needs to know)."""
        return tuple(af.fault for af in self._faults)

    def bind(self, specs: Sequence[SensorSpec | dict[str, Any]]) -> None:
        """Resolve each fault's targets in the agent's rig; InputError for a named sensor it lacks or
        whose type the fault cannot degrade. A fault whose default types match nothing does nothing."""
        self._specs = {s.id: s for s in map(_as_spec, specs)}
        for index, af in enumerate(self._faults):
            f = af.fault
            for sid in f.sensors:
                spec = self._specs.get(sid)
                if spec is None:
                    raise InputError(f"sensor fault {index} ({f.KIND}): sensor '{sid}' is not in the agent's rig; "
                                     f"its sensors: {sorted(self._specs)}")
                if spec.type not in f.ALLOWED_TYPES:
                    raise InputError(f"sensor fault {index} ({f.KIND}): cannot apply to sensor '{sid}' of type "
                                     f"{spec.type}; expected one of {list(f.ALLOWED_TYPES)}")
            af.sensor_ids = tuple(sid for sid, s in sorted(self._specs.items())
                                  if f.targets(sid, s.type) and s.type in f.ALLOWED_TYPES)
            if isinstance(f, HOLDING):
                self._holding.update(af.sensor_ids)

    def targets(self) -> list[tuple[str, tuple[str, ...]]]:
        """(fault kind, sensor ids) per fault, for logs and results."""
        return [(af.fault.KIND, af.sensor_ids) for af in self._faults]

    def apply(self, input_data: Mapping[str, SensorItem], game_time_s: float) -> dict[str, SensorItem]:
        """This tick's data as the agent should see it; `input_data` and its arrays are left unchanged."""
        if self._specs is None:
            raise RuntimeError("SensorFaultInjector.apply before bind(specs): the injector needs the rig")
        out = dict(input_data)
        for af in self._faults:
            if not af.active(self._tick, game_time_s):
                continue
            effect = EFFECTS[type(af.fault)]
            for sid in af.sensor_ids:
                if sid in out:
                    out[sid] = effect(af, out[sid], _Tick(self._tick, self._specs[sid], self._delivered))
        for sid in self._holding:
            if sid in out:
                self._delivered[sid] = _repeat(out[sid])
        self._tick += 1
        return out
