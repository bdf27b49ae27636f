"""The official LB1.0 scenario file's Town01 part placed on the ten official Town01 training routes.

Data (tests/data/carla, see its README): CARLA's Town01 OpenDRIVE, the Town01 routes of
leaderboard-1.0 `routes_training.xml`, and the Town01 entry of leaderboard-1.0
`all_towns_traffic_scenarios_public.json` (93 events: 40 Scenario1, 18 Scenario3, 35 Scenario4).

How the expected numbers were checked: a separate, line-by-line port of the official functions
(route_parser.match_world_location_to_route / get_scenario_type / check_trigger_position and
route_scenario._scenario_sampling / compare_scenarios, with numpy's RandomState(0).choice), run
on the same dense routes, placed the same 70 scenarios at the same route indices. Of the events,
139 match a route (< 2 m 3D with the files' z = 1.0, < 10 deg), 19 of them are Scenario4s before a
straight crossing (not placed), and the remaining 120 fall into 70 trigger positions, each of
which gets one scenario (Scenario4 over Scenario3 over Scenario1; no clash redraws on these
routes). About one scenario per 120 m of route is what LB1.0 training routes are known for.
The counts depend on our planner's dense route matching CARLA's; if a planner change moves
them, re-run that check before updating the numbers.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from driving.sim.maps import load_map
from leaderboard.routes import parse_routes_file
from planning.road_option import RoadOption
from planning.route_planner import GlobalRoutePlanner, interpolate_trajectory
from scenarios.lb1_file import load_lb1_scenarios
from scenarios.lb1_placement import place_lb1_scenarios

DATA = Path(__file__).resolve().parents[1] / "data" / "carla"
PLACED_PER_ROUTE = {"0": 5, "1": 6, "2": 5, "3": 8, "4": 7, "5": 10, "6": 7, "7": 7, "8": 6, "9": 9}


@pytest.fixture(scope="module")
def placements():
    carla_map = load_map(DATA / "Town01.xodr").carla_map
    scenario_file = load_lb1_scenarios(DATA / "lb1_scenarios_town01.json")
    planner = GlobalRoutePlanner(carla_map, 1.0)
    out = {}
    for route in parse_routes_file(DATA / "routes_training_town01.xml"):
        plan = interpolate_trajectory(carla_map, list(route.keypoints), planner=planner).world
        out[route.route_id] = (plan, place_lb1_scenarios(plan, scenario_file.events(route.town)))
    return out


def test_official_file_loads_with_every_event():
    scenario_file = load_lb1_scenarios(DATA / "lb1_scenarios_town01.json")
    events = scenario_file.events("Town01")
    assert Counter(e.scenario_type for e in events) == {"Scenario1": 40, "Scenario3": 18, "Scenario4": 35}
    assert sum(len(e.other_actors.poses()) for e in events) == 70  # Scenario4's front/left/right poses
    assert scenario_file.events("Town02") == ()


def test_official_placements_on_the_town01_training_routes(placements):
    assert {rid: len(placed) for rid, (_, placed) in placements.items()} == PLACED_PER_ROUTE
    every = [p for _, placed in placements.values() for p in placed]
    assert Counter(p.label for p in every) == {"Scenario1": 10, "Scenario3": 30, "S4right": 20, "S4left": 10}
    for plan, placed in placements.values():
        assert [p.route_index for p in placed] == sorted(p.route_index for p in placed)
        for p in placed:
            point = plan[p.route_index][0]
            assert point.location.distance(p.trigger.location) < 2.0
            assert abs((point.rotation.yaw - p.trigger.rotation.yaw + 180.0) % 360.0 - 180.0) < 10.0
            if p.scenario_type == "Scenario4":
                assert p.turn in (RoadOption.LEFT, RoadOption.RIGHT) and p.subtype == f"S4{p.turn.name.lower()}"
        positions = [p.trigger.location for p in placed]  # one scenario per trigger position
        assert all(a.distance(b) >= 2.0 for i, a in enumerate(positions) for b in positions[i + 1:])
