"""A route that moves lanes over and back soon after (CARLA's planner gives lane changes no
cost) is driven on the lane it never needed to leave; a real lane change is left as it is."""
from __future__ import annotations

import re

import carla
import numpy as np
import pytest
from scenariogeneration import xodr

from planning.expert.route_tracker import skip_lane_detours, smooth_lane_changes

LANE_M = 3.5
ROAD_M = 200.0
#: Distance (metres) from the junction centre to where its roads begin.
MOUTH_M = 15.0


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
    out, kept = skip_lane_detours(route, np.zeros(n), three_lanes)
    assert np.allclose(out[:, 1], route[0, 1], atol=0.05)  # every point on the first lane
    assert kept[61:93].all() and not kept[:60].any() and not kept[94:].any()
    path = smooth_lane_changes(out, np.zeros(n, bool), kept)
    assert np.allclose(path, out)  # nothing left to move across


def test_a_lane_change_that_stays_on_the_new_lane_is_not_a_detour(three_lanes: carla.Map) -> None:
    route = _route(three_lanes, [0] * 60 + [1] + [2] * 90)
    n = len(route)
    out, kept = skip_lane_detours(route, np.zeros(n), three_lanes)
    assert np.array_equal(out, route) and not kept.any()


@pytest.fixture(scope="module")
def straight_junction(tmp_path_factory: pytest.TempPathFactory) -> carla.Map:
    """Two 100 m roads with three lanes each way, joined by a 30 m junction whose connectors go
    straight on from every lane to the same lane (as CARLA's Town04 highway junctions)."""
    jc = xodr.CommonJunctionCreator(id=100, name="j", startnum=1000)
    roads = []
    for i, ang in enumerate((np.pi, 0.0)):
        road = xodr.create_road(xodr.Line(100.0), id=i + 1, left_lanes=3, right_lanes=3, lane_width=LANE_M)
        road.planview.set_start_point(MOUTH_M * np.cos(ang), MOUTH_M * np.sin(ang), ang)
        roads.append(road)
        jc.add_incoming_road_cartesian_geometry(road, MOUTH_M * np.cos(ang), MOUTH_M * np.sin(ang),
                                                ang + np.pi, "predecessor")
    for a, b in ((1, 2), (2, 1)):
        for k in (1, 2, 3):
            jc.add_connection(a, b, k, -k)
    odr = xodr.OpenDrive("straight_junction")
    for road in roads:
        odr.add_road(road)
    odr.add_junction_creator(jc)
    odr.adjust_roads_and_lanes()
    path = tmp_path_factory.mktemp("maps") / "straight_junction.xodr"
    odr.write_xml(str(path))
    text = re.sub(r'<spiral curvStart="0\.0" curvEnd="0\.0"\s*/>', "<line/>", path.read_text())
    return carla.Map("straight_junction", text)


def _eastbound(carla_map: carla.Map, lane_at_x: list[tuple[float, int]]) -> np.ndarray:
    """1 m route points eastward from x = -100 to 100 through the junction; from each (x, k) on
    the route is on the k-th eastbound lane counted from the centre line (1 innermost)."""
    points = []
    for x in np.arange(-100.0, 100.0, 1.0):
        k = [lane for start, lane in lane_at_x if x >= start][-1]
        wp = carla_map.get_waypoint(carla.Location(float(x), (k - 0.5) * LANE_M, 0.0),
                                    lane_type=carla.LaneType.Driving)
        points.append([wp.transform.location.x, wp.transform.location.y])
    return np.array(points)


def test_a_move_over_before_a_junction_and_back_after_it_stays_on_the_lane_through_it(
        straight_junction: carla.Map) -> None:
    """Town04 testing route 13: three lanes over at a junction's entry, three back at its exit."""
    route = _eastbound(straight_junction, [(-100.0, 3), (-17.0, 1), (17.0, 3)])
    out, kept = skip_lane_detours(route, np.zeros(len(route)), straight_junction)
    assert np.allclose(out[:, 1], route[0, 1], atol=0.05)  # every point on the outer lane
    assert kept[84:118].all() and not kept[:83].any()


def test_a_move_over_before_a_junction_is_no_detour_when_the_old_lane_leads_elsewhere(
        three_lanes: carla.Map) -> None:
    """The route comes back onto a lane the old one never meets (here: two lanes over, then one
    back): the moves are needed."""
    route = _route(three_lanes, [0] * 60 + [2] * 30 + [1] * 60)
    out, kept = skip_lane_detours(route, np.zeros(len(route)), three_lanes)
    assert np.array_equal(out, route) and not kept.any()
