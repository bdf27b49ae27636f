"""Leaderboard correctness found on review: eligibility with its reason, infractions per km driven,
the single-route NaN std, `--record`, server-only options on the embedded backend, and the
agents' `check_agent_config` hook."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from test_lb_evaluator import AGENTS, records, write_routes
from test_lb_results import check_results

from driving.sim.embedded_world import EmbeddedWorld
from leaderboard.agents_registry import load_agent_class
from leaderboard.criteria import TrafficEvent, TrafficEventType
from leaderboard.leaderboard_evaluator import main as evaluator_main
from leaderboard.results import REASON_PRIVILEGED, REASON_RESEARCH, new_results, resume_results
from leaderboard.route_runner import RouteJob, RunOptions, run_route
from leaderboard.routes import parse_routes_file
from leaderboard.statistics import compute_global_record, compute_route_record

SENSOR_AGENT = str(AGENTS / "straight_sensor_agent.py")


def _evaluate(tmp_path: Path, agent: str, *extra: str, n_routes: int = 1) -> tuple[int, dict]:
    routes = write_routes(tmp_path / "routes.xml", n_routes)
    out = tmp_path / "results.json"
    rc = evaluator_main(["--routes", str(routes), "--agent", agent, "--checkpoint", str(out), *extra])
    return rc, json.loads(out.read_text()) if out.exists() else {}


def _record(index: int, completion: float, length_m: float, **counts: int):
    events = [TrafficEvent(TrafficEventType.ROUTE_COMPLETION, "", {"route_completed": completion})]
    for name, n in counts.items():
        events += [TrafficEvent(TrafficEventType(name), f"{name} {i}") for i in range(n)]
    return compute_route_record(f"RouteScenario_{index}", index, events, "", length_m, 1.0, 10.0)


# ---- eligibility --------------------------------------------------------------------------------
def test_expert_results_are_not_eligible_and_say_why(tmp_path):
    rc, doc = _evaluate(tmp_path, "expert")
    assert rc == 0
    assert doc["entry_status"] == "Finished"
    assert doc["eligible"] is False and doc["eligible_reason"] == REASON_PRIVILEGED
    assert check_results(tmp_path / "results.json").returncode == 0


def test_sensor_agent_on_sensors_track_is_eligible(tmp_path):
    rc, doc = _evaluate(tmp_path, SENSOR_AGENT, "--track", "SENSORS")
    assert rc == 0 and records(tmp_path / "results.json")[0]["status"] == "Completed"
    assert doc["eligible"] is True and doc["eligible_reason"] == ""
    assert check_results(tmp_path / "results.json").returncode == 0


def test_research_track_is_not_eligible(tmp_path):
    rc, doc = _evaluate(tmp_path, SENSOR_AGENT, "--track", "RESEARCH")
    assert rc == 0 and doc["entry_status"] == "Finished"
    assert doc["eligible"] is False and doc["eligible_reason"] == REASON_RESEARCH
    assert "depth/semantic cameras" in doc["eligible_reason"]


def test_privileged_agent_on_research_track_gives_both_reasons(tmp_path):
    rc, doc = _evaluate(tmp_path, str(AGENTS / "follow_agent.py"), "--track", "research")
    assert rc == 0 and doc["eligible"] is False
    assert doc["eligible_reason"] == f"{REASON_PRIVILEGED}; {REASON_RESEARCH}"


def test_resume_keeps_the_reason(tmp_path):
    """Routes driven by a privileged agent stay in the file: a resume (with any agent) keeps the reason."""
    path = tmp_path / "res.json"
    first = new_results(path, total=2, ineligible=(REASON_PRIVILEGED,))
    first.add(_record(0, 100.0, 100.0))
    doc = json.loads(path.read_text())
    assert doc["eligible"] is False
    assert doc["eligible_reason"] == f"{REASON_PRIVILEGED}; entry status 'Started' (only a finished entry is eligible)"
    again = resume_results(path, total=2)  # e.g. resumed with a sensor agent
    again.add(_record(1, 100.0, 100.0))
    doc = json.loads(path.read_text())
    assert doc["entry_status"] == "Finished"
    assert doc["eligible"] is False and doc["eligible_reason"] == REASON_PRIVILEGED
    resumed_twice = resume_results(path, total=2, ineligible=(REASON_PRIVILEGED, REASON_RESEARCH))
    assert resumed_twice.ineligible == (REASON_PRIVILEGED, REASON_RESEARCH)
    assert check_results(path).returncode == 0


def test_evaluator_resume_keeps_the_reason(tmp_path):
    routes = write_routes(tmp_path / "routes.xml", 2)
    out = tmp_path / "results.json"
    base = ["--routes", str(routes), "--checkpoint", str(out)]
    assert evaluator_main(base + ["--agent", "expert", "--routes-subset", "0"]) == 0
    doc = json.loads(out.read_text())
    doc["_checkpoint"]["progress"] = [1, 2]  # as if the run had been killed after route 0 of 2
    doc["entry_status"] = "Started"
    out.write_text(json.dumps(doc, indent=4, sort_keys=True))
    assert evaluator_main(base + ["--agent", SENSOR_AGENT, "--resume"]) == 0
    doc = json.loads(out.read_text())
    assert [r["index"] for r in doc["_checkpoint"]["records"]] == [0, 1]
    assert doc["eligible"] is False and doc["eligible_reason"] == REASON_PRIVILEGED
    assert check_results(out).returncode == 0


# ---- statistics ---------------------------------------------------------------------------------
def test_infractions_per_km_driven_with_partial_completion():
    recs = [_record(0, 50.0, 1000.0, collisions_vehicle=2, red_light=1),  # 0.5 km driven
            _record(1, 100.0, 500.0, collisions_vehicle=1),  # 0.5 km driven
            _record(2, 25.0, 800.0, route_dev=1),  # 0.2 km driven
            _record(3, 0.0, 2000.0, collisions_pedestrian=1)]  # never moved: left out (LB1.0)
    glob = compute_global_record(recs)
    assert glob.infractions["collisions_vehicle"] == pytest.approx(3 / 1.2)
    assert glob.infractions["red_light"] == pytest.approx(1 / 1.2)
    assert glob.infractions["route_dev"] == pytest.approx(1 / 1.2)
    assert glob.infractions["collisions_pedestrian"] == 0.0
    assert glob.meta["total_length"] == pytest.approx(4300.0)  # the official meta is still the plain sum


def test_infractions_per_km_with_no_km_driven_are_zero_not_infinite():
    glob = compute_global_record([_record(0, 0.0, 500.0, collisions_layout=2, vehicle_blocked=1),
                                  _record(1, 0.0, 0.0)])
    assert all(v == 0.0 and math.isfinite(v) for v in glob.infractions.values())


def test_single_route_std_is_the_official_nan(tmp_path):
    one = compute_global_record([_record(0, 80.0, 300.0, red_light=1)])
    assert one.scores_std_dev == {"score_route": "NaN", "score_penalty": "NaN", "score_composed": "NaN"}
    two = compute_global_record([_record(0, 80.0, 300.0), _record(1, 40.0, 300.0)])
    assert two.scores_std_dev["score_route"] == pytest.approx(math.sqrt(2 * 20.0 ** 2))
    path = tmp_path / "res.json"
    res = new_results(path, total=1)
    res.add(_record(0, 80.0, 300.0, red_light=1))
    text = path.read_text()
    assert '"score_composed": "NaN"' in text
    assert check_results(path).returncode == 0


def test_driving_evaluate_summary_with_one_route(tmp_path, capsys, monkeypatch):
    """One route (std "NaN") through `driving evaluate`: the summary prints and names eligibility."""
    from driving import cli

    monkeypatch.setattr(cli, "COMMANDS", {("", "evaluate"): cli.COMMANDS[("", "evaluate")]})
    routes = write_routes(tmp_path / "routes.xml", 1)
    assert cli.main(["evaluate", "--routes", str(routes), "--agent", "expert", "--out", str(tmp_path / "out")]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps lines at the terminal width
    assert "mean DS" in out and f"eligible for the leaderboard: no, {REASON_PRIVILEGED}" in out
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["_checkpoint"]["global_record"]["scores_std_dev"]["score_route"] == "NaN"


# ---- --record and server-only options -----------------------------------------------------------
class _RecordingWorld(EmbeddedWorld):
    """The embedded world with a recorder that only notes its calls (the CARLA one needs a server)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def start_recorder(self, path: str) -> None:
        self.calls.append(f"start {path}")

    def stop_recorder(self) -> None:
        self.calls.append("stop")


