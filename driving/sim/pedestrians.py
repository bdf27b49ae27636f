"""Pedestrians: walk the layout's sidewalk paths, cross at crosswalks when the road is clear.

Why paths and not a navmesh: the layout already gives the middle line of every sidewalk
(`Layout.sidewalk_paths`) and the crosswalk polygons; walking along those polylines keeps
walkers on sidewalks by construction and costs one vectorised interpolation per tick.

Modes per walker:
- PATH: moves along a sidewalk polyline (`direction` +1/-1). Passing the foot of a crosswalk it
  crosses with probability `cross_probability`; at a path end it continues on a path that
  starts within `JOIN_M` (walking over to that start in TARGET mode when it is more than
  `STEP_OVER_M` away), or turns around.
- WAIT: at a crosswalk foot until no vehicle is in or near the crossing (`CLEAR_RADIUS_M`).
- TARGET: walks straight to a point (crossing, or a scenario's `set_walker_target`); a crossing
  walker joins the path on the other side, a scripted one stops there.
- IDLE: stands still.
Speeds in m/s, positions in metres (CARLA x, y). A walker on a path stands at the path's height
(`path_z`, the sidewalk surface under it, so one on a bridge's sidewalk is on the bridge);
off a path it keeps its last height.
"""
from __future__ import annotations

import numpy as np
import shapely

from driving.sim.walker_kernel import walks_into_box

PATH, WAIT, TARGET, IDLE = 0, 1, 2, 3
JOIN_M = 3.0
#: A path start closer than this (metres) is stepped onto at once; a farther one (up to JOIN_M)
#: is walked to: snapping there moved a walker 2.2 m in one tick, into the side of a car standing
#: next to the sidewalk (a pedestrian collision for the ego on CARLA's Town04, training route 35).
STEP_OVER_M = 0.1
#: A crosswalk end joins a sidewalk path when a path point lies this close (metres).
CROSSWALK_REACH_M = 4.0
#: The road counts as clear when no moving vehicle is within this distance of the crossing.
CLEAR_RADIUS_M = 15.0
#: A crossing walker looks this far ahead (metres) and waits for moving vehicles whose centre is
#: closer than VEHICLE_CLEARANCE_M to that point.
WALKER_PROBE_M = 1.5
VEHICLE_CLEARANCE_M = 4.0
#: A walker never steps closer than this (metres) to a vehicle's box: one that stood on the
#: crosswalk in a queue was walked into (a pedestrian collision for the ego on CARLA's Town02).
WALKER_RADIUS_M = 0.3
#: A walker that a standing vehicle blocks this long (s) turns back: on a crossing to where it
#: started, on a sidewalk path the way it came.
GIVE_UP_S = 4.0


