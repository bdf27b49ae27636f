"""Pure-numpy geometry for the renderer: CARLA pose matrices, boxes and polygon triangulation.

Kept free of OpenGL so it can be tested and reused by CPU sensors (radar ray casts). All
coordinates are CARLA world coordinates (x forward/east, y right, z up, metres); angles are
degrees as in `carla.Rotation`. Triangles are returned as (N, 3, 3) float32 arrays wound so
that (b - a) x (c - a) points out of the surface; `orient` enforces it from a known normal.
"""
from __future__ import annotations

import math

import numpy as np
import shapely


def rotation_matrix(roll_deg: float, pitch_deg: float, yaw_deg: float) -> np.ndarray:
    """3x3 local -> world rotation exactly as `carla.Transform.get_matrix()` builds it."""
    cr, sr = math.cos(math.radians(roll_deg)), math.sin(math.radians(roll_deg))
    cp, sp = math.cos(math.radians(pitch_deg)), math.sin(math.radians(pitch_deg))
    cy, sy = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    return np.array([
        [cp * cy, cy * sp * sr - sy * cr, -cy * sp * cr - sy * sr],
        [cp * sy, sy * sp * sr + cy * cr, -sy * sp * cr + cy * sr],
        [sp, -cp * sr, cp * cr],
    ], dtype=np.float64)


def pose_matrix(x: float, y: float, z: float, roll_deg: float, pitch_deg: float, yaw_deg: float) -> np.ndarray:
    """4x4 local -> world matrix (as `carla.Transform.get_matrix()`)."""
    m = np.eye(4)
    m[:3, :3] = rotation_matrix(roll_deg, pitch_deg, yaw_deg)
    m[:3, 3] = (x, y, z)
    return m


def transform_matrix(transform) -> np.ndarray:
    """4x4 matrix of a `carla.Transform` (computed here: no round trip through the C++ client)."""
    loc, rot = transform.location, transform.rotation
    return pose_matrix(loc.x, loc.y, loc.z, rot.roll, rot.pitch, rot.yaw)


def orient(tris: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Swap b and c of every triangle whose winding disagrees with its intended outward normal."""
    tris = np.array(tris, dtype=np.float32, copy=True)
    cross = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    flip = np.einsum("ij,ij->i", cross, normals) < 0
    tris[flip, 1], tris[flip, 2] = tris[flip, 2].copy(), tris[flip, 1].copy()
    return tris


# Unit cube [-1, 1]^3: 6 faces x 2 triangles, with outward normals.
_FACES = [  # (normal, the two in-face axes)
    ((1, 0, 0), 1, 2), ((-1, 0, 0), 1, 2), ((0, 1, 0), 0, 2),
    ((0, -1, 0), 0, 2), ((0, 0, 1), 0, 1), ((0, 0, -1), 0, 1),
]


def _unit_cube() -> tuple[np.ndarray, np.ndarray]:
    tris, normals = [], []
    for n, a, b in _FACES:
        n = np.array(n, dtype=np.float32)
        corners = []
        for sa, sb in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            p = n.copy()
            p[a], p[b] = sa, sb
            corners.append(p)
        tris += [[corners[0], corners[1], corners[2]], [corners[0], corners[2], corners[3]]]
        normals += [n, n]
    normals_arr = np.array(normals, dtype=np.float32)
    return orient(np.array(tris, dtype=np.float32), normals_arr), normals_arr


UNIT_CUBE_TRIS, UNIT_CUBE_NORMALS = _unit_cube()


def box_triangles(center: tuple[float, float, float], half_extent: tuple[float, float, float],
                  yaw_deg: float = 0.0, skip_bottom: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Triangles (12 or 10, 3, 3) and per-triangle normals of a yawed box in world coordinates.

    The bottom face is skipped by default: boxes stand on the ground and it is never seen.
    """
    tris, normals = UNIT_CUBE_TRIS, UNIT_CUBE_NORMALS
    if skip_bottom:
        tris, normals = tris[:10], normals[:10]
    rot = rotation_matrix(0.0, 0.0, yaw_deg).astype(np.float32)
    local = tris * np.asarray(half_extent, dtype=np.float32)
    world = local @ rot.T + np.asarray(center, dtype=np.float32)
    return world.astype(np.float32), (normals @ rot.T).astype(np.float32)


def polygon_triangles(polygon: shapely.Polygon | shapely.MultiPolygon, z_m: float) -> np.ndarray:
    """Constrained Delaunay triangulation of a (multi)polygon at height z_m, wound to face +z."""
    if polygon.is_empty:
        return np.zeros((0, 3, 3), np.float32)
    tri_geoms = shapely.constrained_delaunay_triangles(polygon)
    coords = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(tri_geoms)))
    if coords.size == 0:
        return np.zeros((0, 3, 3), np.float32)
    xy = coords.reshape(-1, 4, 2)[:, :3]
    tris = np.concatenate([xy, np.full(xy.shape[:2] + (1,), z_m)], axis=2).astype(np.float32)
    up = np.zeros((len(tris), 3), np.float32)
    up[:, 2] = 1.0
    return orient(tris, up)


def polygon_walls(polygon: shapely.Polygon | shapely.MultiPolygon, z_top_m: float,
                  z_bottom_m: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Vertical quads along every ring of a raised polygon (a kerb), facing outwards.

    Returns triangles (2 per ring edge) and their outward normals.
    """
    tris, normals = [], []
    for poly in shapely.get_parts(polygon):
        oriented = shapely.geometry.polygon.orient(poly, sign=1.0)  # exterior CCW, holes CW
        for ring in [oriented.exterior, *oriented.interiors]:
            pts = np.asarray(ring.coords, dtype=np.float64)
            a, b = pts[:-1], pts[1:]
            d = b - a
            length = np.hypot(d[:, 0], d[:, 1])
            keep = length > 1e-6
            a, b, d, length = a[keep], b[keep], d[keep], length[keep]
            # CCW exterior in a right-handed x-y plane: outward normal is (dy, -dx).
            n = np.stack([d[:, 1] / length, -d[:, 0] / length, np.zeros_like(length)], axis=1)
            a0 = np.c_[a, np.full(len(a), z_bottom_m)]
            b0 = np.c_[b, np.full(len(b), z_bottom_m)]
            a1 = np.c_[a, np.full(len(a), z_top_m)]
            b1 = np.c_[b, np.full(len(b), z_top_m)]
            tris += [np.stack([a0, b0, b1], 1), np.stack([a0, b1, a1], 1)]
            normals += [n, n]
    if not tris:
        return np.zeros((0, 3, 3), np.float32), np.zeros((0, 3), np.float32)
    normals_arr = np.concatenate(normals).astype(np.float32)
    return orient(np.concatenate(tris), normals_arr), normals_arr
