"""The seed-independent ground of a town is built and triangulated once per process, and what
comes out of the caches equals a fresh build."""
from __future__ import annotations

import dataclasses

import numpy as np

from driving.sim.layout import build_layout, clear_layout_cache
from driving.sim.maps import load_map
from driving.sim.render.mesh import build_static_mesh
from driving.sim.signals import find_signals


def test_layouts_of_two_seeds_share_one_ground_and_props_differ():
    loaded = load_map("town_grid")
    signals = find_signals(loaded.carla_map)
    clear_layout_cache()
    a = build_layout(loaded.carla_map, loaded.name, 11, signals)
    b = build_layout(loaded.carla_map, loaded.name, 12, signals)
    assert a.ground_key == b.ground_key is not None
    assert a.drivable is b.drivable and a.surfaces[1] is b.surfaces[1]
    assert a.objects != b.objects
    clear_layout_cache()
    fresh = build_layout(loaded.carla_map, loaded.name, 12, signals)
    assert fresh.drivable is not b.drivable and fresh.drivable.equals(b.drivable)
    assert [s.polygon.wkb for s in fresh.surfaces] == [s.polygon.wkb for s in b.surfaces]
    assert fresh.objects == b.objects and fresh.bounds == b.bounds


def test_mesh_from_the_cached_ground_equals_a_fresh_triangulation():
    loaded = load_map("town_grid")
    signals = find_signals(loaded.carla_map)
    build_static_mesh(build_layout(loaded.carla_map, loaded.name, 21, signals))  # fills the cache
    layout = build_layout(loaded.carla_map, loaded.name, 22, signals)
    cached = build_static_mesh(layout)
    fresh = build_static_mesh(dataclasses.replace(layout, ground_key=None))  # no cache
    assert cached.vertices.tobytes() == fresh.vertices.tobytes()
    assert cached.light_slots == fresh.light_slots
    assert [(t.first, t.count, t.small, t.background) for t in cached.tiles] == [
        (t.first, t.count, t.small, t.background) for t in fresh.tiles]
    assert all(np.array_equal(t.lo, u.lo) and np.array_equal(t.hi, u.hi) for t, u in zip(cached.tiles, fresh.tiles))
