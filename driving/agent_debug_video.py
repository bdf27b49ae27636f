"""Per-frame debug picture of the LeTFuser agent (what it saw and what it decided).

The agent writes these pictures as an mp4 (`driving.video_writer`) and shows them in the route
viewer (`leaderboard.viewer`), which reuses `camera_row` and `caption` for agents without one.

Layout, `WIDTH_PX` wide (each row scaled to that width, heights rounded to even for the codec):
  cameras       left | front | right RGB (BGR from CARLA's BGRA)
  segmentation  the predicted class of every pixel of the model's panorama, CityScapes palette
  bird's eye    the SDC (`BEV_W_PX` x `BEV_H_PX`) | text: time, command, speed, applied control and
                its source controller (coloured), PID and policy controls, red-light probability
Sizes: 960 x 672 for the tiny config (3 x 128x64 cameras, 64x320 panorama), 960 x 680 for the full
one (3 x 320x160, 160x768).

Bird's-eye geometry (perception/sdc.py): a point x m ahead of and y m right of the cameras' mount
lies in SDC row H-1 - floor(x / cell_m), column W//2 + floor(y / cell_m); the mount is the rig's
(driving.sim.snapshot.RIG_MOUNT), `SDC_ORIGIN_AHEAD_M` = 1.3 m ahead of the ego-frame origin in
which the waypoints and the target point are given. The panel is a fixed metric window: the
grid's whole forward range plus `BEV_BEHIND_M` behind the cameras (so the ego car shows), as wide
as the aspect allows (+-36 m tiny, +-44 m full, of a grid +-80 / +-96 m wide). Every panel pixel
looks its cell up with the projector's own rule, and `BevWindow.to_px` places ego-frame points
with the same metres, so a waypoint on an obstacle is drawn on that obstacle's cells. A cell shows
the palette colour of its highest-priority occupied class (`SDC_PRIORITY`: pedestrians and
vehicles over signals and props over ground).
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from driving.image_codecs import colorize_semantic_bgr
from driving.sim.snapshot import RIG_MOUNT
from driving.tags import NUM_TAGS, PALETTE_RGB, Tag

WIDTH_PX = 960
BEV_W_PX, BEV_H_PX = 640, 320
TEXT_W_PX = WIDTH_PX - BEV_W_PX
BEV_BEHIND_M = 4.0  # the window reaches this far behind the cameras
SDC_ORIGIN_AHEAD_M = float(RIG_MOUNT["x"])  # SDC origin (camera mount) ahead of the ego-frame origin
EGO_LENGTH_M, EGO_WIDTH_M = 4.9, 2.1  # drawn only
RING_STEP_M = 10.0  # distance lines ahead of the ego

EMPTY_BGR = (28, 28, 28)  # an SDC cell with nothing in it
OUTSIDE_BGR = (64, 64, 64)  # window outside the SDC grid (behind the cameras, or beyond its side)
RING_BGR = (110, 110, 110)
EGO_BGR = (255, 255, 255)
WAYPOINT_BGR = (255, 255, 0)  # cyan
TARGET_BGR = (255, 0, 255)  # magenta
TEXT_BGR = (235, 235, 235)
PANEL_BGR = (16, 16, 16)
SOURCE_BGR = {"pid": (80, 220, 80), "policy": (255, 170, 60), "blend": (230, 230, 0),
              "stop": (60, 60, 255), "creep": (0, 190, 255)}
FONT = cv2.FONT_HERSHEY_SIMPLEX

#: SDC classes from lowest to highest drawing priority; UNLABELED and SKY are never drawn.
SDC_PRIORITY = (Tag.TERRAIN, Tag.GROUND, Tag.WATER, Tag.RAIL_TRACK, Tag.BRIDGE, Tag.ROAD, Tag.SIDEWALK,
                Tag.ROAD_LINE, Tag.VEGETATION, Tag.OTHER, Tag.BUILDING, Tag.WALL, Tag.FENCE,
                Tag.GUARD_RAIL, Tag.STATIC, Tag.DYNAMIC, Tag.POLE, Tag.TRAFFIC_SIGN, Tag.TRAFFIC_LIGHT,
                Tag.VEHICLES, Tag.PEDESTRIAN)
_RANK = np.zeros(NUM_TAGS, np.int16)
_RANK[list(SDC_PRIORITY)] = np.arange(1, len(SDC_PRIORITY) + 1)
_RANK_BGR = np.array([EMPTY_BGR] + [PALETTE_RGB[t][::-1] for t in SDC_PRIORITY], np.uint8)


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no truth value; frames compare by identity
class DebugFrame:
    """What one agent step saw and decided."""

    rgb_views: Sequence[np.ndarray]  # left, front, right camera images, uint8 H x W x 4 BGRA (CARLA format)
    seg_classes: np.ndarray  # [H, W] int predicted class per pixel of the model's panorama input (argmax)
    sdc: np.ndarray  # [C, Hs, Ws] float/bool bird's-eye occupancy per class (model output `sdc[0]`)
    waypoints: np.ndarray  # [N, 2] predicted, metres, ego frame (x forward, y right)
    target_point: np.ndarray  # [2] metres, ego frame
    speed_mps: float
    steer: float
    throttle: float
    brake: float  # the control applied
    source: str  # controller that produced it: "pid", "policy", "blend", "stop", "creep"
    pid: tuple[float, float, float]  # PID's (steer, throttle, brake)
    policy: tuple[float, float, float]  # policy head's (steer, throttle, brake)
    red_light: float  # predicted red-light probability
    command: str  # RoadOption name, e.g. "LANEFOLLOW"
    game_time_s: float


@dataclass(frozen=True)
class BevWindow:
    """The bird's-eye panel's metric window over an SDC grid of `grid_h` x `grid_w` cells of `cell_m`."""

    grid_h: int
    grid_w: int
    cell_m: float

    @property
    def px_per_m(self) -> float:
        return BEV_H_PX / (self.grid_h * self.cell_m + BEV_BEHIND_M)

    def to_px(self, points_m: np.ndarray) -> np.ndarray:
        """Ego-frame points [N, 2] (x forward, y right; m) -> panel (u right, v down) [N, 2] floats.

        Pixel (row i, column j) covers u in [j, j + 1), v in [i, i + 1).
        """
        p = np.asarray(points_m, np.float64).reshape(-1, 2)
        ahead_of_cameras_m = p[:, 0] - SDC_ORIGIN_AHEAD_M
        return np.stack([BEV_W_PX / 2 + p[:, 1] * self.px_per_m,
                         BEV_H_PX - (BEV_BEHIND_M + ahead_of_cameras_m) * self.px_per_m], axis=1)

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """SDC (row, col) under each panel pixel centre and whether it is in the grid; each [BEV_H, BEV_W]."""
        return _cells(self)


@functools.lru_cache(maxsize=4)
def _cells(window: BevWindow) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    v, u = np.mgrid[0:BEV_H_PX, 0:BEV_W_PX] + 0.5
    forward_m = (BEV_H_PX - v) / window.px_per_m - BEV_BEHIND_M  # ahead of the cameras
    right_m = (u - BEV_W_PX / 2) / window.px_per_m
    row = (window.grid_h - 1) - np.floor(forward_m / window.cell_m).astype(np.int64)  # as SDCProjector
    col = np.floor(right_m / window.cell_m).astype(np.int64) + window.grid_w // 2
    inside = (row >= 0) & (row < window.grid_h) & (col >= 0) & (col < window.grid_w)
    return np.where(inside, row, 0), np.where(inside, col, 0), inside


def sdc_bgr(sdc: np.ndarray) -> np.ndarray:
    """[C, H, W] occupancy (> 0.5 = occupied) -> [H, W, 3] BGR, each cell its top-priority class's colour."""
    occupancy = np.asarray(sdc)
    if occupancy.ndim != 3:
        raise ValueError(f"sdc: expected [C, H, W] occupancy, got shape {occupancy.shape}")
    c = min(occupancy.shape[0], NUM_TAGS)
    rank = (occupancy[:c] > 0.5) * _RANK[:c, None, None]
    return _RANK_BGR[rank.max(axis=0)]


