"""Static scene mesh: every `Surface` and `StaticObject` of a `Layout` as one tiled vertex array.

Triangles are sorted by (detail class, tile) so that a camera draws only the contiguous ranges of
tiles inside its frustum and draw distance: the cost of software rasterization is triangles, not
pixels. Small props (poles, signs, lights, bushes) form a second detail class with a shorter draw
distance (level of detail by omission).

Surfaces with a height profile (ramps, bridges, hilly towns; `Surface.profile`) are not
merged: each is cut into ~`SEGMENT_M` pieces and every vertex lifted to the road height under
it, and road-like ones get a deck slab below (`DECK_THICKNESS_M`, tagged Bridge), so a camera
under a bridge sees its underside and one on the bridge sees the road below. Flat surfaces
take the merged path exactly as before.

Vertex layout (36 bytes, `VERTEX_FORMAT`): position xyz (f4), normal xyz (f4), colour rgb + material
(4 x u8), semantic tag (f4), traffic-light slot (f4, -1 when the vertex is not a lamp).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from driving.bounded_cache import BoundedCache
from driving.sim.render import geometry
from driving.sim.scene import Layout, StaticObject, Surface, surface_heights
from driving.tags import Tag

VERTEX_DTYPE = np.dtype([("pos", "f4", 3), ("normal", "f4", 3), ("color", "u1", 4),
                         ("tag", "f4"), ("slot", "f4")])
VERTEX_FORMAT = "3f 3f 4f1 1f 1f"
VERTEX_ATTRS = ("in_pos", "in_normal", "in_color", "in_tag", "in_slot")


class Material:
    """Material ids stored in the colour's 4th byte; the fragment shader switches on them."""

    MATTE = 0
    GROUND = 1  # roads, sidewalks, markings: darken and reflect when wet
    LAMP_RED = 2
    LAMP_YELLOW = 3
    LAMP_GREEN = 4
    HEADLIGHT = 5
    TAILLIGHT = 6
    GLASS = 7
    FACADE = 8  # building walls: procedural windows
    FOLIAGE = 9


#: Ground kinds drawn slightly lower than roads so coplanar polygons never z-fight.
KIND_Z_OFFSET_M = {"terrain": -0.04, "ground": -0.04}
SMALL_KINDS = {"pole", "stop_sign", "traffic_light", "bush", "sign", "speed_limit_sign", "street_lamp",
               "traffic_light_pole", "stop_sign_post", "tree_trunk", "hydrant", "bollard"}
LAMP_POST_KINDS = {"pole", "street_lamp"}
TILE_SIZE_M = 40.0
SEGMENT_M = 4.0  # longest edge (metres) of an elevated surface before triangulation
DECK_THICKNESS_M = 1.0
DECK_RGB = (128, 124, 118)
DECK_KINDS = {"road", "junction", "shoulder", "sidewalk"}
DECK_MIN_HEIGHT_M = 0.3  # deck faces whose road is lower than this are underground: not drawn
HORIZON_MARGIN_M = 3000.0


@dataclass
class TileRange:
    """A contiguous vertex range of one tile and detail class, with its world AABB (metres)."""

    first: int
    count: int
    lo: np.ndarray
    hi: np.ndarray
    small: bool
    background: bool = False  # huge triangles (horizon ground): drawn after everything else


@dataclass
class StaticMesh:
    vertices: np.ndarray  # VERTEX_DTYPE, 3 per triangle
    tiles: list[TileRange]
    light_slots: dict[int, int]  # light_id -> slot in the light-state texture

    @property
    def triangle_count(self) -> int:
        return len(self.vertices) // 3


def _pack(tris: np.ndarray, normals: np.ndarray, rgb: tuple[int, int, int], material: int,
          tag: int, slot: float = -1.0, smooth_normals: np.ndarray | None = None) -> np.ndarray:
    """Per-triangle arrays -> flat vertices (3 per triangle) in VERTEX_DTYPE."""
    n = len(tris)
    out = np.zeros(n * 3, VERTEX_DTYPE)
    out["pos"] = tris.reshape(-1, 3)
    out["normal"] = np.repeat(normals, 3, axis=0) if smooth_normals is None else smooth_normals
    out["color"][:, :3] = rgb
    out["color"][:, 3] = material
    out["tag"] = float(tag)
    out["slot"] = slot
    return out


