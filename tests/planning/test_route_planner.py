"""Global route planner on a small generated junction and on the bundled town_grid."""
from __future__ import annotations

import itertools
import re

import carla
import networkx as nx
import numpy as np
import pytest
from scenariogeneration import xodr

from driving.errors import InputError
from driving.sim.maps import load_map
from planning.gps import geo_reference, location_to_gps
from planning.road_option import RoadOption
from planning.route_downsample import downsample_route
from planning.route_planner import (
    GlobalRoutePlanner,
    interpolate_trajectory,
    route_graph,
    route_length_m,
    shared_planner,
)

LANE_W = 3.5
ARM_M = 150.0
MOUTH_M = 15.0


def _arcs_for_constant_spirals(text: str) -> str:
    """CARLA returns NaN positions on spirals whose start and end curvature are equal (which
    scenariogeneration writes for straight and circular junction pieces): write them as line/arc."""
    def repl(m: re.Match) -> str:
        a, b = float(m.group(1)), float(m.group(2))
        if abs(a) < 1e-6 and abs(b) < 1e-6:
            return "<line/>"
        return f'<arc curvature="{a!r}"/>' if abs(a - b) < 1e-9 else m.group(0)
    return re.sub(r'<spiral curvStart="([^"]+)" curvEnd="([^"]+)"\s*/>', repl, text)


def _cross_junction_map(tmp_path_factory: pytest.TempPathFactory) -> carla.Map:
    """One 4-way junction, 2 lanes each way on 150 m arms (dead ends), explicit lane connections:
    straight k->k, left from the innermost lane, right from the outermost lane."""
    jc = xodr.CommonJunctionCreator(id=100, name="j", startnum=1000)
    roads = []
    for i, ang in enumerate((0.0, np.pi / 2, np.pi, 3 * np.pi / 2)):
        road = xodr.create_road(xodr.Line(ARM_M), id=i + 1, left_lanes=2, right_lanes=2, lane_width=LANE_W)
        road.planview.set_start_point(MOUTH_M * np.cos(ang), MOUTH_M * np.sin(ang), ang)
        roads.append(road)
        jc.add_incoming_road_cartesian_geometry(road, MOUTH_M * np.cos(ang), MOUTH_M * np.sin(ang),
                                                ang + np.pi, "predecessor")
    for a, b in itertools.permutations(range(4), 2):
        turn = (b - a) % 4
        if turn == 2:
            for k in (1, 2):
                jc.add_connection(a + 1, b + 1, k, -k)
        elif turn == 1:  # right turn (clockwise seen from above in OpenDRIVE)
            jc.add_connection(a + 1, b + 1, 2, -2)
        else:
            jc.add_connection(a + 1, b + 1, 1, -1)
    odr = xodr.OpenDrive("cross", geo_reference="+proj=tmerc +lat_0=49.5 +lon_0=8.25")
    for road in roads:
        odr.add_road(road)
    odr.add_junction_creator(jc)
    odr.adjust_roads_and_lanes()
    path = tmp_path_factory.mktemp("maps") / "cross.xodr"
    odr.write_xml(str(path))
    return carla.Map("cross", _arcs_for_constant_spirals(path.read_text()))


@pytest.fixture(scope="module")
def cross(tmp_path_factory: pytest.TempPathFactory) -> tuple[carla.Map, GlobalRoutePlanner]:
    carla_map = _cross_junction_map(tmp_path_factory)
    return carla_map, GlobalRoutePlanner(carla_map, 1.0)


# CARLA frame: the east arm's inbound lanes run west at y = -1.75 (inner) and -5.25 (outer);
# driving west, left is +y (the arm at y > 0) and right is -y.
EAST_INNER = carla.Location(100.0, -1.75, 0.0)
EAST_OUTER = carla.Location(100.0, -5.25, 0.0)
WEST_OUT = carla.Location(-100.0, -1.75, 0.0)
LEFT_OUT = carla.Location(-1.75, 100.0, 0.0)
RIGHT_OUT = carla.Location(5.25, -100.0, 0.0)


def _runs(trace) -> list[RoadOption]:
    return [option for option, _ in itertools.groupby(o for _, o in trace)]


def _gaps(trace) -> list[float]:
    return [a[0].transform.location.distance(b[0].transform.location) for a, b in itertools.pairwise(trace)]


