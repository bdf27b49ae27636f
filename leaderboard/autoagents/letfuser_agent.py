"""LeTFuser as a leaderboard agent: `--agent letfuser --agent-config MODEL_OR_AGENT_YAML`.

Per frame: the three camera views (plus three depth cameras on the research rig) become the
model's panorama with the training code's own preprocessing (`perception.panorama`); GNSS and
compass give the target point and command (`planning.gps_route_follower`, TransFuser's route
planner); the model predicts waypoints and a policy control, and `LeTFuserController` turns them
into the control. Optional: TransFuser++'s stuck recovery (creep forward after 55 s at a
standstill unless the SDC shows something ahead) and a debug video per route. `debug_view()`
draws the last step's debug picture on request (the route viewer asks for it; the agent keeps
only references to the step's inputs and outputs, so nothing is drawn unless asked).

Rigs: a model trained on camera depth needs the three depth cameras, which only our RESEARCH track
allows (`--track RESEARCH`); a `predict_depth` model reads RGB only and is a SENSORS-track agent
(submittable). This file imports from the `leaderboard` package only its agent base class, so it
runs unchanged in the official evaluator, whose `leaderboard` package is theirs.

The loaded (and compiled) model is cached per process, keyed by model path, its files' mtimes
and the compile mode: every route builds a new agent, and reloading or recompiling per route
would cost seconds to a minute each. `check_agent_config` (called by our evaluator before any
route) fills that cache, so a bad model fails at once with one line and routes start warm.
"""
from __future__ import annotations

import itertools
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import carla
import numpy as np
import torch

from control.letfuser_controller import ControlDecision, LeTFuserController
from driving.agent_debug_video import DebugFrame, render_debug_frame
from driving.errors import InputError
from driving.tags import Tag
from driving.video_writer import open_video_writer
from leaderboard.autoagents.autonomous_agent import AutonomousAgent, Track
from perception.config import LeTFuserConfig
from perception.heads import NUM_COMMANDS
from perception.inference import CompileError, compile_for_inference, prepare_for_inference
from perception.model_file import LoadedModel, load_model
from perception.panorama import VIEW_NAMES, camera_specs, panorama_inputs
from planning.gps_route_follower import GpsRouteFollower, RouteTarget
from planning.letfuser_agent_config import LeTFuserAgentConfig, load_agent_config
from planning.road_option import RoadOption

#: Below this speed (m/s) the ego counts as standing still (TransFuser++'s threshold).
STANDSTILL_MPS = 0.1
#: Simulation rate the debug video is written at (the leaderboard's fixed 20 Hz).
VIDEO_FPS = 20.0
#: SDC classes that block a creep (tags; the SDC's channel c holds tag c).
CREEP_BLOCKING_TAGS = (Tag.VEHICLES, Tag.PEDESTRIAN)

_VIDEO_COUNTER = itertools.count()


def get_entry_point() -> str:
    return "LeTFuserAgent"


@dataclass(frozen=True)
class ModelRunner:
    """A loaded model and the callable that runs it (compiled or eager deployment copy)."""

    loaded: LoadedModel
    forward: Callable[..., Any]
    compiled: bool


_RUNNERS: dict[tuple[str, int, str], ModelRunner] = {}


def _files_stamp_ns(path: Path) -> int:
    """Newest mtime (ns) of `path` and of the files up to two levels under it (model/, checkpoints/)."""
    stamps = [path.stat().st_mtime_ns]
    if path.is_dir():
        for child in path.iterdir():
            stamps.append(child.stat().st_mtime_ns)
            if child.is_dir():
                stamps.extend(grandchild.stat().st_mtime_ns for grandchild in child.iterdir())
    return max(stamps)


def command_one_hot(value: int) -> torch.Tensor:
    """RoadOption value 1..6 -> [1, 6] one-hot, as the training dataset encodes `command`."""
    out = torch.zeros(1, NUM_COMMANDS)
    out[0, value - 1] = 1.0
    return out


def example_frame(config: LeTFuserConfig) -> dict[str, Any]:
    """A zero frame of the model's input sizes (what compilation traces)."""
    h, w = config.input_height, config.input_width
    return {"rgb": torch.zeros(1, 3, h, w), "depth": None if config.predict_depth else torch.zeros(1, 1, h, w),
            "target_point": torch.tensor([[10.0, 0.0]]), "speed": torch.zeros(1, 1),
            "command": command_one_hot(int(RoadOption.LANEFOLLOW))}


def model_runner(config: LeTFuserAgentConfig) -> ModelRunner:
    """The model of `config`, deployed and compiled per `config.compile`; cached per process."""
    path = Path(config.model)
    if not path.exists():
        raise InputError(f"model {path}: not found (expected a model folder, a training run folder or a "
                         f"checkpoint .pt)")
    key = (str(path.resolve()), _files_stamp_ns(path), config.compile)
    if key in _RUNNERS:
        return _RUNNERS[key]
    loaded = load_model(path)
    deployed = prepare_for_inference(loaded.model)
    forward, compiled = deployed, False
    if config.compile != "off":
        try:
            forward, _ = compile_for_inference(deployed, example_frame(loaded.config))
            compiled = True
        except CompileError as exc:
            if config.compile == "on":
                raise InputError(f"compile: on, but the model {path} cannot be compiled here: {exc}") from None
            warnings.warn(f"LeTFuser agent: running the eager model ({exc})", RuntimeWarning, stacklevel=2)
    runner = ModelRunner(loaded, forward, compiled)
    _RUNNERS[key] = runner
    return runner


