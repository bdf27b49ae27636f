"""Oriented-box collision tests: yawed rectangles on the ground plane plus a height interval.

Why 2-D boxes with a vertical interval rather than full 3-D boxes: bodies keep their roll
near zero and pitch only with the road (a few degrees), so a yawed rectangle in plan view
and the interval of heights it occupies decide contact as a 3-D test would, at a fraction of
the cost. The interval is what separates two levels of a road network: a car on a bridge
(z = 8 m) and a car under it (z = 0) overlap in plan view but never touch.
Boxes are (centre x, centre y, yaw rad, half length m, half width m[, bottom z m, top z m]);
without the heights a box spans every height (the flat-ground behaviour). Static props live
in a uniform grid (broad phase, built once per map); one moving box against the bodies is an
all-pairs test with a bounding-circle reject (`box_contacts`), and every overlapping pair among
hundreds of bodies is a sort-and-sweep on x (`overlapping_pairs`), the exact test only on
candidates whose axis-aligned bounds overlap.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

GRID_CELL_M = 8.0
#: Heights (metres) of a box that spans every level (no vertical information).
ALL_HEIGHTS = (-np.inf, np.inf)


@numba.njit(cache=True, inline="always")
def _project_radius(ax: float, ay: float, c: float, s: float, hl: float, hw: float) -> float:
    # Half extent of a box (axes (c, s) and (-s, c)) projected on unit axis (ax, ay).
    return hl * abs(ax * c + ay * s) + hw * abs(-ax * s + ay * c)


@numba.njit(cache=True)
def obb_overlap(x1: float, y1: float, yaw1: float, hl1: float, hw1: float,
                x2: float, y2: float, yaw2: float, hl2: float, hw2: float) -> bool:
    """True when two yawed rectangles overlap (touching counts as overlap)."""
    dx = x2 - x1
    dy = y2 - y1
    r1 = hl1 + hw1
    r2 = hl2 + hw2
    if dx * dx + dy * dy > (r1 + r2) * (r1 + r2):
        return False
    c1 = np.cos(yaw1)
    s1 = np.sin(yaw1)
    c2 = np.cos(yaw2)
    s2 = np.sin(yaw2)
    axes = ((c1, s1), (-s1, c1), (c2, s2), (-s2, c2))
    for ax, ay in axes:
        dist = abs(dx * ax + dy * ay)
        if dist > _project_radius(ax, ay, c1, s1, hl1, hw1) + _project_radius(ax, ay, c2, s2, hl2, hw2):
            return False
    return True


def closest_point_in_box(px: float, py: float, x: float, y: float, yaw: float, hl: float,
                         hw: float) -> tuple[float, float]:
    """The point of box (x, y, yaw rad, hl, hw) nearest to (px, py), metres (a contact location)."""
    c, s = math.cos(yaw), math.sin(yaw)
    lx = min(max((px - x) * c + (py - y) * s, -hl), hl)
    ly = min(max(-(px - x) * s + (py - y) * c, -hw), hw)
    return x + lx * c - ly * s, y + lx * s + ly * c


@dataclass(frozen=True)
class StaticGrid:
    """Solid props as box arrays plus a CSR grid: cell k holds items[start[k]:start[k+1]].

    `z0`, `z1` are each prop's bottom and top heights (metres).
    """

    x: np.ndarray
    y: np.ndarray
    yaw: np.ndarray
    hl: np.ndarray
    hw: np.ndarray
    z0: np.ndarray
    z1: np.ndarray
    origin_x: float
    origin_y: float
    nx: int
    ny: int
    start: np.ndarray
    items: np.ndarray


def build_static_grid(x: np.ndarray, y: np.ndarray, yaw_rad: np.ndarray, hl: np.ndarray,
                      hw: np.ndarray, bounds: tuple[float, float, float, float],
                      z0: np.ndarray | None = None, z1: np.ndarray | None = None) -> StaticGrid:
    """Bucket boxes into `GRID_CELL_M` cells over `bounds` (min_x, min_y, max_x, max_y, metres).

    `z0`, `z1`: bottom and top heights of each box (metres); omitted, boxes span every height.
    """
    x, y, yaw_rad, hl, hw = (np.ascontiguousarray(a, dtype=np.float64) for a in (x, y, yaw_rad, hl, hw))
    z0 = np.full(len(x), ALL_HEIGHTS[0]) if z0 is None else np.ascontiguousarray(z0, dtype=np.float64)
    z1 = np.full(len(x), ALL_HEIGHTS[1]) if z1 is None else np.ascontiguousarray(z1, dtype=np.float64)
    ox, oy = bounds[0] - 20.0, bounds[1] - 20.0
    nx = max(1, int(np.ceil((bounds[2] - ox + 20.0) / GRID_CELL_M)))
    ny = max(1, int(np.ceil((bounds[3] - oy + 20.0) / GRID_CELL_M)))
    radius = np.hypot(hl, hw)
    cells: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    for i in range(len(x)):
        i0 = int(np.clip((x[i] - radius[i] - ox) // GRID_CELL_M, 0, nx - 1))
        i1 = int(np.clip((x[i] + radius[i] - ox) // GRID_CELL_M, 0, nx - 1))
        j0 = int(np.clip((y[i] - radius[i] - oy) // GRID_CELL_M, 0, ny - 1))
        j1 = int(np.clip((y[i] + radius[i] - oy) // GRID_CELL_M, 0, ny - 1))
        ii, jj = np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1), indexing="ij")
        cells.append((ii * ny + jj).ravel())
        owners.append(np.full(ii.size, i))
    cell_arr = np.concatenate(cells) if cells else np.zeros(0, np.int64)
    owner_arr = np.concatenate(owners) if owners else np.zeros(0, np.int64)
    order = np.argsort(cell_arr, kind="stable")
    items = owner_arr[order].astype(np.int64)
    counts = np.bincount(cell_arr, minlength=nx * ny)
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return StaticGrid(x, y, yaw_rad, hl, hw, z0, z1, float(ox), float(oy), nx, ny, start, items)


@numba.njit(cache=True)
def _static_hits(bx: float, by: float, byaw: float, bhl: float, bhw: float, bz0: float, bz1: float,
                 sx: np.ndarray, sy: np.ndarray, syaw: np.ndarray, shl: np.ndarray, shw: np.ndarray,
                 sz0: np.ndarray, sz1: np.ndarray, ox: float, oy: float, nx: int, ny: int, start: np.ndarray, items: np.ndarray,
                 out: np.ndarray) -> int:
    # Writes the indices of props overlapping the box into `out`; returns how many (deduplicated).
    r = bhl + bhw
    i0 = max(0, min(nx - 1, int((bx - r - ox) // GRID_CELL_M)))
    i1 = max(0, min(nx - 1, int((bx + r - ox) // GRID_CELL_M)))
    j0 = max(0, min(ny - 1, int((by - r - oy) // GRID_CELL_M)))
    j1 = max(0, min(ny - 1, int((by + r - oy) // GRID_CELL_M)))
    n = 0
    for i in range(i0, i1 + 1):
        for j in range(j0, j1 + 1):
            k = i * ny + j
            for t in range(start[k], start[k + 1]):
                p = items[t]
                seen = False
                for q in range(n):
                    if out[q] == p:
                        seen = True
                        break
                if seen or n >= out.shape[0] or sz0[p] > bz1 or bz0 > sz1[p]:
                    continue
                if obb_overlap(bx, by, byaw, bhl, bhw, sx[p], sy[p], syaw[p], shl[p], shw[p]):
                    out[n] = p
                    n += 1
    return n


@numba.njit(cache=True)
def _box_contacts(bx: float, by: float, byaw: float, bhl: float, bhw: float, bz0: float, bz1: float,
                  skip: int, x: np.ndarray, y: np.ndarray, yaw: np.ndarray, hl: np.ndarray,
                  hw: np.ndarray, z0: np.ndarray, z1: np.ndarray,
                  sx: np.ndarray, sy: np.ndarray, syaw: np.ndarray, shl: np.ndarray, shw: np.ndarray,
                  sz0: np.ndarray, sz1: np.ndarray, ox: float, oy: float, nx: int, ny: int, start: np.ndarray, items: np.ndarray,
                  bounds: np.ndarray, first_only: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    outside = bx < bounds[0] or by < bounds[1] or bx > bounds[2] or by > bounds[3]
    bodies = np.empty(x.shape[0], np.int64)
    nb = 0
    props = np.empty(16, np.int64)
    if outside and first_only:
        return bodies[:0], props[:0], outside
    for j in range(x.shape[0]):
        if j == skip or z0[j] > bz1 or bz0 > z1[j]:
            continue
        if obb_overlap(bx, by, byaw, bhl, bhw, x[j], y[j], yaw[j], hl[j], hw[j]):
            bodies[nb] = j
            nb += 1
            if first_only:
                return bodies[:nb], props[:0], outside
    n_props = _static_hits(bx, by, byaw, bhl, bhw, bz0, bz1, sx, sy, syaw, shl, shw, sz0, sz1,
                           ox, oy, nx, ny, start, items, props)
    return bodies[:nb], props[:n_props], outside


@dataclass(frozen=True)
class Contacts:
    """What one box touches: body indices, prop indices, and whether it left the map bounds."""

    bodies: np.ndarray
    props: np.ndarray
    out_of_bounds: bool

    def __bool__(self) -> bool:
        return bool(len(self.bodies) or len(self.props) or self.out_of_bounds)


def body_intervals(bodies: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """(x, y, yaw, hl, hw, bottom z, top z) arrays from `Bodies.collision_view()`-like input.

    Accepts (x, y, yaw, hl, hw) (bodies span every height), (x, y, yaw, hl, hw, z, hh) (base
    height and half height, metres, as `Bodies` stores them) or a `VerticalBodies` this
    returned earlier (passed through, so a sweep computes the intervals once).
    """
    if isinstance(bodies, VerticalBodies):
        return bodies
    x, y, yaw, hl, hw = bodies[:5]
    if len(bodies) == 5:
        return VerticalBodies((x, y, yaw, hl, hw, np.full(len(x), ALL_HEIGHTS[0]),
                               np.full(len(x), ALL_HEIGHTS[1])))
    z, hh = bodies[5], bodies[6]
    return VerticalBodies((x, y, yaw, hl, hw, np.ascontiguousarray(z, np.float64),
                           np.ascontiguousarray(z + 2.0 * hh, np.float64)))


class VerticalBodies(tuple):
    """Body arrays with their height intervals already computed (see `body_intervals`)."""


def box_contacts(box: tuple[float, ...], skip: int, bodies: tuple[np.ndarray, ...], grid: StaticGrid,
                 bounds: tuple[float, float, float, float], first_only: bool = False) -> Contacts:
    """Everything `box` overlaps, except body `skip`.

    `box` = (x, y, yaw rad, half length, half width[, bottom z, top z]) in metres; without the
    heights it spans every height. `bodies` as `body_intervals` accepts; `first_only` stops at
    the first hit (a cheap yes/no test). Two boxes touch only where both their plan-view
    rectangles and their height intervals overlap.
    """
    g = grid
    z0, z1 = (float(box[5]), float(box[6])) if len(box) == 7 else ALL_HEIGHTS
    b, p, out = _box_contacts(float(box[0]), float(box[1]), float(box[2]), float(box[3]),
                              float(box[4]), z0, z1, skip, *body_intervals(bodies), g.x, g.y, g.yaw,
                              g.hl, g.hw, g.z0, g.z1, g.origin_x, g.origin_y, g.nx, g.ny, g.start,
                              g.items, np.asarray(bounds, np.float64), first_only)
    return Contacts(b, p, bool(out))


@numba.njit(cache=True)
def _overlapping_pairs(x: np.ndarray, y: np.ndarray, yaw: np.ndarray, hl: np.ndarray, hw: np.ndarray,
                       z0: np.ndarray, z1: np.ndarray, take: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Sort-and-sweep: bodies sorted by the low x of their axis-aligned bounds; each is paired with
    # the following ones while their low x is below its high x, then y bounds, heights, exact box.
    idx = np.nonzero(take)[0]
    n = idx.shape[0]
    ex = np.empty(n)
    ey = np.empty(n)
    lo = np.empty(n)
    for k in range(n):
        i = idx[k]
        c = abs(np.cos(yaw[i]))
        s = abs(np.sin(yaw[i]))
        ex[k] = hl[i] * c + hw[i] * s
        ey[k] = hl[i] * s + hw[i] * c
        lo[k] = x[i] - ex[k]
    order = np.argsort(lo, kind="mergesort")
    cap = n + 16
    a = np.empty(cap, np.int64)
    b = np.empty(cap, np.int64)
    m = 0
    for p in range(n):
        kp = order[p]
        i = idx[kp]
        hi = x[i] + ex[kp]
        for q in range(p + 1, n):
            kq = order[q]
            if lo[kq] > hi:
                break
            j = idx[kq]
            if abs(y[i] - y[j]) > ey[kp] + ey[kq] or z0[i] > z1[j] or z0[j] > z1[i]:
                continue
            if obb_overlap(x[i], y[i], yaw[i], hl[i], hw[i], x[j], y[j], yaw[j], hl[j], hw[j]):
                if m == cap:
                    cap *= 2
                    a2 = np.empty(cap, np.int64)
                    b2 = np.empty(cap, np.int64)
                    a2[:m] = a[:m]
                    b2[:m] = b[:m]
                    a, b = a2, b2
                a[m] = min(i, j)
                b[m] = max(i, j)
                m += 1
    return a[:m], b[:m]


def overlapping_pairs(bodies: tuple[np.ndarray, ...], take: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of bodies (rows a < b) among those where `take` is True whose boxes touch.

    `bodies` as `body_intervals` accepts; two boxes touch where their plan-view rectangles
    (`obb_overlap`) and height intervals both overlap. Returns two int arrays (a, b).
    """
    x, y, yaw, hl, hw, z0, z1 = body_intervals(bodies)
    return _overlapping_pairs(x, y, yaw, hl, hw, z0, z1, np.asarray(take, np.bool_))


