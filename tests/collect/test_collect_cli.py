"""`driving collect` end to end on the embedded simulator: frames with all files and sane labels,
a failed expert flagged and skipped by the reader, one-line errors for bad arguments."""
from __future__ import annotations

import json
import math
from pathlib import Path

import carla
import cv2
import numpy as np
import pytest
from collect_fixtures import measurements, route_dirs, write_routes

from driving.cli import main
from driving.collect.dataset import DatasetConfig, LeTFuserDataset
from driving.collect.layout import MANIFEST_NAME, verify_route
from driving.errors import InputError
from leaderboard.workers import process_state


def test_collect_writes_frames_with_driven_waypoints_and_labels(tmp_path: Path) -> None:
    routes = write_routes(tmp_path / "routes.xml")
    out = tmp_path / "data"
    assert main(["collect", "--routes", str(routes), "--out", str(out), "--every", "10", "--quiet"]) == 0
    (route,) = route_dirs(out)
    assert route.relative_to(out).parts[:2] == ("routes", "town_grid")
    assert verify_route(route) == []
    manifest = json.loads((route / MANIFEST_NAME).read_text())
    assert manifest["expert_failed"] is False and manifest["expert"]["status"] == "Completed"
    assert manifest["expert"]["driving_score"] == pytest.approx(100.0)
    assert manifest["recovery"] is False and manifest["frame_interval_s"] == 0.5
    n = manifest["frame_count"]
    assert n >= 20  # ~87 m with a red light: tens of seconds at 2 Hz
    for d, ext in (("rgb", "png"), ("depth", "png"), ("semantics", "png"), ("topdown", "png"),
                   ("measurements", "json")):
        assert len(list((route / d).glob(f"*.{ext}"))) == n, d
        assert f"{d}/{n - 1:04d}.{ext}" in manifest["files"]
    rgb = cv2.imread(str(route / "rgb" / "0005.png"))
    assert rgb.shape == (160, 960, 3) and rgb.std() > 10
    topdown = cv2.imread(str(route / "topdown" / "0005.png"))
    assert topdown.shape == (256, 256, 3) and len(np.unique(topdown.reshape(-1, 3), axis=0)) > 5

    ms = measurements(route)
    for i, m in enumerate(ms):
        assert m["command"] in (1, 2, 3, 4, 5, 6)
        assert 0.0 <= m["throttle"] <= 1.0 and 0.0 <= m["brake"] <= 1.0 and -1.0 <= m["steer"] <= 1.0
        assert m["brake_reason"] is None or m["brake_reason"] in m["limits"]
        # driven future waypoints are the later frames' positions (every 10 ticks = 0.5 s spacing)
        expected = [[ms[j]["x"], ms[j]["y"]] for j in range(i + 1, min(i + 5, n))]
        assert np.allclose(m["waypoints"][:len(expected)], expected, atol=1e-4), i
        if i + 4 < n:
            assert len(m["waypoints"]) == 4
        # the target point is ahead of the ego at most the follower's lookahead away
        assert math.hypot(m["x_command"] - m["x"], m["y_command"] - m["y"]) < 60.0
    assert len(ms[-1]["waypoints"]) == 0  # the last frame has no future: kept, the reader skips it
    assert any(m["light_hazard"] for m in ms) and any(m["brake_reason"] == "signal" for m in ms)
    assert ms[0]["command"] == 1  # the route turns left at the junction
    assert ms[-1]["command"] == 4  # then follows the lane
    assert max(m["speed"] for m in ms) > 4.0

    ds = LeTFuserDataset(out, DatasetConfig())
    assert len(ds) == n - 3  # frames with fewer than 3 future waypoints are not samples
    sample = ds[len(ds) - 1]
    assert sample["waypoints"].shape == (3, 2) and float(sample["waypoints"][2, 0]) > 0.5  # ahead of the ego

    # the same command again: the complete route is skipped, nothing is rewritten
    stamp = (route / MANIFEST_NAME).stat().st_mtime_ns
    assert main(["collect", "--routes", str(routes), "--out", str(out), "--quiet"]) == 0
    assert (route / MANIFEST_NAME).stat().st_mtime_ns == stamp


