"""A route that moves lanes over and back soon after (CARLA's planner gives lane changes no
cost) is driven on the lane it never needed to leave; a real lane change is left as it is."""
from __future__ import annotations

import carla
import numpy as np
import pytest
from scenariogeneration import xodr

from planning.expert.route_tracker import skip_lane_detours, smooth_lane_changes

LANE_M = 3.5
ROAD_M = 200.0


@pytest.fixture(scope="module")
def three_lanes(tmp_path_factory: pytest.TempPathFactory) -> carla.Map:
    """One straight 200 m road with three lanes in one direction (no junction)."""
    road = xodr.create_road(xodr.Line(ROAD_M), id=1, left_lanes=0, right_lanes=3, lane_width=LANE_M)
    odr = xodr.OpenDrive("three_lanes")
    odr.add_road(road)
    odr.adjust_roads_and_lanes()
    path = tmp_path_factory.mktemp("maps") / "three_lanes.xodr"
    odr.write_xml(str(path))
    text = path.read_text().replace('<spiral curvStart="0.0" curvEnd="0.0"/>', "<line/>")
    return carla.Map("three_lanes", text)


def _route(carla_map: carla.Map, lanes_over: list[int]) -> np.ndarray:
    """1 m route points along the road: point i on the lane `lanes_over[i]` lanes right of the first."""
    wp = carla_map.get_waypoint(carla.Location(5.0, 0.0, 0.0), lane_type=carla.LaneType.Driving)
    while wp.get_left_lane() is not None and wp.get_left_lane().lane_type == carla.LaneType.Driving:
        wp = wp.get_left_lane()
    points = []
    for over in lanes_over:
        lane = wp
        for _ in range(over):
            lane = lane.get_right_lane()
        points.append([lane.transform.location.x, lane.transform.location.y])
        wp = wp.next(1.0)[0]
    return np.array(points)


def test_a_move_two_lanes_over_and_back_30_m_later_is_kept_on_the_lane(three_lanes: carla.Map) -> None:
    route = _route(three_lanes, [0] * 60 + [1] + [2] * 30 + [1] + [0] * 60)
    n = len(route)
    out, kept = skip_lane_detours(route, np.zeros(n), np.zeros(n, bool), three_lanes)
    assert np.allclose(out[:, 1], route[0, 1], atol=0.05)  # every point on the first lane
    assert kept[61:93].all() and not kept[:60].any() and not kept[94:].any()
    path = smooth_lane_changes(out, np.zeros(n, bool), kept)
    assert np.allclose(path, out)  # nothing left to move across


def test_a_lane_change_that_stays_on_the_new_lane_is_not_a_detour(three_lanes: carla.Map) -> None:
    route = _route(three_lanes, [0] * 60 + [1] + [2] * 90)
    n = len(route)
    out, kept = skip_lane_detours(route, np.zeros(n), np.zeros(n, bool), three_lanes)
    assert np.array_equal(out, route) and not kept.any()


def test_a_move_back_that_passes_a_junction_is_not_a_detour(three_lanes: carla.Map) -> None:
    route = _route(three_lanes, [0] * 60 + [2] * 30 + [0] * 60)
    junction = np.zeros(len(route), bool)
    junction[70:75] = True  # the route passes a junction on the other lane: the move is needed
    out, kept = skip_lane_detours(route, np.zeros(len(route)), junction, three_lanes)
    assert np.array_equal(out, route) and not kept.any()
