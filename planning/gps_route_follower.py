"""Route following from GNSS and compass, as TransFuser/LeTFuser agents do, in exact local metres.

A sensor agent gets its route as (lat, lon) points with RoadOptions and localises with a GNSS
fix and an IMU compass; it must turn both into the target point the model was trained on
(ego frame: x forward, y right, metres).

Local frame: TransFuser multiplies (lat, lon) by a fixed (111324.6, 111319.5) m/deg, right only
near lat_ref 0 (CARLA 0.9.10's towns); the bundled towns sit at lat 49, where that is 34 % off
in x. Here every (lat, lon) goes through the leaderboard's own Mercator inverse
(`planning.gps.gps_to_location`) with the FIRST route point as the reference: that needs no map
knowledge and gives CARLA's axes (x east, y south) up to a constant offset and a uniform scale
cos(lat_first) / cos(lat_map) = 1 - tan(lat) * dy / R for a first point dy metres north-south
of the map origin: 2e-5 per 100 m at lat 49, i.e. < 1 mm on a 50 m target vector. Since the ego
fix and the route share the frame, the offset cancels.

Target selection is TransFuser's RoutePlanner.run_step: among the points up to `lookahead_m`
of route ahead, the farthest one within `pop_distance_m` of the ego is reached and everything
before it popped (at least 2 points stay); the target is the point after it.

Guards (a sensor glitch must not steer the car off the road): a NaN compass keeps the last valid
one (0 before any); a fix more than `max_jump_m` from the last accepted position is ignored once
(counted in `jumps_ignored`); a second fix that agrees with the rejected one is accepted, so a
real relocation is followed after one step.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from driving.errors import InputError
from driving.geometry import world_to_ego
from planning.gps import gps_to_location
from planning.road_option import RoadOption

#: The command a VOID (-1) or unknown RoadOption is fed as (the dataset does the same).
FALLBACK_OPTION = RoadOption.LANEFOLLOW


def road_option(value: Any) -> RoadOption:
    """A route point's RoadOption (enum, or its value); VOID and unknown values -> LANEFOLLOW."""
    try:
        option = RoadOption(int(getattr(value, "value", value)))
    except (TypeError, ValueError):
        return FALLBACK_OPTION
    return FALLBACK_OPTION if option == RoadOption.VOID else option


@dataclass(frozen=True)
class RouteTarget:
    """One step of route following: where the ego is and where the model should go."""

    position_m: np.ndarray  # [2] ego position, local frame (CARLA axes, metres from the first route point)
    compass_rad: float  # the compass used (after the NaN guard)
    target_world_m: np.ndarray  # [2] target point, local frame
    target_ego_m: np.ndarray  # [2] target point, ego frame (x forward, y right), float32
    option: RoadOption  # the target point's command (never VOID)


