"""The on-disk dataset layout (TransFuser / LeTFuser compatible): folder names, manifest, routes.

One route is one folder `<root>/<scenario>/<town>/<route>/` holding, per saved frame NNNN:

- `rgb/NNNN.png`: the stitched front views, 960 x 160 BGR (three 320 x 160 views side by side,
  left / front / right, each ~60 degrees wide: cameras yawed -60 / 0 / +60 degrees).
- `depth/NNNN.png`: the same views in CARLA's depth encoding (BGR, 24 bits,
  depth_m = 1000 * (R + G*256 + B*65536) / (256^3 - 1), see `driving.image_codecs`).
- `semantics/NNNN.png`: CARLA 0.9.10 tags (`driving.tags.Tag`) in the R channel (BGR image,
  G = B = 0), as a CARLA semantic camera delivers them.
- `measurements/NNNN.json`: the ego state and the expert's labels. It is written LAST for a
  frame, so a frame is complete exactly when its measurements file exists.
- `topdown/NNNN.png` (optional, written by `driving collect`): a top-down label image, ego-up
  (the ego at the centre heading to the top), `TOPDOWN_SIZE_PX` square at `TOPDOWN_PX_PER_M`:
  road surfaces, lane markings, vehicles, pedestrians, traffic lights in their state, the route.
  Written before the measurements, so it belongs to a complete frame; listed in the manifest.
- `manifest.json`, written LAST for the route (after every frame): a route folder without it
  is incomplete and readers skip it.

Measurement conventions (TransFuser's field names; all positions in CARLA world coordinates,
metres, x east/forward, y south/right, left-handed as CARLA):

- `x`, `y`: ego position (world, metres). `theta`: compass heading in radians as CARLA's IMU
  reports it (0 = north = -y, clockwise positive), i.e. theta = yaw_rad + pi/2. A NaN theta
  (CARLA's IMU at spawn) is read as 0, as TransFuser does.
- `speed`, `target_speed`: m/s. `steer` [-1, 1], `throttle` [0, 1], `brake` [0, 1] (or bool):
  the expert's control as applied. `angle`: the expert's steering angle to its aim point
  (degrees / 90, TransFuser's normalised angle).
- `x_command`, `y_command`: the route target point (world, metres); `command`: its RoadOption
  1..6 (LEFT, RIGHT, STRAIGHT, LANEFOLLOW, CHANGELANELEFT, CHANGELANERIGHT; VOID -1 is read as
  LANEFOLLOW, as TransFuser does).
- `waypoints`: FUTURE ego positions [[x, y], ...] in world coordinates, one every
  `WAYPOINT_SPACING_S` = 0.5 s starting 0.5 s after this frame (the collector fills them in
  from the frames it recorded later). The reader converts them to the current ego frame
  (x forward, y right), as TransFuser converts future positions. Frames near the end of a
  route that hold fewer than the model's number of waypoints are not used as samples.
- `junction`, `vehicle_hazard`, `light_hazard`, `walker_hazard`, `stop_sign_hazard`: bools;
  `light_hazard` is the red-light label.
- `ego_matrix`: the ego transform as a 4 x 4 matrix (`carla.Transform.get_matrix()`).

Readers: `driving.collect.letfuser_reader` reads this layout; other layouts (TransFuser 2022's,
whose x, y, depth and tags differ) have their own reader behind `driving.collect.route_reader`.

Manifest fields beyond the frame list (`driving collect` writes them): `expert_failed` (true when
the expert's own drive had an infraction or did not complete: readers skip such routes unless
asked to include them), `expert` (status, driving score, infractions), `recovery` (whether
perturbation bursts were applied), `scenarios`, `every_ticks`.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driving.errors import InputError

RGB_DIR = "rgb"
DEPTH_DIR = "depth"
SEMANTICS_DIR = "semantics"
MEASUREMENTS_DIR = "measurements"
IMAGE_DIRS = (RGB_DIR, DEPTH_DIR, SEMANTICS_DIR)
TOPDOWN_DIR = "topdown"
#: Per-frame folders a route may have besides the required ones.
OPTIONAL_IMAGE_DIRS = (TOPDOWN_DIR,)
TOPDOWN_SIZE_PX = 256
TOPDOWN_PX_PER_M = 4.0
MANIFEST_NAME = "manifest.json"
#: Written when a route starts, so a resumed writer can check it continues the same route.
ROUTE_META_NAME = "route_meta.json"
MANIFEST_FORMAT_VERSION = 1
FRAME_DIGITS = 4
WAYPOINT_SPACING_S = 0.5
#: Stitched panorama size the collector writes: three 320 x 160 views, left / front / right.
PANORAMA_WIDTH_PX = 960
PANORAMA_HEIGHT_PX = 160
NUM_VIEWS = 3
VIEW_FOV_DEG = 60.0

REQUIRED_MEASUREMENT_KEYS = (
    "x", "y", "theta", "speed", "target_speed", "x_command", "y_command", "command", "waypoints",
    "steer", "throttle", "brake", "junction", "vehicle_hazard", "light_hazard", "walker_hazard",
    "stop_sign_hazard", "angle", "ego_matrix",
)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def frame_name(index: int) -> str:
    """Zero-padded frame stem, e.g. 7 -> '0007' (more digits past 9999, still sorting by length)."""
    if index < 0:
        raise InputError(f"frame index must be >= 0, got {index}")
    return f"{index:0{FRAME_DIGITS}d}"


def check_name(kind: str, name: str) -> str:
    """A scenario/town/route name must be one safe path component (no '/', no '..')."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InputError(f"{kind} name {name!r}: expected letters, digits, '_', '-', '.' (one folder name)")
    return name


