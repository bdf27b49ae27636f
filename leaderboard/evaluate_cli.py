"""`driving evaluate`: the friendly front of the leaderboard evaluator.

Defaults that just work (the shipped LeTFuser-tiny on the held-out `test_short` routes, in the
track its model needs; `--agent expert` for the expert; results under runs/evaluate/), a rich
progress bar per route, a summary table at the end, an optional HTML report (`--report`) and an
optional top-down mp4 per route (`--video`), a live view of each route (`--viewer`: a window, or an
H.264 video per route in OUT/viewer/ without a display); `--ray-address` runs the routes on a Ray cluster. `--suite normal|adversarial` picks a route set and scenario
file together (`configs/suites/`). Takes every official evaluator argument as well. The
summary says whether the results are eligible and why not (the expert never is, nor a model
that reads depth cameras, as the shipped one does).
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from leaderboard.viewer.options import add_viewer_argument, viewer_choice

BUNDLED_ROUTES_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_ROUTES = "test_short"  # held out: a town the shipped model never saw
DEFAULT_AGENT = "letfuser"
#: Most route workers `driving evaluate` starts on its own: each LeTFuser worker holds a world,
#: torch and the model (1.3 GB resident), so a laptop's cores are used without filling its memory.
MAX_DEFAULT_WORKERS = 4


def default_workers(n_route_runs: int, ray_address: str | None) -> int:
    """Route workers without --workers: on this machine one per core, at most MAX_DEFAULT_WORKERS
    and one per route run (the held-out routes then take minutes, not a quarter of an hour);
    on Ray 1 (no cap: the cluster's free CPUs decide)."""
    if ray_address:
        return 1
    from driving.cpus import available_cpus

    return max(1, min(available_cpus(), MAX_DEFAULT_WORKERS, n_route_runs))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from leaderboard.leaderboard_evaluator import add_evaluator_arguments

    add_evaluator_arguments(parser, official_defaults=False)
    parser.set_defaults(routes=None, agent=DEFAULT_AGENT, checkpoint=None, track=None, workers=None)
    parser.add_argument("--suite", default=None,
                        help="a bundled suite (normal, adversarial) or a suite YAML: its route set and "
                             "scenario file (instead of --routes/--scenarios)")
    parser.add_argument("--out", default="runs/evaluate",
                        help="output folder (results.json unless --checkpoint, videos/)")
    parser.add_argument("--video", action="store_true", help="write a top-down mp4 per route into OUT/videos")
    parser.add_argument("--report", action="store_true",
                        help="write OUT/report.html (driving report of the results, videos linked)")
    add_viewer_argument(parser)


def _routes_path(value: str) -> str:
    """A bundled set name (`val_short`, `test_long`, ...) or a path to a routes XML file."""
    bundled = BUNDLED_ROUTES_DIR / f"routes_{value}.xml"
    if not Path(value).exists() and bundled.is_file():
        return str(bundled)
    if not Path(value).exists():
        from driving.errors import InputError

        names = sorted(p.stem[len("routes_"):] for p in BUNDLED_ROUTES_DIR.glob("routes_*.xml"))
        raise InputError(f"--routes {value}: no such file and not a bundled route set; bundled: {names}")
    return value


def _apply_suite(args: argparse.Namespace) -> None:
    """`--suite NAME` sets the route set and scenario file; giving them as well is a conflict."""
    if not args.suite:
        return
    from driving.errors import InputError
    from leaderboard.suites import load_suite

    if args.routes or args.scenarios:
        raise InputError("--suite sets the routes and scenarios; do not give --routes or --scenarios with it")
    suite = load_suite(args.suite)
    args.routes, args.scenarios = suite.routes, suite.scenarios


def _default_track(args: argparse.Namespace) -> str:
    """Without --track: the track the agent declares for its config (`track_for_config`), else SENSORS."""
    from leaderboard.agents_registry import load_agent_class

    declared = getattr(load_agent_class(args.agent), "track_for_config", None)
    return declared(args.agent_config) if callable(declared) else "SENSORS"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from leaderboard.leaderboard_evaluator import plan_evaluation, run_evaluation

    out = Path(args.out)
    _apply_suite(args)
    args.routes = _routes_path(args.routes or DEFAULT_ROUTES)
    if args.checkpoint is None:
        args.checkpoint = str(out / "results.json")
    args.video_dir = str(out / "videos") if args.video else None
    args.viewer, args.viewer_dir = viewer_choice(args.viewer, out)
    if args.track is None:
        args.track = _default_track(args)
    auto_workers = args.workers is None
    if auto_workers:
        args.workers = 1  # checked with one, then sized to the routes
    plan = plan_evaluation(args)
    if auto_workers:
        plan = dataclasses.replace(plan, workers=default_workers(len(plan.jobs), plan.ray_address))
    console = Console()
    where = (f"Ray at {plan.ray_address}" + (f", at most {plan.workers} at a time" if plan.workers > 1 else "")
             if plan.ray_address else f"{plan.workers} worker(s)")
    console.print(f"[bold]evaluating[/] {plan.opts.agent} on {args.routes} "
                  f"({len(plan.jobs)} route runs, {where}, track {plan.opts.track})")
    rows = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                  TimeElapsedColumn(), console=console) as progress:
        tasks: dict[int, int] = {}

        def task_for(index: int) -> int:
            if index not in tasks:
                tasks[index] = progress.add_task(f"route run {index}", total=100.0, info="")
            return tasks[index]

        def on_tick(index: int, completion: float, game_s: float) -> None:
            progress.update(task_for(index), completed=completion, info=f"{game_s:6.1f} s game")

        def on_route(outcome, results) -> None:
            r = outcome.record
            progress.update(task_for(r.index), description=f"{r.route_id} #{r.index}",
                            completed=r.scores["score_route"],
                            info=f"{r.status}  DS {r.scores['score_composed']:.1f}")
            rows.append(r)

        results = run_evaluation(plan, progress=on_tick, on_route=on_route)
    table = Table(title=f"results: {plan.checkpoint}")
    for col in ("route", "index", "status", "DS", "RC", "IS", "infractions"):
        table.add_column(col, justify="right" if col in ("index", "DS", "RC", "IS") else "left",
                         no_wrap=col == "route")
    for r in results.records:
        n_inf = {k: len(v) for k, v in r.infractions.items() if v}
        table.add_row(str(r.route_id), str(r.index), r.status, f"{r.scores['score_composed']:.2f}",
                      f"{r.scores['score_route']:.2f}", f"{r.scores['score_penalty']:.3f}",
                      ", ".join(f"{k} {n}" for k, n in n_inf.items()) or "-")
    console.print(table)
    doc = results.to_json()
    if doc["values"]:
        ds, rc, pen = doc["values"][:3]
        console.print(f"[bold]mean DS {ds}  RC {rc}  IS {pen}[/]  entry status: {doc['entry_status']}")
        per_km = ", ".join(f"{label.lower()} {value}" for label, value in zip(doc["labels"][3:], doc["values"][3:])
                           if float(value) > 0)
        console.print(f"infractions per km driven: {per_km or 'none'}")
    console.print("eligible for the leaderboard: " + ("yes" if doc["eligible"] else f"no, {doc['eligible_reason']}"),
                  markup=False)
    if args.video:
        console.print(f"videos: {out / 'videos'}")
    if args.report:
        from leaderboard.report import ReportOptions, write_report

        path = write_report(ReportOptions(results=(str(plan.checkpoint),), out=str(out / "report.html"),
                                          routes=args.routes, maps_dir=args.maps))
        console.print(f"report: {path}")
    if args.viewer == "video":
        console.print(f"viewer videos: {args.viewer_dir}")
    return 0
