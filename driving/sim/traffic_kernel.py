"""The NPC traffic kernel: one tick for all autopilot vehicles, as separate jitted steps.

Why steps: each concern reads differently and changes for different reasons. Per tick `drive`
runs, for every NPC i: `free_road` (IDM towards the speed limit, curvature caps of connectors
ahead, dead ends), `signals` (red/yellow stop lines, stop signs: full stop, wait, go),
`follow` (the first body inside the own corridor along the route: vehicles, walkers where they
will be within WALKER_PREDICT_S, the ego), then `traffic_junctions.junction_yield` (conflict
areas shared with other connectors, left turns against oncoming traffic, room behind the
exit, the ego's predicted path), then `locked` and `deadlock` (recovery when vehicles wait for
each other in a cycle anyway) and `advance` (integrate along the lane polyline). The most
restrictive acceleration wins; every NPC decides on last tick's poses, then all move. Bodies on
another level (a bridge above or a road below, `same_level`) are never obstacles. The structs are
in `traffic_arrays`; units metres, seconds, m/s, radians.

Numba caches `drive` keyed on this file only: after editing `traffic_junctions` or
`traffic_arrays`, delete `__pycache__/traffic_*.nb*` (or touch this file) or the old code runs.
"""
from __future__ import annotations

import numba
import numpy as np

from driving.sim.traffic_arrays import (
    CORRIDOR_MARGIN_M,
    DEADLOCK_S,
    GHOST_S,
    SQUEEZE_COS,
    SQUEEZE_MARGIN_M,
    STOP_SIGN_WAIT_S,
    WALKER_PREDICT_S,
    BodyArrays,
    JunctionArrays,
    KernelParams,
    LaneArrays,
    NpcArrays,
    idm,
    in_hull,
    same_level,
    stop_accel,
    swept_distance,
)
from driving.sim.traffic_junctions import (
    ROOM_MARGIN_M,
    claims,
    junction_yield,
    queued_before_entry,
    room_needed_m,
    room_waits,
    update_stamps,
)


@numba.njit(cache=True)
def body_junctions(npc: NpcArrays, b: BodyArrays, lanes: LaneArrays, jn: JunctionArrays,
                   npc_of_row: np.ndarray) -> np.ndarray:
    """Junction index each active vehicle is inside (-1: none).

    An NPC is inside when its current lane segment is a connector; any other vehicle (the ego)
    when its centre is inside the junction's convex hull. Never an axis-aligned box: on diagonal
    junctions that also covers the stop lines, and two NPCs waiting there would wait for each
    other forever.
    """
    M = b.x.shape[0]
    out = np.full(M, -1, np.int64)
    for m in range(M):
        if not (b.active[m] and b.vehicle[m]):
            continue
        i = npc_of_row[m]
        if i >= 0:
            out[m] = lanes.junction[npc.route[i, 0]]
            continue
        for q in range(jn.box.shape[0]):
            if (jn.box[q, 0] <= b.x[m] <= jn.box[q, 2] and jn.box[q, 1] <= b.y[m] <= jn.box[q, 3]
                    and in_hull(b.x[m], b.y[m], jn.hull, jn.hull_off[q], jn.hull_off[q + 1])):
                out[m] = q
                break
    return out


@numba.njit(cache=True)
def candidates(npc: NpcArrays, i: int, b: BodyArrays, horizon: float, cand: np.ndarray) -> int:
    """Bodies within reach of NPC i on its level (others skipped while it ghosts); count in `cand`."""
    row = npc.row[i]
    nc = 0
    for m in range(b.x.shape[0]):
        if m == row or not b.active[m] or (npc.ghost[i] > 0.0 and b.npc[m]) or not same_level(b, m, row):
            continue
        dx = b.x[m] - b.x[row]
        dy = b.y[m] - b.y[row]
        r = horizon + npc.hl[i] + b.hl[m] + b.hw[m]
        if dx * dx + dy * dy < r * r:
            cand[nc] = m
            nc += 1
    return nc


@numba.njit(cache=True)
def free_road(npc: NpcArrays, i: int, lanes: LaneArrays, p: KernelParams, v0: float, horizon: float) -> float:
    """Free-road IDM, slowed for curvature caps of the segments ahead and stopping at dead ends."""
    vi = npc.v[i]
    hl = npc.hl[i]
    a = idm(vi, v0, npc.a_max[i], p.b_comf, p.headway_s, p.min_gap_m, 0.0, np.inf)
    seg_start = -npc.s[i]
    for j in range(npc.route.shape[1]):
        seg = npc.route[i, j]
        if seg < 0:  # dead end: stop before the end of the last lane
            return min(a, stop_accel(npc, i, v0, p, seg_start - hl))
        if seg_start - hl > horizon:
            break
        if j > 0:
            c = min(lanes.cap[seg], npc.factor[i] * lanes.limit[seg])
            if vi > c:
                a = min(a, -(vi * vi - c * c) / (2.0 * max(seg_start - hl, 0.5)))
        seg_start += lanes.length[seg]
    return a


