"""Static props placed from a seed in the free space beyond the paved area.

Why frontage lines: city blocks are what remains between roads, and the rings at a fixed
offset from the paved area (`paved.buffer(d).boundary`) follow every kerb of any map, so
lamps, buildings, walls and trees line the streets the way they do in CARLA towns without any
knowledge of the map's shape. Every candidate is a rotated box; a candidate is kept only when its
footprint stays `CLEARANCE_M` away from the paved area and from every prop kept before it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from driving.sim.scene import StaticObject
from driving.sim.signals import SignalSet
from driving.tags import Tag
from driving.world import StopSignInfo, TrafficLightInfo

CLEARANCE_M = 0.3
LAMP_OFFSET_M = 0.8  # street lamps stand this far beyond the kerb line
LAMP_SPACING_M = 32.0
FRONT_OFFSET_M = 3.0  # building fronts, walls and fences stand this far from the paved area
SLOT_GAP_M = (1.0, 4.0)
MIN_RING_M = 15.0
SIGNAL_SEARCH_M = 12.0  # how far a signal post may move outwards to leave the paved area

BUILDING_RGB = ((178, 168, 158), (150, 140, 132), (204, 192, 176), (122, 112, 108), (170, 122, 100),
                (140, 150, 162), (212, 204, 194), (104, 104, 114), (186, 150, 120))
WALL_RGB = (150, 146, 140)
FENCE_RGB = (120, 96, 70)
TRUNK_RGB = (96, 70, 48)
CROWN_RGB = ((60, 110, 45), (78, 128, 52), (52, 96, 58))
BUSH_RGB = (70, 116, 50)
POLE_RGB = (92, 96, 100)
LIGHT_HEAD_RGB = (40, 40, 36)
STOP_SIGN_RGB = (200, 30, 30)


def footprint(obj: StaticObject) -> shapely.Polygon:
    """The box's ground rectangle (CARLA x, y metres)."""
    return _box(obj.center[0], obj.center[1], obj.half_extent[0], obj.half_extent[1], obj.yaw_deg)


def _box(cx: float, cy: float, hx: float, hy: float, yaw_deg: float) -> shapely.Polygon:
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    pts = [(cx + c * x - s * y, cy + s * x + c * y) for x, y in ((hx, hy), (-hx, hy), (-hx, -hy), (hx, -hy))]
    return shapely.Polygon(pts)


@dataclass
class _Placer:
    """Keeps the accepted props and answers 'is this footprint free?' with an STR-tree per batch."""

    forbidden: shapely.Geometry
    objects: list[StaticObject]
    footprints: list[shapely.Polygon]

    def __post_init__(self) -> None:
        shapely.prepare(self.forbidden)
        self._tree = shapely.STRtree(self.footprints)
        self._fresh: list[shapely.Polygon] = []

    def free(self, fp: shapely.Polygon) -> bool:
        if self.forbidden.intersects(fp):
            return False
        if len(self._tree.query(fp, predicate="intersects")):
            return False
        return not any(fp.intersects(f) for f in self._fresh)

    def reserve(self, fp: shapely.Polygon) -> None:
        """Mark a footprint as taken without a free-space check (signal posts are placed first)."""
        self._fresh.append(fp)

    def add(self, *objs: StaticObject, check: shapely.Polygon | None = None) -> bool:
        """Add objects (one prop, possibly several boxes) if `check` (or their footprints) are free."""
        fps = [footprint(o) for o in objs]
        if check is not None and not self.free(check):
            return False
        if check is None and not all(self.free(f) for f in fps):
            return False
        self.objects.extend(objs)
        self._fresh.extend(fps if check is None else [check])
        if len(self._fresh) > 64:  # rebuild the tree now and then so checks stay fast
            self.footprints.extend(self._fresh)
            self._fresh = []
            self._tree = shapely.STRtree(self.footprints)
        return True


def _rings(paved: shapely.Geometry, offset_m: float) -> list[shapely.LineString]:
    grown = paved.buffer(offset_m, quad_segs=6)
    return [r for r in shapely.get_parts(shapely.boundary(grown)) if r.length >= MIN_RING_M]


