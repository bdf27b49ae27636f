"""Reader of this project's own route folders (layout and conventions in `driving.collect.layout`).

A folder is ours when it holds `manifest.json` (complete) or `route_meta.json` without a
manifest (the writer started it and has not finished: incomplete). Frames are the manifest's
`frame_count`; the frame interval is the manifest's `frame_interval_s` (0.5 s when absent, the
RouteMeta default); waypoint labels are each frame's own `waypoints` field (world positions).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from driving.collect.layout import (
    DEPTH_DIR,
    MANIFEST_NAME,
    MEASUREMENTS_DIR,
    RGB_DIR,
    ROUTE_META_NAME,
    SEMANTICS_DIR,
    expert_failed,
    frame_paths,
    read_manifest,
    town_of,
    verify_route,
)
from driving.collect.route_reader import (
    Claim,
    FrameRecord,
    RouteReader,
    file_problem,
    imread,
    parse_measurements,
    read_json_file,
    register_reader,
)
from driving.errors import InputError
from driving.image_codecs import decode_depth_normalized, tags_from_semantic

#: RouteMeta's default, for manifests written before the field existed.
DEFAULT_FRAME_INTERVAL_S = 0.5


@register_reader
class LeTFuserRouteReader(RouteReader):
    layout = "letfuser"
    describe = (f"a LeTFuser route ({MANIFEST_NAME}, or {ROUTE_META_NAME} while being written, beside "
                f"{RGB_DIR}/ {DEPTH_DIR}/ {SEMANTICS_DIR}/ {MEASUREMENTS_DIR}/)")

    def __init__(self, route: str | Path) -> None:
        super().__init__(route)
        self._manifest: dict | None = None
        self._records: list[FrameRecord] | None = None
        self._waypoints: list[np.ndarray] = []

    @classmethod
    def claim(cls, route: Path) -> Claim:
        if (route / MANIFEST_NAME).is_file():
            return Claim.COMPLETE
        return Claim.INCOMPLETE if (route / ROUTE_META_NAME).is_file() else Claim.NO

    @property
    def manifest(self) -> dict:
        if self._manifest is None:
            self._manifest = read_manifest(self.route)
        return self._manifest

    @property
    def frame_interval_s(self) -> float:
        value = self.manifest.get("frame_interval_s", DEFAULT_FRAME_INTERVAL_S)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise InputError(f"{self.route / MANIFEST_NAME}: field 'frame_interval_s' must be a positive number "
                             f"of seconds, got {value!r}")
        return float(value)

    @property
    def expert_failed(self) -> bool:
        """The manifest's `expert_failed`, unless the collector was told to keep such routes."""
        return expert_failed(self.manifest) and not self.manifest.get("include_failed", False)

    @property
    def town(self) -> str:
        town = self.manifest.get("map")
        return town if isinstance(town, str) and town else town_of(self.route)

    def frame_indices(self) -> list[int]:
        return list(range(self.manifest["frame_count"]))

    def _load(self) -> list[FrameRecord]:
        if self._records is None:
            records, waypoints = [], []
            for index in self.frame_indices():
                path = frame_paths(self.route, index)[MEASUREMENTS_DIR]
                m = read_json_file(path, "measurements")
                records.append(parse_measurements(path, m, index))
                try:
                    wps = np.asarray(m["waypoints"], dtype=np.float64)
                except KeyError:
                    raise InputError(f"{path}: measurements miss field 'waypoints'") from None
                except (TypeError, ValueError):
                    raise InputError(f"{path}: field 'waypoints' must be a list of [x, y] pairs") from None
                if wps.size and (wps.ndim != 2 or wps.shape[1] != 2):
                    raise InputError(f"{path}: field 'waypoints' must be a list of [x, y], got shape {wps.shape}")
                waypoints.append(wps.reshape(-1, 2))
            self._records, self._waypoints = records, waypoints
        return self._records

    def frame(self, index: int) -> FrameRecord:
        return self._load()[index]

    def future_positions(self, index: int, count: int) -> np.ndarray:
        self._load()
        return self._waypoints[index][:count]

    def read_rgb(self, index: int) -> np.ndarray:
        return imread(frame_paths(self.route, index)[RGB_DIR], cv2.IMREAD_COLOR)

    def read_depth(self, index: int) -> np.ndarray:
        path = frame_paths(self.route, index)[DEPTH_DIR]
        try:
            return decode_depth_normalized(imread(path))
        except ValueError as exc:
            raise InputError(f"{path}: {exc}") from None

    def read_tags(self, index: int) -> np.ndarray:
        return tags_from_semantic(imread(frame_paths(self.route, index)[SEMANTICS_DIR]))

    def files(self) -> list[Path]:
        return [p for index in self.frame_indices() for p in frame_paths(self.route, index).values()]

    def problems(self) -> list[str]:
        """The manifest check (`verify_route`: missing, changed, unlisted files) plus files that do not decode.

        A file that does not decode is reported as such (not only as 'sha256 differs').
        """
        decode = {str(p): problem for p in self.files() if p.is_file() and (problem := file_problem(p))}
        problems = []
        for line in verify_route(self.route):
            path = line.split(": ", 1)[0]
            problems.append(decode.pop(path, line))
        return problems + list(decode.values())
