"""Scenario10 NoSignalJunctionCrossingRoute on town_grid: a straight route south through the
unsignalized junction at (100, -200), driven by never_brake (no traffic: nothing to hit)."""
from __future__ import annotations

import carla

from scenarios import manager as manager_module
from scenarios.behaviour import ScenarioStatus
from scenarios.no_signal_junction_crossing import END_AFTER_JUNCTION_M
from tests.scenarios.scenario_runs import (
    route_geometry,
    run_with_scenarios,
    trigger_pose,
    write_scenario_file,
)

TOWN = "town_grid"
KEYPOINTS = (carla.Location(101.75, -130.0, 0.0), carla.Location(101.75, -250.0, 0.0))
TRIGGER_M = 15.0


def test_s10_running_while_in_the_junction_done_after(tmp_path, monkeypatch):
    route = route_geometry(TOWN, KEYPOINTS)
    entry_m, exit_m = route.turn_junction_m(TRIGGER_M)
    path = write_scenario_file(tmp_path / "s10.json", TOWN, "Scenario10", trigger_pose(route, TRIGGER_M))
    frames: list[tuple[float, ScenarioStatus]] = []
    original = manager_module.ScenarioManager.before_tick

    def recording(self, time_s: float) -> None:
        original(self, time_s)
        frames.append((self.ctx.ego_route_m, self.behaviours[0].status))

    monkeypatch.setattr(manager_module.ScenarioManager, "before_tick", recording)
    record = run_with_scenarios(TOWN, KEYPOINTS, path, "never_brake")
    assert record.meta["scenarios"][0]["status"] == "done"
    trigger_m = record.meta["scenarios"][0]["route_m"]
    for ego_m, status in frames:
        if ego_m < trigger_m - 1.0:
            assert status in (ScenarioStatus.PENDING, ScenarioStatus.WAITING), (ego_m, status)
        elif trigger_m + 1.0 <= ego_m <= exit_m + END_AFTER_JUNCTION_M - 1.0:
            assert status == ScenarioStatus.RUNNING, (ego_m, status)
        elif ego_m > exit_m + END_AFTER_JUNCTION_M + 2.0:
            assert status == ScenarioStatus.DONE, (ego_m, status)
    assert any(entry_m <= m <= exit_m and s == ScenarioStatus.RUNNING for m, s in frames)
    assert any(s == ScenarioStatus.DONE for _, s in frames)