def _crown_triangles(center, half, yaw_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """A low-poly rounded crown (octagonal bipyramid with a belt): reads as foliage, not a crate."""
    k = 8
    ang = np.arange(k) * 2 * math.pi / k
    ring_lo = np.stack([np.cos(ang), np.sin(ang), np.full(k, -0.35)], 1)
    ring_hi = np.stack([np.cos(ang), np.sin(ang), np.full(k, 0.35)], 1)
    top, bottom = np.array([0, 0, 1.0]), np.array([0, 0, -1.0])
    tris = []
    for i in range(k):
        j = (i + 1) % k
        tris += [[top, ring_hi[i], ring_hi[j]], [bottom, ring_lo[j], ring_lo[i]],
                 [ring_lo[i], ring_lo[j], ring_hi[j]], [ring_lo[i], ring_hi[j], ring_hi[i]]]
    tris = np.array(tris, np.float32)
    normals = tris.mean(axis=1)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    tris = geometry.orient(tris, normals)
    rot = geometry.rotation_matrix(0, 0, yaw_deg).astype(np.float32)
    world = (tris * np.asarray(half, np.float32)) @ rot.T + np.asarray(center, np.float32)
    wn = (normals / np.asarray(half, np.float32)) @ rot.T
    wn /= np.linalg.norm(wn, axis=1, keepdims=True)
    return world.astype(np.float32), wn.astype(np.float32)


def _traffic_light(obj: StaticObject, slot: int) -> list[np.ndarray]:
    """Head box plus three lamps (red top, yellow, green bottom) on the head's local +x face.

    The head's yaw points at the traffic it governs, so the lamps face approaching drivers.
    """
    parts = [_pack(*geometry.box_triangles(obj.center, obj.half_extent, obj.yaw_deg, False),
                   obj.color_rgb, Material.MATTE, obj.tag)]
    hx, hy, hz = obj.half_extent
    r = max(0.05, min(hy * 0.8, hz / 3.0 * 0.8))
    rot = geometry.rotation_matrix(0, 0, obj.yaw_deg)
    for k, material in enumerate((Material.LAMP_RED, Material.LAMP_YELLOW, Material.LAMP_GREEN)):
        local = np.array([hx + 0.03, 0.0, (1 - k) * hz * 2.0 / 3.0])
        center = rot @ local + np.asarray(obj.center)
        tris, normals = geometry.box_triangles(tuple(center), (0.04, r, r), obj.yaw_deg, False)
        parts.append(_pack(tris, normals, (40, 40, 40), material, obj.tag, float(slot)))
    return parts


def _lamp_post(obj: StaticObject) -> list[np.ndarray]:
    """A street-lamp pole with a lamp head on top that glows at night (the shader's head-light material)."""
    pole = _pack(*geometry.box_triangles(obj.center, obj.half_extent, obj.yaw_deg), obj.color_rgb,
                 Material.MATTE, obj.tag)
    top = obj.center[2] + obj.half_extent[2]
    head = _pack(*geometry.box_triangles((obj.center[0], obj.center[1], top + 0.08), (0.3, 0.3, 0.08),
                                         obj.yaw_deg, False), (200, 200, 190), Material.HEADLIGHT, obj.tag)
    return [pole, head]


def _object_vertices(obj: StaticObject, light_slots: dict[int, int]) -> list[np.ndarray]:
    if obj.kind == "traffic_light" and obj.light_id is not None:
        return _traffic_light(obj, light_slots[obj.light_id])
    if obj.kind in ("tree_crown", "bush"):
        return [_pack(*_crown_triangles(obj.center, obj.half_extent, obj.yaw_deg), obj.color_rgb,
                      Material.FOLIAGE, obj.tag)]
    if obj.kind in LAMP_POST_KINDS and obj.half_extent[2] * 2 > 4.0:
        return _lamp_post(obj)
    material = Material.FACADE if obj.kind == "building" else Material.MATTE
    skip_bottom = obj.center[2] - obj.half_extent[2] <= 0.05
    return [_pack(*geometry.box_triangles(obj.center, obj.half_extent, obj.yaw_deg, skip_bottom),
                  obj.color_rgb, material, obj.tag)]


def _merged_surfaces(layout: Layout, tile_size_m: float):
    """Surfaces of one look (kind, tag, height, colour) merged, simplified and cut at tile borders.

    Layout polygons are sampled every metre or so along lanes; merging neighbours and dropping
    collinear vertices (2 cm tolerance) cuts the triangle count several-fold (and removes kerb walls
    between touching sidewalk pieces), while cutting at tile borders keeps triangles tile-sized so
    that culling stays effective.
    """
    groups: dict[tuple, list] = {}
    for s in layout.surfaces:
        if s.profile is not None:
            continue
        key = (s.kind, int(s.tag), float(s.z_m), tuple(int(c) for c in s.color_rgb))
        groups.setdefault(key, []).append(s.polygon)
    out = []
    for key, polys in groups.items():
        merged = shapely.simplify(shapely.union_all(polys), 0.02, preserve_topology=True)
        if merged.is_empty:
            continue
        x0, y0, x1, y1 = merged.bounds
        xs = np.arange(np.floor(x0 / tile_size_m), np.ceil(x1 / tile_size_m) + 1) * tile_size_m
        ys = np.arange(np.floor(y0 / tile_size_m), np.ceil(y1 / tile_size_m) + 1) * tile_size_m
        gx, gy = np.meshgrid(xs[:-1], ys[:-1])
        boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + tile_size_m, gy.ravel() + tile_size_m)
        pieces = []
        for piece in shapely.intersection(merged, boxes):
            polys_only = [g for g in shapely.get_parts(piece) if isinstance(g, shapely.Polygon) and g.area > 1e-6]
            if polys_only:
                pieces.append(shapely.MultiPolygon(polys_only))
        out.append((key, merged, pieces))
    return out