@numba.njit(cache=True)
def signals(npc: NpcArrays, i: int, lanes: LaneArrays, p: KernelParams, v0: float,
            horizon: float) -> tuple[float, bool]:
    """(acceleration, held): stop for red/yellow lines and stop signs ahead; `held` when one of
    them stops the NPC before its next junction (it then claims no right of way there)."""
    vi = npc.v[i]
    hl = npc.hl[i]
    a = np.inf
    held = False
    before_junction = True
    seg_start = -npc.s[i]
    for j in range(npc.route.shape[1]):
        seg = npc.route[i, j]
        if seg < 0 or seg_start - hl > horizon:
            break
        if lanes.junction[seg] >= 0:
            before_junction = False
        ls = lanes.light_s[seg]
        if ls < np.inf:
            gap = seg_start + ls - hl
            if gap > -2.0 and (not lanes.light_yellow[seg] or gap > vi * vi / (2.0 * p.b_comf)):
                a = min(a, stop_accel(npc, i, v0, p, gap))
                held = held or before_junction
        ss = lanes.sign_s[seg]
        if ss < np.inf and npc.cleared[i] != seg:
            gap = seg_start + ss - hl
            if gap > -2.0:
                a = min(a, stop_accel(npc, i, v0, p, gap))
                held = held or before_junction
                if gap < 2.5 and vi < 0.5:  # at the line: come to a full stop, wait, go
                    a = min(a, -vi / p.dt)
                    npc.stop_timer[i] += p.dt
                    if npc.stop_timer[i] >= STOP_SIGN_WAIT_S:
                        npc.cleared[i] = seg
                        npc.stop_timer[i] = 0.0
        seg_start += lanes.length[seg]
    return a, held


@numba.njit(cache=True, inline="always")
def _corridor_distance(px: float, py: float, heading: float, x: float, y: float, yaw: float, hl: float,
                       hw: float, vx: float, vy: float, vehicle: bool) -> float:
    # Distance (m) from a route point to a body's box, or where it heads when it crosses the
    # route; a walker where it will be within WALKER_PREDICT_S. Scalars, not the body struct:
    # this runs per route point and candidate, where passing a struct costs more than the test.
    if not vehicle:
        return swept_distance(px, py, x, y, vx, vy, hw, WALKER_PREDICT_S)
    c = np.cos(yaw)
    sn = np.sin(yaw)
    lx = (px - x) * c + (py - y) * sn
    ly = -(px - x) * sn + (py - y) * c
    ex = max(abs(lx) - hl, 0.0)
    ey = max(abs(ly) - hw, 0.0)
    dist = np.sqrt(ex * ex + ey * ey)
    if abs(np.cos(yaw - heading)) < 0.7:  # crossing: also where it is heading
        dist = min(dist, swept_distance(px, py, x, y, vx, vy, hw, WALKER_PREDICT_S))
    return dist


@numba.njit(cache=True)
def follow(npc: NpcArrays, i: int, b: BodyArrays, lanes: LaneArrays, p: KernelParams, v0: float,
           horizon: float, cand: np.ndarray, nc: int, npc_of_row: np.ndarray,
           prev_leader: np.ndarray) -> tuple[float, int, float]:
    """(acceleration, leader body row or -1, bumper gap m): IDM behind the first body in the corridor
    (its half width + CORRIDOR_MARGIN_M; SQUEEZE_MARGIN_M past a standing ego nosing in).

    Two NPCs that block each other in a junction (each the other's leader last tick): the one
    closer to leaving its lane goes first (ties: lower row), so they never wait for each other.
    """
    row = npc.row[i]
    hl = npc.hl[i]
    cur = npc.route[i, 0]
    seg_start = -npc.s[i]
    for j in range(npc.route.shape[1]):
        seg = npc.route[i, j]
        if seg < 0 or seg_start - hl > horizon:
            break
        for pnt in range(lanes.off[seg], lanes.off[seg] + lanes.n[seg]):
            d = seg_start + lanes.cum[pnt]
            if d < hl + 0.3:
                continue
            if d > hl + horizon:
                break
            px = lanes.pts[pnt, 0]
            py = lanes.pts[pnt, 1]
            for k in range(nc):
                m = cand[k]
                margin = CORRIDOR_MARGIN_M
                if b.vehicle[m] and not b.npc[m] and np.hypot(b.vx[m], b.vy[m]) < 0.3 \
                        and np.cos(b.yaw[m] - lanes.yaw[pnt]) > SQUEEZE_COS:
                    margin = SQUEEZE_MARGIN_M
                if _corridor_distance(px, py, lanes.yaw[pnt], b.x[m], b.y[m], b.yaw[m], b.hl[m], b.hw[m], b.vx[m],
                                      b.vy[m], b.vehicle[m]) >= npc.hw[i] + margin:
                    continue
                jm = npc_of_row[m]
                if jm >= 0 and prev_leader[jm] == row and (lanes.junction[cur] >= 0 or lanes.junction[seg] >= 0):
                    rem_i = lanes.length[cur] - npc.s[i]
                    rem_m = lanes.length[npc.route[jm, 0]] - npc.s[jm]
                    if rem_i < rem_m or (rem_i == rem_m and row < m):
                        continue
                h = lanes.yaw[pnt]
                vl = max(0.0, b.vx[m] * np.cos(h) + b.vy[m] * np.sin(h)) if b.vehicle[m] else 0.0
                gap = d - hl
                return idm(npc.v[i], v0, npc.a_max[i], p.b_comf, p.headway_s, p.min_gap_m, vl, gap), m, gap
        seg_start += lanes.length[seg]
    return np.inf, -1, np.inf


