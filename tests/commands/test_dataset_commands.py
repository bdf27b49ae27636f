"""`driving dataset stats` and `driving dataset check` on small written datasets (ours and a
TransFuser 2022 route): the numbers match the measurements, and every deliberately truncated,
deleted or unreadable file is reported by path with a failing exit status."""
from __future__ import annotations

import itertools
import json
import math
import os
import sys
from pathlib import Path

import pytest

from driving.cli import main
from driving.collect.layout import RouteMeta, route_dir
from driving.collect.writer import RouteWriter, synthetic_frames, write_synthetic_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collect"))
from test_transfuser_layout import write_transfuser_route  # the TransFuser 2022 folder writer


def _dataset(root: Path) -> tuple[Path, Path]:
    """Two of our routes (Town01, 6 frames each) and one TransFuser 2022 route (Town05, 6 frames, 10 m)."""
    write_synthetic_dataset(root, n_routes=2, n_frames=6)
    tf = write_transfuser_route(root / "tf" / "routes_town05_short_route0_01_01_00_00_00",
                                [(10.0, 50.0 - 2.0 * k) for k in range(6)], 0.0, (10.0, 20.0))
    return root / "no_scenario" / "Town01" / "route_00", tf


def _ours_km(root: Path) -> float:
    total = 0.0
    for route in sorted((root / "no_scenario" / "Town01").iterdir()):
        xy = [(m["x"], m["y"]) for m in (json.loads(p.read_text())
                                         for p in sorted((route / "measurements").glob("*.json")))]
        total += sum(math.dist(a, b) for a, b in itertools.pairwise(xy))
    return total / 1000.0


def test_stats_json_matches_the_measurements(tmp_path, capsys):
    _dataset(tmp_path)
    assert main(["dataset", "stats", str(tmp_path), "--json", "--semantic-frames", "5"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["routes"] == 3 and stats["layouts"] == {"letfuser": 2, "transfuser2022": 1}
    assert stats["frames"] == 18 and stats["hours"] == pytest.approx(18 * 0.5 / 3600)
    assert stats["km"] == pytest.approx(_ours_km(tmp_path) + 0.010, abs=1e-6)
    assert stats["towns"]["Town05"] == pytest.approx({"routes": 1, "frames": 6, "hours": 3 / 3600, "km": 0.010})
    assert stats["towns"]["Town01"]["frames"] == 12
    assert sum(c["frames"] for c in stats["commands"].values()) == 18
    assert stats["commands"]["LANEFOLLOW"]["frames"] >= 1  # the TransFuser route's VOID (-1) frame
    # Braking: the synthetic drive brakes on red-light frames 0 and 3; the TransFuser route on frame 1.
    assert stats["brake"] == {"frames": 5, "share": pytest.approx(5 / 18)}
    assert stats["semantic_frames_sampled"] == 5
    shares = stats["class_pixel_share"]
    assert sum(shares.values()) == pytest.approx(1.0) and shares["ROAD"] > 0 and shares["SKY"] > 0
    assert set(shares) == {"UNLABELED", "BUILDING", "FENCE", "OTHER", "PEDESTRIAN", "POLE", "ROAD_LINE", "ROAD",
                           "SIDEWALK", "VEGETATION", "VEHICLES", "WALL", "TRAFFIC_SIGN", "SKY", "GROUND", "BRIDGE",
                           "RAIL_TRACK", "GUARD_RAIL", "TRAFFIC_LIGHT", "STATIC", "DYNAMIC", "WATER", "TERRAIN"}

    assert main(["dataset", "stats", str(tmp_path)]) == 0  # rich tables
    out = capsys.readouterr().out
    assert "Town05" in out and "km driven" in out and "LANEFOLLOW" in out and "TRAFFIC_LIGHT" in out


def test_check_clean_dataset_passes(tmp_path, capsys):
    _dataset(tmp_path)
    assert main(["dataset", "check", str(tmp_path)]) == 0
    assert "3 route folder(s) checked, 0 problem(s), 0 incomplete" in capsys.readouterr().out


def test_check_reports_each_broken_file_by_path(tmp_path, capsys):
    ours, tf = _dataset(tmp_path)
    rgb = ours / "rgb" / "0001.png"
    rgb.write_bytes(rgb.read_bytes()[:200])  # truncated PNG
    (ours / "depth" / "0002.png").unlink()  # listed in the manifest, gone
    tf_json = tf / "measurements" / "0003.json"
    tf_json.write_text(tf_json.read_text()[:40])  # truncated JSON
    (tf / "semantics" / "0004.png").unlink()  # a frame file absent (no manifest to list it)
    meta = RouteMeta("no_scenario", "Town02", "crashed", 0, "ClearNoon")
    writer = RouteWriter(route_dir(tmp_path, meta), meta)
    for k, frame in enumerate(synthetic_frames(2)):
        writer.write_frame(k, *frame)  # never finished: no manifest
    unknown = tmp_path / "junk" / "measurements"
    unknown.mkdir(parents=True)

    assert main(["dataset", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()

    def line_for(path: Path) -> str:
        found = [line for line in lines if line.startswith(f"{path}: ")]
        assert len(found) == 1, (path, out)
        return found[0]

    assert "truncated or corrupt PNG" in line_for(rgb)
    assert "missing (listed in manifest.json)" in line_for(ours / "depth" / "0002.png")
    assert "truncated or invalid JSON" in line_for(tf_json)
    assert line_for(tf / "semantics" / "0004.png").endswith(": missing")
    assert "incomplete route" in line_for(route_dir(tmp_path, meta))
    assert "unknown route layout" in line_for(tmp_path / "junk")
    assert "5 route folder(s) checked, 5 problem(s), 1 incomplete route(s)" in out


def test_check_reports_unreadable_files(tmp_path, capsys, monkeypatch):
    ours, _ = _dataset(tmp_path)
    path = ours / "semantics" / "0000.png"
    if os.name == "posix" and os.geteuid() != 0:
        path.chmod(0)  # a real permission error
    else:  # root reads files whatever their mode: make that one read fail instead
        real = Path.read_bytes

        def read_bytes(self: Path) -> bytes:
            if self == path:
                raise PermissionError(13, "Permission denied")
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    try:
        assert main(["dataset", "check", str(tmp_path)]) == 1
        assert f"{path}: unreadable (Permission denied)" in capsys.readouterr().out
    finally:
        path.chmod(0o644)


def test_incomplete_routes_alone_can_be_allowed(tmp_path, capsys):
    write_synthetic_dataset(tmp_path, n_routes=1, n_frames=4)
    meta = RouteMeta("no_scenario", "Town02", "being_written", 0, "ClearNoon")
    writer = RouteWriter(route_dir(tmp_path, meta), meta)
    writer.write_frame(0, *next(synthetic_frames(1)))
    assert main(["dataset", "check", str(tmp_path)]) == 1
    assert main(["dataset", "check", str(tmp_path), "--allow-incomplete"]) == 0
    assert "being_written: incomplete route" in capsys.readouterr().out
    assert main(["dataset", "check", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