def test_road_option_matches_official_enum() -> None:
    assert {o.name: o.value for o in RoadOption} == {
        "VOID": -1, "LEFT": 1, "RIGHT": 2, "STRAIGHT": 3, "LANEFOLLOW": 4,
        "CHANGELANELEFT": 5, "CHANGELANERIGHT": 6}
    assert RoadOption(4).name == "LANEFOLLOW"


@pytest.mark.parametrize("origin, destination, turn", [
    (EAST_INNER, WEST_OUT, RoadOption.STRAIGHT),
    (EAST_INNER, LEFT_OUT, RoadOption.LEFT),
    (EAST_OUTER, RIGHT_OUT, RoadOption.RIGHT),
])
def test_junction_turns_are_classified_and_route_is_continuous(cross, origin, destination, turn) -> None:
    _, planner = cross
    trace = planner.trace_route(origin, destination)
    assert _runs(trace) == [RoadOption.LANEFOLLOW, turn, RoadOption.LANEFOLLOW]
    turn_points = [wp for wp, o in trace if o == turn]
    assert all(wp.is_junction for wp in turn_points[:-1])  # the last is the exit lane's first point
    assert not any(wp.is_junction for wp, o in trace if o == RoadOption.LANEFOLLOW)
    gaps = _gaps(trace)
    assert 0.5 <= min(gaps) and max(gaps) <= 1.5, (min(gaps), max(gaps))
    assert trace[0][0].transform.location.distance(origin) < 1.0
    assert trace[-1][0].transform.location.distance(destination) < 2.0
    assert abs(sum(gaps) - 200.0) < 25.0  # 85 m in, about a quarter circle or 30 m across, 85 m out


def test_lane_change_is_planned_when_the_turn_needs_another_lane(cross) -> None:
    _, planner = cross
    trace = planner.trace_route(EAST_OUTER, LEFT_OUT)  # left turns leave from the inner lane only
    runs = _runs(trace)
    assert runs == [RoadOption.CHANGELANELEFT, RoadOption.LANEFOLLOW, RoadOption.LEFT, RoadOption.LANEFOLLOW]
    first_after_change = next(wp for wp, o in trace if o == RoadOption.LANEFOLLOW)
    assert first_after_change.lane_id == 1  # the inner inbound lane
    gaps = _gaps(trace)
    assert max(g for g, (_, o) in zip(gaps, trace[1:]) if o != RoadOption.CHANGELANELEFT) <= 1.5


def test_unreachable_destination_names_both_points(cross) -> None:
    _, planner = cross
    inbound_start = carla.Location(-1.75, -160.0, 0.0)  # an inbound lane start: nothing leads there
    with pytest.raises(InputError, match=r"\(100\.0, -1\.8, 0\.0\).*\(-1\.8, -160\.0, 0\.0\)"):
        planner.trace_route(EAST_INNER, inbound_start)


def test_bad_resolution_is_rejected(cross) -> None:
    with pytest.raises(InputError, match="sampling_resolution_m"):
        GlobalRoutePlanner(cross[0], 0.0)


def test_interpolate_trajectory_gives_world_and_gps_plans(cross) -> None:
    carla_map, planner = cross
    keypoints = [EAST_INNER, carla.Location(40.0, -1.75, 0.0), LEFT_OUT]
    world, gps = interpolate_trajectory(carla_map, keypoints, 1.0)
    assert len(world) == len(gps) > 150
    assert all(isinstance(t, carla.Transform) for t, _ in world)
    assert [o for _, o in world] == [o for _, o in gps]
    assert RoadOption.LEFT in {o for _, o in world}
    lat_ref, lon_ref = geo_reference(carla_map.to_opendrive())
    assert (lat_ref, lon_ref) == (49.5, 8.25)
    assert gps[5][0] == location_to_gps(lat_ref, lon_ref, world[5][0].location)
    assert max(a[0].location.distance(b[0].location) for a, b in itertools.pairwise(world)) <= 1.5
    same = interpolate_trajectory(carla_map, keypoints, 1.0, planner=planner)
    assert [t.location for t, _ in same.world] == [t.location for t, _ in world]
    with pytest.raises(InputError, match="at least 2 keypoints"):
        interpolate_trajectory(carla_map, keypoints[:1])


def test_shared_planner_is_one_per_map_and_hop_and_plans_as_a_fresh_one(cross) -> None:
    carla_map, planner = cross
    shared = shared_planner(carla_map, 1.0)
    assert shared_planner(carla_map, 1.0) is shared
    assert shared_planner(carla_map, 2.0) is not shared
    assert shared_planner(carla.Map(carla_map.name, carla_map.to_opendrive()), 1.0) is shared  # same town
    a, b = EAST_INNER, LEFT_OUT
    assert [(wp.transform.location, o) for wp, o in shared.trace_route(a, b)] == [
        (wp.transform.location, o) for wp, o in planner.trace_route(a, b)]
    with pytest.raises(InputError, match="sampling_resolution_m"):
        shared_planner(carla_map, -1.0)


