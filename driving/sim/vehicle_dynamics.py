"""Kinematic bicycle model driven by `carla.VehicleControl` values, vectorised over vehicles.

Why kinematic and not a tyre model: at the speeds of urban driving (< 20 m/s, lateral
acceleration < 4 m/s^2) a kinematic bicycle reproduces paths and turning radii within a few
per cent, costs a few microseconds per vehicle and is deterministic, which is what a data
collector and an evaluator need. Reference point is the box centre; the slip angle
beta = atan(l_r / L * tan(delta)) with l_r = L / 2.

Longitudinal response (per vehicle, m/s^2):
    engine   = throttle * max_accel * max(0, 1 - (v / v_top)^2)   (falls with speed)
    brake    = brake * max_brake (hand brake adds 0.6 * max_brake), always towards v = 0
    drag     = ROLLING_MPS2 + AERO_PER_M * v^2 (towards v = 0)
`reverse` makes the engine push backwards up to `reverse_top_speed_mps`. The wheel angle
follows steer * max_steer at most `steer_rate_dps` per second. Units: metres, seconds, radians
inside (yaw as in CARLA: clockwise seen from above, x forward, y right).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import carla
import numpy as np

#: Rolling resistance as a deceleration (m/s^2) and aerodynamic drag coefficient (1/m).
ROLLING_MPS2 = 0.12
AERO_PER_M = 0.00035
#: Hand brake deceleration as a fraction of the full brake (locked rear wheels).
HAND_BRAKE_FRACTION = 0.6
GRAVITY_MPS2 = 9.81


@dataclass
class BicycleParams:
    """Per-vehicle constants as arrays (one entry per vehicle), from `blueprints.VehicleType`."""

    wheelbase_m: np.ndarray
    max_steer_rad: np.ndarray
    steer_rate_radps: np.ndarray
    max_accel_mps2: np.ndarray
    max_brake_mps2: np.ndarray
    top_speed_mps: np.ndarray
    reverse_top_speed_mps: np.ndarray


@dataclass
class BicycleControls:
    """Control arrays (one entry per vehicle), already validated: throttle/brake in [0, 1]."""

    throttle: np.ndarray
    steer: np.ndarray
    brake: np.ndarray
    hand_brake: np.ndarray  # bool
    reverse: np.ndarray  # bool


def engine_and_resistance(speed_mps: np.ndarray, ctl: BicycleControls,
                          p: BicycleParams) -> tuple[np.ndarray, np.ndarray]:
    """(signed engine acceleration, resistive deceleration magnitude), both m/s^2."""
    v = speed_mps
    direction = np.where(ctl.reverse, -1.0, 1.0)
    top = np.where(ctl.reverse, p.reverse_top_speed_mps, p.top_speed_mps)
    along = np.maximum(v * direction, 0.0)  # speed in the gear's direction
    engine = ctl.throttle * p.max_accel_mps2 * np.maximum(0.0, 1.0 - (along / top) ** 2) * direction
    resist = (ctl.brake + HAND_BRAKE_FRACTION * ctl.hand_brake) * p.max_brake_mps2
    return engine, resist + ROLLING_MPS2 + AERO_PER_M * v * v


def step_bicycle(x: np.ndarray, y: np.ndarray, yaw: np.ndarray, speed: np.ndarray,
                 wheel_angle: np.ndarray, ctl: BicycleControls, p: BicycleParams,
                 dt_s: float, pitch_rad: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """One step of `dt_s` seconds; returns new (x, y, yaw, speed, wheel_angle, yaw_rate_radps).

    Resistive forces never reverse the motion: a braking car comes to rest and stays there, it
    does not roll backwards (as a real car with brakes held). `pitch_rad` (positive nose up)
    adds the slope's share of gravity, -g sin(pitch): a car slows climbing a ramp and an
    unbraked one rolls back down it. Speeds and positions are in the horizontal plane.
    """
    target = np.clip(ctl.steer, -1.0, 1.0) * p.max_steer_rad
    max_delta = p.steer_rate_radps * dt_s
    wheel = wheel_angle + np.clip(target - wheel_angle, -max_delta, max_delta)

    engine, resist = engine_and_resistance(speed, ctl, p)
    if pitch_rad is not None:
        engine = engine - GRAVITY_MPS2 * np.sin(pitch_rad)
    new_speed = speed + engine * dt_s
    # Resistance brings the speed towards zero and stops there (it never pushes backwards).
    mag = np.abs(new_speed) - resist * dt_s
    new_speed = np.where(mag > 0.0, np.sign(new_speed) * mag, 0.0)

    v_mid = 0.5 * (speed + new_speed)
    tan_d = np.tan(wheel)
    beta = np.arctan(0.5 * tan_d)
    yaw_rate = v_mid * np.cos(beta) * tan_d / p.wheelbase_m
    yaw_mid = yaw + 0.5 * yaw_rate * dt_s
    nx = x + v_mid * np.cos(yaw_mid + beta) * dt_s
    ny = y + v_mid * np.sin(yaw_mid + beta) * dt_s
    nyaw = (yaw + yaw_rate * dt_s + np.pi) % (2.0 * np.pi) - np.pi
    return nx, ny, nyaw, new_speed, wheel, yaw_rate


#: An NPC that moved less than this in plan view (metres) in a tick keeps its pitch.
PITCH_MIN_MOVE_M = 0.02


def slope_along(wp: carla.Waypoint, yaw_rad: float) -> float:
    """Pitch (radians, nose up) of the road of waypoint `wp` for a body heading `yaw_rad`."""
    grade = math.tan(math.radians(wp.transform.rotation.pitch))
    return math.atan(grade * math.cos(yaw_rad - math.radians(wp.transform.rotation.yaw)))


def lane_pitch(dx: np.ndarray, dy: np.ndarray, dz: np.ndarray, old: np.ndarray) -> np.ndarray:
    """NPC pitch (radians) from its move along its lane (lane_graph poses carry the lane's z)."""
    run = np.hypot(dx, dy)
    return np.where(run > PITCH_MIN_MOVE_M, np.arctan2(dz, np.maximum(run, 1e-9)), old)


@dataclass
class _SurfacePatch:
    """The road plane found at one lookup: point (metres) and gradient dz/dx, dz/dy."""

    x: float
    y: float
    z: float
    gx: float
    gy: float


class RoadSurface:
    """Height (z, metres) and slope of the road under bodies that move freely (ego, scenario cars).

    Why the lane nearest in 3-D: `carla.Map.get_waypoint` measures distance in 3-D, so asking
    from the body's current base height picks the deck for a car on a bridge and the road
    below for a car under it, where a plan-view lookup could pick either. Why a cache: a
    lookup costs ~10 us of Python and C++; the road is a plane to within centimetres over
    `RELOOK_M`, so between lookups z follows the plane of the last waypoint (its pitch
    along the lane; OpenDRIVE superelevation is ignored).
    """

    RELOOK_M = 0.5

    def __init__(self, carla_map: carla.Map) -> None:
        self.map = carla_map
        self._patches: dict[int, _SurfacePatch] = {}

    def forget(self, key: int) -> None:
        self._patches.pop(key, None)

    def _lookup(self, x: float, y: float, z: float) -> _SurfacePatch | None:
        wp = self.map.get_waypoint(carla.Location(x, y, z), project_to_road=True,
                                   lane_type=carla.LaneType.Any)
        if wp is None:
            return None
        tf = wp.transform
        grade = math.tan(math.radians(tf.rotation.pitch))
        yaw = math.radians(tf.rotation.yaw)
        # the waypoint sits on the lane centre: move its height to (x, y) along the lane slope
        along = (x - tf.location.x) * math.cos(yaw) + (y - tf.location.y) * math.sin(yaw)
        return _SurfacePatch(x, y, tf.location.z + grade * along, grade * math.cos(yaw),
                             grade * math.sin(yaw))

    def estimate(self, key: int, x: float, y: float, z: float) -> float:
        """Road height (m) at (x, y) from the cached plane of body `key`, without a lookup."""
        p = self._patches.get(key)
        return z if p is None else p.z + p.gx * (x - p.x) + p.gy * (y - p.y)

    def follow(self, key: int, x: float, y: float, z: float, yaw_rad: float) -> tuple[float, float]:
        """(road z metres, pitch radians, positive nose up) for body `key` now at (x, y).

        `z` is its current base height (the hint that picks the level); pitch is the road's
        slope along the heading `yaw_rad`.
        """
        p = self._patches.get(key)
        if p is None or math.hypot(x - p.x, y - p.y) > self.RELOOK_M:
            found = self._lookup(x, y, z)
            if found is None:
                return z, 0.0
            p = self._patches[key] = found
        road_z = p.z + p.gx * (x - p.x) + p.gy * (y - p.y)
        return road_z, math.atan(p.gx * math.cos(yaw_rad) + p.gy * math.sin(yaw_rad))