@dataclass(frozen=True)
class RouteMeta:
    """What a route was recorded with; copied into the manifest.

    `frame_interval_s` is the simulated time between two saved frames (the simulator runs at
    20 Hz; saving every 10th frame gives 0.5 s).
    """

    scenario: str
    town: str
    route: str
    seed: int
    weather: str
    frame_interval_s: float = 0.5

    def __post_init__(self) -> None:
        check_name("scenario", self.scenario)
        check_name("town", self.town)
        check_name("route", self.route)
        if self.frame_interval_s <= 0:
            raise InputError(f"frame_interval_s must be > 0 seconds, got {self.frame_interval_s}")

    def to_json(self) -> dict:
        return {"scenario": self.scenario, "map": self.town, "route": self.route, "seed": self.seed,
                "weather": self.weather, "frame_interval_s": self.frame_interval_s}


def route_dir(root: str | Path, meta: RouteMeta) -> Path:
    """`<root>/<scenario>/<town>/<route>` for a route."""
    return Path(root) / meta.scenario / meta.town / meta.route


def is_route_dir(path: Path) -> bool:
    return (path / MEASUREMENTS_DIR).is_dir()


def find_route_dirs(root: str | Path) -> tuple[list[Path], list[Path]]:
    """(complete, incomplete) route folders under `root`, sorted; a route is complete with a manifest.

    Paths are absolute, so that they mean the same folder whoever receives them (LeTFuserDataset
    reads a relative route as relative to its root).
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: dataset folder does not exist")
    routes = sorted({p.parent for p in root.resolve().rglob(MEASUREMENTS_DIR) if p.is_dir()})
    complete = [r for r in routes if (r / MANIFEST_NAME).is_file()]
    incomplete = [r for r in routes if not (r / MANIFEST_NAME).is_file()]
    return complete, incomplete


def town_of(route: Path) -> str:
    """The town folder a route sits in (`<scenario>/<town>/<route>`)."""
    return route.parent.name


def read_json(path: Path, what: str) -> Any:
    """The JSON document at `path`; an unreadable or malformed file is one InputError naming it and `what`."""
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: {what} is not valid JSON ({exc})") from None


def read_manifest(route: Path) -> dict:
    """The manifest of a complete route, checked for the fields readers rely on."""
    path = route / MANIFEST_NAME
    data = read_json(path, "manifest")
    if not isinstance(data, dict):
        raise InputError(f"{path}: manifest must be a JSON object")
    for key, kind in (("frame_count", int), ("files", dict), ("format_version", int)):
        if not isinstance(data.get(key), kind):
            raise InputError(f"{path}: field '{key}' missing or not a {kind.__name__}")
    if data["format_version"] > MANIFEST_FORMAT_VERSION:
        raise InputError(f"{path}: format_version {data['format_version']} is newer than this reader "
                         f"({MANIFEST_FORMAT_VERSION})")
    return data


def frame_paths(route: Path, index: int) -> dict[str, Path]:
    """Paths of one frame's four files, keyed by folder name."""
    stem = frame_name(index)
    paths = {d: route / d / f"{stem}.png" for d in IMAGE_DIRS}
    paths[MEASUREMENTS_DIR] = route / MEASUREMENTS_DIR / f"{stem}.json"
    return paths


def optional_frame_paths(route: Path, index: int) -> dict[str, Path]:
    """Paths of one frame's optional files (e.g. `topdown/NNNN.png`) that exist, keyed by folder name."""
    stem = frame_name(index)
    paths = {d: route / d / f"{stem}.png" for d in OPTIONAL_IMAGE_DIRS}
    return {d: p for d, p in paths.items() if p.is_file()}


def expert_failed(manifest: dict) -> bool:
    """Whether a route's manifest flags the expert's drive as failed (readers skip it by default)."""
    return bool(manifest.get("expert_failed", False))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_route(route: Path) -> list[str]:
    """Problems of a complete route against its manifest (missing, changed or extra frame files).

    For copying or archiving datasets: an empty list means every file is as it was recorded.
    """
    manifest = read_manifest(route)
    problems = []
    expected = manifest["files"]
    for rel, digest in sorted(expected.items()):
        path = route / rel
        if not path.is_file():
            problems.append(f"{path}: missing (listed in {MANIFEST_NAME})")
        elif sha256_file(path) != digest:
            problems.append(f"{path}: sha256 differs from {MANIFEST_NAME}")
    for d in (*IMAGE_DIRS, *OPTIONAL_IMAGE_DIRS, MEASUREMENTS_DIR):
        for path in sorted((route / d).glob("*")):
            if path.relative_to(route).as_posix() not in expected:
                problems.append(f"{path}: not listed in {MANIFEST_NAME}")
    frames = {Path(rel).stem for rel in expected if rel.startswith(MEASUREMENTS_DIR + "/")}
    if len(frames) != manifest["frame_count"]:
        problems.append(f"{route / MANIFEST_NAME}: frame_count {manifest['frame_count']} but {len(frames)} "
                        f"measurement files listed")
    return problems
