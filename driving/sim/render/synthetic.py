"""A synthetic grid town `Layout` built directly (no OpenDRIVE): for renderer tests and benchmarks.

It has what a real layout has (roads with lane markings, raised sidewalks, crosswalks, terrain,
buildings, walls, fences, trees, poles, traffic lights with `light_id`s, stop signs) so that
rendering cost and looks can be measured without depending on the map pipeline. Deterministic
for a seed. Coordinates in metres, CARLA axes.
"""
from __future__ import annotations

import numpy as np
import shapely

from driving.sim.scene import Layout, StaticObject, Surface
from driving.tags import Tag

ROAD_HALF_WIDTH_M = 7.0
SIDEWALK_WIDTH_M = 3.0
KERB_M = 0.15
ROAD_RGB = (78, 78, 82)
SIDEWALK_RGB = (150, 146, 140)
MARKING_RGB = (225, 225, 215)
TERRAIN_RGB = (92, 118, 64)
BUILDING_RGBS = [(168, 150, 130), (130, 120, 115), (185, 175, 160), (120, 130, 140), (150, 95, 80),
                 (200, 190, 170)]


def _dashes(x0: float, x1: float, y: float, horizontal: bool, on: float = 3.0, off: float = 6.0,
            width: float = 0.15) -> list[shapely.Polygon]:
    out, x = [], x0
    while x + on <= x1:
        box = (x, y - width / 2, x + on, y + width / 2) if horizontal else (y - width / 2, x, y + width / 2, x + on)
        out.append(shapely.box(*box))
        x += on + off
    return out


def synthetic_town(n_blocks: int = 4, spacing_m: float = 100.0, seed: int = 0) -> Layout:
    """A grid of `n_blocks` x `n_blocks` city blocks with roads every `spacing_m` metres."""
    rng = np.random.default_rng(seed)
    lines = [i * spacing_m for i in range(n_blocks + 1)]
    extent = lines[-1]
    w = ROAD_HALF_WIDTH_M
    roads = shapely.union_all([shapely.box(-w, c - w, extent + w, c + w) for c in lines]
                              + [shapely.box(c - w, -w, c + w, extent + w) for c in lines])
    surfaces: list[Surface] = []
    objects: list[StaticObject] = []
    margin = 60.0
    terrain = shapely.box(-margin, -margin, extent + margin, extent + margin)
    surfaces.append(Surface("terrain", Tag.TERRAIN, terrain, 0.0, TERRAIN_RGB))
    surfaces.append(Surface("road", Tag.ROAD, roads, 0.0, ROAD_RGB))
    markings: list[shapely.Polygon] = []
    crosswalks: list[shapely.Polygon] = []
    for c in lines:
        for a, b in zip(lines, lines[1:]):
            s0, s1 = a + w + 4.0, b - w - 4.0
            for horizontal in (True, False):
                markings.append(shapely.box(s0, c - 0.1, s1, c + 0.1) if horizontal
                                else shapely.box(c - 0.1, s0, c + 0.1, s1))
                for lane in (-w / 2, w / 2):
                    markings += _dashes(s0, s1, c + lane, horizontal)
    for cx in lines:
        for cy in lines:
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                for k in range(7):
                    off = -w + 1.0 + k * 2.0
                    if dx:
                        x = cx + dx * (w + 1.5)
                        crosswalks.append(shapely.box(x - 1.2, cy + off, x + 1.2, cy + off + 1.0))
                    else:
                        y = cy + dy * (w + 1.5)
                        crosswalks.append(shapely.box(cx + off, y - 1.2, cx + off + 1.0, y + 1.2))
    surfaces += [Surface("lane_marking", Tag.ROAD_LINE, m, 0.01, MARKING_RGB) for m in markings]
    surfaces += [Surface("crosswalk", Tag.ROAD_LINE, c, 0.01, MARKING_RGB) for c in crosswalks]
    sidewalks = []
    light_id = 0
    for bx in range(n_blocks):
        for by in range(n_blocks):
            x0, y0 = lines[bx] + w, lines[by] + w
            x1, y1 = lines[bx + 1] - w, lines[by + 1] - w
            block = shapely.box(x0, y0, x1, y1)
            inner = shapely.box(x0 + SIDEWALK_WIDTH_M, y0 + SIDEWALK_WIDTH_M, x1 - SIDEWALK_WIDTH_M,
                                y1 - SIDEWALK_WIDTH_M)
            sidewalk = block.difference(inner)
            sidewalks.append(sidewalk)
            surfaces.append(Surface("sidewalk", Tag.SIDEWALK, sidewalk, KERB_M, SIDEWALK_RGB))
            objects += _block_props(rng, inner)
    for cx in lines:
        for cy in lines:
            for k, (dx, dy, yaw) in enumerate(((-1, -1, 0.0), (1, 1, 180.0), (-1, 1, 90.0), (1, -1, -90.0))):
                # Post on the right kerb before the junction; head faces the approaching traffic.
                px, py = cx + dx * (w + 1.0), cy + dy * (w + 1.0)
                objects.append(StaticObject("pole", Tag.POLE, (px, py, 2.5), (0.1, 0.1, 2.5), 0.0, (60, 60, 60)))
                objects.append(StaticObject("traffic_light", Tag.TRAFFIC_LIGHT, (px, py, 5.4), (0.2, 0.22, 0.6),
                                            yaw + 180.0, (30, 30, 30), light_id=light_id))
                light_id += 1
    return Layout(map_name="synthetic_town", seed=seed, surfaces=surfaces, objects=objects,
                  drivable=roads, sidewalk=shapely.union_all(sidewalks), crosswalks=crosswalks,
                  bounds=(-margin, -margin, extent + margin, extent + margin))


