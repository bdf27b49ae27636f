"""The dense route as arrays, and where the ego is along it.

Why arrays: the expert asks every step for points ahead, curvature, lanes and junction flags
along the next tens of metres; precomputing them once per route (1 m spaced points from the
route planner) keeps a step at a few microseconds of numpy work instead of map queries.
Positions are CARLA world metres; `s` is arc length along the route in metres.
"""
from __future__ import annotations

import math
from typing import Any

import carla
import numpy as np

from planning.road_option import RoadOption

#: How far ahead (route points) the localisation searches for the nearest point each step.
SEARCH_WINDOW_PTS = 40
#: Arc length (metres) over which the heading change is measured for curvature.
CURVATURE_BASE_M = 4.0
#: A downsampled target point closer than this (metres along the route) is considered reached.
TARGET_REACHED_M = 7.5
#: A step between consecutive route points longer than this (metres) is a lane change jump.
LANE_CHANGE_JUMP_M = 2.5
#: Distance (metres) over which the expert's path moves across to the new lane.
LANE_CHANGE_BLEND_M = 12.0
#: Fewest route points a blend may use (shorter room: blend after the jump instead of before).
MIN_BLEND_PTS = 4


def smooth_lane_changes(xy: np.ndarray, junction: np.ndarray) -> np.ndarray:
    """The route with each lane-change jump replaced by a gradual move across (metres, world xy).

    The route planner (as CARLA's) changes lane by jumping one lane width sideways between two
    consecutive 1 m points. Pure pursuit with a short look-ahead would swerve at that point (and
    off the road when the route changes lane right at the spawn), so the path the expert steers
    along shifts the points before the jump progressively by the jump's sideways part over
    `LANE_CHANGE_BLEND_M`, never into a junction or a previous lane change. Where there is no
    room before (the route's first metres) the points after the jump are blended instead.
    """
    out = xy.copy()
    steps = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    if not len(steps):
        return out
    spacing = max(float(np.median(steps)), 0.1)
    jumps = np.nonzero(steps > LANE_CHANGE_JUMP_M)[0]
    n_blend = max(MIN_BLEND_PTS, round(LANE_CHANGE_BLEND_M / spacing))
    free_from = 0  # first index a backward blend may touch
    for k, i in enumerate(jumps):
        if junction[i] or junction[i + 1]:
            free_from = i + 1
            continue
        ref = i - 1 if i > 0 else i + 1
        along = xy[i] - xy[ref] if ref < i else xy[ref + 1] - xy[ref]
        norm = float(np.hypot(*along))
        if norm < 1e-6:
            continue
        along = along / norm
        jump = xy[i + 1] - xy[i]
        offset = jump - along * float(jump @ along)  # the sideways part of the jump
        room_back = i - max(free_from, int(np.max(np.nonzero(junction[:i + 1])[0], initial=-1)) + 1)
        if room_back + 1 >= MIN_BLEND_PTS:
            n = min(n_blend, room_back + 1)
            t = np.arange(1, n + 1) / (n + 1)  # rises towards the jump
            out[i - n + 1:i + 1] += t[:, None] * offset
        else:
            end = jumps[k + 1] if k + 1 < len(jumps) else len(xy) - 1
            nxt_j = np.nonzero(junction[i + 1:])[0]
            if len(nxt_j):
                end = min(end, i + 1 + int(nxt_j[0]))
            n = min(n_blend, end - i - 1)
            if n >= 1:
                t = np.arange(n, 0, -1) / (n + 1)  # falls away from the jump
                out[i + 1:i + 1 + n] -= t[:, None] * offset
        free_from = i + 1
    return out


def _option(value: Any) -> RoadOption:
    try:
        return RoadOption(int(getattr(value, "value", value)))
    except (ValueError, TypeError):
        return RoadOption.LANEFOLLOW


