"""Agent sensors on a CARLA server: spawn them as the leaderboard does, collect one frame at a time.

Each spawned sensor's callback (client network thread) converts the measurement at once with
`conversions` (the server reuses its buffer) and keeps only the newest one per sensor, so
nothing piles up when nobody reads. `read` waits, up to `sensor_timeout_s`, until every sensor
that streams each tick has delivered the current frame, as the leaderboard's sensor interface
waits for its queues; a sensor with a `sensor_tick` longer than the world step hands out its
newest measurement without waiting. Pseudo-sensors are computed at read time: speedometer from
the parent's `ActorState`, OpenDRIVE from the map text. For `WARMUP_TICKS` ticks after attaching,
a missing measurement is waited for briefly and then skipped instead of failing the read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from driving.carla_backend import conversions as conv
from driving.carla_backend.events import stop_and_destroy
from driving.carla_backend.sensor_specs import SensorRequest, sensor_request
from driving.errors import InputError, WorldError
from driving.world import ActorState, SensorSpec

#: Ticks after attaching during which a missing measurement is not an error (the leaderboard
#: ticks 10 times after spawning sensors because some miss their first frames).
WARMUP_TICKS = 10
#: Seconds a read waits for a sensor still warming up before handing out what it has.
WARMUP_WAIT_S = 1.0


@dataclass
class _Attached:
    request: SensorRequest
    parent_id: int
    actor: Any  # carla.Sensor, None for pseudo-sensors
    streams_each_tick: bool
    attached_frame: int  # server frame when spawned: its first data comes with the next tick


def _converter(kind: str, lut: np.ndarray) -> Callable[[Any], Any]:
    """Measurement -> leaderboard data, for one sensor kind."""
    if kind in ("rgb", "depth"):
        return lambda m: conv.image_bgra(m.raw_data, m.width, m.height)
    if kind == "semantic":
        return lambda m: conv.semantic_bgra(m.raw_data, m.width, m.height, lut)
    if kind == "lidar":
        return lambda m: conv.lidar_points(m.raw_data)
    if kind == "radar":
        return lambda m: conv.radar_points(m.raw_data)
    if kind == "gnss":
        return lambda m: conv.gnss_array(m.latitude, m.longitude, m.altitude)
    if kind == "imu":
        return lambda m: conv.imu_array(
            (m.accelerometer.x, m.accelerometer.y, m.accelerometer.z),
            (m.gyroscope.x, m.gyroscope.y, m.gyroscope.z),
            m.compass,
        )
    raise ValueError(f"no converter for sensor kind {kind!r}")


def streams_each_tick(request: SensorRequest, fixed_delta_seconds: float) -> bool:
    """Whether a sensor delivers every tick (its `sensor_tick` is unset, 0 or not above the step)."""
    tick = request.attributes.get("sensor_tick")
    if tick is None:
        return True
    try:
        return float(tick) <= fixed_delta_seconds + 1e-9
    except ValueError:
        raise InputError(
            f"sensor '{request.spec.id}': sensor_tick must be a number of seconds, got {tick!r}"
        ) from None


def configured_blueprint(library: Any, request: SensorRequest) -> Any:
    """The blueprint of `request` with its attributes set; InputError naming a bad attribute."""
    where = f"sensor '{request.spec.id}' ({request.spec.type})"
    try:
        bp = library.find(request.blueprint_id)
    except (IndexError, RuntimeError):
        raise InputError(f"{where}: the server has no blueprint {request.blueprint_id!r}") from None
    for key, value in request.attributes.items():
        if not bp.has_attribute(key):
            known = sorted(a.id for a in bp)
            raise InputError(f"{where}: unknown attribute '{key}'; the blueprint has {known}")
        try:
            bp.set_attribute(key, value)
        except (RuntimeError, ValueError) as exc:
            raise InputError(
                f"{where}: attribute '{key}' = {value!r} rejected by the server ({exc})"
            ) from None
    return bp


class FrameStore:
    """The newest measurement of each sensor, filled from callback threads, waited on by the reader."""

    def __init__(self) -> None:
        self._latest: dict[str, tuple[int, Any]] = {}
        self._cond = threading.Condition()

    def put(self, sensor_id: str, frame: int, data: Any) -> None:
        """Keep `data` of server frame `frame` unless a newer frame is already stored."""
        with self._cond:
            previous = self._latest.get(sensor_id)
            if previous is None or frame >= previous[0]:
                self._latest[sensor_id] = (frame, data)
            self._cond.notify_all()

    def get(self, sensor_id: str) -> tuple[int, Any] | None:
        with self._cond:
            return self._latest.get(sensor_id)

    def drop(self, sensor_id: str) -> None:
        with self._cond:
            self._latest.pop(sensor_id, None)

    def wait(self, frame: int, ids: list[str], timeout_s: float) -> list[str]:
        """Wait until every sensor in `ids` has data of `frame` or newer; the ones still missing."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                missing = [i for i in ids if self._latest.get(i, (-1,))[0] < frame]
                left = deadline - time.monotonic()
                if not missing or left <= 0:
                    return missing
                self._cond.wait(left)


