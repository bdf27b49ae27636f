"""What the viewer shows of one tick, and the interface every viewer implements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

#: The viewer draws every 2nd 20 Hz tick: 10 frames per second of game time.
TICKS_PER_FRAME = 2
FRAME_FPS = 10.0


@dataclass(frozen=True)
class RouteScore:
    """The route's score so far: completion (%), penalty factor (1 = none), driving score, infractions."""

    completion_pct: float
    penalty: float
    driving_score: float
    infractions: int


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no truth value; frames compare by identity
class ViewerFrame:
    """Everything known at one tick that the viewer draws; absent parts are None or empty.

    `agent_view_bgr` is the agent's own debug picture (`debug_view()`; LeTFuser: cameras,
    predicted segmentation, bird's-eye view with waypoints and target point, control and its
    source, speed, command). Without one, `camera_views` holds the agent's RGB camera images
    (BGRA or BGR, equal sizes) when its rig has cameras. `agent_lines` are the agent's
    `debug_lines()` (the expert's command and brake reason).
    """

    route_name: str
    game_time_s: float
    speed_mps: float
    steer: float
    throttle: float
    brake: float
    score: RouteScore
    topdown_bgr: np.ndarray | None = None
    scenarios: tuple[str, ...] = ()
    agent_view_bgr: np.ndarray | None = None
    camera_views: tuple[np.ndarray, ...] = ()
    agent_lines: tuple[str, ...] = ()


class Viewer(Protocol):
    """Shows frames of one route; `close` ends it (a video file appears only then)."""

    def show(self, frame: ViewerFrame) -> None: ...

    def close(self) -> None: ...
