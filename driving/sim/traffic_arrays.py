"""The NPC traffic kernel's data: named structs of arrays, its constants and small jitted helpers.

Why named structs: the kernel used to take ~46 positional arrays with short names, and every
change to junction logic meant threading one more array through three signatures. Each struct
below is a `typing.NamedTuple` of numpy arrays (numba passes those into nopython code as
records, fields by name, zero copies): `NpcArrays` (state per autopilot vehicle, mutated in
place), `BodyArrays` (every body of the world, read only), `LaneArrays` (the lane graph plus
per-tick signal stop lines), `JunctionArrays` (junction shapes and connector conflicts) and
`KernelParams` (scalars). Units: metres, seconds, m/s, radians (CARLA yaw convention).
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

ROUTE_LEN = 10
"""Lane segments each NPC knows ahead of it (its current one first)."""
STOP_SIGN_WAIT_S = 1.0
DEADLOCK_S = 10.0
"""Standing this long behind another NPC (or yielding this long) starts deadlock recovery."""
GHOST_S = 3.0
"""Recovery: seconds an NPC ignores other NPCs (never the ego or walkers)."""
CORRIDOR_MARGIN_M = 0.3
"""Corridor margin beside the own half width (metres) in which a body counts as in the way."""
SQUEEZE_MARGIN_M = 0.05
"""... and the margin for a standing vehicle not on autopilot heading the lane's way (the ego
waiting half across a lane change): the NPC beside it squeezes past instead of waiting for the
ego, which waits for it (a standoff that blocked the ego on CARLA's Town03 and Town06)."""
SQUEEZE_COS = 0.8
"""A vehicle heads the lane's way when the cosine of the angle between them is above this."""
WALKER_PREDICT_S = 1.0
"""NPCs brake for the path a walker will cover in this time (seconds), not only where it stands."""
LEVEL_MARGIN_M = 0.5
"""Two bodies are on the same level when their boxes overlap vertically within this (metres):
traffic on a bridge never brakes for traffic under it."""
LEVEL_MIN_M = 3.0
"""... and always when their base heights differ by less than this (metres): a bridge deck is
at least ~5 m above the road below, while a slope or a stale height may put two cars on one
road a metre or two apart, and those must never drive through each other."""


class NpcArrays(NamedTuple):
    """Per autopilot vehicle i (rows of every array); the kernel updates them in place.

    `row` is its row in the body table; `route[i, 0]` the lane segment it is on at arc length
    `s` (m, centre); `leader`/`yield_to` the body row it brakes for (-1: none); `stamp` the game
    time (s) it came within reach of the entry of junction `stamp_q` (inf / -1: none), which
    orders arrivals at unsignalized junctions; `room_wait` how long (s) it has stood waiting for
    room behind the exit of its next junction.
    """

    row: np.ndarray
    route: np.ndarray
    s: np.ndarray
    v: np.ndarray
    factor: np.ndarray
    top: np.ndarray
    a_max: np.ndarray
    hl: np.ndarray
    hw: np.ndarray
    cleared: np.ndarray
    stop_timer: np.ndarray
    blocked: np.ndarray
    ghost: np.ndarray
    no_yield: np.ndarray
    accel: np.ndarray
    leader: np.ndarray
    yield_to: np.ndarray
    stamp: np.ndarray
    stamp_q: np.ndarray
    room_wait: np.ndarray


class BodyArrays(NamedTuple):
    """Every body of the world (`Bodies.kernel_view`): pose (m, rad), base height z and half
    height hh (m), box half length/width (m), velocity (m/s), flags."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    yaw: np.ndarray
    hl: np.ndarray
    hw: np.ndarray
    hh: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    active: np.ndarray
    npc: np.ndarray
    vehicle: np.ndarray


class LaneArrays(NamedTuple):
    """Lane polylines (`lane_graph`), per segment junction index, junction movement (-1 none) and
    the arc length of the segment's start along it (m, `traffic_conflicts`), curvature speed cap
    and limit (m/s), stop-sign line s (m, inf none), and this tick's light stop line s (m, inf
    when green) and yellow flag."""

    pts: np.ndarray
    yaw: np.ndarray
    cum: np.ndarray
    off: np.ndarray
    n: np.ndarray
    length: np.ndarray
    junction: np.ndarray
    move: np.ndarray
    move_off: np.ndarray
    cap: np.ndarray
    limit: np.ndarray
    sign_s: np.ndarray
    light_s: np.ndarray
    light_yellow: np.ndarray


class JunctionArrays(NamedTuple):
    """Junction shapes (box, convex hull CSR) and signal flag, and the movements' conflicts.

    Per movement (`traffic_conflicts`) its turn (rad, < 0 left) and entry heading (rad).
    Conflicts are CSR by movement: movement c conflicts with `conf_move[k]` for k in
    `conf_off[c] : conf_off[c + 1]`; on c the shared area spans arc lengths `conf_in[k] ..
    conf_out[k]` (m), on the other movement `conf_in2[k] .. conf_out2[k]`.
    """

    box: np.ndarray
    hull: np.ndarray
    hull_off: np.ndarray
    signal: np.ndarray
    move_turn: np.ndarray
    move_yaw: np.ndarray
    conf_off: np.ndarray
    conf_move: np.ndarray
    conf_in: np.ndarray
    conf_out: np.ndarray
    conf_in2: np.ndarray
    conf_out2: np.ndarray


class KernelParams(NamedTuple):
    """Scalars of one tick: step (s), game clock (s), IDM time headway (s), jam gap (m),
    comfortable / maximum deceleration (m/s^2), gap at stop lines (m), minimum look-ahead (m)."""

    dt: float
    clock: float
    headway_s: float
    min_gap_m: float
    b_comf: float
    b_max: float
    stop_gap_m: float
    horizon_min_m: float


@numba.njit(cache=True, inline="always")
def idm(v: float, v0: float, a_max: float, b: float, T: float, s0: float, vl: float, gap: float) -> float:
    """Intelligent Driver Model acceleration (m/s^2) towards a leader at `gap` m moving at `vl`."""
    free = 1.0 - (v / max(v0, 0.1)) ** 4
    if gap == np.inf:
        return a_max * free
    s_star = s0 + max(0.0, v * T + v * (v - vl) / (2.0 * np.sqrt(a_max * b)))
    g = max(gap, 0.05)
    return a_max * (free - (s_star / g) ** 2)


@numba.njit(cache=True, inline="always")
def stop_accel(npc: NpcArrays, i: int, v0: float, p: KernelParams, gap: float) -> float:
    """IDM acceleration to stop `gap` m ahead of the front bumper (stop line spacing)."""
    return idm(npc.v[i], v0, npc.a_max[i], p.b_comf, p.headway_s, p.stop_gap_m, 0.0, max(gap, 0.0))


@numba.njit(cache=True, inline="always")
def swept_distance(px: float, py: float, x: float, y: float, vx: float, vy: float, radius: float,
                   horizon_s: float) -> float:
    """Distance (m) from (px, py) to a disc of `radius` moving from (x, y) at (vx, vy) for `horizon_s`."""
    wx = vx * horizon_s
    wy = vy * horizon_s
    w2 = wx * wx + wy * wy
    t = 0.0 if w2 < 1e-9 else min(max(((px - x) * wx + (py - y) * wy) / w2, 0.0), 1.0)
    return np.hypot(x + t * wx - px, y + t * wy - py) - radius


@numba.njit(cache=True)
def in_hull(x: float, y: float, hull: np.ndarray, a: int, b: int) -> bool:
    """Point in the convex counter-clockwise polygon hull[a:b]."""
    for k in range(a, b):
        k2 = k + 1 if k + 1 < b else a
        if (hull[k2, 0] - hull[k, 0]) * (y - hull[k, 1]) - (hull[k2, 1] - hull[k, 1]) * (x - hull[k, 0]) < 0.0:
            return False
    return True


@numba.njit(cache=True, inline="always")
def same_level(b: BodyArrays, m: int, r: int) -> bool:
    """Whether bodies m and r are on one level (see LEVEL_MARGIN_M, LEVEL_MIN_M)."""
    return abs(b.z[m] - b.z[r]) < max(b.hh[m] + b.hh[r] + LEVEL_MARGIN_M, LEVEL_MIN_M)


@numba.njit(cache=True, inline="always")
def time_to_reach(d: float, v: float, accel: float) -> float:
    """Seconds to cover `d` m from speed `v` accelerating at `accel` (standing cars need time too)."""
    if d <= 0.0:
        return 0.0
    return (np.sqrt(v * v + 2.0 * accel * d) - v) / accel