@pytest.mark.parametrize("agent, status", [("straight_sensor_agent.py", "Completed"),
                                           ("step_error_agent.py", "Failed - Agent crashed")])
def test_route_runner_records_each_route_with_the_official_name(tmp_path, agent, status):
    routes = write_routes(tmp_path / "routes.xml", 1)
    config = parse_routes_file(routes)[0]
    opts = RunOptions(agent=str(AGENTS / agent), record_dir="/logs")
    world = _RecordingWorld()
    try:
        outcome = run_route(world, config, RouteJob(str(routes), "", 0, 1, 1), opts, load_agent_class(opts.agent))
    finally:
        world.close()
    assert outcome.record.status == status
    assert world.calls == ["start /logs/RouteScenario_0_rep1.log", "stop"]


def test_embedded_world_has_no_recorder(tmp_path):
    """Asked to record anyway, the route fails as a simulation crash naming why; nothing is raised."""
    routes = write_routes(tmp_path / "routes.xml", 1)
    opts = RunOptions(agent=SENSOR_AGENT, record_dir=str(tmp_path / "rec"))
    with EmbeddedWorld() as world:
        world.stop_recorder()  # nothing running: a no-op, as on a server
        outcome = run_route(world, parse_routes_file(routes)[0], RouteJob(str(routes), "", 0, 0, 0), opts,
                            load_agent_class(SENSOR_AGENT))
    assert outcome.record.status == "Failed - Simulation crashed"
    assert "embedded backend has no recorder" in outcome.error


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


