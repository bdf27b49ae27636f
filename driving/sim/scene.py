"""Typed records of the static scene: what the layout builder produces and the renderer draws.

Everything is in CARLA world coordinates (x, y, z metres; y = OpenDRIVE y negated; yaw in
degrees, counter-clockwise seen from above in OpenDRIVE = clockwise in CARLA, exactly as
`carla.Rotation.yaw`). Every object carries its CARLA semantic tag so that cameras can render
semantic images and the world can classify collisions.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from driving.tags import Tag


@dataclass(frozen=True)
class StaticObject:
    """A box-shaped prop: building, wall, fence, pole, tree, traffic-light or sign post.

    `center` is the centre of the box (so its base is at center z - half_extent z); `yaw_deg`
    as `carla.Rotation.yaw`. `kind` names the prop ("building", "wall", "fence", "pole",
    "tree_trunk", "tree_crown", "bush", "traffic_light", "stop_sign", ...); `solid` props
    collide with vehicles (tree crowns and bushes above 2 m do not). `light_id` links a
    traffic-light head to its `TrafficLightInfo.id` so the renderer can light its lamp.
    """

    kind: str
    tag: Tag
    center: tuple[float, float, float]
    half_extent: tuple[float, float, float]
    yaw_deg: float = 0.0
    color_rgb: tuple[int, int, int] = (128, 128, 128)
    solid: bool = True
    light_id: int | None = None


@dataclass(frozen=True, eq=False)
class Surface:
    """A ground polygon (road, lane marking, sidewalk, crosswalk, terrain) `z_m` above its base.

    Sidewalks stand `z_m` = 0.15 m above the road (the kerb); markings sit 1 cm above the road
    so they win the depth test. The base is z = 0 when `profile` is None (a flat map: the
    polygon is flat), else the road height under each point, interpolated from `profile`
    (N x 3 CARLA x, y, z metres: the centre line of the lane the polygon was cut from, or
    one point for a flat patch at that height; see `surface_heights`). A profile belongs to
    one lane, never to a plan-view union, so a bridge deck and the road under it keep their
    own heights where they overlap.
    """

    kind: str  # "road", "lane_marking", "sidewalk", "crosswalk", "terrain", "junction"
    tag: Tag
    polygon: shapely.Polygon
    z_m: float = 0.0
    color_rgb: tuple[int, int, int] = (128, 128, 128)
    profile: np.ndarray | None = None


#: Profile samples blended for one height (inverse-distance weights).
PROFILE_NEIGHBOURS = 4


def surface_heights(xy: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Base height (metres) at points `xy` (M x 2) from a surface profile (N x 3 x, y, z).

    Inverse-squared-distance blend of the nearest `PROFILE_NEIGHBOURS` samples: lanes are
    sampled every ~1.5 m and grades stay below ~10%, so the error is centimetres, and a
    single-point profile gives its one height everywhere.
    """
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    prof = np.asarray(profile, np.float64).reshape(-1, 3)
    if len(prof) == 1 or not len(xy):
        return np.full(len(xy), prof[0, 2] if len(prof) else 0.0)
    k = min(PROFILE_NEIGHBOURS, len(prof))
    out = np.empty(len(xy))
    for a in range(0, len(xy), 2048):  # bounded memory for long lanes and big junctions
        d2 = ((xy[a:a + 2048, None, :] - prof[None, :, :2]) ** 2).sum(-1)
        near = np.argpartition(d2, k - 1, axis=1)[:, :k]
        dn = np.take_along_axis(d2, near, 1)
        w = 1.0 / (dn + 1e-6)
        out[a:a + 2048] = (w * prof[near, 2]).sum(1) / w.sum(1)
    return out


@dataclass
class Layout:
    """The static layout of one map and seed.

    `drivable` is the union of all driving-lane polygons (for off-road checks), `sidewalk` the
    union of sidewalk polygons (both in plan view: where two levels overlap they hold both);
    `sidewalk_paths` are polylines (N x 2 arrays, CARLA x, y) along sidewalks that pedestrians
    walk, `sidewalk_path_z` the walking-surface height (metres) at each of their points (empty
    when unknown), and `crosswalks` the polygons where they may cross.
    `bounds` = (min_x, min_y, max_x, max_y) of the whole map in metres. `ground_key` names the
    seed-independent part (surfaces, areas, paths, bounds): layouts with the same key share it,
    and renderers cache that part's mesh by it (None: a hand-built layout, nothing shared).
    """

    map_name: str
    seed: int
    surfaces: list[Surface] = field(default_factory=list)
    objects: list[StaticObject] = field(default_factory=list)
    drivable: shapely.Geometry | None = None
    sidewalk: shapely.Geometry | None = None
    sidewalk_paths: list[np.ndarray] = field(default_factory=list)
    sidewalk_path_z: list[np.ndarray] = field(default_factory=list)
    crosswalks: list[shapely.Polygon] = field(default_factory=list)
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    ground_key: tuple | None = None

    def solid_objects(self) -> list[StaticObject]:
        """Props that block vehicles (for collision checks)."""
        return [o for o in self.objects if o.solid]
