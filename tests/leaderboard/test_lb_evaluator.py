"""The evaluator end to end on the embedded world: real routes on town_grid, real agent files."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lb_fixtures import straight_waypoint, town_grid
from test_lb_results import check_results

from driving.errors import InputError
from leaderboard.leaderboard_evaluator import main as evaluator_main

AGENTS = Path(__file__).resolve().parent / "lb_agents"
REPO = Path(__file__).resolve().parents[2]


def write_routes(path: Path, n_routes: int, traffic: tuple[int, int] = (0, 0), town: str = "town_grid") -> Path:
    """`n_routes` LB1.0 routes of 50 m along one straight lane of town_grid."""
    wp = straight_waypoint(town_grid(), 50.0)
    a, b = wp.transform.location, wp.next(50.0)[0].transform.location
    routes = "".join(
        f'  <route id="{i}" town="{town}" n_vehicles="{traffic[0]}" n_walkers="{traffic[1]}">\n'
        f'    <waypoint x="{a.x}" y="{a.y}" z="0.0" pitch="0.0" roll="0.0" yaw="0.0"/>\n'
        f'    <waypoint x="{b.x}" y="{b.y}" z="0.0" pitch="0.0" roll="0.0" yaw="0.0"/>\n'
        f"  </route>\n" for i in range(n_routes))
    path.write_text(f'<?xml version="1.0"?>\n<routes>\n{routes}</routes>\n')
    return path


def records(path: Path) -> list[dict]:
    return json.loads(path.read_text())["_checkpoint"]["records"]


def test_follow_agent_completes_routes_with_traffic(tmp_path):
    routes = write_routes(tmp_path / "routes.xml", 2, traffic=(4, 4))
    out = tmp_path / "results.json"
    rc = evaluator_main(["--routes", str(routes), "--agent", str(AGENTS / "follow_agent.py"),
                         "--checkpoint", str(out)])
    assert rc == 0
    proc = check_results(out)
    assert proc.returncode == 0, proc.stdout
    recs = records(out)
    assert [r["route_id"] for r in recs] == ["RouteScenario_0", "RouteScenario_1"]
    for r in recs:
        assert r["scores"]["score_route"] == 100.0, r
        assert r["meta"]["route_length"] == pytest.approx(50.0, abs=2.0)
        assert 5.0 < r["meta"]["duration_game"] < int(0.8 * 50 + 5)
    assert json.loads(out.read_text())["sensors"] == ["carla_speedometer"]


def test_red_light_and_stop_sign_infractions_on_the_embedded_world(tmp_path):
    """The follow agent ignores signals: one red light and one stop sign are run (town_grid, seed 0)."""
    from driving.sim.embedded_world import EmbeddedWorld

    world = EmbeddedWorld()
    world.load_map("town_grid", 0)
    light_wp = world.get_traffic_lights()[0].stop_waypoints[0]  # red from ~12 s of game time
    stop_wp = world.get_stop_signs()[0].stop_waypoints[0]
    world.close()
    routes = []
    for name, wp, back_m in (("red", light_wp, 70.0), ("stop", stop_wp, 30.0)):
        a, b = wp.previous(back_m)[0].transform.location, wp.next(40.0)[0].transform.location
        routes.append(f'<route id="{name}" town="town_grid" n_vehicles="0" n_walkers="0">'
                      f'<waypoint x="{a.x}" y="{a.y}" z="0"/><waypoint x="{b.x}" y="{b.y}" z="0"/></route>')
    path = tmp_path / "signals.xml"
    path.write_text("<routes>" + "".join(routes) + "</routes>")
    out = tmp_path / "results.json"
    assert evaluator_main(["--routes", str(path), "--agent", str(AGENTS / "follow_agent.py"),
                           "--checkpoint", str(out)]) == 0
    red, stop = records(out)
    assert len(red["infractions"]["red_light"]) == 1 and red["scores"]["score_penalty"] == pytest.approx(0.7)
    assert len(stop["infractions"]["stop_infraction"]) == 1 and stop["scores"]["score_penalty"] == pytest.approx(0.8)
    assert red["scores"]["score_route"] == stop["scores"]["score_route"] == 100.0
    assert check_results(out).returncode == 0


@pytest.mark.parametrize("agent, status, entry", [
    ("setup_error_agent.py", "Failed - Agent couldn't be set up", "Finished with agent errors"),
    ("step_error_agent.py", "Failed - Agent crashed", "Finished with agent errors"),
    ("slow_agent.py", "Failed - Agent crashed", "Finished with agent errors"),
    ("depth_rig_agent.py", "Failed - Agent's sensors were invalid", "Rejected"),
])
def test_agent_failures_are_recorded_and_the_run_goes_on(tmp_path, agent, status, entry):
    routes = write_routes(tmp_path / "routes.xml", 2)
    out = tmp_path / "results.json"
    rc = evaluator_main(["--routes", str(routes), "--agent", str(AGENTS / agent), "--checkpoint", str(out),
                         "--timeout", "1.0"])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert [r["status"] for r in records(out)] == [status, status]
    assert doc["entry_status"] == entry
    assert check_results(out).returncode == 0


def test_sensor_agent_gets_gnss_imu_speed_and_repetitions(tmp_path):
    routes = write_routes(tmp_path / "routes.xml", 1)
    out = tmp_path / "results.json"
    rc = evaluator_main(["--routes", str(routes), "--agent", str(AGENTS / "straight_sensor_agent.py"),
                         "--checkpoint", str(out), "--repetitions", "2"])
    assert rc == 0
    recs = records(out)
    assert [(r["route_id"], r["index"], r["status"]) for r in recs] == [
        ("RouteScenario_0", 0, "Completed"), ("RouteScenario_0", 1, "Completed")]
    assert check_results(out).returncode == 0


def test_workers_merge_in_route_order(tmp_path):
    routes = write_routes(tmp_path / "routes.xml", 3, traffic=(2, 2))
    serial, parallel = tmp_path / "serial.json", tmp_path / "parallel.json"
    agent = str(AGENTS / "follow_agent.py")
    assert evaluator_main(["--routes", str(routes), "--agent", agent, "--checkpoint", str(serial)]) == 0
    assert evaluator_main(["--routes", str(routes), "--agent", agent, "--checkpoint", str(parallel),
                           "--workers", "2"]) == 0
    a, b = records(serial), records(parallel)
    assert [r["index"] for r in b] == [0, 1, 2]
    strip = [(r["route_id"], r["status"], r["scores"], r["meta"]["duration_game"]) for r in a]
    assert strip == [(r["route_id"], r["status"], r["scores"], r["meta"]["duration_game"]) for r in b]
    assert check_results(parallel).returncode == 0


def test_resume_after_sigkill_loses_and_repeats_nothing(tmp_path):
    routes = write_routes(tmp_path / "routes.xml", 3, traffic=(2, 0))
    out = tmp_path / "results.json"
    cmd = [sys.executable, "-m", "leaderboard.leaderboard_evaluator", "--routes", str(routes),
           "--agent", str(AGENTS / "follow_agent.py"), "--checkpoint", str(out)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if out.exists() and json.loads(out.read_text())["_checkpoint"]["progress"][0] >= 1:
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # mid-route: route 1 is being driven
    finally:
        proc.wait()
    before = records(out)
    assert 1 <= len(before) < 3
    assert evaluator_main(cmd[3:] + ["--resume"]) == 0
    after = records(out)
    assert [r["index"] for r in after] == [0, 1, 2]
    assert after[:len(before)] == before
    proc2 = check_results(out)
    assert proc2.returncode == 0, proc2.stdout
    assert evaluator_main(cmd[3:] + ["--resume"]) == 0  # nothing left: no route repeated
    assert records(out) == after


def test_towns_resolve_to_maps_folder(tmp_path, capsys):
    from driving.sim.maps import map_path

    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "MyTown.xodr").write_text(map_path("town_grid").read_text())
    routes = write_routes(tmp_path / "routes.xml", 1, town="MyTown")
    out = tmp_path / "results.json"
    argv = ["--routes", str(routes), "--agent", str(AGENTS / "follow_agent.py"), "--checkpoint", str(out)]
    assert evaluator_main(argv) == 2
    assert "route town 'MyTown': not a bundled map (pass --maps DIR" in capsys.readouterr().err
    assert evaluator_main(argv + ["--maps", str(maps)]) == 0
    assert records(out)[0]["status"] == "Completed"
    (maps / "MyTown.xodr").write_text("<OpenDRIVE><header/>")
    assert evaluator_main(argv + ["--maps", str(maps)]) == 2
    assert "MyTown.xodr" in capsys.readouterr().err


def test_bad_input_is_one_clear_error(tmp_path, capsys):
    routes = write_routes(tmp_path / "routes.xml", 1)
    agent = str(AGENTS / "follow_agent.py")
    base = ["--checkpoint", str(tmp_path / "r.json")]
    cases = [
        (["--routes", str(write_routes(tmp_path / "t.xml", 1, town="Town99")), "--agent", agent],
         "route town 'Town99': not a bundled map"),
        (["--routes", str(routes), "--agent", str(tmp_path / "missing.py")], "no such agent file"),
        (["--routes", str(routes), "--agent", agent, "--backend", "carla", "--port", "1", "--timeout", "1"],
         "no CARLA server answered at localhost:1"),
        (["--routes", str(routes), "--agent", agent, "--track", "FOO"], "--track: unknown track"),
        (["--routes", str(routes), "--agent", agent, "--timeout", "0"], "--timeout"),
    ]
    for argv, message in cases:
        assert evaluator_main(argv + base) == 2
        assert message in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert evaluator_main(["--routes", str(routes), "--agent", agent, "--checkpoint", str(bad), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "not valid JSON" in err
    done = tmp_path / "done.json"
    assert evaluator_main(["--routes", str(routes), "--agent", str(AGENTS / "setup_error_agent.py"),
                           "--checkpoint", str(done)]) == 0
    other = tmp_path / "other.xml"
    other.write_text(routes.read_text().replace('id="0"', 'id="other"'))
    assert evaluator_main(["--routes", str(other), "--agent", agent, "--checkpoint", str(done), "--resume"]) == 2
    assert "done.json: cannot resume, its records ['RouteScenario_0']" in capsys.readouterr().err
    (tmp_path / "broken.xml").write_text("<routes><route id='0'")
    assert evaluator_main(["--routes", str(tmp_path / "broken.xml"), "--agent", agent] + base) == 2
    assert "broken.xml" in capsys.readouterr().err


def test_driving_evaluate_with_video(tmp_path, capsys, monkeypatch):
    import cv2

    from driving import cli

    # only the command under test is registered, so the test does not import other commands' modules
    monkeypatch.setattr(cli, "COMMANDS", {("", "evaluate"): cli.COMMANDS[("", "evaluate")]})
    cli_main = cli.main

    routes = write_routes(tmp_path / "routes.xml", 1, traffic=(2, 2))
    rc = cli_main(["evaluate", "--routes", str(routes), "--agent", str(AGENTS / "follow_agent.py"),
                   "--out", str(tmp_path / "out"), "--video"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "RouteScenario_0" in out and "mean DS" in out
    assert check_results(tmp_path / "out" / "results.json").returncode == 0
    video = tmp_path / "out" / "videos" / "RouteScenario_0_0.mp4"
    cap = cv2.VideoCapture(str(video))
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, frame = cap.read()
    cap.release()
    assert ok and frames > 20 and frame.shape[0] == frame.shape[1] > 100
    assert cli_main(["evaluate", "--routes", "no_such_set", "--out", str(tmp_path / "o2")]) == 2
    assert "--routes no_such_set: no such file and not a bundled route set" in capsys.readouterr().err


def test_server_towns_pass_through_only_on_the_carla_backend():
    from leaderboard.route_runner import resolve_town

    assert resolve_town("Town01", None, server_towns=True) == "Town01"
    assert resolve_town("town_grid", None, server_towns=True) == "town_grid"
    with pytest.raises(InputError, match="Town01"):
        resolve_town("Town01", None)