def _lift(tris: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Triangles whose z is an offset above the base: z += the base height under each vertex."""
    out = np.array(tris, np.float32, copy=True)
    if len(out):
        out[:, :, 2] += surface_heights(out[:, :, :2].reshape(-1, 2), profile).reshape(-1, 3)
    return out


def _facing(tris: np.ndarray, up: bool) -> tuple[np.ndarray, np.ndarray]:
    """Triangles wound to face up (or down) and their unit normals."""
    n = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]).astype(np.float64)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    n *= np.where((n[:, 2] >= 0) == up, 1.0, -1.0)[:, None]
    n = n.astype(np.float32)
    return geometry.orient(tris, n), n


def _elevated_surface(s: Surface) -> list[np.ndarray]:
    """Vertices of one surface lifted onto its height profile, with kerb walls and deck slab."""
    # drop collinear lane samples (2 cm, as the flat path), then bound edges so slopes are followed
    poly = shapely.segmentize(shapely.simplify(s.polygon, 0.02, preserve_topology=True), SEGMENT_M)
    flat = geometry.polygon_triangles(poly, 0.0)
    if not len(flat):
        return []
    material = Material.MATTE if s.kind in KIND_Z_OFFSET_M else Material.GROUND
    top = _lift(flat, s.profile)
    top[:, :, 2] += s.z_m + KIND_Z_OFFSET_M.get(s.kind, 0.0)
    out = [_pack(*_facing(top, True), s.color_rgb, material, s.tag)]
    if s.z_m > 0.02:  # raised kerb
        walls, normals = geometry.polygon_walls(poly, s.z_m, 0.0)
        kerb = tuple(int(c * 0.8) for c in s.color_rgb)
        out.append(_pack(_lift(walls, s.profile), normals, kerb, Material.MATTE, s.tag))
    if s.kind in DECK_KINDS:
        under = _lift(flat, s.profile)
        high = under[:, :, 2].max(axis=1) > DECK_MIN_HEIGHT_M
        under = under[high]
        under[:, :, 2] -= DECK_THICKNESS_M
        walls, normals = geometry.polygon_walls(poly, 0.0, -DECK_THICKNESS_M)
        walls = _lift(walls, s.profile)
        high = walls[:, :, 2].max(axis=1) > DECK_MIN_HEIGHT_M - DECK_THICKNESS_M
        if len(under):
            out.append(_pack(*_facing(under, False), DECK_RGB, Material.MATTE, Tag.BRIDGE))
        if high.any():
            out.append(_pack(walls[high], normals[high], DECK_RGB, Material.MATTE, Tag.BRIDGE))
    return out


def _horizon_ground(layout: Layout) -> np.ndarray:
    """A large terrain plane under everything so the horizon is ground, not sky, at any map edge."""
    x0, y0, x1, y1 = layout.bounds
    if x1 <= x0 or y1 <= y0:
        x0 = y0 = -500.0
        x1 = y1 = 500.0
    m = HORIZON_MARGIN_M
    poly = shapely.box(x0 - m, y0 - m, x1 + m, y1 + m)
    tris = geometry.polygon_triangles(poly, -0.08)
    up = np.tile(np.array([[0, 0, 1]], np.float32), (len(tris), 1))
    return _pack(tris, up, (96, 110, 70), Material.MATTE, Tag.TERRAIN)


def build_static_mesh(layout: Layout, tile_size_m: float = TILE_SIZE_M) -> StaticMesh:
    """Triangulate a layout into one tiled vertex array (see module docstring)."""
    light_ids = sorted({o.light_id for o in layout.objects if o.light_id is not None})
    light_slots = {lid: i for i, lid in enumerate(light_ids)}
    if layout.ground_key is None:
        chunks = _ground_chunks(layout, tile_size_m)
    else:  # the ground is the same for every seed: triangulated once per town and process
        chunks = _GROUND_CHUNKS.get_or_build((layout.ground_key, tile_size_m),
                                             lambda: _ground_chunks(layout, tile_size_m))
    chunks = list(chunks)
    small_flags: list[np.ndarray] = [np.zeros(len(v) // 3, bool) for v in chunks]
    for obj in layout.objects:
        for v in _object_vertices(obj, light_slots):
            chunks.append(v)
            small_flags.append(np.full(len(v) // 3, obj.kind in SMALL_KINDS))
    verts = np.concatenate(chunks)
    small = np.concatenate(small_flags)
    return _tile(verts, small, light_slots, tile_size_m)


#: Ground vertex chunks per (layout ground key, tile size); two towns, as a worker alternating
#: between two route files needs (CARLA's Town01 ground is 0.6 MB of vertices, measured).
_GROUND_CHUNKS: BoundedCache[tuple[np.ndarray, ...]] = BoundedCache(2)


def _ground_chunks(layout: Layout, tile_size_m: float) -> tuple[np.ndarray, ...]:
    """Vertex chunks of the horizon plane and every surface (flat ones merged, raised ones with
    kerbs, elevated ones on their profiles): everything but the props."""
    chunks: list[np.ndarray] = [_horizon_ground(layout)]
    for (kind, tag, z_m, rgb), merged, pieces in _merged_surfaces(layout, tile_size_m):
        z = z_m + KIND_Z_OFFSET_M.get(kind, 0.0)
        tris = np.concatenate([geometry.polygon_triangles(p, z) for p in pieces] or [np.zeros((0, 3, 3), np.float32)])
        up = np.tile(np.array([[0, 0, 1]], np.float32), (len(tris), 1))
        material = Material.MATTE if kind in KIND_Z_OFFSET_M else Material.GROUND
        chunks.append(_pack(tris, up, rgb, material, tag))
        if z_m > 0.02:  # raised kerb: side walls down to the road (from the uncut outline)
            walls, normals = geometry.polygon_walls(merged, z, 0.0)
            kerb = tuple(int(c * 0.8) for c in rgb)
            chunks.append(_pack(walls, normals, kerb, Material.MATTE, tag))
    for surface in layout.surfaces:
        if surface.profile is not None:
            chunks.extend(_elevated_surface(surface))
    for chunk in chunks:
        chunk.flags.writeable = False  # shared between renderers through the cache
    return tuple(chunks)


def _tile(verts: np.ndarray, small: np.ndarray, light_slots: dict[int, int], tile_size_m: float) -> StaticMesh:
    tri_pos = verts["pos"].reshape(-1, 3, 3)
    centroid = tri_pos.mean(axis=1)
    big = np.ptp(tri_pos[:, :, :2], axis=1).max(axis=1) > 4 * tile_size_m  # horizon plane etc.
    tx = np.floor(centroid[:, 0] / tile_size_m).astype(np.int64)
    ty = np.floor(centroid[:, 1] / tile_size_m).astype(np.int64)
    tx[big], ty[big] = -(10**6), -(10**6)
    key = (small.astype(np.int64) << 42) + ((tx + 2**20) << 21) + (ty + 2**20)
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    tri_sorted = tri_pos[order]
    small_sorted = small[order]
    verts = verts.reshape(-1, 3)[order].reshape(-1)
    starts = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]])
    ends = np.r_[starts[1:], len(key_sorted)]
    tiles = []
    for a, b in zip(starts, ends):
        pts = tri_sorted[a:b].reshape(-1, 3)
        tiles.append(TileRange(first=int(a) * 3, count=int(b - a) * 3, lo=pts.min(axis=0),
                               hi=pts.max(axis=0), small=bool(small_sorted[a]),
                               background=bool(big[order[a]])))
    return StaticMesh(vertices=np.ascontiguousarray(verts), tiles=tiles, light_slots=light_slots)
