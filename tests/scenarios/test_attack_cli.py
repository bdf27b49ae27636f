"""`driving attack` end to end on a short town_grid route: it spends its budget on real route runs,
writes the worst cases as scenario files, and replaying a case with its printed `driving evaluate`
command reproduces its driving score exactly."""
from __future__ import annotations

import json
import shlex

import carla
import yaml

from driving.cli import main as driving_main
from driving.sim.maps import load_map


def _routes_file(tmp_path) -> str:
    carla_map = load_map("town_grid").carla_map
    start = carla_map.get_waypoint(carla.Location(205.2, -215.0, 0.0)).next(2.0)[0]
    points = [start.transform.location, start.next(120.0)[0].transform.location]
    waypoints = "".join(f'<waypoint x="{p.x:.3f}" y="{p.y:.3f}" z="0"/>' for p in points)
    path = tmp_path / "routes.xml"
    path.write_text(f'<routes><route id="7" town="town_grid" n_vehicles="0" n_walkers="0">{waypoints}</route></routes>')
    return str(path)


def test_attack_writes_worst_cases_that_replay_to_the_same_score(tmp_path, capsys):
    routes = _routes_file(tmp_path)
    out = tmp_path / "attack"
    assert driving_main(["attack", "--agent", "never_brake", "--family", "FollowLeadingVehicle",
                         "--routes", routes, "--route-id", "7", "--budget", "3", "--keep", "2",
                         "--seed", "1", "--out", str(out)]) == 0
    report = json.loads((out / "attack.json").read_text())
    assert report["family"] == "Scenario2" and len(report["evaluations"]) == 3
    assert set(report["space"]) == {"lead_ahead_m", "lead_speed_mps", "stop_before_junction_m",
                                    "trigger.route_fraction"}
    assert sorted(p.name for p in (out / "candidates").iterdir()) == [f"attack_{i:04d}.yaml" for i in range(3)]
    scores = sorted(e["scores"]["score_composed"] for e in report["evaluations"])
    assert any(e["placed"] for e in report["evaluations"])
    assert scores[0] < 100.0  # never_brake runs into the braking lead car at least once
    case = out / "cases" / "worst_0.yaml"
    header = case.read_text().splitlines()
    assert f"DS {scores[0]:.3f}" in header[0]
    entry = yaml.safe_load(case.read_text())["scenarios"][0]
    assert entry["type"] == "Scenario2" and set(entry["parameters"]) == {
        "lead_ahead_m", "lead_speed_mps", "stop_before_junction_m"}
    assert (out / "cases" / "worst_1.yaml").is_file() and not (out / "cases" / "worst_2.yaml").exists()
    command = shlex.split(header[1].removeprefix("# replay: "))
    assert command[:2] == ["driving", "evaluate"]
    capsys.readouterr()
    assert driving_main(command[1:] + ["--out", str(tmp_path / "replay")]) == 0
    replay = json.loads((tmp_path / "replay" / "results.json").read_text())
    record = replay["_checkpoint"]["records"][0]
    assert record["scores"]["score_composed"] == scores[0]
