"""Argument checks of the World calls, shared by every backend so both reject the same input.

Bad values raise InputError naming the call and the field, before anything reaches the backend
(a NaN sent to CARLA is accepted silently and breaks the physics later; in the embedded
simulator it would poison every actor's state).
"""

from __future__ import annotations

import math

import carla
import numpy as np

from driving.errors import InputError


def check_seed(seed: object, where: str) -> None:
    """A seed must be an integer (numpy integers included), not a bool or float."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"{where}: seed must be an integer, got {seed!r}")


def check_transform(transform: object, where: str) -> None:
    """A finite `carla.Transform` (location metres, yaw degrees)."""
    if not isinstance(transform, carla.Transform):
        raise InputError(f"{where}: transform must be a carla.Transform, got {type(transform).__name__}")
    loc, rot = transform.location, transform.rotation
    for name, value in (
        ("x", loc.x),
        ("y", loc.y),
        ("z", loc.z),
        ("pitch", rot.pitch),
        ("yaw", rot.yaw),
        ("roll", rot.roll),
    ):
        if not math.isfinite(value):
            raise InputError(f"{where}: transform {name} must be finite, got {value!r}")


def check_location(location: object, where: str) -> carla.Location:
    """A finite `carla.Location`; returns a copy (callers keep it beyond the caller's object)."""
    if not isinstance(location, carla.Location):
        raise InputError(f"{where}: expected a carla.Location, got {type(location).__name__}")
    if not all(math.isfinite(v) for v in (location.x, location.y, location.z)):
        raise InputError(f"{where}: location must be finite, got ({location.x}, {location.y}, {location.z})")
    return carla.Location(location.x, location.y, location.z)


def check_control(control: object, where: str = "apply_control") -> None:
    """A `carla.VehicleControl` with finite throttle, brake in [0, 1] and steer in [-1, 1]."""
    if not isinstance(control, carla.VehicleControl):
        raise InputError(f"{where}: control must be a carla.VehicleControl, got {type(control).__name__}")
    for name, lo in (("throttle", 0.0), ("steer", -1.0), ("brake", 0.0)):
        value = getattr(control, name)
        if not math.isfinite(value) or not lo <= value <= 1.0:
            raise InputError(f"{where}: control.{name} must be a finite number in [{lo:g}, 1], got {value!r}")
