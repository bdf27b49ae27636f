"""Collect one route: the expert drives it through the evaluator's route runner while the
LeTFuser rig and the labels are saved (`driving collect`; layout in `driving.collect.layout`).

`CollectRun` is the evaluator's `RouteRun` (same map loading, dense plan, spawning, scenario
placement, criteria and tick loop) with its two hooks filled in: `on_start` prepares the writer's
helpers, `on_tick` records the ego's path every tick, steps the agent's route-target rule, applies
recovery perturbations and, every `every_ticks` ticks, assembles a frame. A frame is written once
its driven future waypoints are known (2 s later), so at most a few frames wait in memory.

The rig (3 RGB + 3 depth + 3 semantic cameras, yaw -60 / 0 / +60, the model config's size and fov)
is declared by the agent (`CollectingExpert`) with CARLA's `sensor_tick` = the save interval, so
cameras render only on saved ticks. The route record decides `expert_failed` (a status other than
Completed, or any infraction but leaving the route's lanes: see `expert_failed`); the manifest,
written last, carries it with the expert's score and every infraction.
A route folder without a manifest is removed and driven again from the start.
"""
from __future__ import annotations

import contextlib
import re
import shutil
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import carla
import numpy as np

from driving.collect.labels import DrivenPath, RouteTargetLabeller, frame_measurements
from driving.collect.layout import (
    MANIFEST_NAME,
    TOPDOWN_SIZE_PX,
    WAYPOINT_SPACING_S,
    RouteMeta,
    route_dir,
)
from driving.collect.recovery import Perturber, RecoveryConfig
from driving.collect.writer import RouteWriter
from driving.errors import InputError
from leaderboard.autoagents.expert_agent import ExpertAgent
from leaderboard.route_runner import RouteJob, RouteRun, RunOptions
from leaderboard.statistics import STATUS_COMPLETED

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL_CONFIG = REPO / "configs" / "letfuser.yaml"
#: Future driven positions stored per frame (TransFuser's prediction horizon: 4 x 0.5 s).
NUM_FUTURE_WAYPOINTS = 4
VIEWS = ("left", "front", "right")

FrameProgress = typing.Callable[[int, int, float], None]  # (job index, frames written, route completion %)


@dataclass(frozen=True)
class CollectOptions:
    """How routes are collected (plain values, so a job crosses process boundaries)."""

    out_dir: str
    every_ticks: int = 10
    recovery: bool = False
    seed: int = 0
    backend: str = "embedded"
    backend_options: tuple[tuple[str, Any], ...] = ()
    maps_dir: str | None = None
    scenarios_file: str = ""
    #: The `<scenario>` folder level of the layout (the scenario file's or suite's name).
    scenario_name: str = "routes"
    model_config: str = str(DEFAULT_MODEL_CONFIG)
    timeout_s: float = 60.0
    #: Mark routes where the expert failed as usable for training (`include_failed` in the manifest).
    include_failed: bool = False
    #: Live view of each route (RunOptions.viewer / viewer_dir; `--viewer`).
    viewer: str | None = None
    viewer_dir: str | None = None


@dataclass(frozen=True)
class CollectJob:
    """One route x weather: where to read the route, the weather preset ('' = the route's own)."""

    routes_path: str
    routes_subset: str
    position: int
    weather: str
    index: int
    options: CollectOptions


@dataclass
class CollectResult:
    """What happened to one job (for the progress display and the summary table)."""

    route: str
    route_dir: str
    frames: int = 0
    status: str = ""
    score: float = 0.0
    expert_failed: bool = False
    skipped: bool = False
    wall_s: float = 0.0
    #: CPU seconds of the worker process (all its threads) while it collected this route.
    cpu_s: float = 0.0
    error: str = ""


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name).lstrip(".-_") or "x"


def route_meta(config: Any, job: CollectJob) -> RouteMeta:
    """Folder names and metadata of a job's route (`<scenario>/<town>/<route>_<weather>`)."""
    opts = job.options
    weather = job.weather or config.weather_name or "default"
    return RouteMeta(scenario=_safe(opts.scenario_name), town=_safe(config.town),
                     route=_safe(f"{config.name}_{weather}"), seed=opts.seed + job.index,
                     weather=weather, frame_interval_s=round(opts.every_ticks * 0.05, 6))


def rig_specs(model_config_path: str, every_ticks: int, dt_s: float) -> list[dict]:
    """The LeTFuser rig with semantic cameras: rgb_*, depth_*, semantic_* for left / front / right."""
    from perception.config import load_model_config
    from perception.panorama import camera_specs

    model = load_model_config(model_config_path)
    specs = camera_specs(model, depth=True)
    for s in [s for s in specs if s["type"] == "sensor.camera.rgb"]:
        specs.append({**s, "type": "sensor.camera.semantic_segmentation", "id": s["id"].replace("rgb_", "semantic_")})
    tick = every_ticks * dt_s
    return [{**s, "sensor_tick": tick} for s in specs]


