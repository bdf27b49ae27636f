"""The threaded RouteWriter (the collector's): same files as the synchronous one, the kill-safe
ordering (when measurements/NNNN.json exists, every image of NNNN exists and decodes) at every
instant and after SIGKILL, errors on the thread surface in the caller, and the faster PNG
settings decode to the very same pixels."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from driving.collect import writer as writer_module
from driving.collect.layout import (
    MANIFEST_NAME,
    RouteMeta,
    frame_paths,
    optional_frame_paths,
    read_manifest,
    route_dir,
    verify_route,
)
from driving.collect.writer import RouteWriter, synthetic_frames
from driving.errors import InputError

REPO = Path(__file__).resolve().parents[2]


def _meta(route: str = "route_00") -> RouteMeta:
    return RouteMeta(scenario="no_scenario", town="Town01", route=route, seed=0, weather="ClearNoon")


def _topdown(k: int) -> np.ndarray:
    img = np.zeros((64, 64, 3), np.uint8)
    img[k % 64, :, 1] = 200
    img[:, 10:20] = (40, 40, 40)
    return img


def _write(root: Path, threaded: bool, n_frames: int = 6) -> Path:
    meta = _meta()
    writer = RouteWriter(route_dir(root, meta), meta, threaded=threaded, queue_frames=2)
    for k, (rgb, depth, tags, m) in enumerate(synthetic_frames(n_frames, seed=1)):
        writer.write_frame(k, rgb, depth, tags, m, topdown_bgr=_topdown(k))
    writer.finish({"note": "x"})
    return route_dir(root, meta)


def _frame_problems(route: Path) -> list[str]:
    """Frames whose measurements exist while an image is missing or does not decode."""
    problems = []
    for m_path in sorted((route / "measurements").glob("[0-9]*.json")):
        index = int(m_path.stem)
        for p in (*frame_paths(route, index).values(), *optional_frame_paths(route, index).values()):
            if p.suffix != ".png":
                continue
            img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED) if p.is_file() else None
            if img is None:
                problems.append(f"{p.relative_to(route)}: missing or undecodable while {m_path.name} exists")
        if not (route / "topdown" / f"{m_path.stem}.png").is_file():
            problems.append(f"topdown/{m_path.stem}.png missing while {m_path.name} exists")
    return problems


def test_threaded_writer_writes_the_same_files_as_the_synchronous_one(tmp_path: Path) -> None:
    sync_route = _write(tmp_path / "sync", threaded=False)
    threaded_route = _write(tmp_path / "threaded", threaded=True)
    files = sorted(p.relative_to(sync_route).as_posix() for p in sync_route.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(threaded_route).as_posix() for p in threaded_route.rglob("*") if p.is_file())
    for rel in files:
        assert (sync_route / rel).read_bytes() == (threaded_route / rel).read_bytes(), rel
    manifest = read_manifest(threaded_route)
    assert manifest["frame_count"] == 6 and len(manifest["files"]) == 6 * 5
    assert verify_route(threaded_route) == []  # the hashes kept in memory are the files' hashes


def test_measurements_never_appear_before_their_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A watcher polls the folder while the thread writes (slowed down so it sees every step)."""
    real_put = RouteWriter._put

    def slow_put(self, path, data, fsync):
        time.sleep(0.003)
        real_put(self, path, data, fsync)

    monkeypatch.setattr(RouteWriter, "_put", slow_put)
    meta = _meta()
    route = route_dir(tmp_path, meta)
    stop = threading.Event()
    seen: list[str] = []
    checks = [0]

    def watch() -> None:
        while not stop.is_set():
            if (route / "measurements").is_dir():
                seen.extend(_frame_problems(route))
                checks[0] += 1

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        writer = RouteWriter(route, meta, threaded=True, queue_frames=3)
        for k, (rgb, depth, tags, m) in enumerate(synthetic_frames(12, seed=2)):
            writer.write_frame(k, rgb, depth, tags, m, topdown_bgr=_topdown(k))
        writer.finish()
    finally:
        stop.set()
        watcher.join()
    assert seen == []
    assert checks[0] > 10
    assert verify_route(route) == []