def _block_props(rng: np.random.Generator, inner: shapely.Polygon) -> list[StaticObject]:
    """Buildings along the block edge, trees and lamps along the sidewalk, a fence or wall inside."""
    x0, y0, x1, y1 = inner.bounds
    out: list[StaticObject] = []
    x = x0 + 2.0
    while x < x1 - 12.0:
        length = float(rng.uniform(10.0, 22.0))
        length = min(length, x1 - 2.0 - x)
        depth = float(rng.uniform(10.0, 18.0))
        height = float(rng.choice([6.0, 9.0, 12.0, 15.0, 21.0, 30.0]))
        rgb = BUILDING_RGBS[int(rng.integers(len(BUILDING_RGBS)))]
        for y_edge, sign in ((y0 + 1.0, 1), (y1 - 1.0, -1)):
            cy = y_edge + sign * depth / 2
            out.append(StaticObject("building", Tag.BUILDING, (x + length / 2, cy, height / 2),
                                    (length / 2, depth / 2, height / 2), 0.0, rgb))
        x += length + float(rng.uniform(2.0, 6.0))
    for t in np.arange(x0 + 6.0, x1 - 4.0, 16.0):
        for y, yaw in ((y0 - 1.2, 0.0), (y1 + 1.2, 0.0)):
            out.append(StaticObject("tree_trunk", Tag.VEGETATION, (float(t), y, 1.6), (0.15, 0.15, 1.6),
                                    yaw, (90, 65, 45)))
            r = float(rng.uniform(1.4, 2.2))
            out.append(StaticObject("tree_crown", Tag.VEGETATION, (float(t), y, 3.2 + r), (r, r, r * 1.1),
                                    float(rng.uniform(0, 90)), (60, 105, 45), solid=False))
    for t in np.arange(y0 + 10.0, y1 - 10.0, 24.0):
        for x in (x0 - 1.4, x1 + 1.4):
            out.append(StaticObject("pole", Tag.POLE, (x, float(t), 3.5), (0.08, 0.08, 3.5), 0.0, (110, 110, 115)))
    out.append(StaticObject("wall", Tag.WALL, ((x0 + x1) / 2, (y0 + y1) / 2, 1.2), ((x1 - x0) / 2 - 8.0, 0.2, 1.2),
                            0.0, (150, 140, 130)))
    out.append(StaticObject("fence", Tag.FENCE, ((x0 + x1) / 2, (y0 + y1) / 2 + 6.0, 0.8),
                            ((x1 - x0) / 2 - 12.0, 0.05, 0.8), 0.0, (120, 90, 60)))
    return out
