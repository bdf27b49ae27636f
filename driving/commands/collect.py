"""`driving collect`: the expert drives routes while the LeTFuser rig and its labels are saved.

    driving collect --routes val_short --out data/ [--scenarios FILE | --suite NAME]
        [--weathers ClearNoon,WetSunset] [--workers 2] [--every 10] [--recovery] [--seed 0]
        [--viewer [window|video]]

One job per route x weather, run on the evaluator's worker pool (`leaderboard.workers.run_jobs`;
`--ray-address` hands them to a Ray cluster where that pool supports it). Each job writes
`<out>/<scenario>/<town>/<route>_<weather>/` (layout: `driving.collect.layout`) and seals it with
its manifest last. Running the same command again skips complete routes and drives incomplete
ones again from the start. Routes where the expert failed are kept but flagged `expert_failed`,
which the training reader skips unless asked (`LeTFuserDataset(include_failed=True)`, or
`--include-failed` here, recorded in the manifest as `include_failed`).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from driving.errors import InputError
from leaderboard.viewer.options import add_viewer_argument, viewer_choice

DEFAULT_EVERY_TICKS = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--routes", default=None, help="routes XML file or bundled set name (val_short, ...)")
    parser.add_argument("--routes-subset", default="", help="route ids to drive, e.g. '0-3,7' (as the evaluator's)")
    parser.add_argument("--scenarios", default=None, help="scenario file (LB1.0 JSON or our YAML) placed per route")
    parser.add_argument("--suite", default=None, help="an evaluation suite: its scenarios (and routes, "
                                                      "when --routes is not given)")
    parser.add_argument("--weathers", default="", help="comma-separated weather presets; one job per route x "
                                                        "weather (default: each route's own weather)")
    parser.add_argument("--out", required=True, help="dataset root folder")
    parser.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    parser.add_argument("--backend", default="embedded", help="world backend: embedded or carla")
    parser.add_argument("--host", default="localhost", help="CARLA server host (carla backend)")
    parser.add_argument("--port", type=int, default=2000, help="CARLA server port (carla backend)")
    parser.add_argument("--ray-address", default=None, help="run jobs on this Ray cluster")
    parser.add_argument("--every", type=int, default=DEFAULT_EVERY_TICKS,
                        help="save every N-th 20 Hz tick (default 10 = 2 Hz)")
    parser.add_argument("--recovery", action="store_true", help="perturbation bursts for recovery data")
    parser.add_argument("--seed", type=int, default=0, help="base seed (route index added)")
    parser.add_argument("--maps", default=None, help="folder of <town>.xodr maps for non-bundled towns")
    parser.add_argument("--model-config", default=None, help="model YAML whose camera rig is recorded "
                                                             "(default configs/letfuser.yaml)")
    parser.add_argument("--include-failed", action="store_true",
                        help="mark routes where the expert failed as usable for training too")
    parser.add_argument("--quiet", action="store_true", help="no live progress display")
    add_viewer_argument(parser)


def _check_args(args: argparse.Namespace) -> tuple[str, str, str, list[str]]:
    """(routes path, scenarios file, scenario folder name, weathers); one InputError for bad input."""
    from leaderboard.evaluate_cli import _routes_path

    if args.workers < 1:
        raise InputError(f"--workers must be >= 1, got {args.workers}")
    if args.every < 1:
        raise InputError(f"--every must be >= 1 tick, got {args.every}")
    if args.scenarios and args.suite:
        raise InputError("--scenarios and --suite both name a scenario file; give one of them")
    from driving.backends import available_backends

    if args.backend not in available_backends():
        raise InputError(f"--backend {args.backend!r}: unknown; known: {available_backends()}")
    if args.maps and not Path(args.maps).is_dir():
        raise InputError(f"--maps {args.maps}: not a folder")
    scenarios, scenario_name, routes = "", "routes", args.routes
    if args.suite:
        from leaderboard.suites import load_suite

        suite = load_suite(args.suite)
        scenarios, scenario_name = suite.scenarios, suite.name
        routes = routes or suite.routes
    if not routes:
        raise InputError("--routes is required (a routes XML file or a bundled set name), or --suite NAME")
    if args.scenarios:
        if not Path(args.scenarios).is_file():
            raise InputError(f"--scenarios {args.scenarios}: no such file")
        from scenarios.source import load_scenario_source_cached

        load_scenario_source_cached(str(Path(args.scenarios).resolve()))  # a bad file fails here, once
        scenarios, scenario_name = str(Path(args.scenarios).resolve()), Path(args.scenarios).stem
    weathers = [w.strip() for w in args.weathers.split(",") if w.strip()] if args.weathers else []
    if weathers:
        from driving.sim.weather import weather_presets

        known = weather_presets()
        bad = [w for w in weathers if w not in known]
        if bad:
            raise InputError(f"--weathers: unknown preset(s) {bad}; known: {', '.join(known)}")
    model_config = args.model_config
    if model_config and not Path(model_config).is_file():
        raise InputError(f"--model-config {model_config}: no such file")
    return str(Path(_routes_path(routes)).resolve()), scenarios, scenario_name, weathers


def build_jobs(args: argparse.Namespace) -> list[Any]:
    """One CollectJob per route x weather, in route order."""
    from driving.collect.collector import DEFAULT_MODEL_CONFIG, CollectJob, CollectOptions
    from leaderboard.routes import parse_routes_file

    routes_path, scenarios, scenario_name, weathers = _check_args(args)
    subset = getattr(args, "routes_subset", "")
    configs = parse_routes_file(routes_path, subset)
    if not configs:
        raise InputError(f"--routes {args.routes}: no route selected (--routes-subset {subset!r})")
    backend_options = (("host", args.host), ("port", args.port)) if args.backend == "carla" else ()
    viewer, viewer_dir = viewer_choice(getattr(args, "viewer", None), args.out)
    opts = CollectOptions(out_dir=str(Path(args.out).resolve()), every_ticks=args.every, recovery=args.recovery,
                          seed=args.seed, backend=args.backend, backend_options=backend_options,
                          maps_dir=args.maps, scenarios_file=scenarios, scenario_name=scenario_name,
                          model_config=str(Path(args.model_config or DEFAULT_MODEL_CONFIG).resolve()),
                          include_failed=args.include_failed, viewer=viewer, viewer_dir=viewer_dir)
    jobs = []
    for position, _ in enumerate(configs):
        for weather in weathers or [""]:
            jobs.append(CollectJob(routes_path, subset, position, weather, len(jobs), opts))
    from leaderboard.route_runner import resolve_town

    for config in configs:  # an unknown town fails now, with one line, not in every worker
        resolve_town(config.town, args.maps, server_towns=args.backend == "carla")
    return jobs


class _Display:
    """One rich progress display for the job: routes done / total, frames, frames/s, ETA."""

    def __init__(self, total: int, quiet: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.frames: dict[int, int] = {}
        self.done_frames = 0
        self.t0 = time.time()
        self.progress = Progress(TextColumn("collect"), BarColumn(), MofNCompleteColumn(), TextColumn("routes"),
                                 TextColumn("{task.fields[frames]} frames, {task.fields[fps]:.1f} frames/s"),
                                 TimeRemainingColumn(), disable=quiet, transient=False)
        self.task = self.progress.add_task("collect", total=total, frames=0, fps=0.0)

    def on_frames(self, index: int, frames: int, completion_pct: float) -> None:
        self.frames[index] = frames
        self._refresh()

    def on_route(self, index: int, frames: int) -> None:
        self.frames[index] = frames
        self.progress.advance(self.task)
        self._refresh()

    def _refresh(self) -> None:
        total = sum(self.frames.values())
        self.progress.update(self.task, frames=total, fps=total / max(time.time() - self.t0, 1e-6))


def _summary(results: list[Any], wall_s: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="driving collect")
    for col in ("route", "status", "DS", "frames", "expert failed", "wall s", "note"):
        table.add_column(col, no_wrap=col == "route", min_width=24 if col == "route" else None,
                         overflow="fold" if col == "note" else "ellipsis")
    for r in results:
        note = "skipped (complete)" if r.skipped else (r.error.splitlines()[0][:60] if r.error else "")
        table.add_row(r.route, r.status or "-", f"{r.score:.1f}" if r.status else "-", str(r.frames),
                      "yes" if r.expert_failed else "", f"{r.wall_s:.1f}", note)
    new_frames = sum(r.frames for r in results if not r.skipped)
    table.caption = (f"{new_frames} frames in {wall_s:.1f} s ({new_frames / max(wall_s, 1e-6):.1f} frames/s); "
                     f"{sum(r.expert_failed for r in results)} route(s) flagged expert_failed")
    Console().print(table)


def run(args: argparse.Namespace) -> int:
    from driving.collect.collector import CollectResult, collect_route, route_done
    from leaderboard.workers import ProgressChannel, run_jobs

    jobs = build_jobs(args)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    display = _Display(len(jobs), args.quiet)
    results: list[Any] = [None] * len(jobs)
    todo = []
    for i, job in enumerate(jobs):
        done = route_done(job)
        if done is not None:
            results[i] = done
        else:
            todo.append(i)
    display.progress.update(display.task, completed=len(jobs) - len(todo))
    t0 = time.time()
    with display.progress, ProgressChannel(None if args.ray_address else display.on_frames,
                                           args.workers) as channel:
        payloads = [(jobs[i], channel.reporter) for i in todo]
        extra = {"ray_address": args.ray_address} if args.ray_address else {}
        for pos, result in run_jobs(collect_route, payloads, args.workers, **extra):
            i = todo[pos]
            if isinstance(result, BaseException):
                result = CollectResult(route=f"job {i}", route_dir="", error=f"{type(result).__name__}: {result}")
            results[i] = result
            display.on_route(jobs[i].index, result.frames)
    _summary(results, time.time() - t0)
    failed = [r for r in results if r.error and not r.frames]
    return 1 if failed else 0
