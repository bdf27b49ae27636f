"""RouteWriter: the on-disk layout passes the shared conformance check, manifests are right,
writes are resumable after a crash, and misuse fails with InputError."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from driving.collect.layout import (
    MANIFEST_NAME,
    RouteMeta,
    find_route_dirs,
    read_manifest,
    route_dir,
    verify_route,
)
from driving.collect.writer import RouteWriter, synthetic_frames
from driving.errors import InputError
from driving.image_codecs import decode_depth_m

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"


def _meta(route: str = "route_00", seed: int = 0, town: str = "Town01") -> RouteMeta:
    return RouteMeta(scenario="no_scenario", town=town, route=route, seed=seed, weather="ClearNoon")


def _write_route(root: Path, meta: RouteMeta, n_frames: int) -> Path:
    writer = RouteWriter(route_dir(root, meta), meta)
    for k, frame in enumerate(synthetic_frames(n_frames, seed=meta.seed)):
        writer.write_frame(k, *frame)
    return writer.finish()


def _check_dataset(root: Path) -> subprocess.CompletedProcess:
    """The shared checker's verdict; skips the calling test (saying why) when it is absent."""
    if not (CONFORMANCE / "check_dataset.py").is_file():
        pytest.skip(f"shared conformance checks not found at {CONFORMANCE}")
    return subprocess.run([sys.executable, str(CONFORMANCE / "check_dataset.py"), str(root)],
                          check=False, capture_output=True, text=True, timeout=120)


def _two_routes(root: Path) -> None:
    for r in range(2):
        _write_route(root, _meta(f"route_{r:02d}", seed=r), 6)


def _crash_mid_frame(root: Path) -> tuple[RouteMeta, list, Path]:
    """Three frames written, then a crash mid frame 3: its rgb landed, its measurements did not, a temp
    file is left."""
    meta = _meta()
    frames = list(synthetic_frames(5, seed=0))
    writer = RouteWriter(route_dir(root, meta), meta)
    for k in range(3):
        writer.write_frame(k, *frames[k])
    route = route_dir(root, meta)
    (route / "rgb" / "0003.png").write_bytes((route / "rgb" / "0000.png").read_bytes())
    (route / "depth" / ".tmp-abc").write_bytes(b"partial")
    return meta, frames, route


def _resume_and_finish(root: Path) -> Path:
    meta, frames, route = _crash_mid_frame(root)
    resumed = RouteWriter(route, meta)
    for k in (3, 4):
        resumed.write_frame(k, *frames[k])
    resumed.finish()
    return route


def test_written_datasets_pass_the_shared_conformance_check(tmp_path):
    _two_routes(tmp_path / "two")
    result = _check_dataset(tmp_path / "two")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 routes, 12 frames, 0 problems" in result.stdout
    _resume_and_finish(tmp_path / "resumed")
    result = _check_dataset(tmp_path / "resumed")
    assert result.returncode == 0, result.stdout + result.stderr


def test_two_routes_manifest_hashes_match(tmp_path):
    _two_routes(tmp_path)
    complete, partial = find_route_dirs(tmp_path)
    assert len(complete) == 2 and partial == []
    assert sum(read_manifest(route)["frame_count"] for route in complete) == 12

    route = tmp_path / "no_scenario" / "Town01" / "route_01"
    manifest = read_manifest(route)
    assert manifest["frame_count"] == 6
    assert (manifest["seed"], manifest["map"], manifest["weather"], manifest["scenario"]) == \
        (1, "Town01", "ClearNoon", "no_scenario")
    assert len(manifest["files"]) == 6 * 4
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((route / rel).read_bytes()).hexdigest() == digest
    rgb = cv2.imread(str(route / "rgb" / "0000.png"), cv2.IMREAD_UNCHANGED)
    assert rgb.shape == (160, 960, 3)

    assert verify_route(route) == []
    (route / "depth" / "0002.png").write_bytes((route / "depth" / "0003.png").read_bytes())
    (route / "rgb" / "0004.png").unlink()
    (route / "rgb" / "0099.png").write_bytes(b"x")
    problems = verify_route(route)
    assert len(problems) == 3
    assert any("depth/0002.png: sha256 differs" in p for p in problems)
    assert any("rgb/0004.png: missing" in p for p in problems)
    assert any("rgb/0099.png: not listed" in p for p in problems)