class CollectingExpert(ExpertAgent):
    """The expert with the LeTFuser rig attached; keeps the last frame's sensor data for the collector."""

    rig: ClassVar[list[dict]] = []  # replaced per instance by the collector's factory

    def sensors(self) -> list[dict[str, Any]]:
        return [*super().sensors(), *self.rig]

    def run_step(self, input_data: dict[str, tuple[int, Any]], timestamp: float) -> carla.VehicleControl:
        self.last_input = input_data
        return super().run_step(input_data, timestamp)


class CollectRun(RouteRun):
    """The evaluator's route run with the collection hooks (module docstring)."""

    def __init__(self, world: Any, config: Any, job: RouteJob, opts: RunOptions, agent_cls: Any,
                 writer: RouteWriter, collect: CollectOptions, progress: FrameProgress | None = None) -> None:
        super().__init__(world, config, job, opts, agent_cls)
        self.writer = writer
        self.collect = collect
        self.frame_progress = progress
        self.pending: list[tuple[int, dict[str, np.ndarray], dict[str, Any]]] = []
        self.perturber = Perturber(RecoveryConfig(), collect.seed + job.index + 7919) if collect.recovery else None
        self.topdown_ppm = 0.0

    def on_start(self) -> None:
        from driving.collect.topdown import TopDownLabeller

        dt = self.world.fixed_delta_seconds
        self.path = DrivenPath(max(1, round(WAYPOINT_SPACING_S / dt)), NUM_FUTURE_WAYPOINTS)
        self.targets = RouteTargetLabeller(self.agent._global_plan, self.carla_map)
        self.topdown = TopDownLabeller(self.world, [t for t, _ in self.plan.world], TOPDOWN_SIZE_PX)
        self.topdown_ppm = self.topdown.ppm

    def on_tick(self, ticks: int, control: carla.VehicleControl, criteria: Any) -> carla.VehicleControl:
        ego = self.world.get_actor_state(self.ego_id)
        self.path.add(ticks, ego)
        target_ego, command = self.targets.step(ego)
        applied = self.perturber.apply(ticks, control) if self.perturber is not None else control
        if ticks % self.collect.every_ticks == 0:
            self._capture(ticks, ego, target_ego, command, applied, criteria)
        while self.pending and self.path.ready(self.pending[0][0]):
            self._write(self.pending.pop(0))
        return applied

    def _capture(self, ticks: int, ego: Any, target_ego: np.ndarray, command: int,
                 applied: carla.VehicleControl, criteria: Any) -> None:
        data = self.agent.last_input
        frame = self.world.frame
        images = {}
        for kind in ("rgb", "depth", "semantic"):
            views = []
            for view in VIEWS:
                got_frame, img = data[f"{kind}_{view}"]
                if got_frame != frame:
                    raise RuntimeError(f"camera {kind}_{view}: image of frame {got_frame} at saved frame {frame} "
                                       f"(sensor_tick out of step with --every)")
                views.append(img)
            images[kind] = np.concatenate(views, axis=1)
        images["topdown"] = self.topdown.render(ego, self.world.get_actor_states())
        m = frame_measurements(ego, self.agent.labels(), target_ego, command, applied,
                               self.perturber is not None and self.perturber.active)
        m["route_completion"] = float(criteria.completion.percentage)
        m["game_time"] = float(self._game_time)
        self.pending.append((ticks, images, m))

    def _write(self, item: tuple[int, dict[str, np.ndarray], dict[str, Any]]) -> None:
        ticks, images, m = item
        m["waypoints"] = self.path.waypoints(ticks)
        self.writer.write_frame(self.writer.next_index, images["rgb"], images["depth"], images["semantic"][..., 2],
                                m, topdown_bgr=images["topdown"])
        if self.frame_progress is not None:
            self.frame_progress(self.job.index, self.writer.next_index, float(m.get("route_completion", 0.0)))

    def flush(self) -> None:
        """Write the frames still waiting for future positions (the route ended): fewer waypoints."""
        while self.pending:
            self._write(self.pending.pop(0))


def _agent_factory(rig: list[dict]) -> Callable[[str], CollectingExpert]:
    def make(conf: str) -> CollectingExpert:
        agent = CollectingExpert(conf)
        agent.rig = rig
        return agent

    return make


#: Infractions that do not make a drive bad training data: leaving the route's lanes is what a
#: recovery burst does to the car (the expert then brings it back) and what passing a blocked lane
#: through the oncoming one takes (ManeuverOppositeDirection); the leaderboard still counts it.
NOT_EXPERT_FAILURES = frozenset({"outside_route_lanes"})


def expert_failed(record: Any) -> bool:
    """The expert's drive failed: not Completed, or any infraction but `NOT_EXPERT_FAILURES`
    (a collision, a red light or stop sign, a route deviation, a timeout, being blocked)."""
    return record.status != STATUS_COMPLETED or any(
        bool(v) for k, v in record.infractions.items() if k not in NOT_EXPERT_FAILURES)


def _job_route(job: CollectJob) -> tuple[Any, RouteMeta, Path]:
    from driving.sim.weather import get_weather
    from leaderboard.workers import process_state

    config = process_state().routes(job.routes_path, job.routes_subset)[job.position]
    if job.weather:
        w = get_weather(job.weather)
        config = replace(config, weather=w, weathers=((0.0, w),), weather_name=job.weather)
    meta = route_meta(config, job)
    return config, meta, route_dir(job.options.out_dir, meta)


