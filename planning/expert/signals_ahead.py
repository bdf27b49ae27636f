"""Traffic lights and stop signs on the route: where along it the ego must stop, and whether now.

Why precomputed per route: a light's stop waypoints and a stop sign's stop waypoints are fixed,
so each is matched once to the dense route point in the same lane (road id, lane id) within
MATCH_RADIUS_M and heading the same way; per step only the few signals ahead are looked at.
A light governs the ego at the arc length of its matched point (its stop line). Red means stop
before the line; yellow means stop only if possible with `yellow_max_decel_mps2`; a stop sign
means a full stop (< 0.1 m/s) at the line for `stop_sign_wait_s`, then go.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import carla
import numpy as np

from driving.world import StopSignInfo, TrafficLightInfo
from planning.expert.route_tracker import RouteTracker

#: A stop waypoint matches a route point this close (metres) in the same lane.
MATCH_RADIUS_M = 2.0
#: ... and with a heading difference below this (degrees).
MATCH_HEADING_DEG = 45.0
#: A red light still holds the ego when its front bumper is less than this past the line (metres).
RED_OVERSHOOT_M = 3.0
#: Full-stop speed at a stop sign (the official criterion's threshold is 0.1 m/s).
STOPPED_MPS = 0.05
#: A full stop counts for a stop sign when the front bumper is at most this far before its line (m).
STOP_SIGN_NEAR_M = 5.0


@dataclass(frozen=True)
class StopLine:
    """A signal's stop line on the route: signal id, whether a light, and its route arc length (m)."""

    signal_id: int
    is_light: bool
    s_m: float


def match_stop_lines(route: RouteTracker, lights: list[TrafficLightInfo],
                     stops: list[StopSignInfo]) -> list[StopLine]:
    """Every signal whose stop waypoint lies on the route, sorted by arc length."""
    out: list[StopLine] = []
    keys = route.lane_keys
    for signals, is_light in ((lights, True), (stops, False)):
        for sig in signals:
            for wp in sig.stop_waypoints:
                loc = wp.transform.location
                d = np.hypot(route.xy[:, 0] - loc.x, route.xy[:, 1] - loc.y)
                h = math.radians(wp.transform.rotation.yaw)
                dh = np.abs((route.heading - h + np.pi) % (2 * np.pi) - np.pi)
                ok = (d < MATCH_RADIUS_M) & (dh < math.radians(MATCH_HEADING_DEG))
                ok &= np.array([k == (wp.road_id, wp.lane_id) for k in keys])
                if ok.any():
                    k = int(np.argmin(np.where(ok, d, np.inf)))
                    out.append(StopLine(sig.id, is_light, float(route.s[k])))
                    break
    return sorted(out, key=lambda line: line.s_m)


class SignalMonitor:
    """Per-step signal decisions: the stop distance each signal imposes, and the hazard flags."""

    def __init__(self, lines: list[StopLine], yellow_max_decel_mps2: float, stop_sign_wait_s: float) -> None:
        self.lines = lines
        self.yellow_max_decel_mps2 = yellow_max_decel_mps2
        self.stop_sign_wait_s = stop_sign_wait_s
        self._cleared_signs: set[int] = set()
        self._waited_s = 0.0
        self.light_hazard = False
        self.stop_sign_hazard = False
        self.affecting_light: int | None = None

    def stop_distance_m(self, s_front_m: float, speed_mps: float, light_state: dict[int, carla.TrafficLightState],
                        dt_s: float, horizon_m: float) -> float:
        """Distance (m) from the front bumper to the first line the ego must stop at; inf if none.

        `s_front_m` is the arc length of the front bumper; `light_state` maps light id -> state.
        Updates `light_hazard` (red or yellow light the ego stops for) and `stop_sign_hazard`.
        """
        self.light_hazard = False
        self.stop_sign_hazard = False
        self.affecting_light = None
        for line in self.lines:
            gap = line.s_m - s_front_m
            if gap > horizon_m:
                break
            if line.is_light:
                if gap < -RED_OVERSHOOT_M:
                    continue
                self.affecting_light = line.signal_id if self.affecting_light is None else self.affecting_light
                state = light_state.get(line.signal_id, carla.TrafficLightState.Green)
                if state == carla.TrafficLightState.Red:
                    self.light_hazard = True
                    return max(gap, 0.0)
                if state == carla.TrafficLightState.Yellow and gap > 0.0 \
                        and speed_mps * speed_mps / (2.0 * gap) <= self.yellow_max_decel_mps2:
                    self.light_hazard = True
                    return gap
                continue
            if line.signal_id in self._cleared_signs or gap < -RED_OVERSHOOT_M:
                continue
            self.stop_sign_hazard = True
            if speed_mps < STOPPED_MPS and gap < STOP_SIGN_NEAR_M:
                self._waited_s += dt_s
                if self._waited_s >= self.stop_sign_wait_s:
                    self._cleared_signs.add(line.signal_id)
                    self._waited_s = 0.0
                    self.stop_sign_hazard = False
                    continue
            return max(gap, 0.0)
        return math.inf