def render_bev(sdc: np.ndarray, sdc_cell_m: float, waypoints: np.ndarray, target_point: np.ndarray) -> np.ndarray:
    """The bird's-eye panel: SDC cells, 10 m lines, the ego car, waypoints (dots), target point (cross)."""
    grid = sdc_bgr(sdc)
    window = BevWindow(grid.shape[0], grid.shape[1], float(sdc_cell_m))
    row, col, inside = window.cells()
    img = np.where(inside[..., None], grid[row, col], np.array(OUTSIDE_BGR, np.uint8))
    ppm = window.px_per_m
    for k in range(1, int((window.grid_h * window.cell_m + SDC_ORIGIN_AHEAD_M) // RING_STEP_M) + 1):
        v = int(window.to_px([(k * RING_STEP_M, 0.0)])[0, 1])
        cv2.line(img, (0, v), (BEV_W_PX - 1, v), RING_BGR, 1)
        cv2.putText(img, f"{k * RING_STEP_M:.0f} m", (4, v - 3), FONT, 0.4, RING_BGR, 1, cv2.LINE_AA)
    corners = np.array([(EGO_LENGTH_M / 2, -EGO_WIDTH_M / 2), (EGO_LENGTH_M / 2, EGO_WIDTH_M / 2),
                        (-EGO_LENGTH_M / 2, EGO_WIDTH_M / 2), (-EGO_LENGTH_M / 2, -EGO_WIDTH_M / 2)])
    cv2.polylines(img, [np.floor(window.to_px(corners)).astype(np.int32)], True, EGO_BGR, 1, cv2.LINE_AA)
    path = np.floor(window.to_px(np.vstack([np.zeros((1, 2)), np.asarray(waypoints).reshape(-1, 2)])))
    path = path.astype(np.int32)
    cv2.polylines(img, [path], False, WAYPOINT_BGR, 1, cv2.LINE_AA)
    radius = max(2, round(0.35 * ppm))
    for u, v in path[1:]:
        cv2.circle(img, (int(u), int(v)), radius, WAYPOINT_BGR, -1, cv2.LINE_AA)
    u, v = window.to_px(target_point)[0]
    shown = 0 <= u < BEV_W_PX and 0 <= v < BEV_H_PX
    marker = cv2.MARKER_CROSS if shown else cv2.MARKER_TILTED_CROSS  # tilted: off-window, on its edge
    tu, tv = int(np.clip(np.floor(u), 0, BEV_W_PX - 1)), int(np.clip(np.floor(v), 0, BEV_H_PX - 1))
    cv2.drawMarker(img, (tu, tv), TARGET_BGR, marker, max(9, round(1.6 * ppm)), 2)
    return np.ascontiguousarray(img)


def _fit_width(img: np.ndarray, interpolation: int) -> np.ndarray:
    """`img` scaled to WIDTH_PX wide, its height rounded to an even number (mp4v wants even sizes)."""
    height = max(2, 2 * round(img.shape[0] * WIDTH_PX / img.shape[1] / 2))
    return cv2.resize(np.ascontiguousarray(img), (WIDTH_PX, height), interpolation=interpolation)


def camera_row(views: Sequence[np.ndarray]) -> np.ndarray:
    """Equal-sized BGRA (or BGR) camera images side by side, scaled to WIDTH_PX wide (height even)."""
    arrays = [np.asarray(v) for v in views]
    if not arrays or any(a.ndim != 3 or a.shape[2] < 3 or a.shape[:2] != arrays[0].shape[:2] for a in arrays):
        raise ValueError(f"rgb_views: expected equal H x W x 4 BGRA images, got {[a.shape for a in arrays]}")
    strip = np.concatenate([a[..., :3] for a in arrays], axis=1).astype(np.uint8)
    down = strip.shape[1] > WIDTH_PX
    return _fit_width(strip, cv2.INTER_AREA if down else cv2.INTER_LINEAR)


def _text(img: np.ndarray, text: str, xy: tuple[int, int], bgr: tuple[int, int, int] = TEXT_BGR,
          scale: float = 0.5, thickness: int = 1) -> None:
    cv2.putText(img, text, xy, FONT, scale, bgr, thickness, cv2.LINE_AA)


def caption(img: np.ndarray, text: str, x: int, y: int) -> None:
    """A small label on a dark box with its top-left corner at (x, y)."""
    (w, h), _ = cv2.getTextSize(text, FONT, 0.45, 1)
    box = img[y:y + h + 8, x:x + w + 8]
    box[:] = (box.astype(np.uint16) * 2 // 5).astype(np.uint8)
    _text(img, text, (x + 4, y + h + 4), scale=0.45)


def _bar(img: np.ndarray, y: int, value: float, lo: float, bgr: tuple[int, int, int]) -> None:
    """A horizontal gauge of `value` in [lo, 1] across the text panel (from 0 when lo < 0)."""
    x0, x1 = 100, TEXT_W_PX - 12
    cv2.rectangle(img, (x0, y - 10), (x1, y), (70, 70, 70), 1)
    zero = x0 + round((0.0 - lo) / (1.0 - lo) * (x1 - x0))
    end = x0 + round((float(np.clip(value, lo, 1.0)) - lo) / (1.0 - lo) * (x1 - x0))
    cv2.rectangle(img, (min(zero, end), y - 9), (max(zero, end), y - 1), bgr, -1)


def render_text(frame: DebugFrame) -> np.ndarray:
    """The text panel (TEXT_W_PX x BEV_H_PX): time, command, speed, controls, source, red light."""
    img = np.full((BEV_H_PX, TEXT_W_PX, 3), PANEL_BGR, np.uint8)
    source_bgr = SOURCE_BGR.get(frame.source, TEXT_BGR)
    cols = (12, 100, 170, 240)
    _text(img, f"t {frame.game_time_s:8.2f} s", (12, 26))
    _text(img, frame.command, (150, 26), (200, 200, 120))
    _text(img, f"speed {frame.speed_mps * 3.6:5.1f} km/h  ({frame.speed_mps:4.1f} m/s)", (12, 54))
    _text(img, "source", (12, 86))
    _text(img, frame.source.upper(), (100, 86), source_bgr, 0.7, 2)
    for x, name in zip(cols[1:], ("steer", "thr", "brake")):
        _text(img, name, (x, 114), (150, 150, 150), 0.45)
    rows = (("applied", (frame.steer, frame.throttle, frame.brake), source_bgr),
            ("pid", tuple(frame.pid), SOURCE_BGR["pid"]), ("policy", tuple(frame.policy), SOURCE_BGR["policy"]))
    for i, (name, (steer, throttle, brake), bgr) in enumerate(rows):
        y = 140 + 26 * i
        _text(img, name, (cols[0], y), bgr)
        for x, value in zip(cols[1:], (f"{steer:+.2f}", f"{throttle:.2f}", f"{brake:.2f}")):
            _text(img, value, (x, y))
    _text(img, "steer", (12, 232), (150, 150, 150), 0.45)
    _bar(img, 234, frame.steer, -1.0, source_bgr)
    _text(img, "thr/brk", (12, 254), (150, 150, 150), 0.45)
    _bar(img, 256, frame.throttle - frame.brake, -1.0, source_bgr)
    red = float(frame.red_light)
    red_bgr = (60, 60, 255) if red >= 0.5 else (120, 200, 120)
    _text(img, f"red light {red:.2f}", (12, 290), red_bgr)
    _bar(img, 306, red, 0.0, red_bgr)
    return img


def render_debug_frame(frame: DebugFrame, sdc_cell_m: float) -> np.ndarray:
    """The whole debug picture, uint8 BGR, WIDTH_PX wide; its height depends only on the input sizes."""
    cameras = camera_row(frame.rgb_views)
    seg = _fit_width(colorize_semantic_bgr(np.asarray(frame.seg_classes)), cv2.INTER_NEAREST)
    bev = render_bev(frame.sdc, sdc_cell_m, frame.waypoints, frame.target_point)
    img = np.vstack([cameras, seg, np.hstack([bev, render_text(frame)])])
    caption(img, "cameras: left | front | right", 4, 4)
    caption(img, "segmentation", 4, cameras.shape[0] + 4)
    caption(img, f"SDC bird's eye, {sdc_cell_m:g} m cells", BEV_W_PX - 230, cameras.shape[0] + seg.shape[0] + 4)
    return img
