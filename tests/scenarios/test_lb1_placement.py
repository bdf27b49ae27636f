"""LB1.0 scenario placement on a real bundled town (town_grid): matching, turns, one per position.

Routes are planned through a junction where the same approach can turn left or go straight; the
scenario events are built from those routes' own points, so what is asserted is the placement
rule, not a hand-copied coordinate.
"""
from __future__ import annotations

import itertools

import carla
import pytest

from driving.sim.maps import load_map
from leaderboard.routes import parse_routes_file
from planning.road_option import RoadOption
from planning.route_planner import GlobalRoutePlanner, interpolate_trajectory
from scenarios.lb1_file import parse_lb1_scenarios
from scenarios.lb1_placement import describe_placed, place_lb1_scenarios
from scenarios.skipped import skipped_scenarios

APPROACH_M = 60  # straight lane before the junction, enough for three triggers 15 m apart


@pytest.fixture(scope="module")
def routes() -> dict[RoadOption, list[tuple[carla.Transform, RoadOption]]]:
    """Two town_grid routes from one start: {LEFT: turns left at the junction, STRAIGHT: crosses it}."""
    carla_map = load_map("town_grid").carla_map
    planner = GlobalRoutePlanner(carla_map, 1.0)
    for wp in carla_map.generate_waypoints(10.0):
        if wp.is_junction or wp.lane_type != carla.LaneType.Driving:
            continue
        lane, ahead = [wp], wp
        while len(lane) < 200 and len(nxt := ahead.next(1.0)) == 1 and not nxt[0].is_junction:
            lane.append(ahead := nxt[0])
        if len(lane) < APPROACH_M or len(lane) == 200:
            continue
        found = {}
        for branch in ahead.next(2.0):
            while branch.is_junction:
                branch = branch.next(1.0)[0]
            plan = interpolate_trajectory(carla_map, [wp.transform.location,
                                                      branch.next(30.0)[0].transform.location], planner=planner).world
            turns = [o for _, o in plan if o != RoadOption.LANEFOLLOW]
            found.setdefault(turns[0], plan)
        if RoadOption.LEFT in found and RoadOption.STRAIGHT in found:
            return found
    raise AssertionError("town_grid has no approach with both a left turn and a straight crossing")


def junction_index(plan: list[tuple[carla.Transform, RoadOption]]) -> int:
    return next(i for i, (_, o) in enumerate(plan) if o != RoadOption.LANEFOLLOW)


def pose(t: carla.Transform, dz_m: float = 1.0, yaw_deg: float | None = None) -> dict[str, str]:
    """A file transform at `t`, `dz_m` above the road as the official files write them (strings)."""
    yaw = t.rotation.yaw if yaw_deg is None else yaw_deg
    return {"pitch": "0", "x": f"{t.location.x:.3f}", "y": f"{t.location.y:.3f}",
            "z": f"{t.location.z + dz_m:.1f}", "yaw": f"{yaw:.2f}"}


def ahead(t: carla.Transform, forward_m: float) -> carla.Transform:
    f = t.get_forward_vector()
    return carla.Transform(carla.Location(t.location.x + f.x * forward_m, t.location.y + f.y * forward_m,
                                          t.location.z), t.rotation)


def pose_location(t: carla.Transform, dz_m: float = 1.0) -> carla.Location:
    return carla.Location(t.location.x, t.location.y, t.location.z + dz_m)


def town_file(*entries: tuple[str, list[dict]]):
    """Parsed events of an LB1.0 file with `entries` = (scenario_type, events) under town 'town_grid'."""
    data = {"available_scenarios": [{"town_grid": [
        {"scenario_type": stype, "available_event_configurations": events} for stype, events in entries]}]}
    return parse_lb1_scenarios(data, "test.json").events("town_grid")


def first_within_2m(plan, t: carla.Transform, dz_m: float = 1.0) -> int:
    """Where the ego enters the trigger zone: the first route point < 2 m (3D) from the trigger."""
    here = pose_location(t, dz_m)
    return next(i for i, (p, _) in enumerate(plan) if p.location.distance(here) < 2.0)


