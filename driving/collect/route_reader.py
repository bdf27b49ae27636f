"""One protocol for "a route folder reader": every on-disk layout a dataset may hold is one
`RouteReader` subclass, registered by name; `open_route` picks, per folder, the one that claims it.

Readers hand out frames in this project's conventions (`driving.collect.layout`): positions in
CARLA world metres, compass heading in radians, RoadOption commands 1..6, images as BGR uint8,
depth normalised to [0, 1] (1 = 1000 m) and semantic tags in CARLA 0.9.10's set (`driving.tags`),
whatever the folder stores. So the dataset, the training split and the dataset tools never
look at a layout's quirks.

Layouts today (implementations beside this module, imported by `known_readers`):

- `letfuser` (`driving.collect.letfuser_reader`): ours, a route folder with `manifest.json`
  (complete) or only `route_meta.json` (still being written: incomplete, skipped).
- `transfuser2022` (`driving.collect.transfuser_layout`): autonomousvision/transfuser's 2022
  data agent, no manifest, its own folder set.

A folder no reader claims, or that two layouts both claim, is one `InputError` naming it.
"""
from __future__ import annotations

import enum
import importlib
import json
import math
import typing
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from driving.errors import InputError

MEASUREMENTS_DIR = "measurements"
NUM_COMMANDS = 6
LANEFOLLOW = 4
#: RoadOption values as TransFuser stores them (VOID = -1 is read as LANEFOLLOW).
COMMAND_NAMES = {1: "LEFT", 2: "RIGHT", 3: "STRAIGHT", 4: "LANEFOLLOW", 5: "CHANGELANELEFT", 6: "CHANGELANERIGHT"}
#: Two frame intervals closer than this are the same (JSON round trips of 0.5 etc. are exact anyway).
INTERVAL_TOLERANCE_S = 1e-6

_BUILTIN_MODULES = ("driving.collect.letfuser_reader", "driving.collect.transfuser_layout")
_REGISTRY: dict[str, type[RouteReader]] = {}


class Claim(enum.Enum):
    """What a layout says about a folder."""

    NO = "no"
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"  # this layout, but still being written: skipped with a warning


@dataclass(frozen=True)
class FrameRecord:
    """One frame's measurements in our conventions: CARLA world metres, compass radians (NaN read as 0).

    `target_x`/`target_y`: the route target point (world); `command` 1..6; `brake` in [0, 1]
    (a stored bool becomes 0/1); `red_light` is the expert's `light_hazard` as 0/1.
    """

    index: int
    x: float
    y: float
    theta: float
    speed: float
    target_x: float
    target_y: float
    command: int
    steer: float
    throttle: float
    brake: float
    red_light: float


PositionTransform = typing.Callable[[float, float], typing.Tuple[float, float]]


def _identity(x: float, y: float) -> tuple[float, float]:
    return x, y


def parse_measurements(path: Path, m: Any, index: int, to_world: PositionTransform = _identity) -> FrameRecord:
    """A TransFuser-named measurements dict -> FrameRecord; `to_world` maps its stored x, y to CARLA world."""
    if not isinstance(m, dict):
        raise InputError(f"{path}: measurements must be a JSON object")
    try:
        x, y = to_world(float(m["x"]), float(m["y"]))
        tx, ty = to_world(float(m["x_command"]), float(m["y_command"]))
        theta = float(m["theta"])
        command = int(m["command"])
        steer, throttle, brake = float(m["steer"]), float(m["throttle"]), float(m["brake"])
        speed = float(m["speed"])
        red = float(m["light_hazard"])
    except KeyError as exc:
        raise InputError(f"{path}: measurements miss field {exc}") from None
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: malformed measurements ({exc})") from None
    if command == -1:
        command = LANEFOLLOW
    if not 1 <= command <= NUM_COMMANDS:
        raise InputError(f"{path}: field 'command' must be 1..6, got {command}")
    return FrameRecord(index, x, y, 0.0 if math.isnan(theta) else theta, speed, tx, ty, command,
                       0.0 if math.isnan(steer) else steer, throttle, brake, red)


def read_json_file(path: Path, what: str) -> Any:
    """The JSON at `path`; an unreadable or malformed file is one InputError naming it and `what`."""
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: {what} is not valid JSON ({exc})") from None


