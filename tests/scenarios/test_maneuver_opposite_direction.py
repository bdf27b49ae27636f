"""Scenario6 ManeuverOppositeDirection on town_suburb's long two-way road 19 (one lane each way):
two barrier cars on the ego lane, a stream of oncoming cars in the lane to its left.

The expert stops behind the barriers, waits for a gap in the oncoming stream and passes them
through the oncoming lane (`planning.expert.overtake`), then completes the route.
"""
from __future__ import annotations

import math

import carla
import numpy as np
import pytest

from driving.sim.embedded_world import EmbeddedWorld
from scenarios import manager as manager_module
from scenarios.maneuver_opposite_direction import BARRIER_CAR_LENGTH_M, BARRIER_GAP_M, BARRIER_M, ONCOMING_M
from tests.scenarios.scenario_runs import (
    route_geometry,
    run_with_scenarios,
    trigger_pose,
    write_scenario_file,
)

TOWN = "town_suburb"
TRIGGER_M = 10.0


@pytest.fixture(scope="module")
def setting(tmp_path_factory) -> tuple:
    world = EmbeddedWorld()
    try:
        carla_map = world.load_map(TOWN)
        cur = carla_map.get_waypoint(carla.Location(192.9, 146.2, 0.0)).next(10.0)[0]
        keypoints = [cur.transform.location]
        for _ in range(5):
            cur = cur.next(45.0)[0]
            keypoints.append(cur.transform.location)
    finally:
        world.close()
    route = route_geometry(TOWN, keypoints)
    path = write_scenario_file(tmp_path_factory.mktemp("s6") / "s6.json", TOWN, "Scenario6",
                               trigger_pose(route, TRIGGER_M))
    return keypoints, route, path


def _run(setting, agent: str, monkeypatch) -> tuple:
    """Drive the route; returns (record, behaviour, first seen state of every scenario actor, the
    ego's furthest route distance)."""
    keypoints, _, path = setting
    seen: dict = {"first": {}}
    original = manager_module.ScenarioManager.before_tick

    def recording(self, time_s: float) -> None:
        original(self, time_s)
        seen["b"] = self.behaviours[0]
        seen["ego_m"] = max(seen.get("ego_m", 0.0), self.ctx.ego_route_m)
        for s in self.ctx.world.get_actor_states():
            if s.role_name == "scenario":
                seen["first"].setdefault(s.id, s)

    monkeypatch.setattr(manager_module.ScenarioManager, "before_tick", recording)
    record = run_with_scenarios(TOWN, keypoints, path, agent)
    return record, seen["b"], seen["first"], seen["ego_m"]


def _along_and_left(route, loc: carla.Location) -> tuple[float, float]:
    """Route distance of the nearest route point and the signed offset to its left (m)."""
    i = int(np.argmin(np.hypot(route.xyz[:, 0] - loc.x, route.xyz[:, 1] - loc.y)))
    yaw = math.radians(route.yaw_deg[i])
    dx, dy = loc.x - route.xyz[i, 0], loc.y - route.xyz[i, 1]
    return float(route.distance_m[i]), float(dx * math.sin(yaw) - dy * math.cos(yaw))


def test_s6_layout_and_never_brake_hits_the_barrier(setting, monkeypatch):
    _, route, _ = setting
    record, b, first, _ = _run(setting, "never_brake", monkeypatch)
    assert b.skip_reason == ""
    trigger_m = b.trigger_route_m
    (s1, l1), (s2, l2) = (_along_and_left(route, first[i].transform.location) for i in b.barrier_ids)
    assert s1 - trigger_m == pytest.approx(BARRIER_M, abs=1.5) and abs(l1) < 0.3
    assert s2 - s1 == pytest.approx(BARRIER_CAR_LENGTH_M + BARRIER_GAP_M, abs=1.0)
    # right by half a lane where that is still a driving lane, else centred
    assert l2 == pytest.approx(-0.5 * 3.5, abs=0.3) if b.barrier2_shifted else abs(l2) < 0.3
    oncoming = first[b.flow.spawned_ids[0]]
    so, lo = _along_and_left(route, oncoming.transform.location)
    assert so - trigger_m == pytest.approx(ONCOMING_M, abs=2.0) and lo == pytest.approx(3.5, abs=0.5)
    yaw_diff = (oncoming.transform.rotation.yaw - route.yaw_deg[route.index_at(so)]) % 360.0
    assert 150.0 < yaw_diff < 210.0  # it drives towards the ego
    assert len(b.flow.spawned_ids) > 1  # the source emitted more
    hits = [i for i in record.meta["scenario_infractions"] if i["type"] == "collisions_vehicle"]
    assert any(f"id={b.barrier_ids[0]} " in i["message"] for i in hits), record.meta["scenario_infractions"]


def test_s6_expert_passes_the_barriers_through_the_oncoming_lane_and_completes(setting, monkeypatch):
    _, route, _ = setting
    record, b, first, ego_m = _run(setting, "expert", monkeypatch)
    assert record.infractions["collisions_vehicle"] == [] and record.infractions["collisions_layout"] == []
    assert len(b.flow.spawned_ids) > 1  # oncoming traffic was flowing past
    barrier_m, _ = _along_and_left(route, first[b.barrier_ids[0]].transform.location)
    assert ego_m > barrier_m + 20.0 and record.status == "Completed", (ego_m, barrier_m, record.status)


def test_s6_is_skipped_where_a_junction_leaves_no_room_to_pass(tmp_path):
    """A junction within barriers + room to pass after the trigger: skipped with the reason (the
    barriers would stand in the junction's entry and no one could pass them)."""
    from scenarios.lane_actors import lane_distance_to_junction_m
    from scenarios.maneuver_opposite_direction import PASS_ROOM_M
    from scenarios.scripted_vehicle import waypoint_ahead

    world = EmbeddedWorld()
    try:
        carla_map = world.load_map(TOWN)
        start = carla_map.get_waypoint(carla.Location(192.9, 146.2, 0.0)).next(10.0)[0]
        to_junction = lane_distance_to_junction_m(start, 1000.0)
        assert to_junction is not None and to_junction > 60.0
        near = waypoint_ahead(start, to_junction - 40.0)  # 40 m before the junction
        keypoints = [near.transform.location, near.next(30.0)[0].transform.location]
    finally:
        world.close()
    route = route_geometry(TOWN, keypoints)
    path = write_scenario_file(tmp_path / "s6.json", TOWN, "Scenario6", trigger_pose(route, 2.0))
    record = run_with_scenarios(TOWN, keypoints, path, "expert")
    (summary,) = record.meta["scenarios"]
    assert summary["status"] == "done"
    assert "leaves no room to pass" in summary["skipped"]
    assert f"needs {BARRIER_M + BARRIER_CAR_LENGTH_M + BARRIER_GAP_M + PASS_ROOM_M:.0f} m" in summary["skipped"]
    assert record.status == "Completed"
