"""Traffic lights and stop signs on the route: where along it the ego must stop, and whether now.

Why precomputed per route: a light's stop waypoints and a stop sign's stop waypoints are fixed,
so each is matched once to the dense route point in the same lane (road id, lane id) within
MATCH_RADIUS_M and heading the same way, else to one on a neighbouring lane of the same road and
direction within NEXT_LANE_RADIUS_M (the route's own lane-centre points, not the smoothed path); per step only the few signals ahead are looked at.
A light governs the ego at the arc length of its matched point (its stop line). Red means stop
before the line. Yellow means stop if possible with `yellow_max_decel_mps2`; otherwise go only
if the ego's tail clears the junction entry (where the official red-light test draws its line,
`entry_s_m`) before the yellow ends at the current speed, and stop with up to
`HARD_DECEL_MPS2` when it would not (the yellow time left is measured from when the ego saw
it turn, `yellow_s` long as CARLA's default). A stop sign means a full stop (< 0.1 m/s) at the
line for `stop_sign_wait_s`, then go.
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
#: Else a stop waypoint this close (metres) on a lane of the same road and direction matches
#: (routes that change lane at a stop line, common on CARLA's Town05: the light covers both).
NEXT_LANE_RADIUS_M = 4.5
#: A stop sign still holds the ego when its front bumper is less than this past the line (m).
RED_OVERSHOOT_M = 3.0
#: The official red-light test watches a segment from the ego's centre back to this far behind
#: its rear bumper (m): a red light holds the ego until that end is past the junction entry.
#: Why: released with its front 3 m past the entry, the ego stood in a queue with its tail before
#: the entry when the light turned red, moved on and ran it (Town04 testing route 14).
TAIL_CHECK_M = 1.0
#: Full-stop speed at a stop sign (the official criterion's threshold is 0.1 m/s).
STOPPED_MPS = 0.05
#: A full stop counts for a stop sign when the front bumper is at most this far before its line (m).
STOP_SIGN_NEAR_M = 5.0
#: On a yellow the ego cannot clear in time it brakes up to this hard (m/s^2).
HARD_DECEL_MPS2 = 7.0
#: The junction entry counts for a light when it is at most this far past the stop line (m).
ENTRY_MAX_M = 15.0
#: Matches of one signal this far apart along the route (m) are separate passages over its line.
PASSAGE_GAP_M = 30.0


@dataclass(frozen=True)
class StopLine:
    """A signal's stop line on the route: signal id, whether a light, its route arc length (m) and
    the arc length of the junction entry after it (the line the official red-light test uses)."""

    signal_id: int
    is_light: bool
    s_m: float
    entry_s_m: float = math.nan


def match_stop_lines(route: RouteTracker, lights: list[TrafficLightInfo],
                     stops: list[StopSignInfo]) -> list[StopLine]:
    """Every passage of the route over a signal's stop line, sorted by arc length.

    A route that comes back to a junction approach (loops in the official routes do) meets the
    same light again: each passage more than `PASSAGE_GAP_M` of route after the previous one is
    a stop line of its own."""
    out: list[StopLine] = []
    for signals, is_light in ((lights, True), (stops, False)):
        for sig in signals:
            best: dict[int, tuple[float, int]] = {}  # passage -> (distance, route index)
            for wp in sig.stop_waypoints:
                d, ok = _stop_matches(route, wp)
                for k in np.nonzero(ok)[0]:
                    passage = int(route.s[k] // PASSAGE_GAP_M)
                    if passage not in best or d[k] < best[passage][0]:
                        best[passage] = (float(d[k]), int(k))
            kept: list[int] = []
            for _, k in sorted(best.values(), key=lambda item: item[1]):
                if kept and route.s[k] - route.s[kept[-1]] < PASSAGE_GAP_M:
                    continue  # the same passage split over two bins
                kept.append(k)
            out.extend(StopLine(sig.id, is_light, float(route.s[k]), _entry_after(route, k)) for k in kept)
    return sorted(out, key=lambda line: line.s_m)


def _stop_matches(route: RouteTracker, wp: carla.Waypoint) -> tuple[np.ndarray, np.ndarray]:
    """Distances (m) from `wp` to the route's lane-centre points, and which of them match it."""
    loc = wp.transform.location
    d = np.hypot(route.planned_xy[:, 0] - loc.x, route.planned_xy[:, 1] - loc.y)
    h = math.radians(wp.transform.rotation.yaw)
    dh = np.abs((route.heading - h + np.pi) % (2 * np.pi) - np.pi)
    aligned = dh < math.radians(MATCH_HEADING_DEG)
    keys = route.lane_keys
    ok = (d < MATCH_RADIUS_M) & aligned & np.array([k == (wp.road_id, wp.lane_id) for k in keys])
    if not ok.any():  # the route changes lane at the line: a lane beside it, same road and way
        ok = (d < NEXT_LANE_RADIUS_M) & aligned & np.array([k[0] == wp.road_id and k[1] * wp.lane_id > 0
                                                             for k in keys])
    return d, ok


