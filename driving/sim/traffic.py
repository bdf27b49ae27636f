"""NPC vehicle drivers (the embedded simulator's traffic manager): lane following with IDM.

Why path-following kinematics and not the bicycle model: background traffic only has to look and
behave right (stay in lane, keep distance, obey lights, stop signs and junction right of way),
and moving each NPC by arc length along a precomputed lane polyline (`lane_graph`) is exact lane
keeping at a cost of a few microseconds per vehicle. The ego and every vehicle not on autopilot
use `vehicle_dynamics` instead.

Per tick, one numba kernel for all NPCs: look along the own route (the next `ROUTE_LEN` lane
segments) for the first body inside the own corridor (vehicles, walkers, the ego), red/yellow
stop lines, stop signs (full stop for `STOP_SIGN_WAIT_S`, then go) and, at unsignalized
junctions, any other vehicle inside the junction (yield: do not enter). An NPC is inside a junction
when its current lane segment is one of the junction's connectors; any other vehicle (the ego)
when its centre is inside the junction's convex hull. Never an axis-aligned box: on diagonal
junctions that also covers the stop lines, and two NPCs waiting there would wait for each other
forever. The Intelligent
Driver Model turns each obstacle into an acceleration; the most restrictive one wins. Curvature
speed caps of upcoming connectors slow vehicles before turns. Two NPCs that block each other for
`DEADLOCK_S` ignore other NPCs for `GHOST_S` (as CARLA's traffic manager does); they never
ignore the ego or walkers. Likewise an NPC that has waited `DEADLOCK_S` to enter a junction stops
yielding for `GHOST_S` (it still brakes for whatever is in its own path), so no wait is endless.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from driving.sim.lane_graph import LaneGraph

ROUTE_LEN = 10
STOP_SIGN_WAIT_S = 1.0
DEADLOCK_S = 10.0
GHOST_S = 3.0
#: Corridor margin beside the own half width (metres) in which a body counts as in the way.
CORRIDOR_MARGIN_M = 0.3
#: NPCs brake for the path a walker will cover in this time (seconds), not only where it stands.
WALKER_PREDICT_S = 1.0
#: Unsignalized junction: yield when the entry is closer than this (metres).
YIELD_LOOKAHEAD_M = 8.0
#: A connector turning left by more than this (radians) yields to oncoming traffic.
LEFT_TURN_RAD = 0.5
#: ... to oncoming vehicles inside the junction or driving towards it within this distance (m).
ONCOMING_M = 25.0


@dataclass(frozen=True)
class IdmParams:
    """IDM constants: time headway (s), jam distance (m), comfortable/maximum deceleration (m/s^2)."""

    time_headway_s: float = 1.2
    min_gap_m: float = 2.5
    comfortable_decel_mps2: float = 3.0
    max_decel_mps2: float = 8.0
    stop_line_gap_m: float = 1.0
    min_horizon_m: float = 20.0


@numba.njit(cache=True, inline="always")
def _idm(v: float, v0: float, a_max: float, b: float, T: float, s0: float, vl: float, gap: float) -> float:
    free = 1.0 - (v / max(v0, 0.1)) ** 4
    if gap == np.inf:
        return a_max * free
    s_star = s0 + max(0.0, v * T + v * (v - vl) / (2.0 * np.sqrt(a_max * b)))
    g = max(gap, 0.05)
    return a_max * (free - (s_star / g) ** 2)


@numba.njit(cache=True, inline="always")
def _swept_distance(px: float, py: float, x: float, y: float, vx: float, vy: float, radius: float) -> float:
    # Distance from (px, py) to a disc of `radius` moving from (x, y) for WALKER_PREDICT_S seconds.
    wx = vx * WALKER_PREDICT_S
    wy = vy * WALKER_PREDICT_S
    w2 = wx * wx + wy * wy
    t = 0.0 if w2 < 1e-9 else min(max(((px - x) * wx + (py - y) * wy) / w2, 0.0), 1.0)
    return np.hypot(x + t * wx - px, y + t * wy - py) - radius


@numba.njit(cache=True)
def _in_hull(x: float, y: float, hull, a: int, b: int) -> bool:
    # Point in the convex counter-clockwise polygon hull[a:b].
    for k in range(a, b):
        k2 = k + 1 if k + 1 < b else a
        if (hull[k2, 0] - hull[k, 0]) * (y - hull[k, 1]) - (hull[k2, 1] - hull[k, 1]) * (x - hull[k, 0]) < 0.0:
            return False
    return True


@numba.njit(cache=True)
def _body_junctions(route, seg_j, bx, by, bactive, bvehicle, npc_of_row, j_box, j_hull, j_hull_off):
    # Junction index each active vehicle is inside (-1: none); see the module docstring.
    M = bx.shape[0]
    out = np.full(M, -1, np.int64)
    for m in range(M):
        if not (bactive[m] and bvehicle[m]):
            continue
        i = npc_of_row[m]
        if i >= 0:
            out[m] = seg_j[route[i, 0]]
            continue
        for q in range(j_box.shape[0]):
            if (j_box[q, 0] <= bx[m] <= j_box[q, 2] and j_box[q, 1] <= by[m] <= j_box[q, 3]
                    and _in_hull(bx[m], by[m], j_hull, j_hull_off[q], j_hull_off[q + 1])):
                out[m] = q
                break
    return out


@numba.njit(cache=True)
def _drive(rows, route, s, v, factor, top, a_max, hl, hw, cleared, stop_timer, blocked, ghost, no_yield, accel,
           leader, bx, by, byaw, bhl, bhw, bvx, bvy, bactive, bnpc, bvehicle,
           pts, pyaw, cum, off, n, length, seg_j, seg_turn, cap, limit, light_s, light_yellow, sign_s, j_box,
           j_hull, j_hull_off, j_signal, dt, T, s0, b_comf, b_max, s0_stop, horizon_min):
    N = rows.shape[0]
    M = bx.shape[0]
    npc_of_row = np.full(M, -1, np.int64)
    for i in range(N):
        npc_of_row[rows[i]] = i
    prev_leader = leader.copy()
    R = route.shape[1]
    J = j_box.shape[0]
    body_j = _body_junctions(route, seg_j, bx, by, bactive, bvehicle, npc_of_row, j_box, j_hull, j_hull_off)
    occ_n = np.zeros(J, np.int64)
    occ_row = np.full(J, -1, np.int64)
    for m in range(M):
        if body_j[m] >= 0:
            occ_n[body_j[m]] += 1
            occ_row[body_j[m]] = m
    cand = np.empty(M, np.int64)
    for i in range(N):
        row = rows[i]
        vi = v[i]
        am = a_max[i]
        cur = route[i, 0]
        v0 = min(top[i], factor[i] * limit[cur], cap[cur])
        horizon = max(horizon_min, vi * vi / (2.0 * b_comf) + vi * T + s0 + 10.0)
        nc = 0
        for m in range(M):
            if m == row or not bactive[m] or (ghost[i] > 0.0 and bnpc[m]):
                continue
            dx = bx[m] - bx[row]
            dy = by[m] - by[row]
            r = horizon + hl[i] + bhl[m] + bhw[m]
            if dx * dx + dy * dy < r * r:
                cand[nc] = m
                nc += 1
        a = _idm(vi, v0, am, b_comf, T, s0, 0.0, np.inf)
        vehicle_limited = False
        a_vehicle = np.inf
        a_yield = np.inf
        leader[i] = -1
        found = False
        seg_start = -s[i]  # distance from the own centre to the start of route[i, j]
        for j in range(R):
            seg = route[i, j]
            if seg < 0:  # dead end: stop before the end of the last lane
                a = min(a, _idm(vi, v0, am, b_comf, T, s0_stop, 0.0, seg_start - hl[i]))
                break
            if seg_start - hl[i] > horizon:
                break
            if j > 0:
                c = min(cap[seg], factor[i] * limit[seg])
                if vi > c:
                    a = min(a, -(vi * vi - c * c) / (2.0 * max(seg_start - hl[i], 0.5)))
                q = seg_j[seg]
                d_entry = seg_start - hl[i]
                if (q >= 0 and seg_j[route[i, j - 1]] != q and -0.5 < d_entry < YIELD_LOOKAHEAD_M
                        and no_yield[i] <= 0.0):
                    if j_signal[q]:
                        # permissive left turn: wait while an oncoming vehicle is in the junction
                        occupied = False
                        if seg_turn[seg] < -LEFT_TURN_RAD:
                            h = pyaw[off[seg]]
                            cx = 0.5 * (j_box[q, 0] + j_box[q, 2])
                            cy = 0.5 * (j_box[q, 1] + j_box[q, 3])
                            reach = 0.5 * np.hypot(j_box[q, 2] - j_box[q, 0], j_box[q, 3] - j_box[q, 1]) + ONCOMING_M
                            for k in range(nc):
                                m = cand[k]
                                if not bvehicle[m] or np.cos(byaw[m] - h) > -0.5:
                                    continue
                                inside = body_j[m] == q
                                coming = (np.hypot(cx - bx[m], cy - by[m]) < reach
                                          and bvx[m] * (cx - bx[m]) + bvy[m] * (cy - by[m]) > 1.0)
                                if inside or coming:
                                    occupied = True
                    else:
                        occupied = occ_n[q] >= 2 or (occ_n[q] == 1 and occ_row[q] != row)
                    if occupied:
                        a_yield = min(a_yield, _idm(vi, v0, am, b_comf, T, s0_stop, 0.0, d_entry))
                        a = min(a, a_yield)
            ls = light_s[seg]
            if ls < np.inf:
                gap = seg_start + ls - hl[i]
                if gap > -2.0 and (not light_yellow[seg] or gap > vi * vi / (2.0 * b_comf)):
                    a = min(a, _idm(vi, v0, am, b_comf, T, s0_stop, 0.0, max(gap, 0.0)))
            ss = sign_s[seg]
            if ss < np.inf and cleared[i] != seg:
                gap = seg_start + ss - hl[i]
                if gap > -2.0:
                    a = min(a, _idm(vi, v0, am, b_comf, T, s0_stop, 0.0, max(gap, 0.0)))
                    if gap < 2.5 and vi < 0.5:  # at the line: come to a full stop, wait, go
                        a = min(a, -vi / dt)
                        stop_timer[i] += dt
                        if stop_timer[i] >= STOP_SIGN_WAIT_S:
                            cleared[i] = seg
                            stop_timer[i] = 0.0
            if not found:
                for p in range(off[seg], off[seg] + n[seg]):
                    d = seg_start + cum[p]
                    if d < hl[i] + 0.3:
                        continue
                    if d > hl[i] + horizon:
                        break
                    px = pts[p, 0]
                    py = pts[p, 1]
                    for k in range(nc):
                        m = cand[k]
                        if bvehicle[m]:
                            c = np.cos(byaw[m])
                            sn = np.sin(byaw[m])
                            lx = (px - bx[m]) * c + (py - by[m]) * sn
                            ly = -(px - bx[m]) * sn + (py - by[m]) * c
                            ex = max(abs(lx) - bhl[m], 0.0)
                            ey = max(abs(ly) - bhw[m], 0.0)
                            dist = np.sqrt(ex * ex + ey * ey)
                            if abs(np.cos(byaw[m] - pyaw[p])) < 0.7:  # crossing: where it is heading
                                dist = min(dist, _swept_distance(px, py, bx[m], by[m], bvx[m], bvy[m], bhw[m]))
                        else:  # a walker: where it will be within WALKER_PREDICT_S
                            dist = _swept_distance(px, py, bx[m], by[m], bvx[m], bvy[m], bhw[m])
                        if dist < hw[i] + CORRIDOR_MARGIN_M:
                            jm = npc_of_row[m]
                            if jm >= 0 and prev_leader[jm] == row and (seg_j[cur] >= 0 or seg_j[seg] >= 0):
                                # two NPCs blocking each other in a junction: the one closer to
                                # leaving its lane goes first (ties: lower row)
                                rem_i = length[cur] - s[i]
                                rem_m = length[route[jm, 0]] - s[jm]
                                if rem_i < rem_m or (rem_i == rem_m and row < m):
                                    continue
                            leader[i] = m
                            vl = max(0.0, bvx[m] * np.cos(pyaw[p]) + bvy[m] * np.sin(pyaw[p])) if bvehicle[m] else 0.0
                            gap = d - hl[i]
                            a_vehicle = _idm(vi, v0, am, b_comf, T, s0, vl, gap)
                            vehicle_limited = bnpc[m]
                            found = True
                            break
                    if found:
                        break
            seg_start += length[seg]
        if a_vehicle < a:
            a = a_vehicle
        else:
            vehicle_limited = False
        yield_limited = not vehicle_limited and a_yield <= a
        a = min(max(a, -b_max), am)
        if vi < 0.1 and (vehicle_limited or yield_limited):
            blocked[i] += dt
            if blocked[i] > DEADLOCK_S:
                if yield_limited:
                    no_yield[i] = GHOST_S
                else:
                    ghost[i] = GHOST_S
                blocked[i] = 0.0
        else:
            blocked[i] = 0.0
        ghost[i] = max(0.0, ghost[i] - dt)
        no_yield[i] = max(0.0, no_yield[i] - dt)
        nv = max(0.0, vi + a * dt)
        accel[i] = (nv - vi) / dt
        s[i] += 0.5 * (vi + nv) * dt
        v[i] = nv
        while s[i] > length[route[i, 0]]:
            if route[i, 1] < 0:
                s[i] = length[route[i, 0]]
                v[i] = 0.0
                break
            s[i] -= length[route[i, 0]]
            for j in range(R - 1):
                route[i, j] = route[i, j + 1]
            route[i, R - 1] = -1


class TrafficDrivers:
    """All autopilot vehicles of one world: their lane positions and IDM state (rows of arrays).

    `rows[i]` is the NPC's row in the world's body arrays; the world passes those arrays to
    `step` and receives the new poses back.
    """

    def __init__(self, graph: LaneGraph, junction_boxes: np.ndarray, junction_hull_pts: np.ndarray,
                 junction_hull_off: np.ndarray, junction_signalized: np.ndarray,
                 seg_junction_index: np.ndarray, light_seg: np.ndarray, light_s: np.ndarray,
                 light_index: np.ndarray, sign_s: np.ndarray, speed_limit_mps: np.ndarray, idm: IdmParams,
                 rng: np.random.Generator):
        self.graph = graph
        self.idm = idm
        self.rng = rng
        self.j_box = np.ascontiguousarray(junction_boxes, np.float64).reshape(-1, 4)
        self.j_hull = np.ascontiguousarray(junction_hull_pts, np.float64).reshape(-1, 2)
        self.j_hull_off = np.asarray(junction_hull_off, np.int64)
        self.j_signal = np.asarray(junction_signalized, np.bool_)
        self.seg_j = np.asarray(seg_junction_index, np.int64)
        self.light_seg, self.light_sl, self.light_index = light_seg, light_s, light_index
        self.sign_s = np.asarray(sign_s, np.float64)
        self.limit = np.asarray(speed_limit_mps, np.float64)
        last = graph.off + graph.n - 1
        self.seg_turn = (graph.yaw[last] - graph.yaw[graph.off] + np.pi) % (2 * np.pi) - np.pi
        self.rows = np.zeros(0, np.int64)
        self.route = np.zeros((0, ROUTE_LEN), np.int64)
        self.s = np.zeros(0)
        self.v = np.zeros(0)
        self.factor = np.zeros(0)
        self.top = np.zeros(0)
        self.a_max = np.zeros(0)
        self.hl = np.zeros(0)
        self.hw = np.zeros(0)
        self.cleared = np.zeros(0, np.int64)
        self.stop_timer = np.zeros(0)
        self.blocked = np.zeros(0)
        self.ghost = np.zeros(0)
        self.no_yield = np.zeros(0)  # seconds left of ignoring junction yields (after a long wait)
        self.accel = np.zeros(0)
        self.leader = np.zeros(0, np.int64)
        self.planned: list[list[int]] = []  # given routes: segments still to follow

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, row: int, seg: int, s_m: float, speed_factor: float, top_speed_mps: float,
            a_max_mps2: float, hl_m: float, hw_m: float, planned: list[int] | None = None) -> None:
        """Hand body `row` (at arc length `s_m` on segment `seg`) to the autopilot.

        It drives at `speed_factor` x the lane's speed limit, never above `top_speed_mps`.
        """
        route = np.full((1, ROUTE_LEN), -1, np.int64)
        route[0, 0] = seg
        self.rows = np.append(self.rows, row)
        self.route = np.vstack([self.route, route])
        for name, value in (("s", s_m), ("v", 0.0), ("factor", speed_factor),
                            ("top", top_speed_mps), ("a_max", a_max_mps2),
                            ("hl", hl_m), ("hw", hw_m), ("stop_timer", 0.0), ("blocked", 0.0),
                            ("ghost", 0.0), ("no_yield", 0.0), ("accel", 0.0)):
            setattr(self, name, np.append(getattr(self, name), value))
        self.cleared = np.append(self.cleared, -1)
        self.leader = np.append(self.leader, -1)
        self.planned.append(list(planned or []))
        self._fill(len(self.rows) - 1)

    def remove(self, row: int) -> None:
        """Release body `row` from the autopilot (destroyed, or switched to manual control)."""
        hit = np.nonzero(self.rows == row)[0]
        if not len(hit):
            return
        i = int(hit[0])
        for name in ("rows", "route", "s", "v", "factor", "top", "a_max", "hl", "hw", "cleared", "stop_timer",
                     "blocked", "ghost", "no_yield", "accel", "leader"):
            setattr(self, name, np.delete(getattr(self, name), i, axis=0))
        del self.planned[i]

    def index_of(self, row: int) -> int:
        hit = np.nonzero(self.rows == row)[0]
        return int(hit[0]) if len(hit) else -1

    def _fill(self, i: int) -> None:
        # Extend route i to ROUTE_LEN segments: planned ones first, then random successors.
        g = self.graph
        for j in range(1, ROUTE_LEN):
            if self.route[i, j] >= 0:
                continue
            prev = int(self.route[i, j - 1])
            if prev < 0 or g.n_succ[prev] == 0:
                return
            options = g.succ[prev, :g.n_succ[prev]]
            plan = self.planned[i]
            if plan and plan[0] in options:
                nxt = plan.pop(0)
            else:
                if plan:
                    plan.clear()  # the plan no longer fits the lane we are on: drive on freely
                nxt = int(options[int(self.rng.integers(len(options)))])
            self.route[i, j] = nxt

    def step(self, bodies: dict[str, np.ndarray], light_codes: np.ndarray, dt_s: float) -> None:
        """Advance every NPC by `dt_s` given all bodies and the light states (codes 0 G, 1 Y, 2 R)."""
        if not len(self.rows):
            return
        g = self.graph
        light_s = np.full(g.n_segments, np.inf)
        yellow = np.zeros(g.n_segments, np.bool_)
        if len(self.light_seg):
            codes = light_codes[self.light_index]
            active = codes != 0
            np.minimum.at(light_s, self.light_seg[active], self.light_sl[active])
            yellow[self.light_seg[codes == 1]] = True
        p = self.idm
        _drive(self.rows, self.route, self.s, self.v, self.factor, self.top, self.a_max, self.hl, self.hw,
               self.cleared, self.stop_timer, self.blocked, self.ghost, self.no_yield, self.accel, self.leader,
               bodies["x"], bodies["y"], bodies["yaw"], bodies["hl"], bodies["hw"], bodies["vx"],
               bodies["vy"], bodies["active"], bodies["npc"], bodies["vehicle"],
               g.pts, g.yaw, g.cum, g.off, g.n, g.length, self.seg_j, self.seg_turn, g.speed_cap, self.limit, light_s, yellow,
               self.sign_s, self.j_box, self.j_hull, self.j_hull_off, self.j_signal, dt_s, p.time_headway_s, p.min_gap_m,
               p.comfortable_decel_mps2, p.max_decel_mps2, p.stop_line_gap_m, p.min_horizon_m)
        for i in np.nonzero(self.route[:, -1] < 0)[0]:
            self._fill(int(i))

    def poses(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(x, y, yaw rad, z) of every NPC on its lane."""
        return self.graph.pose(self.route[:, 0], self.s)
