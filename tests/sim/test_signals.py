"""Signals read from a map's OpenDRIVE and placed procedurally on a map without any.

Maps: the bundled town_grid (with signals) and a small map generated here with scenariogeneration
(one 4-way and one 3-way junction), with or without signals and sidewalk lanes. `small_map`
is imported by the layout and preview tests too.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import carla
import pytest
from scenariogeneration import xodr

from driving.sim.maps import MapWarning, load_map
from driving.sim.signals import (
    STOP_LINE_BACK_M,
    STOP_SIGN_ID_BASE,
    TRAFFIC_LIGHT_TYPE,
    SignalSet,
    find_signals,
    junction_approaches,
)
from driving.sim.traffic_lights import _phases_of_group

JUNCTION_HALF_M = 12.0
FOUR_WAY_ID, THREE_WAY_ID = 100, 200
# road id: (x, y, heading pointing away from its junction, length) in OpenDRIVE metres/radians
_ROADS = {
    1: (JUNCTION_HALF_M, 0.0, 0.0, 150.0 - 2 * JUNCTION_HALF_M),
    2: (0.0, JUNCTION_HALF_M, math.pi / 2, 80.0),
    3: (0.0, -JUNCTION_HALF_M, -math.pi / 2, 80.0),
    4: (-JUNCTION_HALF_M, 0.0, math.pi, 80.0),
    5: (150.0, JUNCTION_HALF_M, math.pi / 2, 80.0),
    6: (150.0, -JUNCTION_HALF_M, -math.pi / 2, 80.0),
}


def _road(road_id: int, sidewalks: bool, one_way: bool = False) -> xodr.Road:
    x, y, h, length = _ROADS[road_id]
    plan = xodr.PlanView(x, y, h)
    plan.add_geometry(xodr.Line(length))
    centre = xodr.Lane()
    centre.add_roadmark(xodr.RoadMark(xodr.RoadMarkType.solid))
    section = xodr.LaneSection(0, centre)
    for add in (section.add_left_lane,) if one_way else (section.add_left_lane, section.add_right_lane):
        lane = xodr.Lane(lane_type=xodr.LaneType.driving, a=3.5)
        lane.add_roadmark(xodr.RoadMark(xodr.RoadMarkType.solid))
        add(lane)
        if sidewalks:
            add(xodr.Lane(lane_type=xodr.LaneType.sidewalk, a=2.0))
    lanes = xodr.Lanes()
    lanes.add_lanesection(section)
    return xodr.Road(road_id, plan, lanes)


def small_map_xodr(signals: bool, sidewalks: bool = True, validity: bool = True, one_way_branch: bool = False) -> str:
    """OpenDRIVE text: a 4-way junction at (0, 0) and a T junction at (150, 0) joined by road 1.

    With `signals`, roads 1-4 carry a traffic light for the lane entering the 4-way junction
    and road 1 a stop sign for the lane entering the T junction. Without `validity` the signals
    name no lanes and face the other way, as CARLA's RoadRunner-made Town maps write them.
    With `one_way_branch`, road 5 (north of the T) is a one-lane road towards the T junction.
    """
    roads = {rid: _road(rid, sidewalks, one_way=one_way_branch and rid == 5) for rid in _ROADS}
    four = xodr.CommonJunctionCreator(FOUR_WAY_ID, "four", startnum=1000)
    three = xodr.CommonJunctionCreator(THREE_WAY_ID, "three", startnum=2000)
    for rid in (1, 2, 3, 4):
        x, y, h, _ = _ROADS[rid]
        four.add_incoming_road_cartesian_geometry(roads[rid], x, y, h + math.pi, "predecessor")
    for rid in (5, 6):
        x, y, h, _ = _ROADS[rid]
        three.add_incoming_road_cartesian_geometry(roads[rid], x - 150.0, y, h + math.pi, "predecessor")
    three.add_incoming_road_cartesian_geometry(roads[1], -JUNCTION_HALF_M, 0.0, 0.0, "successor")
    for creator, ids in ((four, (1, 2, 3, 4)), (three, (1, 5, 6))):
        for a in ids:
            for b in ids:
                if a < b and not (one_way_branch and 5 in (a, b)):
                    creator.add_connection(a, b)
    if one_way_branch:  # its lane 1 drives towards the T and turns into road 1 or road 6
        three.add_connection(5, 1, 1, 1)
        three.add_connection(5, 6, 1, -1)
    if signals:
        for rid in (1, 2, 3, 4):
            light = xodr.Signal(s=0.0, t=-4.0, country="OpenDRIVE", Type=TRAFFIC_LIGHT_TYPE,
                                orientation=xodr.Orientation.negative if validity else xodr.Orientation.positive,
                                zOffset=3.0, id=str(rid * 10))
            if validity:
                light.add_validity(1, 1)
            roads[rid].add_signal(light)
        stop = xodr.Signal(s=_ROADS[1][3], t=-4.0, country="OpenDRIVE", Type="206",
                           orientation=xodr.Orientation.positive if validity else xodr.Orientation.negative,
                           id="99")
        if validity:
            stop.add_validity(-1, -1)
        roads[1].add_signal(stop)
    odr = xodr.OpenDrive("small")
    for road in roads.values():
        odr.add_road(road)
    odr.add_junction_creator(four)
    odr.add_junction_creator(three)
    odr.adjust_roads_and_lanes()
    return ET.tostring(odr.get_element(), encoding="unicode")


def small_map(tmp_path: Path, signals: bool, sidewalks: bool = True) -> Path:
    """Write the small map to `tmp_path` and return its path (for load_map / preview_map)."""
    path = tmp_path / f"small_{'sig' if signals else 'bare'}_{'sw' if sidewalks else 'nosw'}.xodr"
    path.write_text(small_map_xodr(signals, sidewalks), encoding="utf-8")
    return path


def _check_stop_waypoints(carla_map: carla.Map, signals: SignalSet) -> None:
    for info in (*signals.traffic_lights, *signals.stop_signs):
        assert info.stop_waypoints, f"signal {info.id} governs no lane"
        for wp in info.stop_waypoints:
            assert wp.lane_type == carla.LaneType.Driving
            assert not wp.is_junction
            ahead = wp.next(STOP_LINE_BACK_M + 0.5)
            assert any(n.is_junction for n in ahead), f"signal {info.id}: stop point not at a junction entry"
            # the trigger box (light frame: x along the lane) holds every stop point
            yaw = math.radians(info.transform.rotation.yaw)
            dx = wp.transform.location.x - info.trigger_location.x
            dy = wp.transform.location.y - info.trigger_location.y
            along, across = dx * math.cos(yaw) + dy * math.sin(yaw), -dx * math.sin(yaw) + dy * math.cos(yaw)
            assert abs(along) <= info.trigger_extent.x + 1e-3
            assert abs(across) <= info.trigger_extent.y + 1e-3


def test_bundled_town_signals_come_from_the_map() -> None:
    loaded = load_map("town_grid")
    signals = find_signals(loaded.carla_map)
    assert not signals.procedural
    assert len(signals.traffic_lights) >= 12 and len(signals.stop_signs) >= 4
    _check_stop_waypoints(loaded.carla_map, signals)
    ids = [t.id for t in signals.traffic_lights] + [s.id for s in signals.stop_signs]
    assert len(set(ids)) == len(ids)
    for tl in signals.traffic_lights:
        ahead = [n for n in tl.stop_waypoints[0].next(STOP_LINE_BACK_M + 0.5) if n.is_junction]
        assert tl.group_id == ahead[0].junction_id
        assert tl.opendrive_id
    # every group is one junction with several lights
    assert all(len(group) >= 3 for group in signals.groups().values())


@pytest.mark.parametrize("validity", [True, False])
def test_small_map_signals_are_read_with_their_lanes(validity: bool) -> None:
    carla_map = carla.Map("small", small_map_xodr(signals=True, validity=validity))
    signals = find_signals(carla_map)
    assert not signals.procedural
    # (scenariogeneration renumbers signal ids reused within one process, so ids are not compared)
    assert len({t.opendrive_id for t in signals.traffic_lights}) == 4
    assert {t.group_id for t in signals.traffic_lights} == {FOUR_WAY_ID}
    governed = sorted((w.road_id, w.lane_id) for t in signals.traffic_lights for w in t.stop_waypoints)
    assert governed == [(1, 1), (2, 1), (3, 1), (4, 1)]
    for tl in signals.traffic_lights:  # the head stays at the map's signal position (t = -4 m)
        wp = tl.stop_waypoints[0]
        assert abs(tl.transform.location.z - 3.0) < 1e-3
        assert tl.transform.location.distance(wp.transform.location) < 12.0
    assert len(signals.stop_signs) == 1
    assert [(w.road_id, w.lane_id) for w in signals.stop_signs[0].stop_waypoints] == [(1, -1)]
    _check_stop_waypoints(carla_map, signals)


def _with_signal_references(text: str) -> str:
    """The small map's lights referenced from every junction connector leaving their road, with
    the connector lane as validity: how RoadRunner writes CARLA's Town maps (`<signalReference>`
    on the connecting roads, one per turn relation)."""
    root = ET.fromstring(text)
    roads = {r.get("id"): r for r in root.findall("road")}
    lights = {r.get("id"): r.find("signals/signal").get("id") for r in roads.values()
              if r.find("signals/signal[@type='1000001']") is not None}
    four_way = next(j for j in root.findall("junction") if j.get("id") == str(FOUR_WAY_ID))
    for conn in four_way.iter("connection"):
        signal_id = lights.get(conn.get("incomingRoad"))
        link = conn.find("laneLink[@from='1']")
        if signal_id is None or link is None:
            continue
        connector = roads[conn.get("connectingRoad")]
        at_start = conn.get("contactPoint") == "start"
        s = 0.6 if at_start else float(connector.get("length")) - 0.6
        holder = connector.find("signals")
        if holder is None:
            holder = ET.SubElement(connector, "signals")
        ref = ET.SubElement(holder, "signalReference", id=signal_id, s=str(s), t="0",
                            orientation="-" if at_start else "+")
        ET.SubElement(ref, "validity", fromLane=link.get("to"), toLane=link.get("to"))
    return ET.tostring(root, encoding="unicode")


def test_signal_references_on_connectors_merge_into_one_light_per_signal() -> None:
    carla_map = carla.Map("refs", _with_signal_references(small_map_xodr(signals=True, validity=False)))
    assert len(carla_map.get_all_landmarks_of_type(TRAFFIC_LIGHT_TYPE)) == 4 + 4 * 3  # signals + references
    signals = find_signals(carla_map)
    assert len(signals.traffic_lights) == 4
    governed = sorted((w.road_id, w.lane_id) for t in signals.traffic_lights for w in t.stop_waypoints)
    assert governed == [(1, 1), (2, 1), (3, 1), (4, 1)]
    assert {t.group_id for t in signals.traffic_lights} == {FOUR_WAY_ID}
    for tl in signals.traffic_lights:  # the head stays where the map's <signal> is, not a reference
        lm = next(lm for lm in carla_map.get_all_landmarks_of_type(TRAFFIC_LIGHT_TYPE)
                  if lm.id == tl.opendrive_id and lm.road_id == tl.stop_waypoints[0].road_id)
        assert tl.transform.location.distance(lm.transform.location) < 3.5  # raised to head height only
    _check_stop_waypoints(carla_map, signals)


def test_signal_naming_missing_lanes_is_skipped_with_a_warning() -> None:
    root = ET.fromstring(small_map_xodr(signals=True))
    validity = next(root.iter("validity"))
    validity.set("fromLane", "5")
    validity.set("toLane", "5")
    carla_map = carla.Map("missing_lane", ET.tostring(root, encoding="unicode"))
    with pytest.warns(MapWarning, match="'missing_lane': signal .* governs no driving lane"):
        signals = find_signals(carla_map)
    assert len(signals.traffic_lights) == 3


def test_map_without_signals_gets_procedural_ones(tmp_path: Path) -> None:
    carla_map = load_map(small_map(tmp_path, signals=False)).carla_map
    signals = find_signals(carla_map)
    assert signals.procedural
    # both junctions join two-way roads: one light per approach, one group per junction (the T too)
    assert len(signals.traffic_lights) == 7 and not signals.stop_signs
    assert {g: len(v) for g, v in signals.groups().items()} == {FOUR_WAY_ID: 4, THREE_WAY_ID: 3}
    governed = sorted((t.group_id, w.road_id, w.lane_id) for t in signals.traffic_lights for w in t.stop_waypoints)
    assert governed == [(FOUR_WAY_ID, r, 1) for r in (1, 2, 3, 4)] + [(THREE_WAY_ID, 1, -1), (THREE_WAY_ID, 5, 1),
                                                                     (THREE_WAY_ID, 6, 1)]
    _check_stop_waypoints(carla_map, signals)
    # phases: opposite approaches together at the 4-way junction, each approach alone at the T
    four = signals.groups()[FOUR_WAY_ID]
    phases = dict(zip((t.stop_waypoints[0].road_id for t in four), _phases_of_group(list(four))))
    assert phases[1] == phases[4] != phases[2] == phases[3]
    assert sorted(_phases_of_group(list(signals.groups()[THREE_WAY_ID]))) == [0, 1, 2]


def test_one_lane_branch_gets_a_stop_sign_and_no_lights() -> None:
    carla_map = carla.Map("branch", small_map_xodr(signals=False, one_way_branch=True))
    signals = find_signals(carla_map)
    assert {g: len(v) for g, v in signals.groups().items()} == {FOUR_WAY_ID: 4}
    assert len(signals.stop_signs) == 1 and signals.stop_signs[0].id == STOP_SIGN_ID_BASE + 1
    assert [(w.road_id, w.lane_id) for w in signals.stop_signs[0].stop_waypoints] == [(5, 1)]
    _check_stop_waypoints(carla_map, signals)
    # the light post stands right of its lane, beyond the road edge (lane 3.5 m + sidewalk 2 m)
    for tl in signals.traffic_lights:
        wp = tl.stop_waypoints[0]
        dist = wp.transform.location.distance(carla.Location(tl.transform.location.x, tl.transform.location.y,
                                                             wp.transform.location.z))
        assert dist >= 3.5 / 2 + 2.0


def test_signal_ids_are_stable_across_runs(tmp_path: Path) -> None:
    text = small_map_xodr(signals=False)
    first = find_signals(carla.Map("a", text))
    second = find_signals(carla.Map("b", text))
    key = [(t.id, t.group_id, round(t.transform.location.x, 3), round(t.transform.location.y, 3))
           for t in first.traffic_lights]
    assert key == [(t.id, t.group_id, round(t.transform.location.x, 3), round(t.transform.location.y, 3))
                   for t in second.traffic_lights]
    assert [s.id for s in first.stop_signs] == [s.id for s in second.stop_signs]
    with pytest.raises(KeyError, match="known ids"):
        first.light(999)
    assert first.light(1).id == 1


CARLA_TOWN01 = Path(__file__).resolve().parents[1] / "data" / "carla" / "Town01.xodr"


def test_carla_town01_gets_three_lights_at_each_of_its_twelve_junctions() -> None:
    """CARLA's Town01 export carries no signals; the server's own Town01 has 3 lights at each of
    its 12 T junctions (all roads one lane each way). Procedural placement gives the same."""
    carla_map = load_map(CARLA_TOWN01).carla_map
    signals = find_signals(carla_map)
    assert signals.procedural and not signals.stop_signs
    groups = signals.groups()
    assert len(groups) == 12 and all(len(g) == 3 for g in groups.values())
    approaches = junction_approaches(carla_map)
    for jid, lights in groups.items():  # one group per junction, every approach lane governed once
        governed = sorted((w.road_id, w.lane_id) for t in lights for w in t.stop_waypoints)
        assert governed == sorted((a.road_id, ln.lane_id) for a in approaches[jid] for ln in a.lanes)
        for tl in lights:
            ahead = [n for n in tl.stop_waypoints[0].next(STOP_LINE_BACK_M + 0.5) if n.is_junction]
            assert {n.junction_id for n in ahead} == {jid}
            assert tl.trigger_extent.y >= tl.stop_waypoints[0].lane_width / 2 - 1e-3  # across the lane
        assert sorted(_phases_of_group(list(lights))) == [0, 1, 2]  # each approach green alone, as CARLA
    _check_stop_waypoints(carla_map, signals)