def test_images_round_trip_exactly(tmp_path):
    meta = _meta()
    writer = RouteWriter(route_dir(tmp_path, meta), meta)
    rgb, depth, tags, m = next(synthetic_frames(1, seed=3))
    writer.write_frame(0, rgb, depth, tags, m)
    route = route_dir(tmp_path, meta)
    assert np.array_equal(cv2.imread(str(route / "rgb" / "0000.png")), rgb)
    stored_depth = cv2.imread(str(route / "depth" / "0000.png"), cv2.IMREAD_UNCHANGED)
    assert np.allclose(decode_depth_m(stored_depth), decode_depth_m(depth))
    assert np.array_equal(cv2.imread(str(route / "semantics" / "0000.png"), cv2.IMREAD_UNCHANGED)[..., 2], tags)
    assert json.loads((route / "measurements" / "0000.json").read_text())["light_hazard"] == m["light_hazard"]


def test_resume_after_crash_continues_after_last_complete_frame(tmp_path):
    meta, frames, route = _crash_mid_frame(tmp_path)
    assert not (route / MANIFEST_NAME).exists()
    assert find_route_dirs(tmp_path) == ([], [route])

    resumed = RouteWriter(route, meta)
    assert resumed.next_index == 3
    assert not (route / "rgb" / "0003.png").exists() and not (route / "depth" / ".tmp-abc").exists()
    with pytest.raises(InputError, match="expected frame 3"):
        resumed.write_frame(5, *frames[4])
    for k in (3, 4):
        resumed.write_frame(k, *frames[k])
    resumed.finish()
    assert read_manifest(route)["frame_count"] == 5
    assert find_route_dirs(tmp_path) == ([route], [])
    assert verify_route(route) == []  # the shared check of a resumed route: its own test
    with pytest.raises(InputError, match="finished"):
        RouteWriter(route, meta).write_frame(5, *frames[0])


def test_bad_input_is_rejected_with_clear_errors(tmp_path):
    meta = _meta()
    writer = RouteWriter(route_dir(tmp_path, meta), meta)
    rgb, depth, tags, m = next(synthetic_frames(1))
    with pytest.raises(InputError, match="miss key"):
        writer.write_frame(0, rgb, depth, tags, {k: v for k, v in m.items() if k != "ego_matrix"})
    with pytest.raises(InputError, match="sizes differ"):
        writer.write_frame(0, rgb, depth[:, :-1], tags, m)
    with pytest.raises(InputError, match="semantic tag 30"):
        writer.write_frame(0, rgb, depth, np.full_like(tags, 30), m)
    with pytest.raises(InputError, match="command"):
        writer.write_frame(0, rgb, depth, tags, {**m, "command": 9})
    with pytest.raises(InputError, match="'brake' must be a finite number"):
        writer.write_frame(0, rgb, depth, tags, {**m, "brake": float("nan")})
    with pytest.raises(InputError, match="'waypoints' must be a list of"):
        writer.write_frame(0, rgb, depth, tags, {**m, "waypoints": [[1.0, 2.0], [3.0]]})
    writer.write_frame(0, rgb, depth, tags, {**m, "brake": True})  # TransFuser datasets store a bool
    with pytest.raises(InputError, match="without frames"):
        RouteWriter(route_dir(tmp_path / "empty", meta), meta).finish()
    with pytest.raises(InputError, match="cannot resume"):
        RouteWriter(route_dir(tmp_path, meta), RouteMeta("no_scenario", "Town01", "route_00", 7, "ClearNoon"))
    with pytest.raises(InputError, match="town name"):
        RouteMeta("s", "../etc", "r", 0, "ClearNoon")