def imread(path: Path, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    img = cv2.imread(str(path), flags)
    if img is None:
        raise InputError(f"{path}: missing or not a decodable image")
    return img


def file_problem(path: Path) -> str | None:
    """Why `path` cannot be used ('missing', 'unreadable', truncated PNG/JSON), or None when it decodes."""
    if not path.is_file():
        return f"{path}: missing"
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"{path}: unreadable ({exc.strerror or exc})"
    if path.suffix == ".png":
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
        if img is None:
            return f"{path}: truncated or corrupt PNG (does not decode)"
    elif path.suffix == ".json":
        try:
            json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return f"{path}: truncated or invalid JSON ({exc})"
    return None


class RouteReader(ABC):
    """Reads one route folder of one layout. Subclasses set `layout` (registry name) and `describe`.

    Construction is cheap (no frame is read); measurements are read once, on first use, and
    checked then (a corrupt JSON is an InputError naming its file).
    """

    layout: ClassVar[str]
    describe: ClassVar[str]  # what a folder of this layout looks like, for error messages

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for attr in ("layout", "describe"):
            if not isinstance(getattr(cls, attr, None), str):
                raise TypeError(f"{cls.__name__}: RouteReader subclasses must set class attribute '{attr}'")

    def __init__(self, route: str | Path) -> None:
        self.route = Path(route)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.route)!r})"

    @classmethod
    @abstractmethod
    def claim(cls, route: Path) -> Claim:
        """Whether `route` (a folder holding measurements/) is in this layout, and complete."""

    @property
    @abstractmethod
    def frame_interval_s(self) -> float:
        """Simulated seconds between two saved frames."""

    @property
    def expert_failed(self) -> bool:
        """Whether the route is flagged as a failed expert drive that training skips by default
        (layouts that record no such flag: never)."""
        return False

    @property
    @abstractmethod
    def town(self) -> str:
        """The town (map) the route was driven in, e.g. 'Town05'."""

    @abstractmethod
    def frame_indices(self) -> list[int]:
        """Indices of the route's usable frames, in time order."""

    @abstractmethod
    def frame(self, index: int) -> FrameRecord:
        """Measurements of frame `index` in our conventions."""

    @abstractmethod
    def future_positions(self, index: int, count: int) -> np.ndarray:
        """Up to `count` driven future ego positions (world, metres), one per waypoint interval after `index`."""

    @abstractmethod
    def read_rgb(self, index: int) -> np.ndarray:
        """The stitched panorama, H x W x 3 BGR uint8."""

    @abstractmethod
    def read_depth(self, index: int) -> np.ndarray:
        """Depth of the panorama in [0, 1] (1 = 1000 m), H x W float32."""

    @abstractmethod
    def read_tags(self, index: int) -> np.ndarray:
        """Semantic tags of the panorama in CARLA 0.9.10's set (`driving.tags.Tag`), H x W uint8."""

    @abstractmethod
    def files(self) -> list[Path]:
        """Every file the route's frames consist of, as the layout expects them (present or not)."""

    def frames(self) -> list[FrameRecord]:
        return [self.frame(i) for i in self.frame_indices()]

    def problems(self) -> list[str]:
        """Missing, unreadable, truncated files, one line each naming the path (for `driving dataset check`)."""
        return [p for p in (file_problem(f) for f in self.files()) if p]


def register_reader(cls: type[RouteReader]) -> type[RouteReader]:
    """Class decorator: make a layout known to `open_route` under `cls.layout`."""
    if cls.layout in _REGISTRY and _REGISTRY[cls.layout] is not cls:
        raise TypeError(f"route layout {cls.layout!r} registered twice ({_REGISTRY[cls.layout].__name__}, "
                        f"{cls.__name__})")
    _REGISTRY[cls.layout] = cls
    return cls


def known_readers() -> dict[str, type[RouteReader]]:
    """Registered layouts by name (the built-in ones are imported on first call)."""
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    return dict(_REGISTRY)


def classify(route: str | Path) -> type[RouteReader] | None:
    """The reader class for a route folder, None when it is an incomplete route (skip it).

    InputError naming the folder when no layout claims it, or when two do.
    """
    route = Path(route)
    claims = {cls: cls.claim(route) for cls in known_readers().values()}
    claimed = [cls for cls, c in claims.items() if c is not Claim.NO]
    if len(claimed) > 1:
        said = ", ".join(f"{cls.layout} ({claims[cls].value})" for cls in claimed)
        raise InputError(f"{route}: ambiguous route folder, it matches several layouts: {said}; "
                         f"keep only the files of one ({'; '.join(cls.describe for cls in claimed)})")
    if not claimed:
        present = sorted(p.name + ("/" if p.is_dir() else "") for p in route.iterdir()) if route.is_dir() else []
        raise InputError(f"{route}: unknown route layout (holds {', '.join(present) or 'nothing'}); expected "
                         + " or ".join(cls.describe for cls in known_readers().values()))
    cls = claimed[0]
    return cls if claims[cls] is Claim.COMPLETE else None


def open_route(route: str | Path) -> RouteReader:
    """The reader of a complete route folder; InputError naming the folder otherwise."""
    route = Path(route)
    if not (route / MEASUREMENTS_DIR).is_dir():
        raise InputError(f"{route}: not a route folder (no {MEASUREMENTS_DIR}/)")
    cls = classify(route)
    if cls is None:
        raise InputError(f"{route}: route incomplete (still being written, or its writer crashed)")
    return cls(route)


def route_folders(root: str | Path) -> list[Path]:
    """Every folder under `root` holding a measurements/ folder, absolute and sorted."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: dataset folder does not exist")
    return sorted({p.parent for p in root.resolve().rglob(MEASUREMENTS_DIR) if p.is_dir()})


def discover_routes(root: str | Path) -> tuple[list[RouteReader], list[Path]]:
    """(readers of the complete routes, incomplete route folders) under `root`, sorted by path.

    Each folder's layout is decided on its own, so a root may mix layouts.
    """
    readers, incomplete = [], []
    for route in route_folders(root):
        cls = classify(route)
        if cls is None:
            incomplete.append(route)
        else:
            readers.append(cls(route))
    return readers, incomplete


def check_frame_interval(readers: Sequence[RouteReader], waypoint_interval_s: float, source: str = "") -> None:
    """InputError naming the first route whose frames are not `waypoint_interval_s` apart
    (`source`: where that number comes from, e.g. the model config file, named in the message).

    Waypoint labels are the positions of the next frames, so a model predicting waypoints
    0.5 s apart must train on frames saved 0.5 s apart.
    """
    where = f" ({source})" if source else ""
    for reader in readers:
        interval = reader.frame_interval_s
        if abs(interval - waypoint_interval_s) > INTERVAL_TOLERANCE_S:
            raise InputError(f"{reader.route}: frames are {interval:g} s apart ({reader.layout} layout) but the "
                             f"model's waypoint_interval_s is {waypoint_interval_s:g} s{where}; train on data saved "
                             f"at the model's waypoint interval or change waypoint_interval_s")
