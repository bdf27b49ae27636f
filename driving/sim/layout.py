"""The static layout of a map: ground surfaces from its lanes and props placed from a seed.

`build_layout` is the one entry point; the work is split into `layout_lanes` (reading and
sampling lanes), `layout_surfaces` (roads, markings, sidewalks, crosswalks) and `layout_props`
(signal posts, lamps, buildings, walls, fences, vegetation). Layouts are cached in-process per
(map name, OpenDRIVE hash, seed, signals) because every world, renderer and test that loads a
town asks for the same one; the ground (surfaces, areas, pedestrian paths), which does not
depend on the seed, is cached without it, because each route of a collection or evaluation run
loads its town with its own seed (building the ground was ~4% of a short route's collection).
"""
from __future__ import annotations

import hashlib

import carla
import shapely

from driving.bounded_cache import BoundedCache
from driving.errors import InputError
from driving.sim.layout_lanes import map_lanes
from driving.sim.layout_props import place_props
from driving.sim.layout_surfaces import GroundSurfaces, build_surfaces
from driving.sim.maps import MAX_EXTENT_M
from driving.sim.scene import Layout, Surface
from driving.sim.signals import SignalSet
from driving.tags import Tag

#: Terrain reaches this far (metres) beyond the paved area, so props and horizon have ground.
TERRAIN_MARGIN_M = 40.0
TERRAIN_RGB = (112, 134, 82)

_LAYOUTS: BoundedCache[Layout] = BoundedCache(16)
#: (ground surfaces, bounds, terrain) per (map name, OpenDRIVE hash, signals): seed-independent.
_GROUNDS: BoundedCache[tuple[GroundSurfaces, tuple[float, float, float, float], Surface]] = BoundedCache(4)


def _signals_key(signals: SignalSet) -> tuple:
    lights = tuple((t.id, round(t.transform.location.x, 2), round(t.transform.location.y, 2),
                    len(t.stop_waypoints)) for t in signals.traffic_lights)
    signs = tuple((s.id, round(s.transform.location.x, 2), round(s.transform.location.y, 2))
                  for s in signals.stop_signs)
    return lights, signs


def build_layout(carla_map: carla.Map, map_name: str, seed: int, signals: SignalSet) -> Layout:
    """Surfaces, props, drivable/sidewalk areas, pedestrian paths and crosswalks of a map.

    Deterministic for (map, seed, signals). The returned Layout is shared through the cache:
    treat it as read-only.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InputError(f"build_layout seed: expected an integer, got {seed!r}")
    xodr_hash = hashlib.sha1(carla_map.to_opendrive().encode("utf-8")).hexdigest()
    ground_key = (map_name, xodr_hash, _signals_key(signals))
    return _LAYOUTS.get_or_build((*ground_key, seed), lambda: _build(carla_map, map_name, seed, signals, ground_key))


def clear_layout_cache() -> None:
    """Forget cached layouts and grounds (tests that measure or compare fresh builds)."""
    _LAYOUTS.clear()
    _GROUNDS.clear()


def _build(carla_map: carla.Map, map_name: str, seed: int, signals: SignalSet, ground_key: tuple) -> Layout:
    ground, bounds, terrain = _GROUNDS.get_or_build(ground_key, lambda: _build_ground(carla_map, map_name, signals))
    objects = place_props(ground.paved, signals, seed)
    return Layout(map_name=map_name, seed=seed, surfaces=[terrain, *ground.surfaces], objects=objects,
                  drivable=ground.drivable, sidewalk=ground.sidewalk,
                  sidewalk_paths=ground.sidewalk_paths, sidewalk_path_z=ground.sidewalk_path_z,
                  crosswalks=ground.crosswalks, bounds=bounds, ground_key=ground_key)


def _build_ground(carla_map: carla.Map, map_name: str,
                  signals: SignalSet) -> tuple[GroundSurfaces, tuple[float, float, float, float], Surface]:
    lanes = map_lanes(carla_map)
    if not any(ln.lane_type == "driving" for ln in lanes):
        raise InputError(f"map {map_name!r}: no driving lane to build a layout from")
    ground = build_surfaces(carla_map, lanes, signals)
    if ground.drivable.is_empty:
        raise InputError(f"map {map_name!r}: its driving lanes have no usable geometry (no finite waypoints)")
    min_x, min_y, max_x, max_y = ground.paved.bounds
    if max(max_x - min_x, max_y - min_y) > MAX_EXTENT_M:  # props and grids scale with the extent
        raise InputError(f"map {map_name!r}: its paved area spans {max(max_x - min_x, max_y - min_y) / 1000:.0f} km;"
                         f" expected at most {MAX_EXTENT_M / 1000:.0f} km (a lane width or offset out of range?)")
    bounds = (min_x - TERRAIN_MARGIN_M, min_y - TERRAIN_MARGIN_M,
              max_x + TERRAIN_MARGIN_M, max_y + TERRAIN_MARGIN_M)
    terrain = Surface("terrain", Tag.TERRAIN, shapely.box(*bounds), -0.01, TERRAIN_RGB)
    return ground, bounds, terrain
