"""`driving attack`: search a scenario family's parameters for the settings that hurt an agent most.

Runs the family on one route (`--routes` set or file, `--route-id`) with candidate settings
from `scenarios.attack_search` (random search, then the cross-entropy method), each a full route
run through the evaluator's runner, `--workers` at a time. Writes into `--out`:
- `candidates/attack_NNNN.yaml`: every evaluated case as a scenario file (our YAML format);
- `cases/worst_K.yaml`: the `--keep` lowest-scoring cases, each with its score and the exact
  `driving evaluate` command that replays it (same route, seed and agent give the same score);
- `attack.json`: every evaluation (values, DS, RC, IS, infractions), written after each batch.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
from pathlib import Path

import yaml

DEFAULT_ROUTES = "test_short"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agent", default="expert", help="agent name (expert, letfuser, never_brake) or file")
    parser.add_argument("--agent-config", default="", help="the agent's configuration file")
    parser.add_argument("--family", required=True,
                        help="scenario family: readable (DynamicObjectCrossing) or official (Scenario3)")
    parser.add_argument("--routes", default=DEFAULT_ROUTES, help="bundled route set name or routes XML")
    parser.add_argument("--route-id", default="0", help="id of the route to attack on (as in the routes file)")
    parser.add_argument("--maps", default=None, help="folder of OpenDRIVE maps for routes on other towns")
    parser.add_argument("--budget", type=int, default=20, help="route runs in all")
    parser.add_argument("--workers", type=int, default=1, help="route runs in parallel")
    parser.add_argument("--seed", type=int, default=0, help="search and traffic seed")
    parser.add_argument("--keep", type=int, default=5, help="worst cases written as replayable YAML")
    parser.add_argument("--out", default="runs/attack", help="output folder")


def _check(args: argparse.Namespace) -> tuple[str, str]:
    """(official type name, routes path); one InputError line for bad arguments."""
    from driving.errors import InputError
    from leaderboard.evaluate_cli import _routes_path
    from leaderboard.routes import parse_routes_file
    from scenarios.registry import READABLE_NAMES, builder, official_name

    try:
        type_name = official_name(args.family)
    except KeyError:
        raise InputError(f"--family {args.family}: unknown; known: {sorted(READABLE_NAMES)} or Scenario1..10") from None
    if builder(type_name) is None:
        raise InputError(f"--family {args.family}: no behaviour for {type_name} in this install")
    for name in ("budget", "workers", "keep"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')}: expected an integer >= 1, got {getattr(args, name)}")
    routes = _routes_path(args.routes)
    if not parse_routes_file(routes, args.route_id):
        raise InputError(f"--route-id {args.route_id}: no such route in {routes}")
    return type_name, routes


def replay_command(args: argparse.Namespace, routes: str, case: Path) -> str:
    """The `driving evaluate` command line that drives `case` exactly as the search did."""
    words = ["driving", "evaluate", "--agent", args.agent, "--routes", routes, "--routes-subset", args.route_id,
             "--scenarios", str(case), "--trafficManagerSeed", str(args.seed)]
    if args.agent_config:
        words += ["--agent-config", args.agent_config]
    if args.maps:
        words += ["--maps", args.maps]
    return shlex.join(words)


def _candidate(out: Path, index: int) -> Path:
    """The scenario file of the `index`-th case asked for (ask order)."""
    return out / "candidates" / f"attack_{index:04d}.yaml"


def run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from driving.atomic_io import atomic_write_text
    from leaderboard.agents_registry import resolve_agent
    from leaderboard.leaderboard_evaluator import route_worker
    from leaderboard.route_runner import RouteJob, RunOptions
    from leaderboard.workers import run_jobs
    from scenarios.attack_search import CrossEntropySearch, search_space

    type_name, routes = _check(args)
    out = Path(args.out)
    space = search_space(type_name)
    search = CrossEntropySearch(space, args.budget, args.seed, batch=max(4, 2 * args.workers))
    base = RunOptions(agent=str(resolve_agent(args.agent)), agent_config=args.agent_config, seed=args.seed,
                      maps_dir=args.maps)
    job = RouteJob(str(Path(routes).resolve()), args.route_id, position=0, repetition=0, index=0)
    evaluations: list[dict] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[info]}"), TimeElapsedColumn()) as progress:
        task = progress.add_task(f"attack {type_name} on {args.agent}", total=args.budget, info="")
        while not search.done:
            xs = search.ask()
            paths = []
            for x in xs:
                path = _candidate(out, len(evaluations) + len(paths))
                path.parent.mkdir(parents=True, exist_ok=True)
                entry = space.scenario_entry(x, path.stem)
                atomic_write_text(path, yaml.safe_dump({"scenarios": [entry]}, sort_keys=False))
                paths.append(path)
            payloads = [(job, dataclasses.replace(base, scenarios_file=str(p.resolve())), None) for p in paths]
            scores = [0.0] * len(xs)
            for pos, outcome in run_jobs(route_worker, payloads, args.workers):
                if isinstance(outcome, BaseException):
                    raise outcome
                r = outcome.record
                scores[pos] = r.scores["score_composed"]
                evaluations.append({"case": str(paths[pos]), "values": space.as_dict(xs[pos]),
                                    "placed": bool(r.meta.get("scenarios")), "status": r.status,
                                    "scores": r.scores,
                                    "infractions": {k: v for k, v in r.infractions.items() if v}})
                progress.advance(task)
            search.tell(xs, scores)
            best = min(search.scores)
            progress.update(task, info=f"lowest DS {best:.1f}")
            atomic_write_text(out / "attack.json", json.dumps(
                {"family": type_name, "agent": args.agent, "routes": routes, "route_id": args.route_id,
                 "seed": args.seed, "space": {n: [float(lo), float(hi)] for n, lo, hi in
                                              zip(space.names, space.low, space.high)},
                 "evaluations": sorted(evaluations, key=lambda e: e["case"])}, indent=1))
    by_case = {e["case"]: e for e in evaluations}
    print(f"{len(evaluations)} runs of {type_name} on route {args.route_id} of {routes}; worst cases:")
    for rank, index in enumerate(search.worst(args.keep)):
        source, score = _candidate(out, index), search.scores[index]
        case = out / "cases" / f"worst_{rank}.yaml"
        case.parent.mkdir(parents=True, exist_ok=True)
        e = by_case[str(source)]
        command = replay_command(args, routes, case.resolve())
        header = (f"# driving attack: {type_name} against {args.agent}, rank {rank}: DS {score:.3f} "
                  f"(RC {e['scores']['score_route']:.2f}, IS {e['scores']['score_penalty']:.3f}) {e['status']}\n"
                  f"# replay: {command}\n")
        atomic_write_text(case, header + source.read_text())
        print(f"  DS {score:7.2f}  {e['values']}  -> {case}")
    return 0