@numba.njit(cache=True)
def locked(npc: NpcArrays, b: BodyArrays, npc_of_row: np.ndarray, kind: np.ndarray, clear_d: np.ndarray,
           held: np.ndarray, gives_way: np.ndarray) -> np.ndarray:
    """Per NPC: 0 free, 1 locked, 2 locked and first to go, 3 giving way to a wait that no signal ends.

    Why cycles: a car queued at a red light behind another stands just as long as one in a real
    deadlock, and letting it ignore its leader drives it into that leader. An NPC is locked when
    it stands and following whom it waits for (`kind` 1: its leader, 2: the one it gives way to)
    leads back to itself through standing NPCs, or when it gives way to a standing vehicle not on
    autopilot (a parked car inside the junction). Of a cycle, the member that can clear its
    junction first (shortest `clear_d`, ties: lower row) is marked to go first. A standing NPC
    that gives way (`gives_way`) along a chain that ends neither at an NPC held by a signal nor
    at a moving one is marked 3: a gridlock through the ego (which the kernel cannot follow) ends when it stops
    giving way after a long wait; it still brakes for everything in its path.
    """
    N = npc.row.shape[0]
    out = np.zeros(N, np.int64)
    for i in range(N):
        if kind[i] == 0 or npc.v[i] >= 0.1:
            continue
        cur = i
        best = i
        ends_in_motion = False
        for _ in range(N):
            r = npc.leader[cur] if kind[cur] == 1 else npc.yield_to[cur]
            if r < 0:
                break
            nxt = npc_of_row[r]
            if nxt < 0:
                if cur == i and kind[i] == 2 and np.hypot(b.vx[r], b.vy[r]) < 0.5:
                    out[i] = 2
                break
            if nxt == i:
                out[i] = 2 if best == i else 1
                break
            if held[nxt] or kind[nxt] == 0 or npc.v[nxt] >= 0.1:
                ends_in_motion = held[nxt] or npc.v[nxt] >= 0.1
                break
            if clear_d[nxt] < clear_d[best] or (clear_d[nxt] == clear_d[best] and npc.row[nxt] < npc.row[best]):
                best = nxt
            cur = nxt
        if out[i] == 0 and gives_way[i] and not ends_in_motion:
            out[i] = 3
    return out


@numba.njit(cache=True)
def deadlock(npc: NpcArrays, i: int, lock: int, yield_limited: bool, dt: float) -> None:
    """Recovery when vehicles lock anyway (`locked`): after DEADLOCK_S the member that can clear
    first ignores other NPCs (or its yields) for GHOST_S; the others follow after 2 x DEADLOCK_S
    if still locked; one giving way in a gridlock that no signal ends stops giving way after
    3 x DEADLOCK_S. Walkers and the ego are never ignored: ghosting skips only NPC bodies, and
    yields to a moving ego stay."""
    if lock > 0:
        npc.blocked[i] += dt
        if lock == 3:
            if npc.blocked[i] > 3.0 * DEADLOCK_S:
                npc.no_yield[i] = GHOST_S
                npc.blocked[i] = 0.0
        elif (npc.blocked[i] > DEADLOCK_S and lock == 2) or npc.blocked[i] > 2.0 * DEADLOCK_S:
            if yield_limited:
                npc.no_yield[i] = GHOST_S
            else:
                npc.ghost[i] = GHOST_S
            npc.blocked[i] = 0.0
    else:
        npc.blocked[i] = 0.0
    npc.ghost[i] = max(0.0, npc.ghost[i] - dt)
    npc.no_yield[i] = max(0.0, npc.no_yield[i] - dt)