def _entry_after(route: RouteTracker, k: int) -> float:
    """Arc length (m) of the first junction point after route index k, if within ENTRY_MAX_M."""
    inside = np.nonzero(route.junction[k:])[0]
    entry = float(route.s[k + inside[0]]) if len(inside) else math.nan
    return entry if entry - route.s[k] <= ENTRY_MAX_M else float(route.s[k])


class SignalMonitor:
    """Per-step signal decisions: the stop distance each signal imposes, and the hazard flags."""

    def __init__(self, lines: list[StopLine], yellow_max_decel_mps2: float, stop_sign_wait_s: float,
                 yellow_s: float = 3.0, ego_length_m: float = 4.6) -> None:
        self.lines = lines
        self.yellow_max_decel_mps2 = yellow_max_decel_mps2
        self.stop_sign_wait_s = stop_sign_wait_s
        self.yellow_s = yellow_s
        self.ego_length_m = ego_length_m
        self._yellow_since: dict[int, float] = {}  # light id -> game time it was first seen yellow
        self._time_s = 0.0
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
        self._time_s += dt_s
        for line in self.lines:
            gap = line.s_m - s_front_m
            if gap > horizon_m:
                break
            if line.is_light:
                if _entry(line) - s_front_m < -self.passed_m():  # tail through the junction entry: passed
                    continue
                self.affecting_light = line.signal_id if self.affecting_light is None else self.affecting_light
                state = light_state.get(line.signal_id, carla.TrafficLightState.Green)
                if state == carla.TrafficLightState.Red:
                    self.light_hazard = True
                    return max(gap, 0.0)
                if state == carla.TrafficLightState.Yellow:
                    since = self._yellow_since.setdefault(line.signal_id, self._time_s)
                    # crept past the stop line in a queue: the junction entry is the line that counts
                    target = gap if gap > 0.0 else _entry(line) - s_front_m
                    if target > 0.0 and self._stops_on_yellow(line, target, s_front_m, speed_mps, since):
                        self.light_hazard = True
                        return target
                else:
                    self._yellow_since.pop(line.signal_id, None)
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

    def light_entry_ahead_m(self, s_front_m: float, within_m: float) -> float:
        """Arc length (m) of the junction entry of the first light whose entry the front has not
        reached, if within `within_m` of the front; nan if none."""
        for line in self.lines:
            if line.is_light and 0.0 < _entry(line) - s_front_m <= within_m:
                return _entry(line)
        return math.nan

    def passed_m(self) -> float:
        """How far (m) past the junction entry the front must be for a light to be passed: the
        whole car and TAIL_CHECK_M behind it are through."""
        return self.ego_length_m + TAIL_CHECK_M

    def _stops_on_yellow(self, line: StopLine, gap_m: float, s_front_m: float, speed_mps: float,
                         since_s: float) -> bool:
        """Stop for this yellow: comfortably if possible, else unless the tail clears the junction
        entry before the yellow ends (then hard, if that still stops the car)."""
        need = speed_mps * speed_mps / (2.0 * gap_m)
        if need <= self.yellow_max_decel_mps2:
            return True
        to_clear = _entry(line) - s_front_m + self.passed_m()
        left_s = max(self.yellow_s - (self._time_s - since_s), 0.0)
        if to_clear <= speed_mps * left_s:
            return False
        return need <= HARD_DECEL_MPS2


def _entry(line: StopLine) -> float:
    """Arc length (m) of the line the official red-light test uses: the junction entry, else the stop line."""
    return line.entry_s_m if math.isfinite(line.entry_s_m) else line.s_m
