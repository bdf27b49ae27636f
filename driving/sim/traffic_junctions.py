"""Junction right of way for NPC traffic: conflict areas of junction movements and who goes first.

Why conflict areas and not junction occupancy: in a large multi-lane junction most movements do
not touch each other, so "wait while anyone is inside" stalls traffic, while checking only the
entry lets two vehicles meet in the middle. Once per map, `traffic_conflicts.build_movements`
finds the movements through each junction (chains of connector segments) and the areas where
two of them cross or merge. Per tick, `claims` lists for every movement the NPCs on it or
heading to it (within CLAIM_M), and `junction_yield` lets an NPC near or inside a junction give
way, for each conflict area on its own path, to a vehicle that has the right of way there
(`_gives_way`):

- a committed vehicle (inside the junction, front past the entry, or too fast to stop before
  it comfortably) goes before one not committed (but for a left turn waiting for oncoming
  traffic, below): an NPC inside is never blocked by one not yet inside, so there are no
  standoffs, and fast through traffic never brakes hard for a car merging ahead of it;
- committed both: the one whose front is nearer its conflict area goes, the other stops before it;
- at signalized junctions a left turn gives way to oncoming straight/right traffic (not held by
  a red light, not standing before the junction) unless it clears the area LEFT_GAP_S before
  that traffic arrives; it waits inside the junction just before the area (so it clears when
  the oncoming flow stops);
- neither committed: first come first served by `stamp` (the game time each came within reach
  of the entry); ties within STAMP_TIE_S go straight before right before left, then
  (unsignalized) to the vehicle from the right, then to the lower row;
- a vehicle held by a red light or an uncleared stop sign, or waiting for room behind the exit
  (below), claims nothing;
- don't block the box: an NPC does not enter while the vehicle ahead (looked for past the exit,
  however long the junction) leaves too little room behind the exit for it to fit, counting
  the room it will leave within ROOM_AHEAD_S (a crawling queue gridlocked CARLA's Town02 when
  cars entered behind it and stopped on the crossing lanes);
- the ego and other vehicles not on autopilot (connector unknown) are predicted straight along
  their velocity for EGO_PREDICT_S; an NPC gives way where that path meets its own path in the
  junction when the other vehicle is inside the junction or gets there first. Never ignored.

Deadlock recovery (after `DEADLOCK_S`) is in `traffic_kernel.deadlock`. Units: metres, seconds.
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from driving.sim.traffic_arrays import (
    BodyArrays,
    JunctionArrays,
    KernelParams,
    LaneArrays,
    NpcArrays,
    same_level,
    stop_accel,
    swept_distance,
    time_to_reach,
)

CLAIM_M = 50.0
"""An NPC claims the junction movements whose start is within this (m) of its front."""
YIELD_LOOKAHEAD_M = 8.0
"""An NPC takes part in right of way within max(this, braking distance + 2 m) of the entry (m)."""
QUEUE_STANDING_MPS = 0.5
"""A leader slower than this (m/s) stands: the NPC behind it is queued (`queued_before_entry`)."""
LEFT_TURN_RAD = 0.5
"""A connector turning left (right) by more than this (rad) is a left (right) turn."""
LEFT_GAP_S = 1.0
"""A left turn goes only if it clears the conflict area this long (s) before oncoming traffic gets there."""
STAMP_TIE_S = 1.0
"""Arrivals closer than this (s) are ties decided by movement, then the right-hand rule."""
CONFLICT_STOP_M = 1.0
"""Inside a junction an NPC that gives way stops this far before the conflict area (m)."""
EGO_PREDICT_S = 3.0
"""Vehicles not on autopilot are predicted straight along their velocity this long (s)."""
EGO_MARGIN_S = 1.5
"""... and given way to when they reach the shared point less than this later than the NPC (s)."""
START_ACCEL_MPS2 = 2.0
"""Acceleration assumed when timing arrivals (m/s^2): a standing car needs time too."""
ROOM_AHEAD_S = 1.5
"""Don't block the box: the leader's gap beyond the exit is counted as it will be this long (s)
from now at its current speed; a crawling queue leaves no room, one moving at speed does."""
ROOM_MARGIN_M = 2.0
"""An NPC approaching a junction looks for its leader this far (m) past the room it needs."""


class Claims(NamedTuple):
    """This tick's claims: CSR by junction movement of (NPC, centre arc position along the
    movement, m; negative before it), and per NPC its next junction (-1 none), front distance to
    its entry (m, <= 0 when inside or past the entry), to its exit, `clear_d` = exit distance +
    own length, and `committed`: inside, past the entry, or too fast to stop before it at the
    comfortable deceleration (past the point of no return: others must give way to it, so fast
    through traffic never brakes hard for a car merging or crossing ahead)."""

    off: np.ndarray
    npc: np.ndarray
    pos: np.ndarray
    entry_q: np.ndarray
    entry_d: np.ndarray
    exit_d: np.ndarray
    clear_d: np.ndarray
    committed: np.ndarray


@numba.njit(cache=True)
def _claim_walk(npc: NpcArrays, i: int, lanes: LaneArrays, count: np.ndarray, who: np.ndarray, pos: np.ndarray,
                fill: np.ndarray, entry: np.ndarray) -> None:
    # One NPC's movements within CLAIM_M: count them (fill empty) or write them (fill given);
    # entry[i] = (junction, entry distance, exit distance) of the first junction ahead.
    hl = npc.hl[i]
    seg_start = -npc.s[i]
    q0 = -1
    last_move = -1
    left_first = False
    for j in range(npc.route.shape[1]):
        seg = npc.route[i, j]
        if seg < 0 or seg_start - hl > CLAIM_M:
            break
        q = lanes.junction[seg]
        if q >= 0:
            mv = lanes.move[seg]
            if mv != last_move:
                last_move = mv
                if fill.shape[0] == 0:
                    count[mv + 1] += 1
                else:
                    who[fill[mv]] = i
                    pos[fill[mv]] = lanes.move_off[seg] - seg_start
                    fill[mv] += 1
            if q0 < 0:
                q0 = q
                entry[i, 0] = q
                entry[i, 1] = seg_start - hl
            if q == q0 and not left_first:
                entry[i, 2] = seg_start + lanes.length[seg] - hl
        elif q0 >= 0:
            left_first = True
        seg_start += lanes.length[seg]


@numba.njit(cache=True)
def claims(npc: NpcArrays, lanes: LaneArrays, jn: JunctionArrays, b_comf: float) -> Claims:
    """Who is on or heading to each junction movement (see `Claims`)."""
    N = npc.row.shape[0]
    count = np.zeros(jn.move_turn.shape[0] + 1, np.int64)
    entry = np.empty((N, 3))
    entry[:, 0] = -1.0
    entry[:, 1:] = np.inf
    none = np.empty(0, np.int64)
    for i in range(N):
        _claim_walk(npc, i, lanes, count, none, np.empty(0), none, entry)
    count = np.cumsum(count)
    fill = count[:-1].copy()
    who = np.empty(count[-1], np.int64)
    pos = np.empty(count[-1])
    for i in range(N):
        _claim_walk(npc, i, lanes, count, who, pos, fill, entry)
    exit_d = entry[:, 2].copy()
    entry_d = entry[:, 1].copy()
    committed = (entry_d <= 0.0) | (npc.v * npc.v > 2.0 * b_comf * np.maximum(entry_d, 0.0))
    return Claims(count, who, pos, entry[:, 0].astype(np.int64), entry_d, exit_d, exit_d + 2.0 * npc.hl,
                  committed)


@numba.njit(cache=True, inline="always")
def _zone(v: float, b_comf: float) -> float:
    return max(YIELD_LOOKAHEAD_M, v * v / (2.0 * b_comf) + 2.0)


@numba.njit(cache=True)
def update_stamps(npc: NpcArrays, lanes: LaneArrays, held: np.ndarray, cl: Claims, p: KernelParams) -> None:
    """Arrival order: stamp the game time an NPC (not held by a signal) comes within reach of the
    entry of its next junction; keep it until it leaves that junction."""
    for i in range(npc.row.shape[0]):
        q = cl.entry_q[i]
        d = cl.entry_d[i]
        if q < 0 or (held[i] and d > 0.0) or d > _zone(npc.v[i], p.b_comf):
            npc.stamp_q[i] = -1
            npc.stamp[i] = np.inf
        elif npc.stamp_q[i] != q:
            npc.stamp_q[i] = q
            npc.stamp[i] = p.clock


@numba.njit(cache=True, inline="always")
def _rank(turn: float) -> int:
    # straight 0, right 1, left 2 (CARLA yaw: a left turn decreases it)
    if turn < -LEFT_TURN_RAD:
        return 2
    return 1 if turn > LEFT_TURN_RAD else 0


@numba.njit(cache=True)
def _gives_way(npc: NpcArrays, i: int, m: int, q: int, lanes: LaneArrays, jn: JunctionArrays, cl: Claims,
               held: np.ndarray, c: int, c2: int, d_i: float, d_m: float, k: int) -> int:
    """Whether NPC i (on/heading to movement c) lets NPC m (movement c2) through their shared
    area first: 0 no, 1 yes (wait at the entry, or before the area once inside), 2 yes, waiting
    inside the junction before the area (a left turn against oncoming traffic, as drivers do, so
    it clears the junction when the oncoming flow stops)."""
    in_i = cl.committed[i]
    in_m = cl.entry_q[m] == q and cl.committed[m]
    rank_i = _rank(jn.move_turn[c])
    rank_m = _rank(jn.move_turn[c2])
    h_i = jn.move_yaw[c]
    h_m = jn.move_yaw[c2]
    if jn.signal[q] and np.cos(h_m - h_i) < -0.5 and (rank_i == 2) != (rank_m == 2):
        # a left turn against oncoming straight/right traffic: the turn waits for a gap, also
        # after it has entered the junction, until its front reaches the area
        i_left = rank_i == 2
        left, other = (i, m) if i_left else (m, i)
        in_left, in_other = (in_i, in_m) if i_left else (in_m, in_i)
        d_left = d_i if i_left else d_m
        if held[left] and not in_left:
            return 0  # a turn waiting at a red light claims nothing
        if d_left > 0.0 and not in_other and (held[other] or npc.v[other] < 0.5):
            return 0 if i_left else 1  # oncoming traffic stands (a red light, a queue): turn now
        if d_left > 0.0:
            if i_left:  # the turn must clear its area (plus its own length) before m arrives
                t_clear = time_to_reach(d_i + jn.conf_out[k] - jn.conf_in[k] + 2.0 * npc.hl[i], npc.v[i],
                                        START_ACCEL_MPS2)
                return 2 if time_to_reach(d_m, npc.v[m], START_ACCEL_MPS2) < t_clear + LEFT_GAP_S else 0
            t_clear = time_to_reach(d_m + jn.conf_out2[k] - jn.conf_in2[k] + 2.0 * npc.hl[m], npc.v[m],
                                    START_ACCEL_MPS2)
            return 0 if time_to_reach(d_i, npc.v[i], START_ACCEL_MPS2) < t_clear + LEFT_GAP_S else 1
    if in_m != in_i:
        return 1 if in_m else 0
    if in_i:
        if d_i <= 0.0:
            return 0
        if d_m <= 0.0:
            return 1
        return 1 if d_m < d_i or (d_m == d_i and npc.row[m] < npc.row[i]) else 0
    if held[m]:
        return 0
    stamp_i = npc.stamp[i] if npc.stamp_q[i] == q else np.inf
    stamp_m = npc.stamp[m] if npc.stamp_q[m] == q else np.inf
    if stamp_m == np.inf:
        return 0
    if stamp_m + STAMP_TIE_S < stamp_i:
        return 1
    if stamp_i + STAMP_TIE_S < stamp_m:
        return 0
    if rank_m != rank_i:
        return 1 if rank_m < rank_i else 0
    if not jn.signal[q]:
        side = np.sin(h_m - h_i)
        if side < -0.5:  # m comes from the right
            return 1
        if side > 0.5:
            return 0
    return 1 if npc.row[m] < npc.row[i] else 0


@numba.njit(cache=True)
def _first_route_index(npc: NpcArrays, i: int, lanes: LaneArrays, q: int) -> tuple[int, float]:
    # (route index of the first connector of junction q, distance from the centre to its start)
    seg_start = -npc.s[i]
    for j in range(npc.route.shape[1]):
        seg = npc.route[i, j]
        if seg < 0:
            break
        if lanes.junction[seg] == q:
            return j, seg_start
        seg_start += lanes.length[seg]
    return -1, 0.0


@numba.njit(cache=True)
def _yield_to_unpredicted(npc: NpcArrays, i: int, b: BodyArrays, lanes: LaneArrays, jn: JunctionArrays, q: int,
                          j0: int, start0: float, body_j: np.ndarray, committed: bool) -> tuple[float, int]:
    """(front distance m to the first point of the own junction path that a vehicle not on
    autopilot will cross and that it may claim, its row); (inf, -1) when none; 0 for a vehicle
    standing inside an unsignalized junction (wait at the entry)."""
    row = npc.row[i]
    hl = npc.hl[i]
    best = np.inf
    who = -1
    t_scale = START_ACCEL_MPS2
    for m in range(b.x.shape[0]):
        if b.npc[m] or not b.vehicle[m] or not b.active[m] or m == row or not same_level(b, m, row):
            continue
        speed = np.hypot(b.vx[m], b.vy[m])
        if speed < 0.5:
            # standing: car following sees it where it is; inside an unsignalized junction its
            # way on is unknown, so wait at the entry (until deadlock recovery lifts yields)
            if body_j[m] == q and not jn.signal[q] and not committed and npc.no_yield[i] <= 0.0 and best > 0.0:
                best = 0.0
                who = m
            continue
        reach = speed * EGO_PREDICT_S + b.hl[m]
        dx = b.x[m] - b.x[row]
        dy = b.y[m] - b.y[row]
        hx = np.cos(b.yaw[row])
        hy = np.sin(b.yaw[row])
        if dx * hx + dy * hy < 0.0 and b.vx[m] * hx + b.vy[m] * hy > 0.5 * speed:
            continue  # behind it, going its way: following is the other's business (braking here rear-ends)
        if dx * dx + dy * dy > (reach + CLAIM_M) ** 2:
            continue
        horizon = EGO_PREDICT_S + b.hl[m] / speed
        seg_start = start0
        hit = False
        for j in range(j0, npc.route.shape[1]):
            seg = npc.route[i, j]
            if seg < 0 or lanes.junction[seg] != q:
                break
            for pnt in range(lanes.off[seg], lanes.off[seg] + lanes.n[seg]):
                d = seg_start + lanes.cum[pnt] - hl
                if d < 0.0 or d >= best:
                    continue
                px = lanes.pts[pnt, 0]
                py = lanes.pts[pnt, 1]
                if swept_distance(px, py, b.x[m], b.y[m], b.vx[m], b.vy[m], b.hw[m], horizon) > npc.hw[i] + 0.5:
                    continue
                t_m = max(0.0, ((px - b.x[m]) * b.vx[m] + (py - b.y[m]) * b.vy[m]) / (speed * speed))
                t_i = time_to_reach(d, npc.v[i], t_scale)
                if body_j[m] == q or t_m < t_i + EGO_MARGIN_S:
                    best = d
                    who = m
                hit = True
                break
            if hit:
                break
            seg_start += lanes.length[seg]
    return best, who


@numba.njit(cache=True, inline="always")
def room_needed_m(npc: NpcArrays, i: int, cl: Claims, p: KernelParams) -> float:
    """Gap (m, from NPC i's front) its leader must leave for i to fit behind the junction exit."""
    return cl.exit_d[i] + 2.0 * npc.hl[i] + p.min_gap_m


@numba.njit(cache=True)
def room_waits(npc: NpcArrays, b: BodyArrays, cl: Claims, held: np.ndarray, lead_gap: np.ndarray,
               p: KernelParams) -> np.ndarray:
    """Per NPC: it waits before its next junction for room behind the exit (don't block the box).

    Such an NPC claims nothing, like one held by a red light: a car giving way to it would wait
    for a wait that only traffic far ahead ends, and on CARLA's Town02 such waits closed a ring
    of queues into a gridlock."""
    N = npc.row.shape[0]
    out = np.zeros(N, np.bool_)
    for i in range(N):
        lead = npc.leader[i]
        d_entry = cl.entry_d[i]
        if cl.entry_q[i] < 0 or cl.committed[i] or held[i] or npc.no_yield[i] > 0.0 or lead < 0 \
                or d_entry > _zone(npc.v[i], p.b_comf) or lead_gap[i] <= d_entry:
            continue
        out[i] = lead_gap[i] + ROOM_AHEAD_S * np.hypot(b.vx[lead], b.vy[lead]) < room_needed_m(npc, i, cl, p)
    return out


@numba.njit(cache=True)
def queued_before_entry(npc: NpcArrays, b: BodyArrays, cl: Claims, lead_gap: np.ndarray) -> np.ndarray:
    """Per NPC: it stands behind a standing leader that is itself still before the junction
    entry (a queue), so it cannot enter before that leader has.

    Such an NPC claims nothing. Why: at a signalized junction a left turn goes first when the
    oncoming traffic stands; a turner fourth in its queue was given way to by the oncoming queue's
    head, which then stood too, so the turner's queue never moved either (CARLA Town03, both
    green approaches of a four-way junction stood for minutes: training route 26)."""
    N = npc.row.shape[0]
    out = np.zeros(N, np.bool_)
    for i in range(N):
        lead = npc.leader[i]
        if cl.entry_q[i] < 0 or cl.committed[i] or lead < 0 or lead_gap[i] > cl.entry_d[i]:
            continue
        out[i] = np.hypot(b.vx[lead], b.vy[lead]) < QUEUE_STANDING_MPS
    return out


@numba.njit(cache=True)
def junction_yield(npc: NpcArrays, i: int, b: BodyArrays, lanes: LaneArrays, jn: JunctionArrays,
                   p: KernelParams, v0: float, cl: Claims, held: np.ndarray, waiting: np.ndarray,
                   silent: np.ndarray, body_j: np.ndarray) -> tuple[float, int, bool]:
    """(acceleration, body row given way to or -1, no_room) for NPC i at its next junction.

    `held`: held by a signal; `waiting`: held or waiting for room behind the exit (`room_waits`);
    `silent`: waiting or queued behind a leader before the entry (`queued_before_entry`): none
    of these claims right of way."""
    q = cl.entry_q[i]
    if q < 0:
        return np.inf, -1, False
    d_entry = cl.entry_d[i]
    committed = cl.committed[i]
    if not committed and (d_entry > _zone(npc.v[i], p.b_comf) or held[i]):
        return np.inf, -1, False
    if waiting[i]:
        return stop_accel(npc, i, v0, p, d_entry), npc.leader[i], True
    hl = npc.hl[i]
    a = np.inf
    who = -1
    no_room = False
    j0, start0 = _first_route_index(npc, i, lanes, q)
    if j0 < 0:
        return a, who, no_room
    if npc.no_yield[i] <= 0.0:
        seg_start = start0
        last_move = -1
        for j in range(j0, npc.route.shape[1]):
            seg = npc.route[i, j]
            if seg < 0 or lanes.junction[seg] != q:
                break
            c = lanes.move[seg]
            pos_i = lanes.move_off[seg] - seg_start  # own centre along movement c
            seg_start += lanes.length[seg]
            if c == last_move:
                continue
            last_move = c
            for k in range(jn.conf_off[c], jn.conf_off[c + 1]):
                if pos_i - hl > jn.conf_out[k]:
                    continue  # already past this area
                c2 = jn.conf_move[k]
                d_i = jn.conf_in[k] - pos_i - hl
                for e in range(cl.off[c2], cl.off[c2 + 1]):
                    m = cl.npc[e]
                    if m == i or cl.pos[e] - npc.hl[m] > jn.conf_out2[k]:
                        continue
                    d_m = jn.conf_in2[k] - cl.pos[e] - npc.hl[m]
                    way = _gives_way(npc, i, m, q, lanes, jn, cl, silent, c, c2, d_i, d_m, k)
                    if way == 0:
                        continue
                    stop = d_entry if way == 1 and not committed else d_i - CONFLICT_STOP_M
                    if stop < 0.0 and (committed or way == 2):
                        continue  # its front is at the area already: clear it
                    acc = stop_accel(npc, i, v0, p, stop)
                    if acc < a:
                        a = acc
                        who = npc.row[m]
                        no_room = False
    d_p, m = _yield_to_unpredicted(npc, i, b, lanes, jn, q, j0, start0, body_j, committed)
    if m >= 0:
        stop = d_entry if not committed else d_p - CONFLICT_STOP_M
        acc = stop_accel(npc, i, v0, p, stop)
        if acc < a:
            a = acc
            who = m
            no_room = False
    return a, who, no_room
