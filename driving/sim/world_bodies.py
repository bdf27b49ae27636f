"""The embedded world's moving bodies as one table of numpy arrays (one row per actor).

Why one table: NPC drivers, pedestrians, the ego dynamics and the collision tests all read every
body each tick; flat float arrays let numba kernels scan them without building Python objects.
`carla` objects are built only when someone reads an actor state. A destroyed actor's row is
parked far away with a zero box (`active` False) and reused by the next spawn.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import carla
import numpy as np

from driving.tags import Tag
from driving.world import ActorKind, ActorState

#: Where parked (free) rows sit, metres: far outside any map, so no test ever meets them.
PARKED_M = 1.0e7

_FLOATS = ("x", "y", "z", "yaw", "pitch", "speed", "vx", "vy", "yaw_rate", "hl", "hw", "hh", "mass",
           "wheelbase", "max_steer", "steer_rate", "max_accel", "max_brake", "top_speed",
           "reverse_top_speed", "wheel", "throttle", "steer", "brake")
_BOOLS = ("active", "npc", "vehicle", "hand_brake", "reverse")


@dataclass
class ActorRecord:
    """What the world knows about an actor besides its row: identity and how it is driven."""

    id: int
    row: int
    kind: ActorKind
    type_id: str
    role_name: str
    color_rgb: tuple[int, int, int]
    autopilot: bool
    control: carla.VehicleControl = field(default_factory=carla.VehicleControl)
    #: The box half size (metres) of the last state built, and that box as a carla.Vector3D.
    extent_m: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    extent: carla.Vector3D | None = None


class Bodies:
    """Growable arrays of body state; attribute `x` etc. are views of the used rows.

    Units: metres, radians (yaw, pitch, wheel angle), m/s, rad/s, kg. `hl`, `hw`, `hh` are box
    half length, width and height. `z` is the base height (the surface under the body, metres
    above the ground datum), so the box spans z .. z + 2*hh. Rows of free slots are parked at
    `PARKED_M`.
    """

    def __init__(self, capacity: int = 64):
        self._cap = capacity
        self.n_rows = 0
        self._free: list[int] = []
        self._data: dict[str, np.ndarray] = {}
        for name in _FLOATS:
            self._data[name] = np.zeros(capacity)
        for name in _BOOLS:
            self._data[name] = np.zeros(capacity, np.bool_)
        self._data["x"][:] = PARKED_M
        self._data["y"][:] = PARKED_M

    def __getattr__(self, name: str) -> np.ndarray:
        data = self.__dict__.get("_data")
        if data is not None and name in data:
            return data[name][: self.n_rows]
        raise AttributeError(name)

    def allocate(self) -> int:
        """A free row (reused or new), zeroed and inactive."""
        if self._free:
            return self._free.pop(0)
        if self.n_rows == self._cap:
            self._cap *= 2
            for name, arr in self._data.items():
                grown = np.zeros(self._cap, arr.dtype)
                grown[: len(arr)] = arr
                if name in ("x", "y"):
                    grown[len(arr):] = PARKED_M
                self._data[name] = grown
        self.n_rows += 1
        return self.n_rows - 1

    def release(self, row: int) -> None:
        """Park `row` and remember it for reuse (lowest rows first, so reuse is deterministic)."""
        for arr in self._data.values():
            arr[row] = False if arr.dtype == np.bool_ else 0.0
        self._data["x"][row] = PARKED_M
        self._data["y"][row] = PARKED_M
        self._free.append(row)
        self._free.sort()

    def row_floats(self, row: int, names: tuple[str, ...]) -> list[float]:
        """Python floats of one row (cheap reads for building carla objects)."""
        return [float(self._data[name][row]) for name in names]

    def set(self, row: int, **values: float | bool) -> None:
        for name, value in values.items():
            self._data[name][row] = value

    def collision_view(self) -> tuple[np.ndarray, ...]:
        """(x, y, yaw, hl, hw, z, hh) of all rows, for `collisions.box_contacts`.

        `z` (base) and `hh` give each body's height interval z .. z + 2*hh, so bodies on two
        levels of the road network (a bridge and the road under it) never touch.
        """
        return self.x, self.y, self.yaw, self.hl, self.hw, self.z, self.hh

    def kernel_view(self) -> dict[str, np.ndarray]:
        """The arrays the NPC driver kernel reads.

        `z` is the body's base height above the ground datum, metres: the road (or sidewalk)
        surface under it, not the box centre; the box spans z .. z + 2*hh. The kernel uses
        `z` and `hh` to ignore bodies on another level (a bridge above, a road below).
        """
        return {name: getattr(self, name) for name in ("x", "y", "z", "yaw", "hl", "hw", "hh",
                                                        "vx", "vy", "active", "npc", "vehicle")}


_STATE_FIELDS = ("x", "y", "z", "yaw", "pitch", "speed", "vx", "vy", "yaw_rate", "hl", "hw", "hh")


def actor_state(bodies: Bodies, rec: ActorRecord, npc_accel_mps2: float = 0.0) -> ActorState:
    """The `ActorState` of `rec` built from its row (carla objects are made only here)."""
    control = None
    if rec.kind == ActorKind.VEHICLE:
        control = _npc_control(bodies, rec.row, npc_accel_mps2) if rec.autopilot else rec.control
    return _state(rec, *bodies.row_floats(rec.row, _STATE_FIELDS), control)


def actor_states(bodies: Bodies, recs: list[ActorRecord], accel_by_row: dict[int, float]) -> list[ActorState]:
    """`actor_state` of every record in one pass (the same values, built from whole columns).

    Why: the expert, the criteria and the cameras read every actor every tick; reading the
    columns once as Python floats instead of ~20 numpy scalar reads per actor makes building
    all states about 3x cheaper. `accel_by_row` is the autopilot acceleration (m/s^2) by row.
    """
    rows = np.fromiter((r.row for r in recs), dtype=np.intp, count=len(recs))
    data = bodies._data
    cols = [data[name][rows].tolist() for name in _STATE_FIELDS]
    ctrl = [data[name][rows].tolist() for name in _CONTROL_FIELDS]
    out = []
    for rec, values, driven in zip(recs, zip(*cols), zip(*ctrl)):
        control = None
        if rec.kind == ActorKind.VEHICLE:
            control = _control_of(*driven, accel_by_row.get(rec.row, 0.0)) if rec.autopilot else rec.control
        out.append(_state(rec, *values, control))
    return out


def _state(rec: ActorRecord, x: float, y: float, z: float, yaw: float, pitch: float, speed: float, vx: float,
           vy: float, yaw_rate: float, hl: float, hw: float, hh: float,
           control: carla.VehicleControl | None) -> ActorState:
    # Why not `ActorState(...)`: the world builds ~100 states every tick, and a frozen dataclass's
    # __init__ (one object.__setattr__ per field) cost as much as the carla objects themselves.
    # Filling the instance dict directly gives the same object; a test in test_world_determinism checks it
    # equals the keyword-built one. Positional carla constructors skip boost.python's keyword
    # matching, and the (constant) extent is built once per actor, not per tick.
    state = _new_object(ActorState)
    state.__dict__.update(
        id=rec.id, kind=rec.kind, type_id=rec.type_id, role_name=rec.role_name,
        transform=carla.Transform(carla.Location(x, y, z), carla.Rotation(math.degrees(pitch), math.degrees(yaw), 0.0)),
        velocity=carla.Vector3D(vx, vy, speed * math.tan(pitch)),
        angular_velocity_dps=math.degrees(yaw_rate),
        speed_mps=speed, extent=_extent(rec, hl, hw, hh),
        tag=Tag.VEHICLES if rec.kind == ActorKind.VEHICLE else Tag.PEDESTRIAN,
        color_rgb=rec.color_rgb, control=control)
    return state


_new_object = object.__new__


def _extent(rec: ActorRecord, hl: float, hw: float, hh: float) -> carla.Vector3D:
    """The box half size as a carla.Vector3D, rebuilt only when the row's box changed (states are
    read-only snapshots, so consecutive ones may share this object)."""
    if rec.extent_m != (hl, hw, hh):
        rec.extent_m = (hl, hw, hh)
        rec.extent = carla.Vector3D(hl, hw, hh)
    return rec.extent


_CONTROL_FIELDS = ("speed", "yaw_rate", "wheelbase", "max_steer", "max_accel", "max_brake")


def _npc_control(bodies: Bodies, row: int, accel_mps2: float) -> carla.VehicleControl:
    return _control_of(*bodies.row_floats(row, _CONTROL_FIELDS), accel_mps2)


def _control_of(speed: float, yaw_rate: float, wheelbase: float, max_steer: float, max_accel: float,
                max_brake: float, accel_mps2: float) -> carla.VehicleControl:
    # What a driver would have pressed to move an NPC as it moved (for logs and datasets).
    wheel = math.atan(wheelbase * yaw_rate / max(speed, 0.1))
    steer = max(-1.0, min(1.0, wheel / max(max_steer, 1e-6)))
    return carla.VehicleControl(min(1.0, max(0.0, accel_mps2 / max(max_accel, 1e-6))), steer,  # throttle, steer,
                                min(1.0, max(0.0, -accel_mps2 / max(max_brake, 1e-6))))  # brake
