"""The dense route as arrays, for placing scenarios on it and following the ego along it.

Positions in metres (CARLA world frame), yaws in degrees (as `carla.Rotation`), one command per
point, cumulative distance along the route. Built once per route from
`interpolate_trajectory(...).world` (points about 1 m apart).
"""
from __future__ import annotations

import typing

import carla
import numpy as np

from planning.road_option import RoadOption

RoutePlan = typing.Sequence[typing.Tuple[carla.Transform, RoadOption]]
#: Commands that do not decide a junction turn (the route is not at a junction yet).
NOT_A_TURN = frozenset({RoadOption.LANEFOLLOW, RoadOption.CHANGELANELEFT, RoadOption.CHANGELANERIGHT})
#: How far ahead of its last known index the ego is searched for each tick (m of route points).
_PROGRESS_WINDOW_POINTS = 60


class RouteGeometry:
    """The dense route: `xyz` (N, 3) m, `yaw_deg` (N,), `options` (N,), `distance_m` (N,) m."""

    def __init__(self, plan: RoutePlan) -> None:
        self.xyz = np.array([(t.location.x, t.location.y, t.location.z) for t, _ in plan], dtype=float)
        self.xyz = self.xyz.reshape(-1, 3)
        self.yaw_deg = np.array([t.rotation.yaw for t, _ in plan], dtype=float)
        self.options = [RoadOption(o) for _, o in plan]
        steps = np.linalg.norm(np.diff(self.xyz, axis=0), axis=1) if len(plan) > 1 else np.zeros(0)
        self.distance_m = np.concatenate([[0.0], np.cumsum(steps)])
        self._turn_runs = self._runs(self.options)
        self._progress_index = 0

    def __len__(self) -> int:
        return len(self.xyz)

    @property
    def length_m(self) -> float:
        return float(self.distance_m[-1]) if len(self.distance_m) else 0.0

    def next_turn(self, index: int) -> RoadOption | None:
        """The first command from `index` on that is not lane-follow/lane-change (None: none)."""
        return next((o for o in self.options[index:] if o not in NOT_A_TURN), None)

    def index_at(self, distance_m: float) -> int:
        """The last route point at or before `distance_m` along the route (clamped)."""
        i = int(np.searchsorted(self.distance_m, distance_m, side="right")) - 1
        return min(max(i, 0), len(self.xyz) - 1)

    def transform_at(self, distance_m: float) -> carla.Transform:
        """The route point at or before `distance_m`, as a transform (yaw in degrees)."""
        i = self.index_at(distance_m)
        x, y, z = self.xyz[i]
        return carla.Transform(carla.Location(float(x), float(y), float(z)), carla.Rotation(yaw=float(self.yaw_deg[i])))

    def progress_m(self, x: float, y: float) -> float:
        """The ego's distance along the route: its nearest point in a window ahead of the last one.

        Searching forward from the last match keeps a route that passes the same place twice (a
        loop, a bridge over itself) from jumping to the wrong pass.
        """
        if not len(self.xyz):
            return 0.0
        lo = self._progress_index
        hi = min(len(self.xyz), lo + _PROGRESS_WINDOW_POINTS)
        d = np.hypot(self.xyz[lo:hi, 0] - x, self.xyz[lo:hi, 1] - y)
        k = int(np.argmin(d))
        if d[k] > 10.0:  # lost (respawn, long detour): search the whole route once
            d_all = np.hypot(self.xyz[:, 0] - x, self.xyz[:, 1] - y)
            self._progress_index = int(np.argmin(d_all))
        else:
            self._progress_index = lo + k
        return float(self.distance_m[self._progress_index])

    def turn_junction_m(self, from_m: float) -> tuple[float, float] | None:
        """(entry, exit) route distances of the first junction turn (a LEFT/RIGHT/STRAIGHT run of
        points) at or after `from_m` (entry clipped to `from_m` inside a junction); None when the
        route has none ahead."""
        start = self.index_at(from_m)
        run = next(((first, last) for first, last in self._turn_runs if last >= start), None)
        if run is None:
            return None
        return float(self.distance_m[max(run[0], start)]), float(self.distance_m[run[1]])

    def junction_runs(self) -> list[tuple[float, float, RoadOption]]:
        """Every junction the route crosses: (entry, exit) route distances (m) and its turn."""
        return [(float(self.distance_m[first]), float(self.distance_m[last]), self.options[first])
                for first, last in self._turn_runs]

    @staticmethod
    def _runs(options: list[RoadOption]) -> list[tuple[int, int]]:
        """(first, last) point index of every run of one junction command (LEFT/RIGHT/STRAIGHT)."""
        runs: list[tuple[int, int]] = []
        i = 0
        while i < len(options):
            if options[i] in NOT_A_TURN:
                i += 1
                continue
            j = i
            while j + 1 < len(options) and options[j + 1] == options[i]:
                j += 1
            runs.append((i, j))
            i = j + 1
        return runs