def route_done(job: CollectJob) -> CollectResult | None:
    """A skipped result when the job's route folder is complete (has its manifest), else None."""
    _, meta, rdir = _job_route(job)
    if not (rdir / MANIFEST_NAME).is_file():
        return None
    from driving.collect.layout import read_manifest

    manifest = read_manifest(rdir)
    expert = manifest.get("expert", {})
    return CollectResult(route=meta.route, route_dir=str(rdir), frames=int(manifest["frame_count"]),
                         status=expert.get("status", ""), score=float(expert.get("driving_score", 0.0)),
                         expert_failed=bool(manifest.get("expert_failed", False)), skipped=True)


def collect_route(payload: tuple[CollectJob, FrameProgress | None]) -> CollectResult:
    """Drive and record one job (runs in a worker process; the World is cached per process)."""
    from leaderboard.workers import process_state

    job, progress = payload
    opts = job.options
    t0 = time.time(), time.process_time()
    state = process_state()
    done = route_done(job)
    if done is not None:
        return done
    config, meta, rdir = _job_route(job)
    result = CollectResult(route=meta.route, route_dir=str(rdir))
    if rdir.exists():  # an interrupted route: the drive cannot resume mid-way, start it again
        shutil.rmtree(rdir)
    world = state.world(opts.backend, opts.backend_options)
    run_opts = RunOptions(agent="expert", track="RESEARCH", timeout_s=opts.timeout_s, backend=opts.backend,
                          backend_options=opts.backend_options, maps_dir=opts.maps_dir, seed=opts.seed,
                          scenarios_file=opts.scenarios_file, viewer=opts.viewer, viewer_dir=opts.viewer_dir)
    route_job = RouteJob(job.routes_path, job.routes_subset, job.position, 0, job.index)
    writer = RouteWriter(rdir, meta, threaded=True)  # PNG encoding and writes overlap the drive
    try:
        return _collect(job, config, meta, rdir, world, run_opts, route_job, writer, progress, result, t0)
    finally:
        with contextlib.suppress(InputError):  # the route stays unsealed; the first error was reported
            writer.close()  # no-op after finish; else writes what is queued


def _collect(job: CollectJob, config: Any, meta: RouteMeta, rdir: Path, world: Any, run_opts: RunOptions,
             route_job: RouteJob, writer: RouteWriter, progress: FrameProgress | None, result: CollectResult,
             t0: tuple[float, float]) -> CollectResult:
    opts = job.options
    rig = rig_specs(opts.model_config, opts.every_ticks, world.fixed_delta_seconds)
    run = CollectRun(world, config, route_job, run_opts, _agent_factory(rig), writer, opts, progress)
    outcome = run.run()
    record = outcome.record
    result.error = outcome.error
    if not outcome.error or writer.next_index:
        try:
            run.flush()
            writer.drain()  # a frame that failed on the writer thread is reported like one that failed here
        except Exception as exc:  # noqa: BLE001 - a failing write is reported, the route stays incomplete
            result.error = result.error or f"{type(exc).__name__}: {exc}"
    result.status = record.status
    result.score = float(record.scores.get("score_composed", 0.0))
    result.expert_failed = expert_failed(record)
    result.frames = writer.next_index
    if writer.failed:  # frames from the failed one on are missing: leave the route unsealed
        result.frames = writer.frames_on_disk
        return _done(result, t0)
    if writer.next_index == 0:
        result.error = result.error or "no frame was saved"
        return _done(result, t0)
    infractions = {k: v for k, v in record.infractions.items() if v}
    extra = {
        "expert_failed": result.expert_failed,
        "include_failed": opts.include_failed,
        "expert": {"status": record.status, "driving_score": result.score,
                   "route_completion": float(record.scores.get("score_route", 0.0)),
                   "infraction_penalty": float(record.scores.get("score_penalty", 0.0)),
                   "infractions": infractions, "error": outcome.error.splitlines()[0] if outcome.error else ""},
        "recovery": opts.recovery,
        "recovery_bursts": run.perturber.bursts if run.perturber is not None else 0,
        "scenarios": {"file": opts.scenarios_file, "placed": record.meta.get("scenarios", [])},
        "every_ticks": opts.every_ticks, "backend": opts.backend,
        "route_id": config.route_id, "route_length_m": float(run.route_length_m),
        "topdown": {"size_px": TOPDOWN_SIZE_PX, "px_per_m": run.topdown_ppm, "orientation": "ego-up"},
        "waypoints": {"spacing_s": WAYPOINT_SPACING_S, "count": NUM_FUTURE_WAYPOINTS, "kind": "driven"},
    }
    writer.finish(extra)
    return _done(result, t0)


def _done(result: CollectResult, t0: tuple[float, float]) -> CollectResult:
    result.wall_s = time.time() - t0[0]
    result.cpu_s = time.process_time() - t0[1]
    return result
