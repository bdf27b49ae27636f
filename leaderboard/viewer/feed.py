"""Gathers a `ViewerFrame` from a route run every `TICKS_PER_FRAME`-th tick and shows it.

The route runner builds a `ViewerFeed` only when `RunOptions.viewer` is set and calls `tick`
once per tick, after the agent decided and the criteria were updated, with the control about
to be applied. The feed reads the world (ego, actors, lights for the top-down view), the
criteria (score so far), the scenario manager (running scenarios) and the agent's optional
`debug_view()` / `debug_lines()` (leaderboard.autoagents.autonomous_agent); the agent does not
know it is watched. A viewer that fails is reported in one line and switched off: watching a
route must never change its result.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import carla
import numpy as np

from leaderboard.criteria import RouteCriteria
from leaderboard.statistics import compute_route_record
from leaderboard.video import RouteTopDown
from leaderboard.viewer.compose import TOPDOWN_PX
from leaderboard.viewer.frame import TICKS_PER_FRAME, RouteScore, Viewer, ViewerFrame
from leaderboard.viewer.options import WINDOW

RGB_CAMERA = "sensor.camera.rgb"
MAX_CAMERAS = 3
CARLA_DEFAULT_IMAGE_HW = (600, 800)  # a camera spec without width/height gets CARLA's default size


def open_viewer(mode: str, video_path: Path, title: str) -> Viewer:
    """The window viewer for "window" (a video, with a one-line notice, when no window opens), else the video."""
    from leaderboard.viewer.video_file import VideoFileViewer

    if mode == WINDOW:
        from leaderboard.viewer.window import PygameWindowViewer

        try:
            return PygameWindowViewer(title)
        except Exception as exc:  # noqa: BLE001 - pygame.error and friends: no usable display
            print(f"viewer: no window ({exc}), writing {video_path} instead", file=sys.stderr, flush=True)
    return VideoFileViewer(video_path)


def running_score(criteria: RouteCriteria, route_length_m: float) -> RouteScore:
    """The score so far, by the statistics' own rules (`compute_route_record`) on the events until now."""
    record = compute_route_record("", 0, criteria.events(), "", route_length_m, 0.0, 0.0)
    completion = float(criteria.completion.percentage)
    penalty = float(record.scores["score_penalty"])
    return RouteScore(completion, penalty, max(completion * penalty, 0.0), criteria.infraction_count())


def camera_specs(rig: Any) -> list[dict]:
    """The rig's RGB cameras to show, left to right (by yaw), those of the first one's size, at most 3."""
    cams = [s for s in rig if isinstance(s, dict) and s.get("type") == RGB_CAMERA and "id" in s] \
        if isinstance(rig, list) else []
    if not cams:
        return []
    size = (cams[0].get("height"), cams[0].get("width"))
    same = [s for s in cams if (s.get("height"), s.get("width")) == size]
    return sorted(same[:MAX_CAMERAS], key=lambda s: float(s.get("yaw", 0.0)))


class ViewerFeed:
    """One route's link from the tick loop to a `Viewer` (module docstring)."""

    def __init__(self, viewer: Viewer, world: Any, ego_id: int, route: list[carla.Transform], agent: Any,
                 rig: Any, scenarios: Any, route_name: str, route_length_m: float) -> None:
        self.viewer: Viewer | None = viewer
        self._world, self._ego_id, self._agent, self._scenarios = world, ego_id, agent, scenarios
        self._route_name, self._route_length_m = route_name, route_length_m
        self._topdown = RouteTopDown(world, route, window_px=TOPDOWN_PX)
        self._camera_ids = [s["id"] for s in camera_specs(rig)]
        # black images until the cameras deliver, so the picture keeps its size from the first frame
        self._cameras = {s["id"]: np.zeros((int(s.get("height") or CARLA_DEFAULT_IMAGE_HW[0]),
                                            int(s.get("width") or CARLA_DEFAULT_IMAGE_HW[1]), 3), np.uint8)
                         for s in camera_specs(rig)}
        self._agent_view: np.ndarray | None = None

    @classmethod
    def for_run(cls, run: Any, rig: Any) -> ViewerFeed:
        """The feed of a `RouteRun` whose world, ego, plan, agent and scenarios are set up."""
        name = f"{run.config.name}_{run.job.index}"
        viewer = open_viewer(run.opts.viewer, Path(run.opts.viewer_dir) / f"{name}.mp4", f"{name} ({run.opts.agent})")
        return cls(viewer, run.world, run.ego_id, [t for t, _ in run.plan.world], run.agent, rig, run.scenarios,
                   name, run.route_length_m)

    def tick(self, ticks: int, game_time_s: float, control: carla.VehicleControl, criteria: RouteCriteria) -> None:
        """Show this tick when it is a viewer tick (every TICKS_PER_FRAME-th)."""
        if ticks % TICKS_PER_FRAME or self.viewer is None:
            return
        try:
            self.viewer.show(self.frame(game_time_s, control, criteria))
        except Exception as exc:  # noqa: BLE001 - the route goes on without its viewer
            print(f"viewer of {self._route_name} stopped: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            self.close()

    def frame(self, game_time_s: float, control: carla.VehicleControl, criteria: RouteCriteria) -> ViewerFrame:
        """What is known now, as a `ViewerFrame`."""
        actors = self._world.get_actor_states()
        ego = next((a for a in actors if a.id == self._ego_id), None) or self._world.get_actor_state(self._ego_id)
        view = _call(self._agent, "debug_view")
        if view is not None:
            self._agent_view = view
        cameras: tuple[np.ndarray, ...] = ()
        if self._agent_view is None and self._camera_ids:
            cameras = self._camera_views()
        return ViewerFrame(
            route_name=self._route_name, game_time_s=game_time_s, speed_mps=float(ego.speed_mps),
            steer=float(control.steer), throttle=float(control.throttle), brake=float(control.brake),
            score=running_score(criteria, self._route_length_m), topdown_bgr=self._topdown.render(ego, actors),
            scenarios=tuple(self._scenarios.active_labels()) if self._scenarios is not None else (),
            agent_view_bgr=self._agent_view, camera_views=cameras,
            agent_lines=tuple(_call(self._agent, "debug_lines") or ()))

    def _camera_views(self) -> tuple[np.ndarray, ...]:
        """The cameras' latest images (kept from earlier ticks for cameras that render less often)."""
        interface = getattr(self._agent, "sensor_interface", None)
        data = interface.get_data() if interface is not None else {}
        for sid in self._camera_ids:
            image = data.get(sid, (None, None))[1]
            if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] >= 3:
                self._cameras[sid] = image
        return tuple(self._cameras[sid] for sid in self._camera_ids)

    def close(self) -> None:
        """Close the viewer (its video appears now). Safe to call twice."""
        viewer, self.viewer = self.viewer, None
        if viewer is not None:
            viewer.close()


def _call(agent: Any, name: str) -> Any:
    """`agent.name()` when the agent has that optional method, else None."""
    method = getattr(agent, name, None)
    return method() if callable(method) else None
