"""Scores with the official coefficients, global statistics, results file layout and resume."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from driving.errors import InputError
from leaderboard.criteria import TrafficEvent, TrafficEventType
from leaderboard.results import new_results, resume_results
from leaderboard.statistics import compute_global_record, compute_route_record, failed_record

CHECKER = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "check_results.py"
if not CHECKER.is_file():  # the shared folder beside the repository root
    CHECKER = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "check_results.py"


def check_results(path: Path, complete: bool = True) -> subprocess.CompletedProcess:
    args = [sys.executable, str(CHECKER), str(path)] + (["--complete"] if complete else [])
    return subprocess.run(args, check=False, capture_output=True, text=True)


def _events(completion: float, **counts: int) -> list[TrafficEvent]:
    events = [TrafficEvent(TrafficEventType.ROUTE_COMPLETION, "", {"route_completed": completion})]
    for name, n in counts.items():
        events += [TrafficEvent(TrafficEventType(name), f"{name} {i}") for i in range(n)]
    return events


def test_route_score_uses_official_coefficients():
    events = _events(80.0, collisions_pedestrian=1, collisions_vehicle=2, collisions_layout=1, red_light=1,
                     stop_infraction=1)
    events.append(TrafficEvent(TrafficEventType.OUTSIDE_ROUTE_LANES_INFRACTION, "lanes",
                               {"percentage": 10.0, "distance": 5.0}))
    rec = compute_route_record("RouteScenario_3", 0, events, "", 400.0, 12.0, 30.0)
    penalty = 0.5 * 0.6 ** 2 * 0.65 * 0.7 * 0.8 * 0.9
    assert rec.scores["score_penalty"] == pytest.approx(penalty)
    assert rec.scores["score_composed"] == pytest.approx(80.0 * penalty)
    assert rec.status == "Completed"
    assert len(rec.infractions["collisions_vehicle"]) == 2


def test_criteria_failures_set_status():
    rec = compute_route_record("R", 0, _events(30.0, route_dev=1), "", 100.0, 1.0, 1.0)
    assert rec.status == "Failed - Agent deviated from the route"
    rec = compute_route_record("R", 0, _events(30.0, vehicle_blocked=1), "", 100.0, 1.0, 1.0)
    assert rec.status == "Failed - Agent got blocked"
    rec = compute_route_record("R", 0, _events(30.0, route_timeout=1), "", 100.0, 1.0, 1.0)
    assert rec.status == "Failed - Agent timed out" and rec.infractions["route_timeout"] == ["route_timeout 0"]
    done = _events(99.5) + [TrafficEvent(TrafficEventType.ROUTE_COMPLETED, "Destination was successfully reached")]
    assert compute_route_record("R", 0, done, "", 100.0, 1.0, 1.0).scores["score_route"] == 100.0


def test_global_record_mean_std_and_per_km():
    recs = [compute_route_record(f"R{i}", i, _events(c, collisions_vehicle=n), "", 500.0, 1.0, 1.0)
            for i, (c, n) in enumerate([(100.0, 0), (50.0, 1), (100.0, 1), (0.0, 0)])]
    glob = compute_global_record(recs, repetitions=2)
    ds = [100.0, 30.0, 60.0, 0.0]
    assert glob.scores["score_composed"] == pytest.approx(sum(ds) / 4)
    mean = sum(ds) / 4
    assert glob.scores_std_dev["score_composed"] == pytest.approx((sum((d - mean) ** 2 for d in ds) / 3) ** 0.5)
    assert glob.infractions["collisions_vehicle"] == pytest.approx(2 / 2.0)  # 2 collisions over 2 km
    assert glob.meta["repetitions"]["score_composed_means"] == pytest.approx([80.0, 15.0])  # indices 0,2 and 1,3
    assert glob.route_id == -1 and glob.index == -1


def test_results_file_conforms_and_resumes(tmp_path):
    path = tmp_path / "res.json"
    res = new_results(path, total=3)
    assert check_results(path, complete=False).returncode == 0
    res.add(compute_route_record("RouteScenario_0", 0, _events(100.0), "", 300.0, 2.0, 20.0), ["carla_camera"])
    res.add(failed_record("RouteScenario_1", 1, "Agent couldn't be set up", 0.0))
    doc = json.loads(path.read_text())
    assert doc["_checkpoint"]["progress"] == [2, 3] and doc["entry_status"] == "Started"
    assert path.read_text() == json.dumps(doc, indent=4, sort_keys=True)
    again = resume_results(path, total=3)
    assert again.next_index == 2 and again.sensors == ["carla_camera"]
    again.add(compute_route_record("RouteScenario_2", 2, _events(40.0, red_light=1), "", 300.0, 2.0, 20.0))
    proc = check_results(path)
    assert proc.returncode == 0, proc.stdout
    doc = json.loads(path.read_text())
    assert doc["entry_status"] == "Finished with agent errors" and doc["eligible"] is True
    assert doc["values"][0] == f"{(100.0 + 0.0 + 28.0) / 3:.3f}"
    assert len(doc["labels"]) == len(doc["values"]) == 12


def test_resume_rejects_bad_checkpoints(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="bad.json.*not valid JSON"):
        resume_results(bad, 3)
    bad.write_text(json.dumps({"_checkpoint": {"records": []}}))
    with pytest.raises(InputError, match="progress"):
        resume_results(bad, 3)
    res = new_results(tmp_path / "ok.json", total=2)
    res.add(failed_record("R", 0, "Agent crashed", 0.0))
    with pytest.raises(InputError, match="made for 2 routes"):
        resume_results(tmp_path / "ok.json", 5)
    assert resume_results(tmp_path / "missing.json", 4).next_index == 0