class RouteTracker:
    """Dense route (N points) with arc length, heading, curvature, lane keys and junction flags."""

    def __init__(self, dense_plan: list[tuple[carla.Transform, Any]], carla_map: carla.Map,
                 sparse_plan: list[tuple[carla.Transform, Any]] | None = None) -> None:
        if len(dense_plan) < 2:
            raise ValueError(f"the expert needs a route of at least 2 points, got {len(dense_plan)}")
        planned = np.array([[t.location.x, t.location.y] for t, _ in dense_plan], dtype=np.float64)
        self.z = np.array([t.location.z for t, _ in dense_plan], dtype=np.float64)
        self.options = [_option(o) for _, o in dense_plan]
        self.junction = np.zeros(len(planned), dtype=bool)
        self.lane_keys: list[tuple[int, int]] = []
        for i, (t, _) in enumerate(dense_plan):
            wp = carla_map.get_waypoint(t.location, project_to_road=True, lane_type=carla.LaneType.Driving)
            self.junction[i] = bool(wp is not None and wp.is_junction)
            self.lane_keys.append((wp.road_id, wp.lane_id) if wp is not None else (-1, 0))
        #: The path the expert drives: the planned points with lane changes made gradual.
        self.xy = smooth_lane_changes(planned, self.junction)
        steps = np.linalg.norm(np.diff(self.xy, axis=0), axis=1)
        self.s = np.concatenate([[0.0], np.cumsum(steps)])
        d = np.diff(self.xy, axis=0)
        heading = np.arctan2(d[:, 1], d[:, 0])
        self.heading = np.concatenate([heading, heading[-1:]])
        self.curvature = self._curvature()
        self.index = 0
        self.s_ego = 0.0
        self._sparse = self._sparse_indices(sparse_plan or [])

    def __len__(self) -> int:
        return len(self.xy)

    @property
    def length_m(self) -> float:
        return float(self.s[-1])

    def _curvature(self) -> np.ndarray:
        """|heading change| / arc length over CURVATURE_BASE_M centred on each point (1/m)."""
        n = len(self.xy)
        lo = np.searchsorted(self.s, self.s - CURVATURE_BASE_M / 2, side="left")
        hi = np.minimum(np.searchsorted(self.s, self.s + CURVATURE_BASE_M / 2, side="right") - 1, n - 1)
        dh = np.abs((self.heading[hi] - self.heading[lo] + np.pi) % (2 * np.pi) - np.pi)
        ds = np.maximum(self.s[hi] - self.s[lo], 0.5)
        return dh / ds

    def _sparse_indices(self, sparse_plan: list[tuple[carla.Transform, Any]]) -> list[tuple[int, RoadOption]]:
        """Dense index and command of each downsampled point (the target points a model sees)."""
        out: list[tuple[int, RoadOption]] = []
        start = 0
        for t, option in sparse_plan:
            d = np.hypot(self.xy[start:, 0] - t.location.x, self.xy[start:, 1] - t.location.y)
            k = start + int(np.argmin(d))
            out.append((k, _option(option)))
            start = k
        if not out:  # no sparse plan: use the last point
            out.append((len(self.xy) - 1, self.options[-1]))
        return out

    def update(self, x: float, y: float) -> int:
        """Advance the ego's route index to the nearest point ahead (never backwards); returns it."""
        lo = self.index
        hi = min(lo + SEARCH_WINDOW_PTS, len(self.xy))
        d = np.hypot(self.xy[lo:hi, 0] - x, self.xy[lo:hi, 1] - y)
        k = lo + int(np.argmin(d))
        # project onto the segment after k so s_ego is continuous between points
        k2 = min(k + 1, len(self.xy) - 1)
        seg = self.xy[k2] - self.xy[k]
        length = float(np.hypot(*seg))
        t = 0.0 if length < 1e-6 else float(np.clip(((x - self.xy[k, 0]) * seg[0] + (y - self.xy[k, 1]) * seg[1])
                                                     / length ** 2, -1.0, 1.0))
        if t < 0.0 and k > lo:  # between the previous point and k (never behind the last index)
            k -= 1
            t += 1.0
            k2 = k + 1
        t = max(t, 0.0)
        self.index = k
        self.s_ego = float(self.s[k] + t * (self.s[k2] - self.s[k]))
        return k

    def lateral_error_m(self, x: float, y: float) -> float:
        """Signed distance (metres, + right of the route) from the route point at the ego index."""
        h = self.heading[self.index]
        dx, dy = x - self.xy[self.index, 0], y - self.xy[self.index, 1]
        return float(-math.sin(h) * dx + math.cos(h) * dy)

    def point_at(self, s_m: float) -> np.ndarray:
        """World (x, y) at arc length `s_m`, clamped to the route ends (linear between points)."""
        s_m = float(np.clip(s_m, 0.0, self.s[-1]))
        k = int(np.clip(np.searchsorted(self.s, s_m, side="right") - 1, 0, len(self.s) - 2))
        span = self.s[k + 1] - self.s[k]
        t = 0.0 if span < 1e-9 else (s_m - self.s[k]) / span
        return self.xy[k] + t * (self.xy[k + 1] - self.xy[k])

    def ahead(self, distance_m: float) -> slice:
        """Route indices from the ego index up to `distance_m` further along."""
        hi = int(np.searchsorted(self.s, self.s_ego + distance_m, side="right"))
        return slice(self.index, max(hi, self.index + 1))

    def in_junction_ahead(self, distance_m: float) -> bool:
        return bool(self.junction[self.ahead(distance_m)].any())

    def target(self) -> tuple[np.ndarray, RoadOption, RoadOption]:
        """(target point world xy, its command, the command after it) from the downsampled plan.

        As TransFuser's route planner: the first downsampled point more than TARGET_REACHED_M
        ahead of the ego is the target; the last one stays the target until the route ends.
        """
        sparse = self._sparse
        j = next((j for j, (k, _) in enumerate(sparse) if self.s[k] > self.s_ego + TARGET_REACHED_M),
                 len(sparse) - 1)
        k, option = sparse[j]
        next_option = sparse[j + 1][1] if j + 1 < len(sparse) else option
        return self.xy[k].copy(), option, next_option

    def remaining_m(self) -> float:
        return float(self.s[-1] - self.s_ego)