class StuckRecovery:
    """TransFuser++'s creep rule on game time (numbers and source in LeTFuserAgentConfig).

    Standing still (< STANDSTILL_MPS) for more than `stuck_after_s` arms a creep of
    `creep_duration_s`; while armed, a clear box ahead gives "creep" (throttle at least
    `creep_throttle`, no brake) and an occupied one gives "blocked" (brake; the creep re-arms).
    As in TF++, the standstill clock runs on until the car moves, so the creep lasts until it
    does, plus `creep_duration_s`.
    """

    def __init__(self, config: LeTFuserAgentConfig, model_config: LeTFuserConfig) -> None:
        self.config = config
        cell = model_config.sdc_cell_m
        grid_h, grid_w = model_config.input_height, model_config.input_width
        rows = min(grid_h, int(np.ceil(config.creep_clear_m / cell)))
        half = int(np.ceil(config.creep_half_width_m / cell))
        # row H-1 holds 0..cell ahead of the cameras; column W//2 starts at their centre line
        self.rows = slice(grid_h - rows, grid_h)
        self.cols = slice(max(grid_w // 2 - half, 0), min(grid_w // 2 + half, grid_w))
        self.channels = [int(t) for t in CREEP_BLOCKING_TAGS if int(t) < model_config.num_classes]
        self.standstill_s = 0.0
        self.creep_left_s = 0.0

    def box_occupied(self, sdc: torch.Tensor) -> bool:
        """Any blocking class in the box ahead of the cameras; `sdc` [C, H, W] (model output sdc[0])."""
        return bool((sdc[self.channels, self.rows, self.cols] > 0.5).any())

    def step(self, speed_mps: float, dt_s: float, sdc: torch.Tensor) -> str | None:
        """"creep", "blocked" or None (drive as the controller says) for this frame."""
        self.standstill_s = self.standstill_s + dt_s if speed_mps < STANDSTILL_MPS else 0.0
        if self.standstill_s > self.config.stuck_after_s:
            self.creep_left_s = self.config.creep_duration_s
        if self.creep_left_s <= 0.0:
            return None
        if self.box_occupied(sdc):
            self.creep_left_s = self.config.creep_duration_s
            return "blocked"
        self.creep_left_s -= dt_s
        return "creep"


def _sensor(input_data: dict[str, tuple[int, Any]], sensor_id: str) -> Any:
    try:
        return input_data[sensor_id][1]
    except (KeyError, IndexError, TypeError):
        raise InputError(f"LeTFuser agent: no data from sensor '{sensor_id}' this frame (got "
                         f"{sorted(input_data) if isinstance(input_data, dict) else type(input_data).__name__})"
                         ) from None


def _track_of(model_config: Any) -> Track:
    """RESEARCH for a model that reads depth cameras; SENSORS for one that predicts depth from RGB."""
    return Track.SENSORS if model_config.predict_depth else Track.RESEARCH


class LeTFuserAgent(AutonomousAgent):
    """The LeTFuser model driving from cameras, GNSS, IMU and speedometer (module docstring)."""

    @classmethod
    def check_agent_config(cls, path_to_conf_file: str) -> None:
        """Raise InputError for a bad agent YAML or a missing/corrupt/mismatched model; warms the cache."""
        model_runner(load_agent_config(path_to_conf_file))

    @classmethod
    def track_for_config(cls, path_to_conf_file: str) -> str:
        """The track this agent runs in with that config: RESEARCH when its model reads depth cameras
        (a depth-predicting model needs only RGB: SENSORS). `driving evaluate` uses it without --track."""
        return _track_of(model_runner(load_agent_config(path_to_conf_file)).loaded.config).value

    def setup(self, path_to_conf_file: str) -> None:
        self.config = load_agent_config(path_to_conf_file)
        self.runner = model_runner(self.config)
        self.model_config = self.runner.loaded.config
        self.track = _track_of(self.model_config)
        self.controller = LeTFuserController(self.config.control, self.runner.loaded.task_weights)
        self.follower = GpsRouteFollower(self.config.route_pop_distance_m, self.config.route_lookahead_m,
                                         self.config.gnss_max_jump_m)
        self.stuck = StuckRecovery(self.config, self.model_config) if self.config.stuck_recovery else None
        self._last_time_s: float | None = None
        self._video: Any = None
        self._last_step: tuple | None = None  # what `_debug_frame` needs of the last run_step
        self._last_view: np.ndarray | None = None  # its picture, once drawn
        #: Wall milliseconds of the last step's stages (preprocess, model, control), for benchmarks.
        self.step_timings_ms: dict[str, float] = {}

    def sensors(self) -> list[dict[str, Any]]:
        mount = {"x": 0.0, "y": 0.0, "z": 0.0, "roll": 0.0, "pitch": 0.0, "yaw": 0.0}
        return [*camera_specs(self.model_config, depth=not self.model_config.predict_depth),
                {"type": "sensor.other.gnss", "id": "gps", **mount, "sensor_tick": 0.01},
                {"type": "sensor.other.imu", "id": "imu", **mount, "sensor_tick": 0.05},
                {"type": "sensor.speedometer", "id": "speed", "reading_frequency": 20}]

    def set_global_plan(self, global_plan_gps: list, global_plan_world_coord: list) -> None:
        super().set_global_plan(global_plan_gps, global_plan_world_coord)
        self.follower.set_route(self._global_plan)

    def _inputs(self, input_data: dict[str, tuple[int, Any]], rgb_views: list[np.ndarray], nav: RouteTarget,
                speed_mps: float) -> dict[str, Any]:
        depth_views = (None if self.model_config.predict_depth
                       else [_sensor(input_data, f"depth_{view}") for view in VIEW_NAMES])
        rgb, depth = panorama_inputs(rgb_views, depth_views, self.model_config)
        return {"rgb": rgb, "depth": depth, "target_point": torch.from_numpy(nav.target_ego_m).float()[None],
                "speed": torch.tensor([[speed_mps]], dtype=torch.float32),
                "command": command_one_hot(int(nav.option))}

    def run_step(self, input_data: dict[str, tuple[int, Any]], timestamp: float) -> carla.VehicleControl:
        if not self.follower.has_route:
            raise InputError("LeTFuser agent: no route was handed over (set_global_plan)")
        t0 = time.perf_counter()
        speed_mps = float(_sensor(input_data, "speed")["speed"])
        nav = self.follower.step(_sensor(input_data, "gps"), _sensor(input_data, "imu")[-1])
        rgb_views = [_sensor(input_data, f"rgb_{view}") for view in VIEW_NAMES]
        frame = self._inputs(input_data, rgb_views, nav, speed_mps)
        t1 = time.perf_counter()
        with torch.inference_mode():
            out = self.runner.forward(**frame)
        t2 = time.perf_counter()
        decision = self.controller.step(out.waypoints[0].numpy(), speed_mps, out.control[0].tolist())
        self.step_timings_ms = {"preprocess": (t1 - t0) * 1e3, "model": (t2 - t1) * 1e3,
                                "control": (time.perf_counter() - t2) * 1e3}
        steer, throttle, brake, source = decision.steer, decision.throttle, decision.brake, decision.source
        dt_s = 0.0 if self._last_time_s is None else max(float(timestamp) - self._last_time_s, 0.0)
        self._last_time_s = float(timestamp)
        if self.stuck is not None:
            override = self.stuck.step(speed_mps, dt_s, out.sdc[0])
            if override == "creep":
                throttle, brake, source = max(self.config.creep_throttle, throttle), 0.0, "creep"
            elif override == "blocked":
                throttle, brake, source = 0.0, 1.0, "stop"
        self._last_step = (rgb_views, out, nav, speed_mps, decision, (steer, throttle, brake, source), timestamp)
        self._last_view = None
        if self.config.debug_video:
            self._record()
        return carla.VehicleControl(throttle=float(throttle), steer=float(steer), brake=float(brake))

    def debug_view(self) -> np.ndarray | None:
        """The last step's debug picture (BGR; `driving.agent_debug_video`), None before the first step."""
        if self._last_view is None and getattr(self, "_last_step", None) is not None:
            self._last_view = render_debug_frame(self._debug_frame(*self._last_step), self.model_config.sdc_cell_m)
        return self._last_view

    def _record(self) -> None:
        """Add this step to the debug video (opened on the first step: a failed setup leaves no file)."""
        if self._video is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = Path(self.config.debug_video) / f"letfuser_{stamp}_{os.getpid()}_{next(_VIDEO_COUNTER):03d}.mp4"
            self._video = open_video_writer(path, VIDEO_FPS)
        self._video.add(self.debug_view())

    @staticmethod
    def _debug_frame(rgb_views: list[np.ndarray], out: Any, nav: RouteTarget, speed_mps: float,
                     decision: ControlDecision, applied: tuple[float, float, float, str],
                     timestamp: float) -> DebugFrame:
        steer, throttle, brake, source = applied
        return DebugFrame(
            rgb_views=rgb_views,
            seg_classes=out.seg_logits[0].argmax(dim=0).numpy(), sdc=out.sdc[0].numpy(),
            waypoints=out.waypoints[0].numpy(), target_point=nav.target_ego_m, speed_mps=speed_mps,
            steer=steer, throttle=throttle, brake=brake, source=source, pid=decision.pid, policy=decision.policy,
            red_light=float(out.red_light[0, 0]), command=nav.option.name, game_time_s=float(timestamp))

    def destroy(self) -> None:
        """Close the debug video (its file appears only now, complete); the model stays cached."""
        video, self._video = getattr(self, "_video", None), None
        self._last_step = self._last_view = None
        if video is not None:
            video.close()
        if hasattr(self, "controller"):
            self.controller.reset()