@numba.njit(cache=True)
def advance(npc: NpcArrays, i: int, lanes: LaneArrays, a: float, dt: float) -> None:
    """Integrate speed and arc length; move on to the next segments (a dead end holds at its end)."""
    vi = npc.v[i]
    nv = max(0.0, vi + a * dt)
    npc.accel[i] = (nv - vi) / dt
    npc.s[i] += 0.5 * (vi + nv) * dt
    npc.v[i] = nv
    R = npc.route.shape[1]
    while npc.s[i] > lanes.length[npc.route[i, 0]]:
        if npc.route[i, 1] < 0:
            npc.s[i] = lanes.length[npc.route[i, 0]]
            npc.v[i] = 0.0
            break
        npc.s[i] -= lanes.length[npc.route[i, 0]]
        for j in range(R - 1):
            npc.route[i, j] = npc.route[i, j + 1]
        npc.route[i, R - 1] = -1


@numba.njit(cache=True)
def drive(npc: NpcArrays, b: BodyArrays, lanes: LaneArrays, jn: JunctionArrays, p: KernelParams) -> None:
    """One tick for every NPC (see the module docstring for the order of the steps)."""
    N = npc.row.shape[0]
    M = b.x.shape[0]
    npc_of_row = np.full(M, -1, np.int64)
    for i in range(N):
        npc_of_row[npc.row[i]] = i
    prev_leader = npc.leader.copy()
    body_j = body_junctions(npc, b, lanes, jn, npc_of_row)
    v0 = np.empty(N)
    horizon = np.empty(N)
    a_road = np.empty(N)
    a_sig = np.empty(N)
    held = np.zeros(N, np.bool_)
    for i in range(N):
        vi = npc.v[i]
        cur = npc.route[i, 0]
        v0[i] = min(npc.top[i], npc.factor[i] * lanes.limit[cur], lanes.cap[cur])
        horizon[i] = max(p.horizon_min_m, vi * vi / (2.0 * p.b_comf) + vi * p.headway_s + p.min_gap_m + 10.0)
        a_road[i] = free_road(npc, i, lanes, p, v0[i], horizon[i])
        a_sig[i], held[i] = signals(npc, i, lanes, p, v0[i], horizon[i])
    cl = claims(npc, lanes, jn, p.b_comf)
    cand = np.empty(M, np.int64)
    a_veh = np.empty(N)
    lead_gap = np.empty(N)
    for i in range(N):
        reach = horizon[i]
        if 0.0 < cl.entry_d[i] < reach:  # see past the junction: is there room behind its exit?
            reach = max(reach, room_needed_m(npc, i, cl, p) + ROOM_MARGIN_M)
        nc = candidates(npc, i, b, reach, cand)
        a_veh[i], npc.leader[i], lead_gap[i] = follow(npc, i, b, lanes, p, v0[i], reach, cand, nc,
                                                      npc_of_row, prev_leader)
    for i in range(N):  # a car braking for a red light before the junction is not past the point of no return
        if held[i] and cl.entry_d[i] > 0.0:
            cl.committed[i] = False
    update_stamps(npc, lanes, held, cl, p)
    a_fin = np.empty(N)
    kind = np.zeros(N, np.int64)
    gives_way = np.zeros(N, np.bool_)
    no_room = room_waits(npc, b, cl, held, lead_gap, p)
    waiting = held | no_room
    silent = waiting | queued_before_entry(npc, b, cl, lead_gap)
    for i in range(N):
        npc.room_wait[i] = npc.room_wait[i] + p.dt if no_room[i] and npc.v[i] < 0.1 else 0.0
    for i in range(N):
        a_yield, npc.yield_to[i], no_room = junction_yield(npc, i, b, lanes, jn, p, v0[i], cl, held, waiting, silent,
                                                            body_j)
        a = min(a_road[i], a_sig[i], a_yield)
        lead = npc.leader[i]
        if a_veh[i] < a:
            a = a_veh[i]
            if lead >= 0 and b.npc[lead]:
                kind[i] = 1
        elif a_yield <= a:
            kind[i] = 1 if no_room else 2
            gives_way[i] = True
        a_fin[i] = min(max(a, -p.b_max), npc.a_max[i])
    lock = locked(npc, b, npc_of_row, kind, cl.clear_d, held, gives_way)
    for i in range(N):
        deadlock(npc, i, lock[i], gives_way[i], p.dt)
        advance(npc, i, lanes, a_fin[i], p.dt)
