"""Scenario2 FollowLeadingVehicle through the real route runner on a town_grid block (about 70 m of
straight lane, then a junction the route crosses): the lead car appears 25 m ahead when the ego
reaches the trigger, drives at 10 m/s, brakes fully 20 m before the junction; never_brake runs
into it, the expert stops behind it, the scenario ends and the car is removed.
"""
from __future__ import annotations

import carla
import pytest

from driving.sim.maps import load_map
from scenarios.follow_leading_vehicle import (
    LEAD_AHEAD_M,
    LEAD_SPEED_MPS,
    STOP_BEFORE_JUNCTION_M,
    FollowLeadingVehicle,
)
from tests.scenarios.scenario_probe import probe
from tests.scenarios.scenario_runs import (
    route_geometry,
    run_with_scenarios,
    trigger_pose,
    write_scenario_file,
)

TOWN = "town_grid"
TRIGGER_M = 8.0


@pytest.fixture(scope="module")
def block():
    carla_map = load_map(TOWN).carla_map
    start = carla_map.get_waypoint(carla.Location(205.2, -215.0, 0.0)).next(2.0)[0]
    keypoints = [start.transform.location, start.next(150.0)[0].transform.location]
    return carla_map, keypoints, route_geometry(TOWN, keypoints)


@pytest.fixture
def lead_log(monkeypatch):
    """(ego route m, lead speed m/s, lead path left m, full brake) per running tick."""
    log = []
    tick = FollowLeadingVehicle.tick

    def _tick(self, ctx):
        tick(self, ctx)
        if self.lead is not None:
            state = ctx.world.get_actor_state(self.lead.actor_id)
            log.append((ctx.ego_route_m, state.speed_mps, self.lead.remaining_m, self.lead.full_brake))

    monkeypatch.setattr(FollowLeadingVehicle, "tick", _tick)
    return log


def _run(tmp_path, monkeypatch, block, agent):
    _, keypoints, route = block
    scenario_file = write_scenario_file(tmp_path / "s2.json", TOWN, "Scenario2", trigger_pose(route, TRIGGER_M))
    p = probe(monkeypatch)
    return p, run_with_scenarios(TOWN, keypoints, scenario_file, agent)


def test_lead_appears_25m_ahead_at_the_trigger_and_brakes_20m_before_the_junction(
        tmp_path, monkeypatch, block, lead_log):
    carla_map, _, route = block
    p, _ = _run(tmp_path, monkeypatch, block, "expert")
    (lead,) = p.scenario_spawns()
    trigger = route.transform_at(TRIGGER_M).location
    # Placed when triggered, not at set-up (60 m before).
    assert p.first_tick_with("Scenario2", "waiting").ego_route_m < TRIGGER_M - 5.0
    assert TRIGGER_M - 2.0 <= lead.ego_route_m <= TRIGGER_M + 2.0
    assert TRIGGER_M - 2.0 <= p.first_tick_with("Scenario2", "running").ego_route_m <= TRIGGER_M + 2.0
    # 25 m ahead on the ego's lane (a straight lane: straight-line distance is lane distance).
    at = lead.transform.location
    assert at.distance(trigger) == pytest.approx(LEAD_AHEAD_M, abs=1.0)
    lane = carla_map.get_waypoint(at)
    assert lane.lane_id == carla_map.get_waypoint(trigger).lane_id
    assert lane.transform.location.distance(at) < 0.1
    # Drives at 10 m/s, starts braking when its lane point is 20 m from the junction, then stands.
    assert max(speed for _, speed, _, _ in lead_log) == pytest.approx(LEAD_SPEED_MPS, abs=0.6)
    first_brake = next(left for _, _, left, brake in lead_log if brake)
    assert STOP_BEFORE_JUNCTION_M - 1.5 <= first_brake <= STOP_BEFORE_JUNCTION_M
    assert lead_log[-1][1] == pytest.approx(0.0, abs=0.01)


def test_never_brake_runs_into_the_stopped_lead(tmp_path, monkeypatch, block):
    p, record = _run(tmp_path, monkeypatch, block, "never_brake")
    (lead,) = p.scenario_spawns()
    hits = [i for i in record.meta["scenario_infractions"] if i["type"] == "collisions_vehicle"]
    assert hits and f"id={lead.actor_id} " in hits[0]["message"] and hits[0]["scenarios"] == ["Scenario2"]
    assert record.meta["scenarios"][0]["status"] == "running"  # the ego never stood still behind it


def test_expert_stops_behind_the_lead_the_scenario_ends_and_the_route_completes(tmp_path, monkeypatch, block):
    p, record = _run(tmp_path, monkeypatch, block, "expert")
    assert record.status == "Completed"
    assert record.scores["score_composed"] == pytest.approx(100.0)
    assert record.meta["scenario_infractions"] == []
    assert record.meta["scenarios"][0]["status"] == "done"
    done = p.first_tick_with("Scenario2", "done")
    stopped = [t for t in p.ticks if t.time_s > done.time_s - 1.0 and t.time_s <= done.time_s]
    assert all(t.ego_speed_mps <= 0.001 for t in stopped[:-1])  # stood still for the last second
    assert p.managers[0].behaviours[0].actor_ids == []  # the lead was removed at the end
    assert p.ticks[-1].ego_route_m > block[2].length_m - 3.0
