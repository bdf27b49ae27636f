"""Scenario7/8/9 SignalJunctionCrossingRoute on town_grid: a straight route east through the
signalized four-way junction at (100, -100) (S7opposite: the right approach gets the conflicting
green), driven by never_brake (ignores lights, never brakes) and by the expert.

A recorder wraps `ScenarioManager.before_tick` to keep, every frame, the behaviour's phase and
the states of the lights it touches, so the tests read the light sequence as the world showed it.
"""
from __future__ import annotations

from pathlib import Path

import carla
import pytest

from scenarios import manager as manager_module
from scenarios.junction_lights import APPROACH_PREFERENCE, JunctionLights, classify
from scenarios.signal_junction_crossing import RED_S, RED_S_PER_M, YELLOW_S, LightPhase
from tests.scenarios.scenario_runs import (
    route_geometry,
    run_with_scenarios,
    trigger_pose,
    write_scenario_file,
)

TOWN = "town_grid"
KEYPOINTS = (carla.Location(57.0, -98.25, 0.0), carla.Location(153.0, -98.25, 0.0))
TRIGGER_M = 3.0
GREEN, YELLOW, RED = carla.TrafficLightState.Green, carla.TrafficLightState.Yellow, carla.TrafficLightState.Red
DT_S = 0.05


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    route = route_geometry(TOWN, KEYPOINTS)
    path = tmp_path_factory.mktemp("s7") / "s7.json"
    return write_scenario_file(path, TOWN, "Scenario7", trigger_pose(route, TRIGGER_M))


def _run(scenario_file: Path, agent: str, monkeypatch) -> tuple:
    """Drive the route; returns (record, behaviour, frames) with one dict per frame."""
    frames: list[dict] = []
    seen: dict = {}
    original = manager_module.ScenarioManager.before_tick

    def recording(self, time_s: float) -> None:
        original(self, time_s)
        b = self.behaviours[0]
        seen["b"] = b
        if b.lights is None:
            return
        world = self.ctx.world
        touched = [b.lights.ego.id, *(light.id for light in b.lights.others())]
        frames.append({"t": time_s, "phase": b.phase, "ego": world.get_traffic_light_state(b.lights.ego.id),
                       "chosen": world.get_traffic_light_state(b.chosen_id),
                       "others": {i: world.get_traffic_light_state(i) for i in touched[1:] if i != b.chosen_id},
                       "frozen": [k for k, (_, frozen, _) in world._lights._forced.items()  # embedded white-box
                                  if frozen and int(world._lights.ids[k]) in touched]})

    monkeypatch.setattr(manager_module.ScenarioManager, "before_tick", recording)
    record = run_with_scenarios(TOWN, KEYPOINTS, scenario_file, agent)
    return record, seen["b"], frames


def test_approaches_classified_by_yaw_difference():
    assert classify(0.0, 90.0) == "left" and classify(0.0, 180.0) == "opposite" and classify(0.0, -90.0) == "right"
    assert classify(0.0, 30.0) is None and classify(0.0, 31.0) == "left" and classify(0.0, 330.0) == "right"
    assert classify(0.0, 135.0) == "left" and classify(0.0, 225.0) == "opposite" and classify(0.0, 331.0) is None
    assert APPROACH_PREFERENCE["S7opposite"] == ("right", "left", "opposite")
    lights = JunctionLights(ego=None, approaches={"left": [], "opposite": ["o"], "right": []})
    assert lights.choose("S7opposite") == ("opposite", "o") and lights.choose("S7right") == ("opposite", "o")
    assert lights.choose("S9right") == ("opposite", "o") and JunctionLights(None, {"opposite": []}).choose("S8left") is None


def test_s7_light_sequence_and_never_brake_hits_the_crossing_car(scenario_file, monkeypatch):
    record, b, frames = _run(scenario_file, "never_brake", monkeypatch)
    assert b.skip_reason == "" and b.approach == "right" and b.car is not None, (b.skip_reason, b.car_skip_reason)
    assert [p for _, p in b.phase_log] == [LightPhase.EGO_GREEN, LightPhase.EGO_YELLOW, LightPhase.CHOSEN_GREEN,
                                            LightPhase.CONFLICT, LightPhase.RELEASED]
    when = {p: t for t, p in b.phase_log}
    assert when[LightPhase.CHOSEN_GREEN] - when[LightPhase.EGO_YELLOW] == pytest.approx(YELLOW_S, abs=DT_S + 1e-6)
    distance_m = b.lights.ego.trigger_location.distance(
        next(li for li in b.lights.others() if li.id == b.chosen_id).trigger_location)
    assert when[LightPhase.CONFLICT] - when[LightPhase.CHOSEN_GREEN] == pytest.approx(
        RED_S + RED_S_PER_M * distance_m, abs=DT_S + 1e-6)
    expected = {LightPhase.EGO_GREEN: (GREEN, RED), LightPhase.EGO_YELLOW: (YELLOW, RED),
                LightPhase.CHOSEN_GREEN: (RED, GREEN), LightPhase.CONFLICT: (GREEN, GREEN)}
    held = [f for f in frames if f["phase"] in expected]
    assert {f["phase"] for f in held} == set(expected)
    for f in held:  # the world shows the sequence; every other approach stays red; all frozen
        assert (f["ego"], f["chosen"]) == expected[f["phase"]], f
        assert set(f["others"].values()) <= {RED} and len(f["frozen"]) == 1 + len(b.lights.others())
    released = [f for f in frames if f["phase"] == LightPhase.RELEASED]
    assert released and all(not f["frozen"] for f in released)  # unfrozen after the junction
    assert any(f["ego"] != RED or f["chosen"] != RED for f in released)  # ... and cycling again
    assert b.car.entered_junction_s is not None and b.car.entered_junction_s > when[LightPhase.EGO_YELLOW]
    car_hits = [i for i in record.meta["scenario_infractions"]
                if i["type"] == "collisions_vehicle" and f"id={b.car.actor_id} " in i["message"]]
    assert car_hits and all(i["scenarios"] == ["S7opposite"] for i in car_hits), record.meta["scenario_infractions"]
    assert record.meta["scenarios"][0]["status"] == "done"


def test_s7_expert_waits_for_the_crossing_car(scenario_file, monkeypatch):
    record, b, frames = _run(scenario_file, "expert", monkeypatch)
    when = {p: t for t, p in b.phase_log}
    assert LightPhase.CONFLICT in when and LightPhase.RELEASED in when
    assert b.car.entered_junction_s is not None
    assert record.infractions["collisions_vehicle"] == [] and record.meta["scenario_infractions"] == []
    assert record.status == "Completed" and record.scores["score_route"] == pytest.approx(100.0)
    assert not frames[-1]["frozen"]