def _frame(ring: shapely.LineString, dist: float, inside: shapely.Geometry
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point, unit tangent and unit outward normal (away from the paved area) at `dist`."""
    p = np.array(ring.interpolate(dist).coords[0])
    q = np.array(ring.interpolate(min(dist + 0.5, ring.length)).coords[0])
    if np.allclose(p, q):
        q = p
        p = np.array(ring.interpolate(max(dist - 0.5, 0.0)).coords[0])
    t = (q - p) / max(np.linalg.norm(q - p), 1e-9)
    n = np.array([-t[1], t[0]])
    if shapely.contains_xy(inside, *(p + n * 0.5)):
        n = -n
    return p, t, n


def _yaw(t: np.ndarray) -> float:
    return math.degrees(math.atan2(t[1], t[0]))


# ---- signals ---------------------------------------------------------------------------------------
def _signal_post(info: TrafficLightInfo | StopSignInfo, placer: _Placer, half: float) -> np.ndarray | None:
    """Post position: the signal's own point if free, else moved outwards from the road edge."""
    loc = info.transform.location
    start = np.array([loc.x, loc.y])
    outer = max(info.stop_waypoints, key=lambda w: (abs(w.lane_id), w.lane_id))
    yaw = math.radians(outer.transform.rotation.yaw)
    right = np.array([-math.sin(yaw), math.cos(yaw)])
    base = np.array([outer.transform.location.x, outer.transform.location.y])
    candidates = [start] + [base + right * (outer.lane_width / 2 + k * 0.25)
                            for k in range(int(SIGNAL_SEARCH_M / 0.25))]
    for p in candidates:
        if not placer.forbidden.intersects(_box(p[0], p[1], half, half, 0.0)):
            return p
    return None


def _place_signals(signals: SignalSet, placer: _Placer) -> None:
    for tl in signals.traffic_lights:
        p = _signal_post(tl, placer, 0.15)
        if p is None:
            continue
        head_z = max(tl.transform.location.z, 2.5)
        pole_h = head_z + 0.45
        yaw = tl.transform.rotation.yaw
        placer.objects += [
            StaticObject("traffic_light_pole", Tag.POLE, (p[0], p[1], pole_h / 2), (0.1, 0.1, pole_h / 2),
                         yaw, POLE_RGB),
            StaticObject("traffic_light", Tag.TRAFFIC_LIGHT, (p[0], p[1], head_z), (0.15, 0.2, 0.45), yaw,
                         LIGHT_HEAD_RGB, light_id=tl.id),
        ]
        placer.reserve(_box(p[0], p[1], 0.2, 0.2, yaw))
    for ss in signals.stop_signs:
        p = _signal_post(ss, placer, 0.4)
        if p is None:
            continue
        plate_z = max(ss.transform.location.z, 1.6)
        yaw = ss.transform.rotation.yaw
        placer.objects += [
            StaticObject("stop_sign_post", Tag.POLE, (p[0], p[1], plate_z / 2), (0.04, 0.04, plate_z / 2),
                         yaw, POLE_RGB),
            StaticObject("stop_sign", Tag.TRAFFIC_SIGN, (p[0], p[1], plate_z), (0.03, 0.38, 0.38), yaw,
                         STOP_SIGN_RGB),
        ]
        placer.reserve(_box(p[0], p[1], 0.4, 0.4, yaw))


# ---- street furniture and blocks --------------------------------------------------------------------
def _place_lamps(paved: shapely.Geometry, placer: _Placer, rng: np.random.Generator) -> None:
    for ring in _rings(paved, LAMP_OFFSET_M):
        d = float(rng.uniform(0, LAMP_SPACING_M))
        while d < ring.length:
            p, t, _n = _frame(ring, d, paved)
            placer.add(StaticObject("pole", Tag.POLE, (p[0], p[1], 3.5), (0.1, 0.1, 3.5), _yaw(t), POLE_RGB))
            d += LAMP_SPACING_M * float(rng.uniform(0.8, 1.2))


def _tree(x: float, y: float, rng: np.random.Generator) -> tuple[StaticObject, StaticObject]:
    trunk_h = float(rng.uniform(2.2, 3.5))
    crown = float(rng.uniform(1.2, 2.4))
    rgb = CROWN_RGB[int(rng.integers(len(CROWN_RGB)))]
    return (StaticObject("tree_trunk", Tag.VEGETATION, (x, y, trunk_h / 2), (0.15, 0.15, trunk_h / 2), 0.0,
                         TRUNK_RGB),
            StaticObject("tree_crown", Tag.VEGETATION, (x, y, trunk_h + crown), (crown, crown, crown),
                         float(rng.uniform(0, 90)), rgb, solid=False))


def _building(p: np.ndarray, t: np.ndarray, n: np.ndarray, width: float, rng: np.random.Generator
              ) -> StaticObject:
    depth = float(rng.uniform(10.0, 26.0))
    height = 3.2 * int(rng.integers(2, 10))
    c = p + n * (depth / 2)
    rgb = BUILDING_RGB[int(rng.integers(len(BUILDING_RGB)))]
    return StaticObject("building", Tag.BUILDING, (c[0], c[1], height / 2), (width / 2, depth / 2, height / 2),
                        _yaw(t), rgb)


def _park(p: np.ndarray, t: np.ndarray, n: np.ndarray, width: float, placer: _Placer,
          rng: np.random.Generator) -> None:
    for _ in range(int(width // 5) + 1):
        along = float(rng.uniform(-width / 2, width / 2))
        depth = float(rng.uniform(0.0, 14.0))
        if rng.random() < 0.7:
            q = p + t * along + n * (depth + 2.6)
            trunk, crown = _tree(q[0], q[1], rng)
            placer.add(trunk, crown, check=footprint(crown))
        else:
            q = p + t * along + n * (depth + 1.0)
            h = float(rng.uniform(0.4, 0.9))
            placer.add(StaticObject("bush", Tag.VEGETATION, (q[0], q[1], h / 2), (h, h, h / 2),
                                    float(rng.uniform(0, 90)), BUSH_RGB))


def _enclosure(p: np.ndarray, t: np.ndarray, n: np.ndarray, width: float, placer: _Placer,
               rng: np.random.Generator) -> None:
    """A wall or fence along the front of a lot, with a small building behind it."""
    wall = rng.random() < 0.5
    thick, height = (0.15, 1.1) if wall else (0.05, 0.9)
    kind, tag, rgb = ("wall", Tag.WALL, WALL_RGB) if wall else ("fence", Tag.FENCE, FENCE_RGB)
    c = p + n * thick
    placer.add(StaticObject(kind, tag, (c[0], c[1], height), (width / 2, thick, height), _yaw(t), rgb))
    if rng.random() < 0.6:
        inner = p + n * float(rng.uniform(4.0, 8.0))
        placer.add(_building(inner, t, n, width * float(rng.uniform(0.5, 0.8)), rng))


def _place_blocks(paved: shapely.Geometry, placer: _Placer, rng: np.random.Generator) -> None:
    for ring in _rings(paved, FRONT_OFFSET_M):
        d = float(rng.uniform(0.0, 6.0))
        while d < ring.length:
            width = float(rng.uniform(9.0, 24.0))
            if d + width > ring.length:
                break
            p, t, n = _frame(ring, d + width / 2, paved)
            choice = rng.random()
            if choice < 0.7:
                if not placer.add(_building(p, t, n, width, rng)):
                    placer.add(_building(p, t, n, width * 0.6, rng))
            elif choice < 0.88:
                _park(p, t, n, width, placer, rng)
            else:
                _enclosure(p, t, n, width, placer, rng)
            d += width + float(rng.uniform(*SLOT_GAP_M))


def place_props(paved: shapely.Geometry, signals: SignalSet, seed: int) -> list[StaticObject]:
    """Signal posts, street lamps, buildings, walls, fences and vegetation for one seed."""
    forbidden = paved.buffer(CLEARANCE_M, quad_segs=4)
    placer = _Placer(forbidden, [], [])
    rng = np.random.default_rng(seed)
    _place_signals(signals, placer)
    _place_lamps(paved, placer, rng)
    _place_blocks(paved, placer, rng)
    return placer.objects
