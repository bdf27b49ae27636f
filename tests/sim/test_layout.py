"""Static layout: valid polygons, props clear of roads and sidewalks, determinism per seed."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from test_signals import small_map

from driving.errors import InputError
from driving.sim.lane_graph import build_lane_graph
from driving.sim.layout import build_layout, clear_layout_cache
from driving.sim.layout_props import footprint
from driving.sim.maps import available_maps, load_map
from driving.sim.scene import Layout
from driving.sim.signals import find_signals
from driving.tags import Tag

_EXPECTED_KINDS = {"building", "pole", "tree_trunk", "tree_crown", "traffic_light", "traffic_light_pole",
                   "stop_sign", "stop_sign_post"}


@pytest.fixture(scope="module")
def town() -> tuple[Layout, object]:
    loaded = load_map("town_grid")
    signals = find_signals(loaded.carla_map)
    return build_layout(loaded.carla_map, loaded.name, 0, signals), signals


def _check_layout(layout: Layout) -> None:
    assert layout.surfaces and layout.objects
    for s in layout.surfaces:
        assert isinstance(s.tag, Tag)
        assert isinstance(s.polygon, shapely.Polygon) and s.polygon.is_valid and s.polygon.area > 0
    kinds = {s.kind for s in layout.surfaces}
    assert {"terrain", "road", "junction", "sidewalk", "lane_marking", "crosswalk"} <= kinds
    assert layout.drivable.is_valid and layout.sidewalk.is_valid
    assert layout.drivable.area > 1000 and layout.sidewalk.area > 100
    assert layout.drivable.intersection(layout.sidewalk).area < 1.0
    paved = shapely.union_all([layout.drivable, layout.sidewalk])
    for obj in layout.objects:
        assert isinstance(obj.tag, Tag)
        assert min(obj.half_extent) > 0
        fp = footprint(obj)
        assert not fp.intersects(paved), f"{obj.kind} at {obj.center} intrudes on road or sidewalk"
    terrain = shapely.box(*layout.bounds)
    assert terrain.contains(paved)
    assert all(terrain.contains(footprint(o)) for o in layout.objects)
    for path in layout.sidewalk_paths:
        assert path.ndim == 2 and path.shape[1] == 2 and len(path) >= 2
    mid_points = [shapely.Point(p[len(p) // 2]) for p in layout.sidewalk_paths]
    assert sum(layout.sidewalk.buffer(0.05).contains(p) for p in mid_points) >= 0.9 * len(mid_points)
    assert layout.crosswalks and all(c.intersects(layout.drivable) for c in layout.crosswalks)


def test_town_layout_is_valid_and_props_stay_off_the_street(town) -> None:
    layout, signals = town
    _check_layout(layout)
    assert _EXPECTED_KINDS <= {o.kind for o in layout.objects}
    heads = {o.light_id for o in layout.objects if o.kind == "traffic_light"}
    assert heads == {t.id for t in signals.traffic_lights}
    for head in (o for o in layout.objects if o.kind == "traffic_light"):
        assert head.tag == Tag.TRAFFIC_LIGHT
    assert sum(o.kind == "stop_sign" for o in layout.objects) == len(signals.stop_signs)
    for tl in signals.traffic_lights:
        for wp in tl.stop_waypoints:
            loc = wp.transform.location
            assert layout.drivable.contains(shapely.Point(loc.x, loc.y))


def test_layout_is_deterministic_per_seed_and_cached(town) -> None:
    layout, signals = town
    loaded = load_map("town_grid")
    assert build_layout(loaded.carla_map, loaded.name, 0, signals) is layout  # cached
    clear_layout_cache()
    again = build_layout(loaded.carla_map, loaded.name, 0, signals)
    assert again is not layout
    assert again.objects == layout.objects
    assert [s.polygon.wkb for s in again.surfaces] == [s.polygon.wkb for s in layout.surfaces]
    other = build_layout(loaded.carla_map, loaded.name, 1, signals)
    assert other.objects != layout.objects
    assert other.drivable.equals(layout.drivable)


def test_map_without_sidewalk_lanes_gets_a_sidewalk_band(tmp_path: Path) -> None:
    loaded = load_map(small_map(tmp_path, signals=False, sidewalks=False))
    signals = find_signals(loaded.carla_map)
    layout = build_layout(loaded.carla_map, loaded.name, 3, signals)
    _check_layout(layout)
    # the band hugs the carriageway: every sidewalk point lies within ~2 m of the drivable area
    assert layout.sidewalk.difference(layout.drivable.buffer(2.1)).area < 1.0
    assert layout.sidewalk.area > 0.5 * layout.drivable.length  # ~2 m wide along the kerb
    assert {o.kind for o in layout.objects} >= {"traffic_light", "traffic_light_pole", "building"}


def test_bad_seed_is_an_input_error() -> None:
    loaded = load_map("town_grid")
    with pytest.raises(InputError, match="seed"):
        build_layout(loaded.carla_map, loaded.name, "zero", find_signals(loaded.carla_map))  # type: ignore[arg-type]


def test_sidewalk_paths_follow_sidewalk_lanes(town) -> None:
    layout, _ = town
    lengths = np.array([np.linalg.norm(np.diff(p, axis=0), axis=1).sum() for p in layout.sidewalk_paths])
    assert lengths.sum() > 0.5 * layout.sidewalk.area / 2.0


CARLA_TOWN01 = Path(__file__).resolve().parents[1] / "data" / "carla" / "Town01.xodr"


def _driving_lanes(carla_map) -> shapely.Geometry:
    """Every driving lane (junction connectors included) as the lane graph samples it, independent
    of the layout's own surfaces, shrunk by 2 cm so that touching the kerb line is not a hit."""
    graph = build_lane_graph(carla_map)
    strips = []
    for k in range(graph.n_segments):
        pts = graph.pts[graph.off[k]:graph.off[k] + graph.n[k]]
        if len(pts) >= 2 and graph.width[k] > 0.1:
            strips.append(shapely.LineString(pts).buffer(graph.width[k] / 2 - 0.02, cap_style="flat"))
    return shapely.union_all(strips)


@pytest.mark.parametrize("source", [*available_maps(), str(CARLA_TOWN01)], ids=[*available_maps(), "Town01"])
def test_no_static_prop_stands_on_a_driving_lane(source: str) -> None:
    loaded = load_map(source)
    signals = find_signals(loaded.carla_map)
    lanes = _driving_lanes(loaded.carla_map)
    shapely.prepare(lanes)
    for seed in (0, 1):
        layout = build_layout(loaded.carla_map, loaded.name, seed, signals)
        on_lane = [(o.kind, o.center[:2]) for o in layout.objects if lanes.intersects(footprint(o))]
        assert on_lane == [], f"seed {seed}: props on driving lanes: {on_lane[:5]}"