def test_failed_expert_is_flagged_and_skipped_by_the_reader(tmp_path: Path, monkeypatch) -> None:
    from driving.collect import collector

    def swerving_step(self, input_data, timestamp):  # the expert labels, but the car swerves off the road
        collector.ExpertAgent.run_step(self, input_data, timestamp)
        self.last_input = input_data
        return carla.VehicleControl(throttle=0.8, steer=0.6, brake=0.0)

    monkeypatch.setattr(collector.CollectingExpert, "run_step", swerving_step)
    routes = write_routes(tmp_path / "routes.xml", vehicles=0, walkers=0)
    out = tmp_path / "data"
    assert main(["collect", "--routes", str(routes), "--out", str(out), "--quiet"]) == 0
    (route,) = route_dirs(out)
    manifest = json.loads((route / MANIFEST_NAME).read_text())
    assert manifest["expert_failed"] is True, manifest["expert"]
    assert manifest["expert"]["status"] != "Completed" or manifest["expert"]["infractions"]
    assert verify_route(route) == []
    with pytest.raises(InputError, match="expert_failed"):
        LeTFuserDataset(out, DatasetConfig(num_waypoints=1))
    assert len(LeTFuserDataset(out, DatasetConfig(num_waypoints=1), include_failed=True)) > 0


@pytest.mark.parametrize("argv, message", [
    (["--routes", "val_short", "--every", "0"], "--every"),
    (["--routes", "val_short", "--workers", "0"], "--workers"),
    (["--routes", "val_short", "--weathers", "ClearNoon,Sandstorm"], "Sandstorm"),
    (["--routes", "no_such_set"], "no_such_set"),
    (["--routes", "val_short", "--scenarios", "missing.json"], "missing.json"),
    (["--routes", "val_short", "--backend", "unreal"], "unreal"),
    (["--out", "x"], "--routes"),
    (["--routes", "val_short", "--routes-subset", "40-45"], "routes_subset '40-45'"),
])
def test_bad_arguments_give_one_error_line(tmp_path: Path, capsys, argv: list[str], message: str) -> None:
    if "--out" not in argv:
        argv = [*argv, "--out", str(tmp_path / "data")]
    assert main(["collect", *argv, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and message in err, err
    assert not (tmp_path / "data").exists()


def test_routes_subset_selects_the_routes_to_drive(tmp_path: Path) -> None:
    from driving.cli import build_parser
    from driving.commands.collect import build_jobs

    argv = ["collect", "--routes", "val_short", "--routes-subset", "1,4", "--out", str(tmp_path / "d")]
    jobs = build_jobs(build_parser(argv).parse_args(argv))
    configs = [process_state().routes(j.routes_path, j.routes_subset)[j.position] for j in jobs]
    assert [c.name for c in configs] == ["RouteScenario_1", "RouteScenario_4"]


def test_leaving_the_route_lanes_alone_is_not_an_expert_failure() -> None:
    """Recovery bursts push the car out of its lane and passing a blocked lane uses the oncoming
    one: such drives stay training data; a collision or a timeout does not."""
    from types import SimpleNamespace

    from driving.collect.collector import expert_failed

    def record(status: str = "Completed", **infractions: list) -> SimpleNamespace:
        return SimpleNamespace(status=status, infractions={"outside_route_lanes": [], "collisions_vehicle": [],
                                                           **infractions})

    assert not expert_failed(record())
    assert not expert_failed(record(outside_route_lanes=["Agent went outside its route lanes for 12 m"]))
    assert expert_failed(record(outside_route_lanes=["..."], collisions_vehicle=["Agent collided"]))
    assert expert_failed(record(red_light=["Agent ran a red light"]))
    assert expert_failed(record("Failed - Agent timed out"))
