"""Scenario4 VehicleTurningRoute on town_grid, through the real route runner (no background traffic).

The routes run south on x = 101.75 and turn at the junction near y = -290: right (east, onto
y = -298.25) or left (west, onto y = -301.75), each onto a road with one lane each way and a
sidewalk (n = 1, D = 3.5 x 2.1 = 7.35 m, trigger 20.35 m). The official bike spot is on that
sidewalk, so the bike is spawned on the lane's right edge and wheels back onto it while waiting.
"""
from __future__ import annotations

import math
from pathlib import Path

import carla
import pytest
from crossing_trace import Trace, traced_run
from scenario_runs import route_geometry, trigger_pose, write_scenario_file

from driving.errors import WorldError
from driving.sim.embedded_world import EmbeddedWorld
from planning.route_planner import interpolate_trajectory
from scenarios.lb1_file import load_lb1_scenarios
from scenarios.lb1_placement import place_lb1_scenarios

TOWN = "town_grid"
_START = (carla.Location(101.75, -220.0, 0.0), carla.Location(101.75, -247.0, 0.0))
RIGHT_ROUTE = (*_START, carla.Location(119.1, -298.25, 0.0), carla.Location(184.1, -298.25, 0.0))
LEFT_ROUTE = (*_START, carla.Location(80.0, -301.75, 0.0), carla.Location(30.0, -301.75, 0.0))
STRAIGHT_ROUTE = (carla.Location(101.75, -120.0, 0.0), carla.Location(101.75, -250.0, 0.0))
TRIGGER_M = 30.0  # 35 m before the junction entry (65 m)
LANE_W_M = 3.5


def _scenario_file(tmp: Path, keypoints: tuple[carla.Location, ...]) -> Path:
    """One Scenario4 event whose trigger lies on the route, TRIGGER_M along it."""
    route = route_geometry(TOWN, keypoints)
    return write_scenario_file(tmp / "s4.json", TOWN, "Scenario4", trigger_pose(route, TRIGGER_M))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Trace]:
    path = _scenario_file(tmp_path_factory.mktemp("s4"), RIGHT_ROUTE)
    return {agent: traced_run(TOWN, RIGHT_ROUTE, path, agent) for agent in ("never_brake", "expert")}


def _expected_spot(keypoints: tuple[carla.Location, ...], trigger_route_m: float) -> carla.Location:
    """The official spot, computed here from the route: first point past the junction, 8 + n m on
    (n = 1), one lane width right."""
    route = route_geometry(TOWN, keypoints)
    _, exit_m = route.turn_junction_m(trigger_route_m)
    tf = route.transform_at(route.distance_m[route.index_at(exit_m) + 1] + 8.0 + 1.0)
    yaw = math.radians(tf.rotation.yaw + 90.0)
    return carla.Location(tf.location.x + LANE_W_M * math.cos(yaw), tf.location.y + LANE_W_M * math.sin(yaw))


@pytest.mark.parametrize("keypoints, label", [(RIGHT_ROUTE, "S4right"), (LEFT_ROUTE, "S4left")])
def test_bike_waits_past_the_turn_and_starts_at_13_plus_d(runs, tmp_path, keypoints, label):
    trace = runs["expert"] if label == "S4right" else traced_run(TOWN, keypoints, _scenario_file(tmp_path, keypoints),
                                                                  "expert")
    b = trace.behaviour
    assert b.label == label and b.lanes_crossed == 1 and b.ride_m == pytest.approx(LANE_W_M * 2.1)
    spot = _expected_spot(keypoints, b.trigger_route_m)
    assert b.bike_spot.location.distance(spot) < 0.6  # 1 m route points vs lane steps
    route_yaw = route_geometry(TOWN, keypoints).transform_at(b.bike_route_m).rotation.yaw
    assert (b.bike_spot.rotation.yaw - route_yaw) % 360.0 == pytest.approx(270.0, abs=1.0)  # facing left
    running = trace.first("running")
    assert running is not None
    (bike,) = running.actors.values()
    assert bike.type_id == "vehicle.bicycle"
    assert bike.transform.location.distance(b.bike_spot.location) < 0.3  # wheeled back onto the spot
    waiting = [t for t in trace.ticks if t.status == "waiting"]
    assert min(b.bike_route_m - t.ego_route_m for t in waiting) >= 13.0 + b.ride_m
    assert b.bike_route_m - running.ego_route_m < 13.0 + b.ride_m
    later = next(t for t in trace.ticks if t.time_s >= running.time_s + 1.5)
    assert later.actors[bike.id].transform.location.distance(b.bike_spot.location) > 1.0  # riding across
    assert trace.record.meta["scenarios"][0]["status"] == "done" and not b.actor_ids


def test_never_brake_hits_the_bike_and_the_collision_is_tagged(runs):
    record = runs["never_brake"].record
    assert any("vehicle.bicycle" in m for m in record.infractions["collisions_vehicle"])
    tagged = [t for t in record.meta["scenario_infractions"] if t["type"] == "collisions_vehicle"]
    assert tagged and all(t["scenarios"] == ["S4right"] for t in tagged)


def test_expert_gives_way_to_the_bike(runs):
    trace = runs["expert"]
    assert trace.record.status == "Completed"
    assert not any(v for k, v in trace.record.infractions.items() if k.startswith("collisions"))
    assert trace.record.meta["scenarios"][0]["status"] == "done"


def test_not_placed_on_a_route_going_straight(tmp_path):
    path = _scenario_file(tmp_path, STRAIGHT_ROUTE)
    events = load_lb1_scenarios(path).events(TOWN)
    world = EmbeddedWorld()
    try:
        plan = interpolate_trajectory(world.load_map(TOWN), list(STRAIGHT_ROUTE)).world
    finally:
        world.close()
    assert len(events) == 1 and place_lb1_scenarios(plan, events) == ()
    trace = traced_run(TOWN, STRAIGHT_ROUTE, path, "expert")
    assert trace.record.status == "Completed" and "scenarios" not in trace.record.meta and not trace.ticks


def test_blocked_bike_spawn_is_skipped_with_a_reason(tmp_path, monkeypatch):
    path = _scenario_file(tmp_path, RIGHT_ROUTE)
    original = EmbeddedWorld.spawn_vehicle

    def spawn_vehicle(self, transform, type_id="vehicle.car", *args, **kwargs):
        if type_id == "vehicle.bicycle":
            raise WorldError("spawn_vehicle: spot overlaps a test blocker")
        return original(self, transform, type_id, *args, **kwargs)

    monkeypatch.setattr(EmbeddedWorld, "spawn_vehicle", spawn_vehicle)
    trace = traced_run(TOWN, RIGHT_ROUTE, path, "expert")
    (summary,) = trace.record.meta["scenarios"]
    assert summary["status"] == "done" and "blocked 6 times" in summary["skipped"]
    assert "test blocker" in summary["skipped"] and trace.first("running") is None
    assert trace.record.status == "Completed"
