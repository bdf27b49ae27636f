"""Scenario5 OtherLeadingVehicle through the real route runner on the highway's 3-lane carriageway
(about 400 m of straight lanes): a car 35 m ahead on the ego lane and one 36 m ahead in the lane
to its left, standing until the trigger; the lead then runs at ~17.2 m/s (LB1.0's quirk, see the
module) and both brake fully for a vehicle in their front box; the end is 140 m past the trigger.

The lead outruns a 7 m/s ego on an empty road, so the hazard test puts a parked car (the traffic
that stops the official lead) 30 m ahead of the lead: the lead must brake for it in its box and
never_brake must then run into the lead.
"""
from __future__ import annotations

import carla
import pytest

from driving.sim.maps import load_map
from scenarios import other_leading_vehicle as s5
from scenarios.lane_actors import reference_waypoint
from scenarios.scripted_vehicle import waypoint_ahead
from tests.scenarios.scenario_probe import probe
from tests.scenarios.scenario_runs import (
    route_geometry,
    run_with_scenarios,
    trigger_pose,
    write_scenario_file,
)

TRIGGER_M = 20.0
PARKED_AHEAD_OF_LEAD_M = 30.0


@pytest.fixture(scope="module")
def carriageway():
    carla_map = load_map("highway").carla_map
    start = carla_map.get_waypoint(carla.Location(-280.0, 65.2, 0.0)).next(2.0)[0]
    keypoints = [start.transform.location, start.next(250.0)[0].transform.location]
    return carla_map, keypoints, route_geometry("highway", keypoints)


@pytest.fixture
def car_log(monkeypatch):
    """Per tick while the cars exist: (ego route m, status, lead speed m/s, lead full brake,
    lead-to-parked-car centre distance m or None)."""
    log = []
    tick = s5.OtherLeadingVehicle.tick

    def _tick(self, ctx):
        tick(self, ctx)
        if self.cars:
            lead = ctx.world.get_actor_state(self.cars[0].actor_id)
            parked = getattr(self, "parked_id", None)
            gap = None if parked is None else lead.transform.location.distance(
                ctx.world.get_actor_state(parked).transform.location)
            log.append((ctx.ego_route_m, self.status.value, lead.speed_mps, self.cars[0].full_brake, gap))

    monkeypatch.setattr(s5.OtherLeadingVehicle, "tick", _tick)
    return log


def _run(tmp_path, monkeypatch, town, keypoints, route, agent):
    scenario_file = write_scenario_file(tmp_path / "s5.json", town, "Scenario5", trigger_pose(route, TRIGGER_M))
    p = probe(monkeypatch)
    return p, run_with_scenarios(town, keypoints, scenario_file, agent)


def test_cars_stand_35m_and_36m_left_ahead_until_the_trigger_then_lead_runs_at_17mps(
        tmp_path, monkeypatch, carriageway, car_log):
    carla_map, keypoints, route = carriageway
    p, _ = _run(tmp_path, monkeypatch, "highway", keypoints, route, "expert")
    lead, left = p.scenario_spawns()
    trigger = route.transform_at(TRIGGER_M).location
    ref = carla_map.get_waypoint(trigger)
    lead_wp, left_wp = carla_map.get_waypoint(lead.transform.location), carla_map.get_waypoint(left.transform.location)
    assert lead.transform.location.distance(trigger) == pytest.approx(s5.LEAD_AHEAD_M, abs=1.0)
    assert lead_wp.lane_id == ref.lane_id
    assert left_wp.lane_id == ref.get_left_lane().lane_id and left_wp.lane_id * ref.lane_id > 0
    assert left.transform.location.distance(lead.transform.location) == pytest.approx(
        (1.0 + ref.lane_width ** 2) ** 0.5, abs=0.3)  # 1 m further, one lane width left
    # Placed at set-up (the trigger is < 60 m from the start), standing until the trigger fires.
    assert lead.ego_route_m < TRIGGER_M - 5.0
    assert all(speed < 0.05 for _, status, speed, _, _ in car_log if status == "waiting")
    running = p.first_tick_with("Scenario5", "running")
    assert TRIGGER_M - 2.0 <= running.ego_route_m <= TRIGGER_M + 2.0
    assert max(speed for *_, speed, _, _ in car_log) == pytest.approx(s5.LEAD_SPEED_MPS, abs=0.6)
    # Ends 140 m past the trigger, both cars removed.
    done = p.first_tick_with("Scenario5", "done")
    assert TRIGGER_M + s5.END_DRIVEN_M - 2.0 <= done.ego_route_m <= TRIGGER_M + s5.END_DRIVEN_M + 1.0
    assert p.managers[0].behaviours[0].actor_ids == []


def test_lead_brakes_for_a_car_in_its_box_and_never_brake_runs_into_it(
        tmp_path, monkeypatch, carriageway, car_log):
    _, keypoints, route = carriageway
    setup = s5.OtherLeadingVehicle.setup

    def setup_with_parked_car(self, ctx):
        setup(self, ctx)
        wp = waypoint_ahead(reference_waypoint(ctx, self.trigger), s5.LEAD_AHEAD_M + PARKED_AHEAD_OF_LEAD_M)
        self.parked_id = ctx.world.spawn_vehicle(wp.transform, "vehicle.car", role_name="parked")

    monkeypatch.setattr(s5.OtherLeadingVehicle, "setup", setup_with_parked_car)
    p, record = _run(tmp_path, monkeypatch, "highway", keypoints, route, "never_brake")
    lead = p.scenario_spawns()[0]
    car_m = 2 * 2.40  # vehicle.car length
    first_brake = next(gap for _, status, _, brake, gap in car_log if status == "running" and brake)
    assert 2 * car_m < first_brake <= 3.1 * car_m  # the box reaches 2 car lengths past the lead's nose
    assert car_log[-1][2] == pytest.approx(0.0, abs=0.01) and car_log[-1][4] > car_m + 0.5  # stopped short
    hits = [i for i in record.meta["scenario_infractions"] if i["type"] == "collisions_vehicle"]
    assert hits and f"id={lead.actor_id} " in hits[0]["message"] and hits[0]["scenarios"] == ["Scenario5"]


def test_expert_completes_the_route(tmp_path, monkeypatch, carriageway):
    _, keypoints, route = carriageway
    p, record = _run(tmp_path, monkeypatch, "highway", keypoints, route, "expert")
    assert len(p.scenario_spawns()) == 2
    assert record.status == "Completed"
    assert record.scores["score_composed"] == pytest.approx(100.0)
    assert record.meta["scenario_infractions"] == []
    assert record.meta["scenarios"][0]["status"] == "done"


def test_skipped_with_a_reason_without_a_same_direction_left_lane(tmp_path, monkeypatch):
    carla_map = load_map("town_arterial").carla_map  # a 1+1-lane street: left of the ego lane is oncoming
    start = carla_map.get_waypoint(carla.Location(421.8, -293.0, 0.0)).next(2.0)[0]
    keypoints = [start.transform.location, start.next(100.0)[0].transform.location]
    p, record = _run(tmp_path, monkeypatch, "town_arterial", keypoints, route_geometry("town_arterial", keypoints),
                     "expert")
    (summary,) = record.meta["scenarios"]
    assert summary["status"] == "done" and "no same-direction driving lane" in summary["skipped"]
    assert p.scenario_spawns() == []
    assert record.status == "Completed"