def test_turn_dependent_scenarios_follow_the_route_turn(routes):
    left, straight = routes[RoadOption.LEFT], routes[RoadOption.STRAIGHT]
    j = junction_index(left)
    assert j == junction_index(straight) >= APPROACH_M - 2  # one shared approach
    assert all(a[0].location.distance(b[0].location) < 1e-3 for a, b in zip(left[:j], straight[:j]))
    p8, p4, p7 = (left[j - d][0] for d in (15, 30, 45))
    after_turn = left[-5][0]  # on the road the left route leaves by; not on the straight route
    events = town_file(
        ("Scenario8", [{"transform": pose(p8)}]),
        ("Scenario4", [{"transform": pose(p4), "other_actors": {"front": [pose(left[j + 5][0])]}}]),
        ("Scenario7", [{"transform": pose(p7)}]),
        ("Scenario1", [{"transform": pose(after_turn)},
                       {"transform": pose(p4, dz_m=2.5)},  # 2.5 m above the road: z counts, no match
                       {"transform": pose(p8, yaw_deg=p8.rotation.yaw + 180.0)}]),  # facing the other way
    )

    on_left = place_lb1_scenarios(left, events)
    assert [(p.scenario_type, p.subtype, p.turn) for p in on_left] == [
        ("Scenario7", "S7left", RoadOption.LEFT), ("Scenario4", "S4left", RoadOption.LEFT),
        ("Scenario8", "S8left", RoadOption.LEFT), ("Scenario1", "", None)]
    for placed, t in zip(on_left, (p7, p4, p8, after_turn)):
        assert placed.route_index == first_within_2m(left, t)
        assert placed.trigger.location.distance(t.location) == pytest.approx(1.0, abs=1e-3)  # z + 1 m
        assert placed.route_distance_m == pytest.approx(
            sum(a[0].location.distance(b[0].location)
                for a, b in itertools.pairwise(left[:placed.route_index + 1])), abs=1e-6)
    assert on_left[1].family == "VehicleTurningRoute" and len(on_left[1].other_actors.front) == 1
    assert on_left[0].family == on_left[2].family == "SignalJunctionCrossingRoute"

    on_straight = place_lb1_scenarios(straight, events)  # no left turn: no S8, no S4; S7 opposite
    assert [(p.scenario_type, p.subtype, p.route_index) for p in on_straight] == [
        ("Scenario7", "S7opposite", first_within_2m(straight, p7))]
    assert describe_placed(on_straight).startswith("S7opposite @")


def test_one_scenario_per_trigger_position_reproducible_by_seed(routes):
    plan = routes[RoadOption.STRAIGHT]
    j = junction_index(plan)
    at = [plan[j - d][0] for d in range(50, 10, -1)]  # at[k]: k metres past the first point used
    # position A: three types within 1 m; the highest number wins whatever the seed
    shared = town_file(("Scenario3", [{"transform": pose(at[0])}]), ("Scenario10", [{"transform": pose(at[1])}]),
                       ("Scenario1", [{"transform": pose(at[0])}]))
    for seed in range(5):
        placed = place_lb1_scenarios(plan, shared, seed=seed)
        assert [p.scenario_type for p in placed] == ["Scenario10"]

    # position B (20 m on): its first choice, Scenario5, lies 0.5 m from the actor of the
    # scenario chosen at A (a clash: < 2 m), so one of B's two other types is drawn with the seed
    actor = at[20]
    redraw = town_file(
        ("Scenario2", [{"transform": pose(at[0]), "other_actors": {"front": [pose(actor)]}}]),
        ("Scenario5", [{"transform": pose(ahead(actor, 0.5))}]),
        ("Scenario3", [{"transform": pose(ahead(actor, 2.3))}]),  # 1.8 m from B's first trigger: same position
        ("Scenario1", [{"transform": pose(ahead(actor, 2.4), dz_m=1.2)}]),
    )
    outcomes = set()
    for seed in range(8):
        placed = place_lb1_scenarios(plan, redraw, seed=seed)
        assert placed == place_lb1_scenarios(plan, redraw, seed=seed)  # reproducible
        assert len(placed) == 2 and placed[0].scenario_type == "Scenario2"
        assert placed[1].trigger.location.distance(pose_location(actor)) > 2.0
        outcomes.add(placed[1].scenario_type)
    assert outcomes == {"Scenario3", "Scenario1"}  # the seed decides between the two that fit


def test_lb2_scenario_types_without_behaviour_are_named_and_counted(tmp_path):
    path = tmp_path / "lb2.xml"
    trigger = '<trigger_point x="1" y="2" z="0" yaw="90"/>'
    path.write_text(
        '<routes><route id="0" town="town_grid"><waypoints><position x="0" y="0" z="0"/>'
        '<position x="10" y="0" z="0"/></waypoints><scenarios>'
        f'<scenario name="a" type="Accident">{trigger}</scenario>'
        f'<scenario name="b" type="HardBreakRoute">{trigger}</scenario>'
        f'<scenario name="c" type="Accident">{trigger}</scenario>'
        '</scenarios></route></routes>')
    (route,) = parse_routes_file(path)
    skipped = skipped_scenarios((s.type for s in route.scenarios), supported={"HardBreakRoute"})
    assert dict(skipped.counts) == {"Accident": 2} and skipped.total == 2
    assert str(skipped) == "skipped 2 scenarios (no behaviour for: Accident x2)"
    assert str(skipped_scenarios([], ())) == "skipped no scenarios"
