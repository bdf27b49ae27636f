"""Scores with the official coefficients, global statistics, results file layout and resume.

Every results file is checked by the project's own `results_layout` check; the shared conformance
checker (beside the repository, absent in a fresh clone) runs as well when it is there, and the
test dedicated to it skips, saying so, when it is not.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from results_layout import layout_problems

from driving.errors import InputError
from leaderboard.criteria import TrafficEvent, TrafficEventType
from leaderboard.results import new_results, resume_results
from leaderboard.statistics import compute_global_record, compute_route_record, failed_record

_CHECKER_PLACES = [Path(__file__).resolve().parents[n] / "shared" / "conformance" / "check_results.py"
                   for n in (2, 3)]  # inside the repository root, or beside it
SHARED_CHECKER: Path | None = next((p for p in _CHECKER_PLACES if p.is_file()), None)


def shared_checker() -> Path:
    """The shared checker's path; skips the calling test (with the reason) when it is absent."""
    if SHARED_CHECKER is None:
        pytest.skip(f"shared conformance checker not found (looked for {[str(p) for p in _CHECKER_PLACES]})")
    return SHARED_CHECKER


def check_results(path: Path, complete: bool = True) -> subprocess.CompletedProcess:
    """The project's own layout check, then the shared checker when present; returncode 0: conforms."""
    problems = layout_problems(Path(path).read_text(), complete)
    if problems or SHARED_CHECKER is None:
        return subprocess.CompletedProcess(["results_layout", str(path)], 1 if problems else 0,
                                           stdout="\n".join(problems), stderr="")
    args = [sys.executable, str(SHARED_CHECKER), str(path)] + (["--complete"] if complete else [])
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
    # 2 collisions over the km driven (0.5 + 0.25 + 0.5 + 0), not over the 2 km of routes
    assert glob.infractions["collisions_vehicle"] == pytest.approx(2 / 1.25)
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


def _finished_file(path: Path) -> Path:
    res = new_results(path, total=2, ineligible=("privileged agent (reads the ground-truth world)",))
    res.add(compute_route_record("RouteScenario_0", 0, _events(60.0, collisions_vehicle=1, red_light=1), "",
                                 500.0, 2.0, 20.0), ["carla_camera"])
    res.add(compute_route_record("RouteScenario_1", 1, _events(100.0), "", 250.0, 2.0, 20.0))
    return path


def test_own_layout_check_catches_broken_files(tmp_path):
    """The own check runs in a fresh clone too: it must find real breakage, not just pass."""
    path = _finished_file(tmp_path / "res.json")
    assert layout_problems(path.read_text()) == []
    doc = json.loads(path.read_text())

    def broken(edit) -> list[str]:
        bad = json.loads(json.dumps(doc))
        edit(bad)
        return layout_problems(json.dumps(bad, indent=4, sort_keys=True))

    def rec(d: dict, i: int) -> dict:
        return d["_checkpoint"]["records"][i]

    def glob(d: dict) -> dict:
        return d["_checkpoint"]["global_record"]

    cases = {
        "top level": lambda d: d.pop("eligible"),
        "progress": lambda d: d["_checkpoint"].update(progress=[1, 2]),
        "records[0]: keys": lambda d: rec(d, 0).pop("meta"),
        "records[1].infractions: keys": lambda d: rec(d, 1)["infractions"].pop("vehicle_blocked"),
        "records[0].scores.score_penalty": lambda d: rec(d, 0)["scores"].update(score_penalty=0.6),
        "records[1].scores.score_composed": lambda d: rec(d, 1)["scores"].update(score_composed=90.0),
        "records[1]: unknown status": lambda d: rec(d, 1).update(status="Done"),
        "global_record.scores.score_composed": lambda d: glob(d)["scores"].update(score_composed=50.0),
        # per km over the routes' full 0.75 km instead of the 0.55 km driven
        "global_record.infractions.collisions_vehicle": lambda d: glob(d)["infractions"].update(
            collisions_vehicle=1 / 0.75),
        "eligible_reason": lambda d: d.update(eligible_reason=""),
    }
    for expected, edit in cases.items():
        problems = broken(edit)
        assert any(expected in p for p in problems), (expected, problems)
    assert layout_problems(json.dumps(doc)) == ["not written with indent=4, sort_keys=True"]
    single = new_results(tmp_path / "single.json", total=1)
    single.add(compute_route_record("RouteScenario_0", 0, _events(100.0), "", 50.0, 1.0, 5.0))
    text = single.path.read_text()
    assert '"NaN"' in text and layout_problems(text) == []
    assert layout_problems(text.replace('"NaN"', "NaN"))[0].startswith("not strict JSON: bare NaN")


def test_check_results_without_shared_checker_uses_the_own_check(tmp_path, monkeypatch):
    """A fresh clone has no ../shared: the helper still checks (own check), the shared test skips."""
    import test_lb_results

    monkeypatch.setattr(test_lb_results, "SHARED_CHECKER", None)
    path = _finished_file(tmp_path / "res.json")
    assert test_lb_results.check_results(path).returncode == 0
    path.write_text(path.read_text().replace('"score_penalty": 0.42', '"score_penalty": 0.5'))
    proc = test_lb_results.check_results(path)
    assert proc.returncode == 1 and "score_penalty" in proc.stdout
    with pytest.raises(pytest.skip.Exception, match="shared conformance checker not found"):
        test_lb_results.shared_checker()


@pytest.mark.parametrize("n_routes", [1, 2])
def test_results_pass_the_shared_checker(tmp_path, n_routes):
    """The shared checker (when beside the repository) accepts our files, NaN std and reasons included."""
    checker = shared_checker()
    path = tmp_path / "res.json"
    res = new_results(path, total=n_routes, ineligible=("research track",))
    for i in range(n_routes):
        res.add(compute_route_record(f"RouteScenario_{i}", i, _events(40.0 + i, stop_infraction=1), "", 300.0, 1.0,
                                     9.0))
    proc = subprocess.run([sys.executable, str(checker), str(path), "--complete"], check=False,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