def test_route_graph_of_dead_end_map(cross) -> None:
    graph = route_graph(cross[0])
    outbound = [n for n in graph if n[0] <= 4 and n[2] < 0]
    inbound = [n for n in graph if n[0] <= 4 and n[2] > 0]
    assert len(outbound) == len(inbound) == 8
    assert all(graph.out_degree(n) == 0 for n in outbound)  # dead ends
    assert all(graph.in_degree(n) == 0 for n in inbound)
    assert nx.has_path(graph, (1, 0, 1), (4, 0, -1))


@pytest.fixture(scope="module")
def grid() -> tuple[carla.Map, GlobalRoutePlanner]:
    carla_map = load_map("town_grid").carla_map
    return carla_map, GlobalRoutePlanner(carla_map, 1.0)


@pytest.mark.parametrize("town", ["town_grid", "town_suburb", "highway"])
def test_every_bundled_town_is_one_strongly_connected_component(town) -> None:
    """Every driving lane reaches every other on the planner's own route graph."""
    graph = route_graph(load_map(town).carla_map)
    assert graph.number_of_nodes() > 50
    assert nx.number_strongly_connected_components(graph) == 1


def test_destination_behind_origin_on_the_same_lane_goes_around(grid) -> None:
    carla_map, planner = grid
    start = next(w for w in carla_map.generate_waypoints(2.0)
                 if not w.is_junction and w.lane_id < 0 and w.s > 60.0)
    behind = start.previous(30.0)[0]
    trace = planner.trace_route(start.transform.location, behind.transform.location)
    assert trace[-1][0].transform.location.distance(behind.transform.location) < 2.0
    assert route_length_m([(wp.transform, o) for wp, o in trace]) > 150.0  # around a block


def test_random_grid_routes_end_at_destination_with_turns(grid) -> None:
    carla_map, planner = grid
    points = [w for w in carla_map.generate_waypoints(10.0) if not w.is_junction]
    rng = np.random.default_rng(0)
    options = set()
    for _ in range(20):
        a, b = rng.choice(len(points), size=2, replace=False)
        trace = planner.trace_route(points[a].transform.location, points[b].transform.location)
        assert trace[-1][0].transform.location.distance(points[b].transform.location) < 1.0
        gaps = [g for g, (_, o) in zip(_gaps(trace), trace[1:])
                if o not in (RoadOption.CHANGELANELEFT, RoadOption.CHANGELANERIGHT)]
        assert max(gaps) <= 1.5
        options.update(o for _, o in trace)
    assert {RoadOption.LEFT, RoadOption.RIGHT, RoadOption.LANEFOLLOW} <= options


# ---- downsample_route ------------------------------------------------------------------------
def _straight(options: list[RoadOption]) -> list[tuple[carla.Transform, RoadOption]]:
    return [(carla.Transform(carla.Location(float(i), 0.0, 0.0)), o) for i, o in enumerate(options)]


def test_downsample_keeps_every_d_metres_and_the_end() -> None:
    route = _straight([RoadOption.LANEFOLLOW] * 201)
    # distance accumulates from the kept point's successor and must exceed 50 m: kept every 52 points
    assert downsample_route(route, 50) == [0, 52, 104, 156, 200]


def test_downsample_keeps_option_changes_and_every_lane_change_point() -> None:
    lf, left, cl = RoadOption.LANEFOLLOW, RoadOption.LEFT, RoadOption.CHANGELANELEFT
    options = [lf] * 10 + [cl, cl] + [lf] * 10 + [left] * 5 + [lf] * 5
    kept = downsample_route(_straight(options), 50)
    # 0 start, 10/11 lane change, not 12 (option change right after a lane change), 22 turn, 27 back, 31 end
    assert kept == [0, 10, 11, 22, 27, 31]


def test_downsample_accepts_waypoints(cross) -> None:
    _, planner = cross
    trace = planner.trace_route(EAST_INNER, LEFT_OUT)
    kept = downsample_route(trace, 50)
    assert kept[0] == 0 and kept[-1] == len(trace) - 1
    turn_start = next(i for i, (_, o) in enumerate(trace) if o == RoadOption.LEFT)
    assert turn_start in kept