class Pedestrians:
    """Every walker of one world as rows of arrays; `rows[i]` is its row in the body arrays."""

    def __init__(self, paths: list[np.ndarray], crosswalks: list[shapely.Polygon],
                 rng: np.random.Generator, cross_probability: float = 0.5,
                 path_z: list[np.ndarray] | None = None):
        self.rng = rng
        self.cross_probability = cross_probability
        if path_z is None or len(path_z) != len(paths):
            path_z = [None] * len(paths)
        kept = [(p, z) for p, z in zip(paths, path_z) if len(p) >= 2]
        paths = [np.asarray(p, np.float64)[:, :2] for p, _ in kept]
        self.has_z = bool(kept) and all(z is not None and len(z) == len(p) for p, z in kept)
        self._z = np.concatenate([np.asarray(z, np.float64) for _, z in kept]) if self.has_z \
            else np.zeros(sum(len(p) for p in paths))
        self.paths = paths
        self.cum = [np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p, axis=0).T))]) for p in paths]
        self.path_len = np.array([c[-1] for c in self.cum]) if paths else np.zeros(0)
        # Flat copies for vectorised interpolation: path k owns points off[k]:off[k]+n[k], and
        # gcum = base[k] + cum is increasing over the whole concatenation.
        self._n = np.array([len(q) for q in paths], np.int64)
        self._off = np.concatenate([[0], np.cumsum(self._n)[:-1]]).astype(np.int64) if paths \
            else np.zeros(0, np.int64)
        self._base = np.concatenate([[0.0], np.cumsum(self.path_len + 1.0)[:-1]]) if paths else np.zeros(0)
        self._pts = np.concatenate(paths) if paths else np.zeros((0, 2))
        self._gcum = np.concatenate([b + c for b, c in zip(self._base, self.cum)]) if paths else np.zeros(0)
        self._joins = self._endpoint_joins()
        self.cross_path, self.cross_s, self.cross_to_path, self.cross_to_s = self._crossings(crosswalks)
        self.rows = np.zeros(0, np.int64)
        self.mode = np.zeros(0, np.int64)
        self.path = np.zeros(0, np.int64)
        self.s = np.zeros(0)
        self.direction = np.zeros(0)
        self.speed = np.zeros(0)
        self.target = np.zeros((0, 2))
        self.target_path = np.zeros(0, np.int64)  # path joined on arrival (-1: stop there)
        self.target_s = np.zeros(0)
        self.autopilot = np.zeros(0, np.bool_)
        self.blocked_s = np.zeros(0)  # how long a vehicle's box has stopped it (s)

    # ---- precomputation ---------------------------------------------------------------
    def _endpoint_joins(self) -> dict[tuple[int, int], list[tuple[int, int]]]:
        # (path, end 0|1) -> [(other path, other end)] with endpoints within JOIN_M.
        ends = [(k, e, p[0] if e == 0 else p[-1]) for k, p in enumerate(self.paths) for e in (0, 1)]
        joins: dict[tuple[int, int], list[tuple[int, int]]] = {}
        if not ends:
            return joins
        pts = np.array([pt for _, _, pt in ends])
        for a, (k, e, pt) in enumerate(ends):
            d = np.hypot(*(pts - pt).T)
            joins[(k, e)] = [(ends[b][0], ends[b][1]) for b in np.nonzero(d < JOIN_M)[0]
                             if ends[b][0] != k]
        return joins

    def _nearest_on_paths(self, point: np.ndarray, z: float | None = None) -> tuple[int, float, float]:
        # (path, s, distance) of the path point nearest to `point` (in 3-D when `z` is given,
        # so a walker placed on a bridge joins the bridge's sidewalk, not the one below).
        best = (-1, 0.0, np.inf)
        for k, p in enumerate(self.paths):
            d = np.hypot(*(p - point).T)
            if z is not None and self.has_z:
                d = np.hypot(d, self._z[self._off[k]:self._off[k] + self._n[k]] - z)
            i = int(np.argmin(d))
            if d[i] < best[2]:
                best = (k, float(self.cum[k][i]), float(d[i]))
        return best

    def _crossings(self, crosswalks: list[shapely.Polygon]) -> tuple[np.ndarray, ...]:
        # One directed crossing per crosswalk end that reaches a sidewalk path on both sides.
        rows = []
        for poly in crosswalks:
            rect = shapely.minimum_rotated_rectangle(poly)
            c = np.asarray(rect.exterior.coords)[:4]
            edges = [(c[i], c[(i + 1) % 4]) for i in range(4)]
            edges.sort(key=lambda e: np.hypot(*(e[1] - e[0])))
            ends = [0.5 * (e[0] + e[1]) for e in edges[:2]]  # middles of the two short sides
            found = [self._nearest_on_paths(e) for e in ends]
            if any(f[0] < 0 or f[2] > CROSSWALK_REACH_M for f in found):
                continue
            (pa, sa, _), (pb, sb, _) = found
            rows.append((pa, sa, pb, sb))
            rows.append((pb, sb, pa, sa))
        arr = np.array(rows, np.float64).reshape(-1, 4)
        return arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2].astype(np.int64), arr[:, 3]

    # ---- actors ------------------------------------------------------------------------
    def add(self, row: int, x: float, y: float, speed_mps: float, autopilot: bool,
            z: float | None = None) -> None:
        """Add body `row` at (x, y[, z]): on autopilot it joins the nearest sidewalk path."""
        path, s, direction, mode = -1, 0.0, 1.0, IDLE
        if autopilot and self.paths:
            path, s, _ = self._nearest_on_paths(np.array([x, y]), z)
            direction = 1.0 if self.rng.random() < 0.5 else -1.0
            mode = PATH
        self.rows = np.append(self.rows, row)
        self.mode = np.append(self.mode, mode)
        self.path = np.append(self.path, path)
        self.s = np.append(self.s, s)
        self.direction = np.append(self.direction, direction)
        self.speed = np.append(self.speed, speed_mps)
        self.target = np.vstack([self.target, [[x, y]]])
        self.target_path = np.append(self.target_path, -1)
        self.target_s = np.append(self.target_s, 0.0)
        self.autopilot = np.append(self.autopilot, autopilot)
        self.blocked_s = np.append(self.blocked_s, 0.0)

    def remove(self, row: int) -> None:
        hit = np.nonzero(self.rows == row)[0]
        if not len(hit):
            return
        i = int(hit[0])
        for name in ("rows", "mode", "path", "s", "direction", "speed", "target", "target_path",
                     "target_s", "autopilot", "blocked_s"):
            setattr(self, name, np.delete(getattr(self, name), i, axis=0))

    def index_of(self, row: int) -> int:
        hit = np.nonzero(self.rows == row)[0]
        return int(hit[0]) if len(hit) else -1

    def position(self, row: int) -> tuple[float, float, float | None] | None:
        """(x, y, z or None) where an autopilot walker stands on its path (None when off one).

        z (metres) is the sidewalk surface there, None when the paths carry no heights.
        """
        i = self.index_of(row)
        if i < 0 or self.mode[i] != PATH:
            return None
        x, y = self._point(int(self.path[i]), float(self.s[i]))
        z = float(self._path_heights(self.path[i:i + 1], self.s[i:i + 1])[0]) if self.has_z else None
        return x, y, z

    def heights(self, z: np.ndarray) -> np.ndarray:
        """Every walker's height (metres, rows order): its path's surface, else `z` as it was."""
        on_path = self.mode == PATH
        if not self.has_z or not on_path.any():
            return z
        out = np.array(z, np.float64, copy=True)
        out[on_path] = self._path_heights(self.path[on_path], self.s[on_path])
        return out

    def set_target(self, row: int, x: float, y: float, speed_mps: float) -> None:
        """Walk body `row` straight to (x, y) at `speed_mps`, then stand there."""
        i = self.index_of(row)
        self.mode[i] = TARGET
        self.target[i] = (x, y)
        self.target_path[i] = -1
        self.speed[i] = speed_mps
        self.autopilot[i] = False

    def stop(self, row: int) -> None:
        """Stop a walker where it is (hit by a vehicle); an autopilot walker resumes next tick."""
        i = self.index_of(row)
        if i >= 0 and self.mode[i] == TARGET and not self.autopilot[i]:
            self.mode[i] = IDLE

    # ---- per tick ------------------------------------------------------------------------
    def step(self, x: np.ndarray, y: np.ndarray, vehicle_xy: np.ndarray, vehicle_speed: np.ndarray,
             dt_s: float, vehicle_yaw: np.ndarray | None = None,
             vehicle_half: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Advance all walkers; `x`, `y` are their current positions (rows order).

        Returns new (x, y, yaw rad, vx, vy) per walker. `vehicle_xy`/`vehicle_speed` are all
        vehicles, used to decide whether a crossing is clear; with their yaw (rad) and box half
        length/width (metres, N x 2) a walker off the sidewalk also never walks into one.
        """
        nx, ny = x.copy(), y.copy()
        on_path = self.mode == PATH
        if on_path.any():
            idx = np.nonzero(on_path)[0]
            s_before = self.s.copy()
            old_s = s_before[idx]
            self.s[idx] += self.direction[idx] * self.speed[idx] * dt_s
            self._maybe_cross(idx, old_s)
            s_now, length = self.s[idx], self.path_len[self.path[idx]]
            for i in idx[(self.mode[idx] == PATH) & ((s_now < 0.0) | (s_now > length))]:
                self._path_end(int(i))
            walking = np.nonzero(self.mode == PATH)[0]
            nx[walking], ny[walking] = self._points(self.path[walking], self.s[walking])
            if vehicle_yaw is not None and vehicle_half is not None and len(walking):
                # a car's nose over the path (stopped on a crosswalk) is walked round by no one:
                # wait for it (a walker walked into the standing ego, Town03 training 18)
                into = self._walks_into_box(x[walking], y[walking], nx[walking], ny[walking], vehicle_xy,
                                            vehicle_yaw, vehicle_half)
                held = walking[into]
                self.s[held] = s_before[held]
                nx[held], ny[held] = x[held], y[held]
                # ... but not for ever: a car that waits for the walker in turn (an NPC whose
                # leader it is, stopped with its nose over a junction's sidewalk) would stand
                # with it until the route times out (Town03 training 13): turn round instead
                self.blocked_s[walking] = np.where(into, self.blocked_s[walking] + dt_s, 0.0)
                for i in walking[self.blocked_s[walking] > GIVE_UP_S]:
                    self.direction[i] = -self.direction[i]
                    self.blocked_s[i] = 0.0
        for i in np.nonzero(self.mode == WAIT)[0]:
            if self._clear(int(i), vehicle_xy, vehicle_speed):
                self.mode[i] = TARGET
        moving = np.nonzero(self.mode == TARGET)[0]
        if len(moving):
            d = self.target[moving] - np.stack([x[moving], y[moving]], 1)
            dist = np.hypot(d[:, 0], d[:, 1])
            step = np.minimum(self.speed[moving] * dt_s, dist)
            unit = d / np.maximum(dist, 1e-9)[:, None]
            step[self._vehicle_in_the_way(moving, x, y, unit, vehicle_xy, vehicle_speed)] = 0.0
            if vehicle_yaw is not None and vehicle_half is not None:
                into = self._walks_into_box(x[moving], y[moving], x[moving] + unit[:, 0] * step,
                                            y[moving] + unit[:, 1] * step, vehicle_xy, vehicle_yaw, vehicle_half)
                step[into] = 0.0
                self.blocked_s[moving] = np.where(into, self.blocked_s[moving] + dt_s, 0.0)
                for i in moving[self.blocked_s[moving] > GIVE_UP_S]:
                    self._turn_back(int(i))
            nx[moving] = x[moving] + unit[:, 0] * step
            ny[moving] = y[moving] + unit[:, 1] * step
            for k in np.nonzero(dist <= self.speed[moving] * dt_s)[0]:
                i = int(moving[k])
                if self.target_path[i] >= 0:
                    self.mode[i], self.path[i], self.s[i] = PATH, self.target_path[i], self.target_s[i]
                else:
                    self.mode[i] = IDLE
        vx, vy = (nx - x) / dt_s, (ny - y) / dt_s
        return nx, ny, np.arctan2(vy, vx), vx, vy

    def _vehicle_in_the_way(self, moving: np.ndarray, x: np.ndarray, y: np.ndarray, unit: np.ndarray,
                            vehicle_xy: np.ndarray, vehicle_speed: np.ndarray) -> np.ndarray:
        # A crossing walker waits while a moving vehicle is just ahead of it (a stopped one waits
        # for the walker instead, so the two never block each other).
        crossing = self.autopilot[moving]
        fast = vehicle_speed > 0.3
        if not crossing.any() or not fast.any():
            return np.zeros(len(moving), np.bool_)
        probe = np.stack([x[moving], y[moving]], 1) + unit * WALKER_PROBE_M
        d = np.hypot(probe[:, None, 0] - vehicle_xy[None, fast, 0], probe[:, None, 1] - vehicle_xy[None, fast, 1])
        return crossing & (d < VEHICLE_CLEARANCE_M).any(1)

    @staticmethod
    def _walks_into_box(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray, vehicle_xy: np.ndarray,
                        vehicle_yaw: np.ndarray, vehicle_half: np.ndarray) -> np.ndarray:
        # Per walker: its step from (x0, y0) to (x1, y1) brings it closer to a vehicle's box
        # (grown by WALKER_RADIUS_M) that it would then touch. Stepping away is always allowed.
        if not len(vehicle_xy) or not len(x0):
            return np.zeros(len(x0), np.bool_)
        f64 = np.float64
        return walks_into_box(*(np.ascontiguousarray(a, f64) for a in (x0, y0, x1, y1, vehicle_xy[:, 0],
                                                                       vehicle_xy[:, 1], np.cos(vehicle_yaw),
                                                                       np.sin(vehicle_yaw), vehicle_half[:, 0],
                                                                       vehicle_half[:, 1])), WALKER_RADIUS_M)

    def _turn_back(self, i: int) -> None:
        # Back to the crossing's start (its foot on the path it came from), then on along that path.
        self.blocked_s[i] = 0.0
        if not self.autopilot[i] or self.path[i] < 0:
            return
        self.target[i] = self._point(int(self.path[i]), float(self.s[i]))
        self.target_path[i] = self.path[i]
        self.target_s[i] = self.s[i]

    def _points(self, path: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Vectorised position at arc length s on each path.
        s = np.clip(s, 0.0, self.path_len[path])
        j = np.searchsorted(self._gcum, self._base[path] + s, side="right") - 1
        j = np.clip(j, self._off[path], self._off[path] + self._n[path] - 2)
        span = np.maximum(self._gcum[j + 1] - self._gcum[j], 1e-9)
        f = np.clip((self._base[path] + s - self._gcum[j]) / span, 0.0, 1.0)
        p0, p1 = self._pts[j], self._pts[j + 1]
        return p0[:, 0] + f * (p1[:, 0] - p0[:, 0]), p0[:, 1] + f * (p1[:, 1] - p0[:, 1])

    def _path_heights(self, path: np.ndarray, s: np.ndarray) -> np.ndarray:
        # Height at arc length s on each path, interpolated like `_points`.
        s = np.clip(s, 0.0, self.path_len[path])
        j = np.searchsorted(self._gcum, self._base[path] + s, side="right") - 1
        j = np.clip(j, self._off[path], self._off[path] + self._n[path] - 2)
        span = np.maximum(self._gcum[j + 1] - self._gcum[j], 1e-9)
        f = np.clip((self._base[path] + s - self._gcum[j]) / span, 0.0, 1.0)
        return self._z[j] + f * (self._z[j + 1] - self._z[j])

    def _point(self, path: int, s: float) -> tuple[float, float]:
        x, y = self._points(np.array([path]), np.array([s]))
        return float(x[0]), float(y[0])

    def _maybe_cross(self, idx: np.ndarray, old_s: np.ndarray) -> None:
        if not len(self.cross_path):
            return
        same = self.path[idx][:, None] == self.cross_path[None, :]
        lo = np.minimum(old_s, self.s[idx])[:, None]
        hi = np.maximum(old_s, self.s[idx])[:, None]
        passed = same & (lo < self.cross_s[None, :]) & (self.cross_s[None, :] <= hi)
        for a, c in zip(*np.nonzero(passed)):
            i = int(idx[a])
            if not self.autopilot[i] or self.mode[i] != PATH:
                continue
            if self.rng.random() < self.cross_probability:
                self.mode[i] = WAIT
                self.s[i] = self.cross_s[c]
                self.target[i] = self._point(int(self.cross_to_path[c]), float(self.cross_to_s[c]))
                self.target_path[i] = self.cross_to_path[c]
                self.target_s[i] = self.cross_to_s[c]

    def _path_end(self, i: int) -> None:
        path = int(self.path[i])
        end = 1 if self.s[i] > self.path_len[path] else 0
        options = self._joins.get((path, end), [])
        if options and self.autopilot[i]:
            other, other_end = options[int(self.rng.integers(len(options)))]
            s_other = 0.0 if other_end == 0 else float(self.path_len[other])
            self.direction[i] = 1.0 if other_end == 0 else -1.0
            self.s[i] = float(np.clip(self.s[i], 0.0, self.path_len[path]))
            here, there = self._point(path, float(self.s[i])), self._point(other, s_other)
            if np.hypot(there[0] - here[0], there[1] - here[1]) > STEP_OVER_M:
                self.mode[i] = TARGET  # walk over (a car in the way holds it, as on a crossing)
                self.target[i] = there
                self.target_path[i] = other
                self.target_s[i] = s_other
                return
            self.path[i] = other
            self.s[i] = s_other
        else:
            self.s[i] = float(np.clip(self.s[i], 0.0, self.path_len[path]))
            self.direction[i] = -self.direction[i]

    def _clear(self, i: int, vehicle_xy: np.ndarray, vehicle_speed: np.ndarray) -> bool:
        # Clear: no vehicle moving faster than 0.5 m/s within CLEAR_RADIUS_M of the crossing middle,
        # and no vehicle at all within 3 m of it.
        here = np.array(self._point(int(self.path[i]), float(self.s[i])))
        mid = 0.5 * (here + self.target[i])
        if not len(vehicle_xy):
            return True
        d = np.hypot(*(vehicle_xy - mid).T)
        return not (((d < CLEAR_RADIUS_M) & (vehicle_speed > 0.5)).any() or (d < 3.0).any())
