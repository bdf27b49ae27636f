"""`driving train` refuses a dataset saved at another frame interval than the model's
waypoint_interval_s (one error line naming both numbers and the route), and splits a root of
TransFuser 2022 routes (0.5 s, no manifest) by town like ours."""
from __future__ import annotations

import sys
from pathlib import Path

from driving.cli import main
from driving.collect.layout import RouteMeta, route_dir
from driving.collect.writer import RouteWriter, synthetic_frames
from driving.training.trainer import split_routes

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "configs" / "letfuser_tiny.yaml"  # waypoint_interval_s: 0.5

sys.path.insert(0, str(REPO / "tests" / "collect"))
from test_transfuser_layout import write_transfuser_route  # the TransFuser 2022 folder writer


def _route(root: Path, name: str, interval_s: float) -> Path:
    meta = RouteMeta("no_scenario", "Town01", name, 0, "ClearNoon", frame_interval_s=interval_s)
    writer = RouteWriter(route_dir(root, meta), meta)
    for k, frame in enumerate(synthetic_frames(5, frame_interval_s=interval_s)):
        writer.write_frame(k, *frame)
    writer.finish()
    return route_dir(root, meta)


def test_train_refuses_a_mismatched_frame_interval(tmp_path, capsys):
    data = tmp_path / "data"
    _route(data, "route_a", 0.5)
    fast = _route(data, "route_b", 0.25)
    out = tmp_path / "run"
    assert main(["train", "--config", str(TINY), "--data", str(data), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"error: {fast.resolve()}: ")
    assert "0.25 s apart" in err and "waypoint_interval_s is 0.5 s" in err and str(TINY) in err
    assert not (out / "checkpoints").exists()


def test_transfuser_routes_split_by_town(tmp_path):
    pts = [(0.0, -2.0 * k) for k in range(5)]
    write_transfuser_route(tmp_path / "routes_town01_short_route0_01_01_00_00_00", pts, 0.0, (0.0, -30.0))
    write_transfuser_route(tmp_path / "routes_town05_short_route0_01_01_00_00_00", pts, 0.0, (0.0, -30.0))
    train, val = split_routes(tmp_path, ("Town05",), 0.1)
    assert [r.town for r in train] == ["Town01"] and [r.town for r in val] == ["Town05"]
    assert {r.frame_interval_s for r in train + val} == {0.5}