def test_record_with_the_embedded_backend_warns_once_and_runs(tmp_path, capsys):
    rc, doc = _evaluate(tmp_path, SENSOR_AGENT, "--record", str(tmp_path / "rec"), n_routes=2)
    assert rc == 0 and doc["_checkpoint"]["progress"] == [2, 2]
    assert [r["status"] for r in doc["_checkpoint"]["records"]] == ["Completed", "Completed"]
    warnings = _warnings(capsys.readouterr().err)
    assert len(warnings) == 1 and "--record" in warnings[0] and "no recorder" in warnings[0]
    assert not (tmp_path / "rec").exists()


def test_server_options_given_with_the_embedded_backend_warn(tmp_path, capsys):
    rc, _ = _evaluate(tmp_path, SENSOR_AGENT)
    assert rc == 0 and _warnings(capsys.readouterr().err) == []  # not given: no warning
    rc, _ = _evaluate(tmp_path, SENSOR_AGENT, "--host", "gpu-box", "--port", "2000")  # 2000: the default, given
    assert rc == 0
    assert _warnings(capsys.readouterr().err) == [
        "warning: --host, --port ignored: only used with --backend carla (this run uses --backend embedded)"]
    rc, _ = _evaluate(tmp_path, SENSOR_AGENT, "--trafficManagerPort", "8001")
    assert rc == 0 and "--trafficManagerPort ignored" in _warnings(capsys.readouterr().err)[0]


def test_carla_backend_still_uses_the_official_defaults(tmp_path, capsys):
    rc, _ = _evaluate(tmp_path, SENSOR_AGENT, "--backend", "carla", "--timeout", "1")
    assert rc == 2
    err = capsys.readouterr().err
    assert "localhost:2000" in err and _warnings(err) == []


# ---- check_agent_config hook --------------------------------------------------------------------
def test_agent_config_hook_fails_before_any_route(tmp_path, capsys):
    agent = str(AGENTS / "config_check_agent.py")
    rc, doc = _evaluate(tmp_path, agent, "--agent-config", str(tmp_path / "missing.pt"), n_routes=3)
    assert rc == 2 and doc == {}  # no results file: no route ran
    err = capsys.readouterr().err.strip()
    assert err == f"error: --agent-config '{tmp_path / 'missing.pt'}': no such model file"
    conf = tmp_path / "speed.txt"
    conf.write_text("4.0")
    rc, doc = _evaluate(tmp_path, agent, "--agent-config", str(conf))
    assert rc == 0 and doc["_checkpoint"]["records"][0]["status"] == "Completed"


def test_driving_evaluate_bad_agent_config_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    from driving import cli

    monkeypatch.setattr(cli, "COMMANDS", {("", "evaluate"): cli.COMMANDS[("", "evaluate")]})
    routes = write_routes(tmp_path / "routes.xml", 2)
    rc = cli.main(["evaluate", "--routes", str(routes), "--agent", str(AGENTS / "config_check_agent.py"),
                   "--agent-config", "BAD", "--out", str(tmp_path / "out")])
    assert rc == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == "error: --agent-config 'BAD': no such model file" and captured.out == ""
    assert not (tmp_path / "out" / "results.json").exists()