def first_free_fraction(x0: float, y0: float, yaw0: float, x1: float, y1: float, yaw1: float,
                        hl: float, hw: float, skip: int, bodies: tuple[np.ndarray, ...],
                        grid: StaticGrid, bounds: tuple[float, float, float, float],
                        step_m: float = 0.1,
                        heights: tuple[float, float] = ALL_HEIGHTS) -> tuple[float, Contacts | None]:
    """How far along the move (x0,y0,yaw0) -> (x1,y1,yaw1) the box gets, and what stops it.

    Returns (f, contacts): f = 1.0 and None when the whole move is free; otherwise the largest
    free fraction and the contacts at the first blocked pose. The move is swept in steps of at
    most `step_m` metres, so a thin pole cannot be jumped over at any speed (no tunnelling).
    A box that already overlaps something may move only if it separates from all of it (so two
    bodies never sink further into each other, yet a car can back away from a wall).
    `heights` = (bottom, top) metres the box occupies during the whole move (the union of its
    start and end intervals on a slope).
    """
    bodies = body_intervals(bodies)
    z0, z1 = heights

    def hits(pose: tuple[float, ...], first_only: bool) -> Contacts:
        return box_contacts((*pose, z0, z1), skip, bodies, grid, bounds, first_only)

    dist = float(np.hypot(x1 - x0, y1 - y0))
    dyaw = (yaw1 - yaw0 + np.pi) % (2 * np.pi) - np.pi
    at_start = hits((x0, y0, yaw0, hl, hw), False)
    if at_start:
        end = hits((x1, y1, yaw1, hl, hw), False)
        if not end:
            return 1.0, None
        if _separating(at_start, end, (x0, y0), (x1, y1), bodies, grid):
            return 1.0, None
        return 0.0, at_start
    # Swept box: the union of the poses along a (nearly straight) move, tested once.
    swept = (0.5 * (x0 + x1), 0.5 * (y0 + y1), yaw0 + 0.5 * dyaw, hl + 0.5 * dist, hw + 0.05)
    if not hits(swept, True) and not hits((x1, y1, yaw1, hl, hw), True):
        return 1.0, None
    n = max(1, int(np.ceil(dist / step_m)), int(np.ceil(abs(dyaw) / 0.02)))
    for k in range(1, n + 1):
        f = k / n
        pose = (x0 + f * (x1 - x0), y0 + f * (y1 - y0), yaw0 + f * dyaw, hl, hw)
        found = hits(pose, False)
        if found:
            return (k - 1) / n, found
    return 1.0, None


def _separating(start: Contacts, end: Contacts, p0: tuple[float, float], p1: tuple[float, float],
                bodies: tuple[np.ndarray, ...], grid: StaticGrid) -> bool:
    # True when every contact at the end was there at the start and every centre moves away.
    if end.out_of_bounds and not start.out_of_bounds:
        return False
    if not set(end.bodies.tolist()) <= set(start.bodies.tolist()):
        return False
    if not set(end.props.tolist()) <= set(start.props.tolist()):
        return False
    centres = [(bodies[0][j], bodies[1][j]) for j in end.bodies]
    centres += [(grid.x[j], grid.y[j]) for j in end.props]
    for cx, cy in centres:
        if np.hypot(p1[0] - cx, p1[1] - cy) <= np.hypot(p0[0] - cx, p0[1] - cy):
            return False
    return True
