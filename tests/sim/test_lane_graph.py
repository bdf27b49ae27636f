"""The lane graph NPCs drive on: consecutive segments join without a jump, on maps we did not make.

CARLA's Town01 export has connector roads split into several lane sections, some of zero length;
a segment that ran on past its own section made NPCs drive the same connector twice, teleporting
back ~20 m at the section change (seen as an NPC appearing in front of the ego).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from driving.sim.lane_chains import join_lane_sections
from driving.sim.lane_graph import build_lane_graph
from driving.sim.maps import load_map

CARLA_TOWN01 = Path(__file__).resolve().parents[1] / "data" / "carla" / "Town01.xodr"
#: Largest allowed distance (metres) between a segment's end and a successor's start.
JOIN_TOLERANCE_M = 0.15


@pytest.mark.parametrize("town", [str(CARLA_TOWN01), "town_grid", "town_suburb"])
def test_successor_segments_start_where_their_predecessor_ends(town: str) -> None:
    graph = build_lane_graph(load_map(town).carla_map)
    worst = 0.0
    for k in range(graph.n_segments):
        end = graph.pts[graph.off[k] + graph.n[k] - 1]
        for nxt in graph.succ[k, :graph.n_succ[k]]:
            start = graph.pts[graph.off[nxt]]
            worst = max(worst, float(np.hypot(*(end - start))))
    assert worst <= JOIN_TOLERANCE_M, f"{town}: a successor starts {worst:.2f} m from its predecessor's end"


def test_lane_sections_of_one_road_do_not_overlap_on_carla_town01() -> None:
    graph = build_lane_graph(load_map(str(CARLA_TOWN01)).carla_map)
    lanes: dict[tuple[int, int], list[int]] = {}
    for k, (road, _section, lane) in enumerate(graph.keys):
        lanes.setdefault((road, lane), []).append(k)
    multi = {key: segs for key, segs in lanes.items() if len(segs) > 1}
    assert multi, "Town01 has lanes split into sections: the case this test is about"
    for (road, lane), segs in multi.items():
        lines = {k: shapely.LineString(graph.pts[graph.off[k]:graph.off[k] + graph.n[k]]) for k in segs}
        for a in segs:
            inner = graph.pts[graph.off[a] + 1:graph.off[a] + graph.n[a] - 1]
            for b in segs:
                if a == b or not len(inner):
                    continue
                ends = shapely.MultiPoint(lines[b].coords[::len(lines[b].coords) - 1])
                shared = sum(lines[b].distance(shapely.Point(p)) < 0.2 and ends.distance(shapely.Point(p)) > 0.5
                             for p in inner)
                assert shared == 0, f"road {road} lane {lane}: sections {graph.keys[a]} and {graph.keys[b]} overlap"


@pytest.mark.parametrize("town", [str(CARLA_TOWN01), "town_grid"])
def test_joined_sections_keep_every_lane_reachable_and_continuous(town: str) -> None:
    carla_map = load_map(town).carla_map
    raw = build_lane_graph(carla_map)
    joined = join_lane_sections(raw)
    assert joined.n_segments <= raw.n_segments
    assert set(joined.index) == set(raw.index)  # every section key still finds its segment
    for key, k in raw.index.items():  # ... and the joined segment runs through its points
        a = raw.pts[raw.off[k]:raw.off[k] + raw.n[k]]
        j = joined.index[key]
        line = shapely.LineString(joined.pts[joined.off[j]:joined.off[j] + joined.n[j]])
        assert max(line.distance(shapely.Point(p)) for p in a) < 0.05, key
    for k in range(joined.n_segments):
        end = joined.pts[joined.off[k] + joined.n[k] - 1]
        for nxt in joined.succ[k, :joined.n_succ[k]]:
            assert np.hypot(*(end - joined.pts[joined.off[nxt]])) <= JOIN_TOLERANCE_M
    assert np.isclose(joined.length.sum(), raw.length.sum(), rtol=0.01)


def test_short_sections_of_carla_town01_are_joined_into_longer_segments() -> None:
    raw = build_lane_graph(load_map(str(CARLA_TOWN01)).carla_map)
    joined = join_lane_sections(raw)
    assert (joined.length < 2.0).sum() < (raw.length < 2.0).sum() / 2, "stub sections were not joined"


def test_pose_is_exact_where_point_spacing_changes_inside_a_segment() -> None:
    graph = join_lane_sections(build_lane_graph(load_map(str(CARLA_TOWN01)).carla_map))
    worst = 0.0
    for k in range(graph.n_segments):
        a, b = graph.off[k], graph.off[k] + graph.n[k]
        x, y, _, _ = graph.pose(np.full(b - a, k), graph.cum[a:b])  # the sample points themselves
        worst = max(worst, float(np.hypot(x - graph.pts[a:b, 0], y - graph.pts[a:b, 1]).max()))
    assert worst < 1e-6, f"pose() is {worst:.3f} m off a sample point"
