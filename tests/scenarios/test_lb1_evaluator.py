"""`--scenarios FILE` in the evaluator: checked before any route runs, placed per route, logged
with --debug (no behaviours yet, so nothing is spawned)."""
from __future__ import annotations

import json
from pathlib import Path

import carla

from driving.sim.maps import load_map
from leaderboard.leaderboard_evaluator import main as evaluator_main

AGENTS = Path(__file__).resolve().parents[1] / "leaderboard" / "lb_agents"


def straight_lane_start(carla_map: carla.Map, length_m: int) -> carla.Waypoint:
    """A driving-lane waypoint followed by `length_m` metres of the same lane outside junctions."""
    for wp in carla_map.generate_waypoints(5.0):
        if wp.is_junction or wp.lane_type != carla.LaneType.Driving:
            continue
        lane = [wp]
        while len(lane) <= length_m and len(nxt := lane[-1].next(1.0)) == 1 and \
                not nxt[0].is_junction and nxt[0].road_id == wp.road_id:
            lane.append(nxt[0])
        if len(lane) > length_m:
            return wp
    raise AssertionError(f"no {length_m} m straight lane")


def test_evaluator_checks_scenarios_up_front_and_logs_placements(tmp_path, capsys):
    wp = straight_lane_start(load_map("town_grid").carla_map, 45)
    a, b, t = wp.transform.location, wp.next(40.0)[0].transform.location, wp.next(10.0)[0].transform
    routes = tmp_path / "routes.xml"
    routes.write_text(f'<routes><route id="0" town="town_grid" n_vehicles="0" n_walkers="0">'
                      f'<waypoint x="{a.x}" y="{a.y}" z="0"/><waypoint x="{b.x}" y="{b.y}" z="0"/></route></routes>')
    trigger = {"x": t.location.x, "y": t.location.y, "z": 1.0, "yaw": t.rotation.yaw}
    scen = tmp_path / "scen.json"
    scen.write_text(json.dumps({"available_scenarios": [{"town_grid": [
        {"scenario_type": "Scenario3", "available_event_configurations": [{"transform": trigger}]}]}]}))
    argv = ["--routes", str(routes), "--agent", str(AGENTS / "follow_agent.py"),
            "--checkpoint", str(tmp_path / "results.json")]

    (tmp_path / "bad.json").write_text('{"available_scenarios": [{"town_grid": [{"scenario_type": "Scenario3"}]}]}')
    assert evaluator_main(argv + ["--scenarios", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.json" in err and "available_event_configurations" in err
    assert not (tmp_path / "results.json").exists()  # failed before any route ran

    assert evaluator_main(argv + ["--scenarios", str(scen), "--debug", "1"]) == 0
    out = capsys.readouterr().out
    assert "placed 1 scenario from scen.json: Scenario3 @" in out
