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


@dataclass(frozen=True)
class Surface:
    """A flat ground polygon (road, lane marking, sidewalk, crosswalk, terrain) at height z_m.

    Sidewalks stand `z_m` = 0.15 m above the road (the kerb); markings sit 1 cm above the road
    so they win the depth test.
    """

    kind: str  # "road", "lane_marking", "sidewalk", "crosswalk", "terrain", "junction"
    tag: Tag
    polygon: shapely.Polygon
    z_m: float = 0.0
    color_rgb: tuple[int, int, int] = (128, 128, 128)


@dataclass
class Layout:
    """The static layout of one map and seed.

    `drivable` is the union of all driving-lane polygons (for off-road checks), `sidewalk` the
    union of sidewalk polygons; `sidewalk_paths` are polylines (N x 2 arrays, CARLA x, y) along
    sidewalks that pedestrians walk, and `crosswalks` the polygons where they may cross.
    `bounds` = (min_x, min_y, max_x, max_y) of the whole map in metres.
    """

    map_name: str
    seed: int
    surfaces: list[Surface] = field(default_factory=list)
    objects: list[StaticObject] = field(default_factory=list)
    drivable: shapely.Geometry | None = None
    sidewalk: shapely.Geometry | None = None
    sidewalk_paths: list[np.ndarray] = field(default_factory=list)
    crosswalks: list[shapely.Polygon] = field(default_factory=list)
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def solid_objects(self) -> list[StaticObject]:
        """Props that block vehicles (for collision checks)."""
        return [o for o in self.objects if o.solid]
