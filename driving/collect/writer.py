"""Write one route folder atomically and resumably (layout in `driving.collect.layout`).

Every file goes to a temporary name in its folder and is renamed into place, so a crash never
leaves a half-written PNG or JSON. Within a frame the measurements JSON is written last, and
within a route the manifest is written last: a restarted writer finds the complete frames
0..N-1 (measurements present and every image present), removes leftovers of frame N, and
continues at N. A route with a manifest is finished and refuses new frames.
Frame files are not fsynced one by one on the caller's thread (that cost more than the PNG
encoding); `finish` makes them all durable before writing the manifest, so after a power loss (unlike a
process crash) only sealed routes are guaranteed intact: `driving collect` drives unsealed routes
again from the start.

`RouteWriter(..., threaded=True)` (the collector's choice) encodes and writes frames on one
background thread (cv2.imencode and file I/O release the GIL, so this overlaps the simulation)
fed through a bounded queue. The thread writes a frame's images, then its measurements, in frame
order, so on disk the guarantees above hold at every instant: when `measurements/NNNN.json`
exists, every image of frame NNNN is complete. It keeps each file's sha256, so `finish` only
waits for the queue to drain, makes every file durable with one `os.sync()` (Linux's waits for
the writes; elsewhere each file is fsynced) and writes the manifest. Five fsyncs per frame on the
thread cost 10-35 ms of disk wait each frame on a virtual disk, and with two workers sharing it the
bounded queue filled and held the simulation. A frame queued but not yet written when the
process dies is simply absent (like a crash before `write_frame`). A write that fails on the
thread is raised by the next `write_frame`, `finish` or `close`, and no later frame is written.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import queue
import sys
import threading
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from driving.atomic_io import atomic_write_bytes, is_temp_file
from driving.collect.layout import (
    DEPTH_DIR,
    IMAGE_DIRS,
    MANIFEST_FORMAT_VERSION,
    MANIFEST_NAME,
    MEASUREMENTS_DIR,
    OPTIONAL_IMAGE_DIRS,
    REQUIRED_MEASUREMENT_KEYS,
    RGB_DIR,
    ROUTE_META_NAME,
    SEMANTICS_DIR,
    TOPDOWN_DIR,
    RouteMeta,
    frame_paths,
    optional_frame_paths,
    read_json,
    route_dir,
    sha256_file,
)
from driving.errors import InputError
from driving.tags import NUM_TAGS

#: Fast PNGs: the collector writes while it drives. zlib level 1, and every row filtered with "Up"
#: instead of libpng's adaptive choice among all five filters per row (which costs more than the
#: deflate itself): measured on collected frames (960x160 camera panoramas, 256 px top-down), PNG
#: encoding per frame (4 images) takes 3.6 ms of CPU instead of 9.1 ms, files are 7% larger
#: (78 KB instead of 72 KB per frame). PNG is lossless: decoded pixels are the same either way.
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, indent=1, default=_json_default).encode()


def write_json_atomic(path: Path, data: Any, fsync: bool = True) -> None:
    atomic_write_bytes(path, _json_bytes(data), fsync=fsync)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_filesystems() -> bool:
    """Flush every written file to disk at once; False where `sync` may return before the writes
    are done (only Linux's waits for them), and the caller fsyncs file by file instead."""
    if not sys.platform.startswith("linux"):
        return False
    os.sync()
    return True


def _sha256_fsynced(path: Path) -> str:
    """sha256 of a file, which is fsynced first (frame files are written without fsync, see finish)."""
    _fsync(path)
    return sha256_file(path)


def _bgr(image: np.ndarray) -> np.ndarray:
    """A contiguous image without its alpha channel (BGRA -> BGR by cv2: ~50x faster than numpy's
    strided copy of `image[..., :3]`, the same bytes)."""
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(image)


def _encode_png(path: Path, image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image, _PNG_PARAMS)
    if not ok:
        raise InputError(f"{path}: PNG encoding failed for image {image.dtype} {image.shape}")
    return buf.tobytes()


def _check_measurements(where: str, m: dict) -> None:
    missing = [k for k in REQUIRED_MEASUREMENT_KEYS if k not in m]
    if missing:
        raise InputError(f"{where}: measurements miss key(s) {missing}")
    for key in ("x", "y", "speed", "target_speed", "x_command", "y_command", "steer", "throttle", "angle"):
        v = m[key]
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not math.isfinite(float(v)):
            raise InputError(f"{where}: measurements field '{key}' must be a finite number, got {v!r}")
    brake = m["brake"]  # a float in [0, 1], or a bool as some TransFuser datasets store it
    if not isinstance(brake, (bool, int, float, np.number)) or not math.isfinite(float(brake)):
        raise InputError(f"{where}: measurements field 'brake' must be a finite number or a bool, got {brake!r}")
    if not isinstance(m["command"], (int, np.integer)) or int(m["command"]) not in (-1, 1, 2, 3, 4, 5, 6):
        raise InputError(f"{where}: measurements field 'command' must be a RoadOption 1..6 (or -1), "
                         f"got {m['command']!r}")
    try:
        wps = np.asarray(m["waypoints"], dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{where}: measurements field 'waypoints' must be a list of [x, y] pairs") from None
    if wps.size and (wps.ndim != 2 or wps.shape[1] != 2):
        raise InputError(f"{where}: measurements field 'waypoints' must be a list of [x, y], got shape {wps.shape}")
    if np.asarray(m["ego_matrix"], dtype=np.float64).shape != (4, 4):
        raise InputError(f"{where}: measurements field 'ego_matrix' must be 4 x 4")


def _frame_complete(route: Path, index: int) -> bool:
    return all(p.is_file() for p in frame_paths(route, index).values())


#: One frame to store: (path, image) pairs written in order, then the measurements (path, dict) last.
_FrameJob = typing.Tuple[typing.List[typing.Tuple[Path, np.ndarray]], typing.Tuple[Path, dict]]
#: Frames the background thread may hold in its queue before `write_frame` waits (about 1.5 MB each).
WRITE_QUEUE_FRAMES = 8


class RouteWriter:
    """Writes frames of one route into `route_dir`; `finish()` seals it with the manifest.

    Frames must arrive in order: `next_index` is the index the next `write_frame` expects
    (after a restart, the number of frames already complete on disk).
    """

    def __init__(self, route_dir: str | Path, meta: RouteMeta, threaded: bool = False,
                 queue_frames: int = WRITE_QUEUE_FRAMES) -> None:
        self.route_dir = Path(route_dir)
        self.meta = meta
        #: sha256 of the files this writer wrote (route-relative path -> hex), and whether it fsynced them.
        self._hashes: dict[str, str] = {}
        self._synced: set[str] = set()
        self._error: BaseException | None = None
        self._queue: queue.Queue[_FrameJob | None] | None = None
        self._thread: threading.Thread | None = None
        if threaded:
            self._queue = queue.Queue(maxsize=max(1, queue_frames))
            self._thread = threading.Thread(target=self._run_queue, name=f"RouteWriter {self.route_dir.name}",
                                            daemon=True)
        for d in (*IMAGE_DIRS, MEASUREMENTS_DIR):
            (self.route_dir / d).mkdir(parents=True, exist_ok=True)
        meta_path = self.route_dir / ROUTE_META_NAME
        if meta_path.is_file():
            previous = read_json(meta_path, "route metadata")
            if previous != meta.to_json():
                raise InputError(f"{meta_path}: route was started with {previous}, cannot resume it "
                                 f"with {meta.to_json()}")
        else:
            write_json_atomic(meta_path, meta.to_json())
        self.finished = (self.route_dir / MANIFEST_NAME).is_file()
        self.next_index = 0
        while _frame_complete(self.route_dir, self.next_index):
            self.next_index += 1
        if not self.finished:
            self._remove_leftovers()
        if self._thread is not None:
            self._thread.start()

    # ---- storing frames (on the caller's thread, or on the background thread) -------------------
    def _store(self, job: _FrameJob, fsync: bool) -> None:
        """Encode and write one frame: its images (each atomically), then its measurements."""
        images, (m_path, measurements) = job
        for path, image in images:
            self._put(path, _encode_png(path, _bgr(image)), fsync)
        # last: marks the frame complete (its images are renamed into place before this file exists).
        self._put(m_path, _json_bytes(measurements), fsync)

    def _put(self, path: Path, data: bytes, fsync: bool) -> None:
        atomic_write_bytes(path, data, fsync=fsync)
        key = path.relative_to(self.route_dir).as_posix()
        self._hashes[key] = hashlib.sha256(data).hexdigest()
        if fsync:
            self._synced.add(key)

    def _run_queue(self) -> None:
        assert self._queue is not None
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                if self._error is None:  # after a failure no later frame is written (frames stay a prefix)
                    self._store(job, fsync=False)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                self._error = exc
            finally:
                self._queue.task_done()

    @property
    def failed(self) -> bool:
        """Whether a frame failed on the background thread (no later frame is written)."""
        return self._error is not None

    @property
    def frames_on_disk(self) -> int:
        """Complete frames on disk now (the threaded writer may still hold later ones in its queue)."""
        n = 0
        while _frame_complete(self.route_dir, n):
            n += 1
        return n

    def _raise_error(self) -> None:
        if self._error is not None:
            raise InputError(f"{self.route_dir}: writing a frame failed: {type(self._error).__name__}: "
                             f"{self._error}") from self._error

    def drain(self) -> None:
        """Wait until every frame handed to `write_frame` is on disk (threaded writer; else a no-op);
        raises the background thread's error, if any."""
        if self._queue is not None and self._thread is not None and self._thread.is_alive():
            self._queue.join()
        self._raise_error()

    def close(self) -> None:
        """Write the queued frames and stop the background thread (idempotent; `finish` calls it).
        Raises the background thread's error, if any."""
        if self._thread is not None:
            if self._thread.is_alive():
                assert self._queue is not None
                self._queue.put(None)
                self._thread.join()
            self._thread = None
        self._raise_error()

    def _remove_leftovers(self) -> None:
        """Drop temp files and the partial files of frames >= next_index (a crash mid-frame)."""
        for d in (*IMAGE_DIRS, *OPTIONAL_IMAGE_DIRS, MEASUREMENTS_DIR):
            if not (self.route_dir / d).is_dir():
                continue
            for p in (self.route_dir / d).iterdir():
                stale = is_temp_file(p)
                if not stale and p.stem.isdigit():
                    stale = int(p.stem) >= self.next_index
                if stale:
                    p.unlink()

    def write_frame(self, index: int, rgb_bgr: np.ndarray, depth_bgra: np.ndarray,
                    semantic_tags: np.ndarray, measurements: dict, topdown_bgr: np.ndarray | None = None) -> None:
        """Write frame `index`: BGR(A) uint8 image, CARLA depth BGR(A), H x W tags, measurements dict,
        and optionally a top-down label image (BGR uint8, `topdown/NNNN.png`)."""
        where = f"{self.route_dir} frame {index}"
        if self.finished:
            raise InputError(f"{self.route_dir}: route is finished ({MANIFEST_NAME} exists); no more frames")
        if index != self.next_index:
            raise InputError(f"{where}: expected frame {self.next_index} next (frames are written in order; "
                             f"0..{self.next_index - 1} are complete)")
        rgb = np.asarray(rgb_bgr)
        depth = np.asarray(depth_bgra)
        tags = np.asarray(semantic_tags)
        for name, img in (("rgb", rgb), ("depth", depth)):
            if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (3, 4):
                raise InputError(f"{where}: {name} must be H x W x 3/4 uint8, got {img.dtype} {img.shape}")
        if tags.ndim == 3:  # a CARLA semantic image: tag in R
            tags = tags[..., 2]
        if tags.dtype != np.uint8 or tags.ndim != 2:
            raise InputError(f"{where}: semantic tags must be H x W uint8, got {tags.dtype} {tags.shape}")
        if not (rgb.shape[:2] == depth.shape[:2] == tags.shape):
            raise InputError(f"{where}: image sizes differ: rgb {rgb.shape[:2]}, depth {depth.shape[:2]}, "
                             f"semantics {tags.shape}")
        if tags.size and int(tags.max()) >= NUM_TAGS:
            raise InputError(f"{where}: semantic tag {int(tags.max())} >= {NUM_TAGS}")
        if not isinstance(measurements, dict):
            raise InputError(f"{where}: measurements must be a dict")
        _check_measurements(where, measurements)
        if topdown_bgr is not None:
            topdown = np.asarray(topdown_bgr)
            if topdown.dtype != np.uint8 or topdown.ndim != 3 or topdown.shape[2] != 3:
                raise InputError(f"{where}: topdown must be H x W x 3 uint8, got {topdown.dtype} {topdown.shape}")

        self._raise_error()

        paths = frame_paths(self.route_dir, index)
        semantic = np.zeros(tags.shape + (3,), dtype=np.uint8)
        semantic[..., 2] = tags
        images = [(paths[RGB_DIR], rgb), (paths[DEPTH_DIR], depth), (paths[SEMANTICS_DIR], semantic)]  # BGR(A)
        if topdown_bgr is not None:
            path = self.route_dir / TOPDOWN_DIR / paths[RGB_DIR].name
            path.parent.mkdir(exist_ok=True)
            images.append((path, topdown))
        job = (images, (paths[MEASUREMENTS_DIR], measurements))
        if self._queue is not None and self._thread is not None:
            # The thread owns the arrays and the dict from here (the collector hands over fresh ones).
            self._queue.put(job)
        else:
            # No fsync per file here (5 per frame cost more than encoding): `finish` fsyncs every
            # file before the manifest, so a sealed route is durable.
            self._store(job, fsync=False)
        self.next_index += 1

    def finish(self, extra: dict[str, Any] | None = None) -> Path:
        """Write the manifest (frame count, metadata, sha256 of every file, plus the `extra` fields,
        which may not replace those); returns its path."""
        path = self.route_dir / MANIFEST_NAME
        if self.finished:
            return path
        self.close()  # the manifest waits for every queued frame
        if self.next_index == 0:
            raise InputError(f"{self.route_dir}: cannot finish a route without frames")
        synced_all = _sync_filesystems()
        files = {}
        for index in range(self.next_index):
            for p in (*frame_paths(self.route_dir, index).values(),
                      *optional_frame_paths(self.route_dir, index).values()):
                key = p.relative_to(self.route_dir).as_posix()
                if key in self._synced or (synced_all and key in self._hashes):
                    files[key] = self._hashes[key]
                elif key in self._hashes:
                    _fsync(p)
                    files[key] = self._hashes[key]
                else:  # written before a restart
                    files[key] = _sha256_fsynced(p)
        manifest = {"format_version": MANIFEST_FORMAT_VERSION, "frame_count": self.next_index,
                    **self.meta.to_json(), "files": files}
        clash = sorted(set(extra or {}) & set(manifest))
        if clash:
            raise InputError(f"{path}: extra manifest fields {clash} would replace the writer's own")
        manifest.update(extra or {})
        write_json_atomic(path, manifest)
        self.finished = True
        return path


def synthetic_frames(n_frames: int, seed: int = 0, height: int = 160, width: int = 960,
                     frame_interval_s: float = 0.5,
                     n_future: int = 4) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, dict]]:
    """Yield (rgb_bgr, depth_bgra, tags, measurements) for a plausible synthetic drive.

    For tests, benchmarks and smoke runs of the training pipeline without a simulator: the ego
    follows an arc at constant speed; waypoints are its true future positions; the images are
    a ground plane (road ahead, sidewalk aside, sky above) with a car and, on red-light frames,
    a traffic light, in a consistent CARLA depth encoding. Frames near the end get fewer than
    `n_future` waypoints, as a real route's last frames do.
    """
    from driving.image_codecs import encode_depth_bgra
    from driving.tags import PALETTE_ARRAY, Tag

    rng = np.random.default_rng(seed)
    speed = float(rng.uniform(3.0, 8.0))
    yaw_rate = float(rng.uniform(-0.15, 0.15))  # rad/s
    yaw0, x0, y0 = float(rng.uniform(-math.pi, math.pi)), float(rng.uniform(-50, 50)), float(rng.uniform(-50, 50))
    t = np.arange(n_frames + n_future) * frame_interval_s
    yaw = yaw0 + yaw_rate * t
    xs = x0 + np.cumsum(speed * frame_interval_s * np.cos(yaw)) - speed * frame_interval_s * math.cos(yaw0)
    ys = y0 + np.cumsum(speed * frame_interval_s * np.sin(yaw)) - speed * frame_interval_s * math.sin(yaw0)
    rows = np.arange(height, dtype=np.float64)[:, None]
    cols = np.arange(width, dtype=np.float64)[None, :]
    horizon = height / 2
    focal = (width / 3) / (2 * math.tan(math.radians(30)))  # a 60 deg view per third
    ground_m = np.where(rows > horizon, 2.3 * focal / np.maximum(rows - horizon, 1e-6), np.inf)
    for k in range(n_frames):
        red = bool(k % 3 == 0)
        tags = np.full((height, width), int(Tag.SKY), dtype=np.uint8)
        below = np.broadcast_to(rows > horizon, tags.shape)
        half_road = (rows - horizon) * 1.6 + 4
        road = below & (np.abs(cols - width / 2 - 40 * math.sin(yaw_rate * 10 + k * 0.3)) < half_road)
        tags[below] = int(Tag.SIDEWALK)
        tags[road] = int(Tag.ROAD)
        depth = np.broadcast_to(ground_m, tags.shape).copy()
        car_x = int(width / 2 + 60 * math.sin(k * 0.7 + seed))
        tags[int(horizon) + 4:int(horizon) + 24, car_x - 20:car_x + 20] = int(Tag.VEHICLES)
        depth[int(horizon) + 4:int(horizon) + 24, car_x - 20:car_x + 20] = 15.0 + 3 * math.cos(k)
        if red:
            tags[10:40, width // 2 + 100:width // 2 + 112] = int(Tag.TRAFFIC_LIGHT)
            depth[10:40, width // 2 + 100:width // 2 + 112] = 25.0
        rgb = PALETTE_ARRAY[tags][..., ::-1].astype(np.int16) + rng.integers(-12, 13, size=(height, width, 3))
        if red:
            rgb[12:20, width // 2 + 102:width // 2 + 110] = (0, 0, 255)
        future = np.stack([xs[k + 1:k + 1 + n_future], ys[k + 1:k + 1 + n_future]], axis=1)
        future = future[: max(0, min(n_future, n_frames - 1 - k))]  # only frames that were recorded
        theta = float(yaw[k] + math.pi / 2)
        c, s = math.cos(yaw[k]), math.sin(yaw[k])
        ego_matrix = [[c, -s, 0.0, float(xs[k])], [s, c, 0.0, float(ys[k])], [0.0, 0.0, 1.0, 0.0],
                      [0.0, 0.0, 0.0, 1.0]]
        measurements = {
            "x": float(xs[k]), "y": float(ys[k]), "theta": theta, "speed": speed,
            "target_speed": 0.0 if red else speed,
            "x_command": float(xs[k] + 30 * c), "y_command": float(ys[k] + 30 * s),
            "command": 4 if abs(yaw_rate) < 0.05 else (1 if yaw_rate < 0 else 2),
            "waypoints": future.tolist(), "steer": float(np.clip(yaw_rate * 4, -1, 1)),
            "throttle": 0.0 if red else 0.6, "brake": 1.0 if red else 0.0, "junction": False,
            "vehicle_hazard": False, "light_hazard": red, "walker_hazard": False, "stop_sign_hazard": False,
            "angle": float(yaw_rate * 0.5), "ego_matrix": ego_matrix,
        }
        yield (np.clip(rgb, 0, 255).astype(np.uint8), encode_depth_bgra(depth), tags, measurements)


def write_synthetic_dataset(root: str | Path, n_routes: int = 2, n_frames: int = 8) -> Path:
    """Write `n_routes` complete synthetic routes (`synthetic_frames`, seeds 0..n-1) under `root`.

    A real on-disk dataset in the project's layout for tests and smoke runs of `driving train`.
    """
    root = Path(root)
    for r in range(n_routes):
        meta = RouteMeta("no_scenario", "Town01", f"route_{r:02d}", seed=r, weather="ClearNoon")
        writer = RouteWriter(route_dir(root, meta), meta)
        for k, frame in enumerate(synthetic_frames(n_frames, seed=r)):
            writer.write_frame(k, *frame)
        writer.finish()
    return root
