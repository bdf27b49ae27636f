"""Acceptance tests for the bundled OpenDRIVE towns, their generator and the map registry."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import carla
import networkx as nx
import pytest

from driving.errors import InputError
from driving.sim.maps import LoadedMap, available_maps, generator, load_map, map_path

BUNDLED = ["highway", "town_arterial", "town_grid", "town_overpass", "town_suburb"]
LaneKey = tuple[int, int, int]


def _key(wp: carla.Waypoint) -> LaneKey:
    return wp.road_id, wp.section_id, wp.lane_id


def _driving_waypoints(loaded: LoadedMap) -> list[carla.Waypoint]:
    return [w for w in loaded.carla_map.generate_waypoints(1.0) if w.lane_type == carla.LaneType.Driving]


def _lane_graph(carla_map: carla.Map) -> nx.DiGraph:
    """Topology edges plus successor links along lanes (no lane changes)."""
    graph = nx.DiGraph()
    for entry, nxt in carla_map.get_topology():
        graph.add_edge(_key(entry), _key(nxt))
    for wp in carla_map.generate_waypoints(2.0):
        if wp.lane_type != carla.LaneType.Driving:
            continue
        graph.add_node(_key(wp))
        for succ in wp.next(2.0):
            if _key(succ) != _key(wp):
                graph.add_edge(_key(wp), _key(succ))
    return graph


def _junction_legs(junction: carla.Junction) -> set[int]:
    """Roads entering or leaving a junction, found through its connecting driving lanes."""
    legs = set()
    for start, end in junction.get_waypoints(carla.LaneType.Driving):
        legs |= {p.road_id for p in start.previous(0.5) if not p.is_junction}
        legs |= {n.road_id for n in end.next(0.5) if not n.is_junction}
    return legs


def _junctions(loaded: LoadedMap) -> dict[int, carla.Junction]:
    return {w.get_junction().id: w.get_junction() for w in _driving_waypoints(loaded) if w.is_junction}


def _road_lanes(loaded: LoadedMap) -> dict[int, set[int]]:
    """Driving lane ids per ordinary (non-junction) road."""
    lanes: dict[int, set[int]] = defaultdict(set)
    for w in _driving_waypoints(loaded):
        if not w.is_junction:
            lanes[w.road_id].add(w.lane_id)
    return lanes


def _governed_junction(carla_map: carla.Map, landmark: carla.Landmark) -> int | None:
    """Junction at the end of the lane a signal is valid for."""
    lane = landmark.get_lane_validities()[0][0]
    wp = carla_map.get_waypoint_xodr(landmark.road_id, lane, landmark.s)
    if wp is None:
        return None
    for _ in range(20):
        if wp.is_junction:
            return wp.get_junction().id
        ahead = wp.next(2.0)
        if not ahead:
            return None
        wp = ahead[0]
    return None


# ------------------------------------------------------------------------------------ registry


def test_available_maps_lists_the_bundled_towns() -> None:
    assert available_maps() == BUNDLED
    assert all(map_path(name).is_file() for name in BUNDLED)


def test_load_by_name_and_by_path_share_the_parsed_map(tmp_path: Path) -> None:
    first = load_map("town_grid")
    assert first.name == "town_grid" and first.path == map_path("town_grid")
    assert load_map("town_grid") is first
    assert load_map(map_path("town_grid")) is first
    copy = tmp_path / "copied_town.xodr"
    copy.write_text(first.xodr_text, encoding="utf-8")
    other = load_map(str(copy))
    assert other.name == "copied_town" and other.path == copy.resolve()
    assert len(other.carla_map.get_topology()) == len(first.carla_map.get_topology())


def test_geo_reference_is_used_for_gnss() -> None:
    geo = load_map("town_grid").carla_map.transform_to_geolocation(carla.Location(0.0, 0.0, 0.0))
    assert geo.latitude == pytest.approx(49.0, abs=1e-6)
    assert geo.longitude == pytest.approx(8.0, abs=1e-6)


_MINIMAL_ROAD = (
    '<road id="1" length="10" junction="-1"><planView><geometry s="0" x="0" y="0" hdg="0" length="10">'
    '<line/></geometry></planView><lanes><laneSection s="0"><center><lane id="0" type="none"/></center>'
    '<right><lane id="-1" type="{lane_type}"><width sOffset="0" a="3" b="0" c="0" d="0"/></lane></right>'
    "</laneSection></lanes></road>"
)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("<OpenDRIVE><road", "malformed XML"),
        ("<Scenario/>", "expected <OpenDRIVE>"),
        ("<OpenDRIVE><header/></OpenDRIVE>", "no <road>"),
        ('<OpenDRIVE><road id="1" length="5"/></OpenDRIVE>', "no <planView><geometry>"),
        (f"<OpenDRIVE>{_MINIMAL_ROAD.format(lane_type='sidewalk')}</OpenDRIVE>", "no lane of type 'driving'"),
    ],
)
def test_bad_files_raise_input_error_naming_the_file(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.xodr"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=expected) as info:
        load_map(path)
    assert str(path) in str(info.value)


def test_minimal_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "one_road.xodr"
    path.write_text(f"<OpenDRIVE>{_MINIMAL_ROAD.format(lane_type='driving')}</OpenDRIVE>", encoding="utf-8")
    assert load_map(path).carla_map.generate_waypoints(2.0)


def test_unknown_name_missing_file_and_binary_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown bundled map.*town_grid"):
        load_map("Town99")
    with pytest.raises(InputError, match="does not exist"):
        load_map(tmp_path / "absent.xodr")
    with pytest.raises(InputError, match="is not a file"):
        load_map(tmp_path)
    binary = tmp_path / "binary.xodr"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not UTF-8"):
        load_map(binary)


# ---------------------------------------------------------------------------------- generator


def test_generator_output_matches_checked_in_files(tmp_path: Path) -> None:
    assert generator.main(["--out", str(tmp_path)]) == 0
    for name in BUNDLED:
        assert (tmp_path / f"{name}.xodr").read_bytes() == map_path(name).read_bytes(), name


def test_generator_rejects_unknown_map(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown map"):
        generator.generate(tmp_path, ["nowhere"])


# ------------------------------------------------------------------------------- every bundle


@pytest.mark.parametrize("name", BUNDLED)
def test_every_driving_lane_reaches_every_other(name: str) -> None:
    loaded = load_map(name)
    graph = _lane_graph(loaded.carla_map)
    lanes = {_key(w) for w in _driving_waypoints(loaded)}
    assert lanes <= set(graph.nodes)
    assert nx.number_strongly_connected_components(graph) == 1
    dead = [n for n in graph.nodes if graph.in_degree(n) == 0 or graph.out_degree(n) == 0]
    assert dead == []


@pytest.mark.parametrize("name", BUNDLED)
def test_no_gap_where_lanes_join(name: str) -> None:
    carla_map = load_map(name).carla_map
    worst = 0.0
    for entry, nxt in carla_map.get_topology():
        chain = entry.next_until_lane_end(0.5) or [entry]
        worst = max(worst, chain[-1].transform.location.distance(nxt.transform.location))
    assert worst < 0.1


@pytest.mark.parametrize("name", BUNDLED)
def test_positions_are_finite(name: str) -> None:
    for w in load_map(name).carla_map.generate_waypoints(2.0):
        loc = w.transform.location
        assert math.isfinite(loc.x) and math.isfinite(loc.y), (w.road_id, w.lane_id, w.s)


@pytest.mark.parametrize("name", BUNDLED)
def test_signals_govern_the_lane_approaching_them(name: str) -> None:
    carla_map = load_map(name).carla_map
    landmarks = carla_map.get_all_landmarks_of_type("1000001") + carla_map.get_all_landmarks_of_type("206")
    assert landmarks
    for landmark in landmarks:
        lane = landmark.get_lane_validities()[0][0]
        at_sign = carla_map.get_waypoint_xodr(landmark.road_id, lane, landmark.s)
        upstream = at_sign.previous(20.0)
        assert any(landmark.id in {lm.id for lm in wp.get_landmarks(30.0)} for wp in upstream), landmark.id


# ------------------------------------------------------------------------------- per town


def test_town_grid_content() -> None:
    loaded = load_map("town_grid")
    carla_map = loaded.carla_map
    assert len(_driving_waypoints(loaded)) >= 3000  # one waypoint per metre of driving lane
    lights = carla_map.get_all_landmarks_of_type("1000001")
    signalised = {_governed_junction(carla_map, lm) for lm in lights} - {None}
    assert len(signalised) >= 4
    assert len(carla_map.get_all_landmarks_of_type("206")) >= 1
    legs = [len(_junction_legs(j)) for j in _junctions(loaded).values()]
    assert legs.count(3) >= 1 and legs.count(4) >= 1
    lanes = _road_lanes(loaded)
    assert any({-2, -1, 1, 2} <= ids for ids in lanes.values())
    assert any(ids == {-1, 1} for ids in lanes.values())
    probe = carla_map.get_waypoint(
        carla.Location(50.0, -9.0, 0.0), project_to_road=True, lane_type=carla.LaneType.Sidewalk
    )
    assert probe is not None and probe.lane_type == carla.LaneType.Sidewalk
    assert probe.lane_width == pytest.approx(2.0)


def test_town_suburb_content() -> None:
    loaded = load_map("town_suburb")
    legs = [len(_junction_legs(j)) for j in _junctions(loaded).values()]
    assert max(legs) >= 5 and legs.count(3) >= 1
    turning = 0
    for road_id in _road_lanes(loaded):
        wp = loaded.carla_map.get_waypoint_xodr(road_id, -1, 0.5)
        chain = [wp] + wp.next_until_lane_end(2.0)
        yaws = [w.transform.rotation.yaw for w in chain]
        swing = max(abs((b - a + 180.0) % 360.0 - 180.0) for a in yaws for b in yaws)
        turning += swing > 20.0
    assert turning >= 5
    assert loaded.carla_map.get_all_landmarks_of_type("206")


def test_highway_content() -> None:
    loaded = load_map("highway")
    lanes = _road_lanes(loaded)
    motorway = {r for r, ids in lanes.items() if {-3, -2, -1, 1, 2, 3} <= ids}
    ramps = {r for r, ids in lanes.items() if len(ids) == 1}
    assert motorway and ramps
    graph = _lane_graph(loaded.carla_map)

    def roads_two_steps(lane: LaneKey, step) -> set[int]:
        return {far[0] for near in step(lane) for far in step(near)}

    starts = [n for n in graph.nodes if n[0] in motorway]
    diverge = [
        n for n in starts if {"m", "r"} <= _kinds(roads_two_steps(n, graph.successors), motorway, ramps)
    ]
    merge = [
        n for n in starts if {"m", "r"} <= _kinds(roads_two_steps(n, graph.predecessors), motorway, ramps)
    ]
    assert diverge and merge


def _kinds(roads: set[int], motorway: set[int], ramps: set[int]) -> set[str]:
    return {"m" for r in roads if r in motorway} | {"r" for r in roads if r in ramps}
