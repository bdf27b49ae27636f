"""The viewer's picture of one `ViewerFrame`, shared by the window and the video viewer.

With the agent's debug picture (LeTFuser):        Without one (the expert, other agents):
  +-------------------+----------+                  +---------------------------------+
  |                   | top-down |                  | cameras left | front | right    |  (rig has cameras)
  | agent debug view  +----------+                  +----------+----------------------+
  |                   |  status  |                  | top-down |        status        |
  +-------------------+----------+                  +----------+----------------------+

The agent view is drawn by the agent (`driving.agent_debug_video` for LeTFuser); the camera row
is that module's `camera_row`. The status panel lists the route, game time, speed, the applied
control, the running scenario(s), the score so far (route completion, infraction penalty,
driving score, infraction count) and the agent's own lines. A route's frames keep one size as
long as the same parts are present, which the feed guarantees (`leaderboard.viewer.feed`).
"""
from __future__ import annotations

import typing
from dataclasses import dataclass

import cv2
import numpy as np

from driving.agent_debug_video import PANEL_BGR, TEXT_BGR, WIDTH_PX, camera_row, caption
from leaderboard.viewer.frame import ViewerFrame

TOPDOWN_PX = 384  # the top-down panel's side (64 m at 6 px/m)
STATUS_MIN_H_PX = 280
ROW_PX = 22
FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_SCALE = 0.5
DIM_BGR = (150, 150, 150)
WARN_BGR = (0, 170, 255)  # orange: penalties, infractions, active scenarios

Rect = typing.Tuple[int, int, int, int]  # x, y, width, height (px)


@dataclass(frozen=True, eq=False)
class ComposedFrame:
    """The picture (uint8 BGR) and where each part lies in it (None: part not drawn)."""

    image: np.ndarray
    status: Rect
    topdown: Rect
    cameras: Rect | None = None
    agent_view: Rect | None = None


def status_lines(frame: ViewerFrame) -> list[tuple[str, tuple[int, int, int]]]:
    """The status panel's text lines with their colours."""
    s = frame.score
    scenario = ", ".join(frame.scenarios) if frame.scenarios else "-"
    lines = [
        (frame.route_name, TEXT_BGR),
        (f"t {frame.game_time_s:7.1f} s   speed {frame.speed_mps * 3.6:5.1f} km/h", TEXT_BGR),
        (f"steer {frame.steer:+.2f}  throttle {frame.throttle:.2f}  brake {frame.brake:.2f}", TEXT_BGR),
        (f"scenario {scenario}", WARN_BGR if frame.scenarios else DIM_BGR),
        (f"route {s.completion_pct:5.1f} %   penalty {s.penalty:.3f}", WARN_BGR if s.penalty < 1.0 else TEXT_BGR),
        (f"driving score {s.driving_score:5.1f}   infractions {s.infractions}",
         WARN_BGR if s.infractions else TEXT_BGR),
    ]
    return lines + [(line, DIM_BGR) for line in frame.agent_lines]


def _status_panel(frame: ViewerFrame, width_px: int, height_px: int) -> np.ndarray:
    img = np.full((height_px, width_px, 3), PANEL_BGR, np.uint8)
    for i, (text, bgr) in enumerate(status_lines(frame)):
        y = 24 + ROW_PX * i
        if y > height_px - 4:
            break
        text = _fit_text(text, width_px - 20)
        cv2.putText(img, text, (10, y), FONT, FONT_SCALE, bgr, 1, cv2.LINE_AA)
    return img


def _fit_text(text: str, width_px: int) -> str:
    """`text`, cut and ended with '...' when it is wider than `width_px`."""
    if cv2.getTextSize(text, FONT, FONT_SCALE, 1)[0][0] <= width_px:
        return text
    while text and cv2.getTextSize(text + "...", FONT, FONT_SCALE, 1)[0][0] > width_px:
        text = text[:-1]
    return text + "..."


def _topdown_panel(frame: ViewerFrame) -> np.ndarray:
    if frame.topdown_bgr is None:
        return np.full((TOPDOWN_PX, TOPDOWN_PX, 3), PANEL_BGR, np.uint8)
    img = np.ascontiguousarray(frame.topdown_bgr[..., :3])
    if img.shape[:2] != (TOPDOWN_PX, TOPDOWN_PX):
        img = cv2.resize(img, (TOPDOWN_PX, TOPDOWN_PX), interpolation=cv2.INTER_AREA)
    return img


def compose_frame(frame: ViewerFrame) -> ComposedFrame:
    """The whole viewer picture of `frame` (layout in the module docstring)."""
    topdown = _topdown_panel(frame)
    if frame.agent_view_bgr is not None:
        view = np.ascontiguousarray(frame.agent_view_bgr[..., :3])
        vh, vw = view.shape[:2]
        height = max(vh, TOPDOWN_PX + STATUS_MIN_H_PX)
        img = np.full((height, vw + TOPDOWN_PX, 3), PANEL_BGR, np.uint8)
        img[:vh, :vw] = view
        img[:TOPDOWN_PX, vw:] = topdown
        img[TOPDOWN_PX:, vw:] = _status_panel(frame, TOPDOWN_PX, height - TOPDOWN_PX)
        caption(img, "top-down", vw + 4, 4)
        return ComposedFrame(img, status=(vw, TOPDOWN_PX, TOPDOWN_PX, height - TOPDOWN_PX),
                             topdown=(vw, 0, TOPDOWN_PX, TOPDOWN_PX), agent_view=(0, 0, vw, vh))
    rows, cameras_rect = [], None
    if frame.camera_views:
        row = camera_row(frame.camera_views)
        rows.append(row)
        cameras_rect = (0, 0, WIDTH_PX, row.shape[0])
    y = rows[0].shape[0] if rows else 0
    rows.append(np.hstack([topdown, _status_panel(frame, WIDTH_PX - TOPDOWN_PX, TOPDOWN_PX)]))
    img = np.vstack(rows)
    if cameras_rect is not None:
        caption(img, "cameras", 4, 4)
    caption(img, "top-down", 4, y + 4)
    return ComposedFrame(img, status=(TOPDOWN_PX, y, WIDTH_PX - TOPDOWN_PX, TOPDOWN_PX),
                         topdown=(0, y, TOPDOWN_PX, TOPDOWN_PX), cameras=cameras_rect)