def wait_plan(carla_frame: int, sensors: dict[str, tuple[bool, int]]) -> tuple[list[str], list[str]]:
    """Which sensors a read of `carla_frame` must wait for: (strictly, briefly).

    `sensors` maps id -> (streams each tick, server frame it was attached at). Sensors attached
    at this frame have nothing yet; those attached within `WARMUP_TICKS` are waited for briefly;
    the rest must deliver. Sensors with a long `sensor_tick` are never waited for.
    """
    strict, brief = [], []
    for sensor_id, (streams, attached) in sensors.items():
        if not streams or attached >= carla_frame:
            continue
        (strict if carla_frame - attached > WARMUP_TICKS else brief).append(sensor_id)
    return strict, brief


class SensorRig:
    """Every agent sensor of one server world and the newest measurement of each."""

    def __init__(self, semantic_lut: np.ndarray, sensor_timeout_s: float, forced_attributes: bool) -> None:
        self._lut = semantic_lut
        self._timeout_s = sensor_timeout_s
        self._forced = forced_attributes
        self._sensors: dict[str, _Attached] = {}
        self._store = FrameStore()

    def attach(
        self,
        world: Any,
        library: Any,
        spec: SensorSpec,
        parent: Any,
        fixed_delta_seconds: float,
        carla_frame: int,
    ) -> None:
        """Spawn `spec` on actor `parent` (a carla.Actor) at server frame `carla_frame`; start listening."""
        if spec.id in self._sensors:
            raise InputError(f"sensor '{spec.id}': id already attached; sensor ids must be unique")
        request = sensor_request(spec, self._forced)
        if request.blueprint_id is None:
            self._sensors[spec.id] = _Attached(request, parent.id, None, False, carla_frame)
            return
        bp = configured_blueprint(library, request)
        actor = world.spawn_actor(bp, request.transform, attach_to=parent)
        convert = _converter(request.kind, self._lut)

        attached = _Attached(
            request, parent.id, actor, streams_each_tick(request, fixed_delta_seconds), carla_frame
        )
        self._sensors[spec.id] = attached

        def on_data(measurement: Any, sensor_id: str = spec.id) -> None:
            if self._sensors.get(sensor_id) is attached:  # not a late callback of a destroyed sensor
                self._store.put(sensor_id, measurement.frame, convert(measurement))

        actor.listen(on_data)

    @property
    def sensor_ids(self) -> list[str]:
        return sorted(self._sensors)

    @property
    def parent_ids(self) -> set[int]:
        """Actors that carry at least one sensor (whose states a read needs)."""
        return {s.parent_id for s in self._sensors.values()}

    def _wait_for_frame(self, carla_frame: int, live: dict[str, _Attached]) -> None:
        strict, brief = wait_plan(
            carla_frame, {k: (s.streams_each_tick, s.attached_frame) for k, s in live.items()}
        )
        missing = self._store.wait(carla_frame, strict, self._timeout_s)
        if missing:
            raise WorldError(
                f"sensor(s) {missing} delivered no data for the current frame within "
                f"{self._timeout_s:g} s (server overloaded or sensor_tick too long?)"
            )
        self._store.wait(carla_frame, brief, min(WARMUP_WAIT_S, self._timeout_s))

    def read(
        self,
        carla_frame: int,
        frame_offset: int,
        states: dict[int, ActorState],
        opendrive_text: Callable[[], str],
    ) -> dict[str, tuple[int, Any]]:
        """Sensor id -> (frame counted from map load, data) for sensors whose parent is in `states`."""
        live = {k: s for k, s in self._sensors.items() if s.parent_id in states}
        self._wait_for_frame(carla_frame, live)
        out: dict[str, tuple[int, Any]] = {}
        frame = carla_frame - frame_offset
        for sensor_id, s in live.items():
            if s.request.kind == "speedometer":
                out[sensor_id] = (frame, {"speed": float(states[s.parent_id].speed_mps)})
            elif s.request.kind == "opendrive":
                out[sensor_id] = (frame, {"opendrive": opendrive_text()})
            else:
                got = self._store.get(sensor_id)
                if got is not None:
                    out[sensor_id] = (got[0] - frame_offset, got[1])
        return out

    def detach(self, parent_id: int) -> None:
        """Destroy every sensor of one actor."""
        for sensor_id in [k for k, s in self._sensors.items() if s.parent_id == parent_id]:
            s = self._sensors.pop(sensor_id)
            if s.actor is not None:
                stop_and_destroy(s.actor)
            self._store.drop(sensor_id)

    def clear(self) -> None:
        """Destroy every sensor (map reload, close)."""
        for parent_id in {s.parent_id for s in self._sensors.values()}:
            self.detach(parent_id)