class GpsRouteFollower:
    """Follows a (lat, lon) route from GNSS fixes and compass readings (see the module docstring)."""

    def __init__(self, pop_distance_m: float = 4.0, lookahead_m: float = 50.0, max_jump_m: float = 10.0) -> None:
        if not (pop_distance_m > 0.0 and lookahead_m > 0.0 and max_jump_m > 0.0):
            raise InputError(f"route follower: pop_distance_m, lookahead_m and max_jump_m must be > 0 m, got "
                             f"{pop_distance_m}, {lookahead_m}, {max_jump_m}")
        self.pop_distance_m = pop_distance_m
        self.lookahead_m = lookahead_m
        self.max_jump_m = max_jump_m
        self._ref: tuple[float, float] | None = None
        self._points = np.zeros((0, 2))
        self._options: list[RoadOption] = []
        self._first = 0
        self._position: np.ndarray | None = None
        self._rejected: np.ndarray | None = None
        self._compass = 0.0
        self.jumps_ignored = 0

    # ---- route ------------------------------------------------------------------------------
    def set_route(self, global_plan_gps: Sequence[tuple[dict, Any]]) -> None:
        """Take the plan as `set_global_plan` gives it: [({'lat', 'lon', 'z'}, RoadOption), ...]."""
        if not global_plan_gps:
            raise InputError("route follower: the route is empty (set_global_plan gave no points)")
        try:
            lat0, lon0 = float(global_plan_gps[0][0]["lat"]), float(global_plan_gps[0][0]["lon"])
            self._ref = (lat0, lon0)
            self._points = np.array([self.to_local_m(p["lat"], p["lon"]) for p, _ in global_plan_gps])
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise InputError(f"route follower: route points must be ({{'lat', 'lon', 'z'}}, RoadOption), "
                             f"got {global_plan_gps[0]!r} ({exc})") from None
        if not np.isfinite(self._points).all():
            raise InputError("route follower: the route has non-finite lat/lon")
        self._options = [road_option(option) for _, option in global_plan_gps]
        self._first = 0
        self._position = self._rejected = None

    @property
    def has_route(self) -> bool:
        return self._ref is not None

    @property
    def remaining(self) -> int:
        """Route points not yet popped (the one reached last included)."""
        return len(self._points) - self._first

    def to_local_m(self, lat_deg: float, lon_deg: float) -> np.ndarray:
        """(lat, lon) -> local frame metres (CARLA axes, origin at the first route point)."""
        if self._ref is None:
            raise InputError("route follower: no route yet (call set_route first)")
        loc = gps_to_location(self._ref[0], self._ref[1], (float(lat_deg), float(lon_deg), 0.0))
        return np.array([loc.x, loc.y])

    def run_step(self, position_m: np.ndarray) -> tuple[np.ndarray, RoadOption]:
        """Pop the points reached from `position_m` (local frame); (target point, its command)."""
        if self._ref is None:
            raise InputError("route follower: no route yet (call set_route first)")
        points, first = self._points, self._first
        if len(points) - first == 1:
            return points[first].copy(), self._options[first]
        ahead = points[first:]
        seg = np.linalg.norm(np.diff(ahead, axis=0), axis=1)
        # point i (>= 1 after `first`) is examined while the route before it is <= lookahead
        before = np.concatenate([[0.0], np.cumsum(seg)[:-1]])
        considered = np.flatnonzero(before <= self.lookahead_m) + 1
        dist = np.linalg.norm(ahead[considered] - np.asarray(position_m, np.float64), axis=1)
        in_range = dist <= self.pop_distance_m
        if in_range.any():
            best = int(np.argmax(np.where(in_range, dist, -np.inf)))  # farthest in range, first on ties
            self._first = min(first + int(considered[best]), len(points) - 2)
        return points[self._first + 1].copy(), self._options[self._first + 1]

    # ---- sensors ----------------------------------------------------------------------------
    def position_from_gnss(self, gnss: Sequence[float]) -> np.ndarray:
        """GNSS [lat, lon, (alt)] -> local position, ignoring a one-step jump > max_jump_m."""
        fix = self.to_local_m(gnss[0], gnss[1])
        if not np.isfinite(fix).all():
            if self._position is None:
                raise InputError(f"route follower: GNSS fix {list(gnss)} is not finite and there is no earlier one")
            self.jumps_ignored += 1
            return self._position.copy()
        if self._position is not None and np.linalg.norm(fix - self._position) > self.max_jump_m:
            confirmed = self._rejected is not None and np.linalg.norm(fix - self._rejected) <= self.max_jump_m
            if not confirmed:
                self._rejected = fix
                self.jumps_ignored += 1
                return self._position.copy()
        self._rejected = None
        self._position = fix
        return fix.copy()

    def compass(self, compass_rad: float) -> float:
        """The IMU compass (rad, CARLA: yaw + pi/2), or the last valid one when it is NaN."""
        value = float(compass_rad)
        if math.isfinite(value):
            self._compass = value
        return self._compass

    def step(self, gnss: Sequence[float], compass_rad: float) -> RouteTarget:
        """One frame: guarded position and compass, popped route, target in the ego frame."""
        position = self.position_from_gnss(gnss)
        compass = self.compass(compass_rad)
        target, option = self.run_step(position)
        return RouteTarget(position, compass, target, world_to_ego(target, position, compass), option)