_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from driving.collect.layout import RouteMeta, route_dir
    from driving.collect.writer import RouteWriter, synthetic_frames

    meta = RouteMeta(scenario="no_scenario", town="Town01", route="route_00", seed=0, weather="ClearNoon")
    writer = RouteWriter(route_dir(sys.argv[1], meta), meta, threaded=True, queue_frames=4)
    frames = list(synthetic_frames(8, seed=3))
    top = np.full((64, 64, 3), 90, np.uint8)
    for k in range(100000):
        rgb, depth, tags, m = frames[k % len(frames)]
        writer.write_frame(k, rgb, depth, tags, m, topdown_bgr=top)
""")


@pytest.mark.parametrize("after_frames", [1, 4, 9])
def test_sigkill_leaves_only_complete_frames_and_resume_continues(tmp_path: Path, after_frames: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    meta = _meta()
    route = route_dir(tmp_path, meta)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            if len(list((route / "measurements").glob("[0-9]*.json"))) >= after_frames:
                break
            time.sleep(0.002)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _frame_problems(route) == []
    complete = len(list((route / "measurements").glob("[0-9]*.json")))
    assert complete >= after_frames
    resumed = RouteWriter(route, meta, threaded=True)
    assert resumed.next_index == complete  # measurements exist exactly for a prefix of complete frames
    rgb, depth, tags, m = next(synthetic_frames(1, seed=4))
    resumed.write_frame(complete, rgb, depth, tags, m, topdown_bgr=np.zeros((64, 64, 3), np.uint8))
    resumed.finish()
    assert (route / MANIFEST_NAME).is_file()
    assert verify_route(route) == []
    assert read_manifest(route)["frame_count"] == complete + 1


def test_a_failing_write_on_the_thread_is_raised_and_stops_later_frames(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    real_encode = writer_module._encode_png

    def encode(path, image):
        if path.parent.name == "depth" and path.stem == "0002":
            raise OSError("disk full")
        return real_encode(path, image)

    monkeypatch.setattr(writer_module, "_encode_png", encode)
    meta = _meta()
    route = route_dir(tmp_path, meta)
    writer = RouteWriter(route, meta, threaded=True, queue_frames=8)
    frames = list(synthetic_frames(6, seed=5))
    for k in range(5):
        writer.write_frame(k, *frames[k])
    with pytest.raises(InputError, match="disk full"):
        writer.finish()
    assert writer.failed and writer.frames_on_disk == 2
    assert not (route / MANIFEST_NAME).exists()
    assert sorted(p.stem for p in (route / "measurements").glob("*.json")) == ["0000", "0001"]
    with pytest.raises(InputError, match="disk full"):
        writer.write_frame(5, *frames[5])
    assert RouteWriter(route, meta).next_index == 2


def test_fast_png_settings_decode_to_the_same_pixels(tmp_path: Path) -> None:
    """The collector's PNG settings (level 1, "Up" filter) against libpng's defaults (level 3,
    adaptive filters) and the previous level 1: other bytes, the same decoded pixels."""
    meta = _meta()
    route = _write(tmp_path, threaded=True, n_frames=3)
    rgb, depth, tags, _ = list(synthetic_frames(3, seed=1))[2]
    semantic = np.zeros(tags.shape + (3,), np.uint8)
    semantic[..., 2] = tags
    images = {"rgb": rgb, "depth": np.ascontiguousarray(depth[..., :3]), "semantics": semantic, "topdown": _topdown(2)}
    for name, img in images.items():
        stored = (route / name / "0002.png").read_bytes()
        assert stored == writer_module._encode_png(route / name / "0002.png", img)
        decoded = cv2.imdecode(np.frombuffer(stored, np.uint8), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(decoded, img), name
        for params in ([cv2.IMWRITE_PNG_COMPRESSION, 3], [cv2.IMWRITE_PNG_COMPRESSION, 1]):
            ok, other = cv2.imencode(".png", img, params)
            assert ok
            assert np.array_equal(cv2.imdecode(other, cv2.IMREAD_UNCHANGED), decoded), (name, params)
    assert meta.route == "route_00"
    # the writer drops alpha with cv2 (fast): the same bytes as numpy's slice
    assert depth.shape[2] == 4
    assert np.array_equal(writer_module._bgr(depth), depth[..., :3])
    assert writer_module._bgr(depth).flags.c_contiguous
