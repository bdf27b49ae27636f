"""`python -m leaderboard.leaderboard_evaluator`: the official evaluator's arguments and flow.

Arguments are the official LB1.0 ones (--routes, --scenarios, --repetitions, --routes-subset,
--track, --agent, --agent-config, --checkpoint, --resume, --debug, --record, --timeout, --host,
--port, --trafficManagerPort, --trafficManagerSeed) plus --backend (embedded by default),
--workers N (parallel routes, each worker with its own world), --ray-address ADDR (routes as
Ray tasks on a cluster; `local` starts Ray here) and --maps DIR (towns as <town>.xodr). Every route x repetition gets a record, written atomically after each route in
route order; --resume continues at the checkpoint's progress. All input is checked before the
first route runs, so a typo fails at once with one clear message; options that only matter on a
CARLA server (--record, and --host/--port/--trafficManagerPort when given) are ignored with one
warning on stderr with the embedded backend, so an official command line runs there unchanged.
A privileged agent or the RESEARCH track makes the results not eligible, saying why.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from driving.errors import InputError
from leaderboard.results import Results, new_results, resume_results, run_ineligibility
from leaderboard.route_runner import (
    SERVER_BACKEND,
    ProgressFn,
    RouteJob,
    RouteOutcome,
    RunOptions,
    resolve_town,
    run_route,
)
from leaderboard.statistics import FAILURE_SIMULATION, failed_record

#: Official defaults of the server options. The parser's defaults are None instead, so that an
#: option given explicitly (even with its default value) can be told from one left out.
SERVER_DEFAULTS = {"host": "localhost", "port": "2000", "trafficManagerPort": "8000"}


def add_evaluator_arguments(parser: argparse.ArgumentParser, official_defaults: bool = True) -> None:
    """The official evaluator's arguments (plus ours); `driving evaluate` reuses them."""
    parser.add_argument("--host", default=None, help="CARLA server host (carla backend; default localhost)")
    parser.add_argument("--port", default=None, help="CARLA server port (carla backend; default 2000)")
    parser.add_argument("--trafficManagerPort", default=None,
                        help="Traffic Manager port (carla backend; default 8000)")
    parser.add_argument("--trafficManagerSeed", default="0", help="seed of background traffic")
    parser.add_argument("--debug", type=int, default=0, help="print route events (1) ")
    parser.add_argument("--record", type=str, default="",
                        help="folder for CARLA recorder logs <route>_rep<n>.log (carla backend; ignored otherwise)")
    parser.add_argument("--timeout", default="60.0", help="wall seconds allowed per agent call (setup, run_step)")
    parser.add_argument("--routes", required=official_defaults, help="routes XML (LB1.0 or LB2.0 layout)")
    parser.add_argument("--scenarios", required=False, default="",
                        help="scenarios file: LB1.0 JSON or our YAML (scenarios/scenario_file.py); checked, placed and run "
                             "(types without a behaviour are skipped and named; --debug logs placements)")
    parser.add_argument("--repetitions", type=int, default=1, help="times each route is driven")
    parser.add_argument("--routes-subset", default="", help="route ids to run, e.g. '0-3,7'")
    parser.add_argument("-a", "--agent", required=official_defaults,
                        help="agent file (.py with get_entry_point) or built-in name (expert, letfuser)")
    parser.add_argument("--agent-config", default="", help="path passed to the agent's setup()")
    parser.add_argument("--track", default="SENSORS", help="SENSORS, MAP or RESEARCH (allows depth/semantic cameras)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint's progress")
    parser.add_argument("--checkpoint", default="./simulation_results.json", help="results JSON path")
    parser.add_argument("--backend", default="embedded", help="world backend: embedded or carla")
    parser.add_argument("--workers", type=int, default=1, help="routes driven in parallel processes")
    parser.add_argument("--maps", default=None, help="folder of <town>.xodr maps for routes' towns")
    parser.add_argument("--ray-address", default=None,
                        help="run routes as Ray tasks: 'auto' (the cluster this machine joined), HOST:PORT, "
                             "or 'local' (a Ray instance started for this run); --workers N then caps routes "
                             "in flight; needs pip install -e '.[cluster]'")


@dataclass(frozen=True)
class Plan:
    """A checked evaluation: jobs in results order, run options and where results go."""

    jobs: list[RouteJob]
    route_names: list[str]  # official route id (RouteScenario_<id>) of each job
    opts: RunOptions
    checkpoint: Path
    resume: bool
    repetitions: int
    workers: int
    #: Why the results can never be eligible (privileged agent, RESEARCH track); () when they can.
    ineligible: tuple[str, ...] = ()
    #: Ray cluster address (`auto`, HOST:PORT, `local`) to run jobs as Ray tasks; None: local processes.
    ray_address: str | None = None


def _positive_float(value: str, name: str) -> float:
    try:
        out = float(value)
    except ValueError:
        raise InputError(f"{name}: expected a number of seconds, got {value!r}") from None
    if not out > 0:
        raise InputError(f"{name}: expected a positive number of seconds, got {value!r}")
    return out


def _server_option(args: argparse.Namespace, name: str) -> str:
    """A server option's value: as given, else its official default (`SERVER_DEFAULTS`)."""
    value = getattr(args, name, None)
    return SERVER_DEFAULTS[name] if value is None else str(value)


def _backend_options(args: argparse.Namespace, timeout_s: float, seed: int) -> tuple[tuple[str, object], ...]:
    """Constructor options of the chosen backend: the server address and Traffic Manager for `carla`."""
    if args.backend != SERVER_BACKEND:
        return ()
    ports = {}
    for name in ("port", "trafficManagerPort"):
        value = _server_option(args, name)
        try:
            ports[name] = int(value)
        except ValueError:
            raise InputError(f"--{name}: expected a port number, got {value!r}") from None
    return (("host", _server_option(args, "host")), ("port", ports["port"]),
            ("traffic_manager_port", ports["trafficManagerPort"]), ("traffic_manager_seed", seed),
            ("timeout_s", timeout_s))


def _ignored_server_options(args: argparse.Namespace) -> list[str]:
    """One warning per kind of server-only option given with a backend that has no server."""
    if args.backend == SERVER_BACKEND:
        return []
    warnings = []
    given = [f"--{name}" for name in SERVER_DEFAULTS if getattr(args, name, None) is not None]
    if given:
        warnings.append(f"{', '.join(given)} ignored: only used with --backend {SERVER_BACKEND} "
                        f"(this run uses --backend {args.backend})")
    if args.record:
        warnings.append(f"--record {args.record} ignored: the {args.backend} backend has no recorder "
                        f"(use --backend {SERVER_BACKEND})")
    return warnings


def _check_agent(args: argparse.Namespace, track: str) -> tuple[str, tuple[str, ...]]:
    """Load the agent class once (a broken file fails now) and run its optional config check.

    An agent class may define `check_agent_config(path_to_conf_file) -> None` (class- or
    staticmethod) raising InputError for a missing or mismatched model file: a bad
    --agent-config then fails here with one line, instead of "Agent couldn't be set up" on
    every route. Returns the agent file and the run's ineligibility reasons.
    """
    from leaderboard.agents_registry import load_agent_class, resolve_agent
    from leaderboard.autoagents.autonomous_agent import PrivilegedAgent

    agent_cls = load_agent_class(args.agent)
    check = getattr(agent_cls, "check_agent_config", None)
    if callable(check):
        check(args.agent_config)
    ineligible = run_ineligibility(issubclass(agent_cls, PrivilegedAgent), track)
    return str(resolve_agent(args.agent)), ineligible


def plan_evaluation(args: argparse.Namespace) -> Plan:
    """Check every input (routes, towns, agent, track, scenarios, numbers) and build the jobs."""
    from driving.backends import available_backends
    from leaderboard.autoagents.agent_wrapper import parse_track
    from leaderboard.routes import parse_routes_file

    if args.backend not in available_backends():
        raise InputError(f"--backend: unknown backend {args.backend!r}; expected one of {available_backends()}")
    if args.repetitions < 1:
        raise InputError(f"--repetitions: expected an integer >= 1, got {args.repetitions}")
    if args.workers < 1:
        raise InputError(f"--workers: expected an integer >= 1, got {args.workers}")
    ray_address = getattr(args, "ray_address", None) or None
    if ray_address:  # a missing extra fails now, with the install command
        from driving.jobs.ray_runner import import_ray

        import_ray()
    timeout_s = _positive_float(args.timeout, "--timeout")
    try:
        seed = int(args.trafficManagerSeed)
    except ValueError:
        raise InputError(f"--trafficManagerSeed: expected an integer, got {args.trafficManagerSeed!r}") from None
    backend_options = _backend_options(args, timeout_s, seed)
    if args.backend == SERVER_BACKEND:  # fail now, with the server address, not once per route
        from driving.backends import create_world

        create_world(args.backend, **dict(backend_options)).close()
    track = parse_track(args.track).value
    if args.maps and not Path(args.maps).is_dir():
        raise InputError(f"--maps {args.maps}: not a folder")
    scenarios_file = ""
    if args.scenarios:  # a bad file fails here with one line, not once per route
        from scenarios.source import load_scenario_source

        scenarios_file = str(Path(args.scenarios).resolve())
        load_scenario_source(scenarios_file)
    routes_path = str(Path(args.routes).resolve())
    configs = parse_routes_file(routes_path, args.routes_subset)
    if not configs:
        raise InputError(f"--routes {args.routes}: no route selected (--routes-subset {args.routes_subset!r})")
    from driving.sim.maps import available_maps, load_map

    server_towns = args.backend == SERVER_BACKEND
    for town in sorted({config.town for config in configs}):
        resolved = resolve_town(town, args.maps, server_towns)
        if resolved != town or town in available_maps():  # an .xodr or a bundled map, not a server town
            load_map(resolved)  # a malformed map fails here, not mid-run (cached)
    agent_path, ineligible = _check_agent(args, track)
    record_dir = args.record if args.record and args.backend == SERVER_BACKEND else None
    maps_dir, video_dir, agent_config = args.maps, getattr(args, "video_dir", None), args.agent_config
    if ray_address:  # Ray workers run in their node's folder, not this one: paths must be absolute
        maps_dir, video_dir, record_dir = (str(Path(p).resolve()) if p else p for p in (maps_dir, video_dir, record_dir))
        if agent_config and Path(agent_config).exists():
            agent_config = str(Path(agent_config).resolve())
    opts = RunOptions(agent=agent_path, agent_config=agent_config, track=track, timeout_s=timeout_s,
                      backend=args.backend, backend_options=backend_options, maps_dir=maps_dir, seed=seed, debug=args.debug,
                      video_dir=video_dir, record_dir=record_dir, scenarios_file=scenarios_file,
                      viewer=getattr(args, "viewer", None), viewer_dir=getattr(args, "viewer_dir", None))
    reps = args.repetitions
    jobs = [RouteJob(routes_path, args.routes_subset, pos, rep, pos * reps + rep)
            for pos in range(len(configs)) for rep in range(reps)]
    names = [configs[job.position].name for job in jobs]
    for warning in _ignored_server_options(args):  # once, and only for a plan that will run
        print(f"warning: {warning}", file=sys.stderr)
    return Plan(jobs, names, opts, Path(args.checkpoint), bool(args.resume), reps, args.workers, ineligible,
                ray_address)


def route_worker(payload: tuple[RouteJob, RunOptions, ProgressFn | None]) -> RouteOutcome:
    """Run one job in this process with its cached world, routes and agent class (picklable entry)."""
    from leaderboard.agents_registry import load_agent_class
    from leaderboard.workers import process_state

    job, opts, progress = payload
    state = process_state()
    config = state.routes(job.routes_path, job.routes_subset)[job.position]
    try:
        world = state.world(opts.backend, opts.backend_options)
    except Exception as exc:  # noqa: BLE001 - a world that cannot start is a simulation crash
        record = failed_record(config.name, job.index, FAILURE_SIMULATION, 0.0)
        return RouteOutcome(record, [], f"{type(exc).__name__}: {exc}")
    return run_route(world, config, job, opts, load_agent_class(opts.agent), progress)


def run_evaluation(plan: Plan, progress: ProgressFn | None = None,
                   on_route: Callable[[RouteOutcome, Results], None] | None = None) -> Results:
    """Drive every pending job and write the results file after each route (route order).

    `progress(index, completion %, game s)` is called during routes (from a helper thread when
    routes run in worker processes or Ray tasks); `on_route(outcome, results)` after each recorded
    route. Ray tasks finish in any order too; `in_order` keeps the file in route order either way.
    """
    from leaderboard.workers import ProgressChannel, in_order, process_state, run_jobs

    total = len(plan.jobs)
    results = (resume_results(plan.checkpoint, total, plan.repetitions, plan.ineligible) if plan.resume
               else new_results(plan.checkpoint, total, plan.repetitions, plan.ineligible))
    done = [r.route_id for r in results.records]
    if done != plan.route_names[:len(done)]:
        raise InputError(f"{plan.checkpoint}: cannot resume, its records {done[:3]}... are not the first routes "
                         f"of this routes file {plan.route_names[:3]}...")
    pending = plan.jobs[results.next_index:]
    try:
        with ProgressChannel(progress, plan.workers, plan.ray_address) as channel:
            payloads = [(job, plan.opts, channel.reporter) for job in pending]
            for pos, outcome in in_order(run_jobs(route_worker, payloads, plan.workers, plan.ray_address)):
                job = pending[pos]
                if isinstance(outcome, BaseException):
                    routes = process_state().routes(job.routes_path, job.routes_subset)
                    record = failed_record(routes[job.position].name, job.index, FAILURE_SIMULATION, 0.0)
                    outcome = RouteOutcome(record, [], f"worker failed: {type(outcome).__name__}: {outcome}")
                results.add(outcome.record, outcome.sensors)
                if on_route is not None:
                    on_route(outcome, results)
    finally:
        if plan.workers <= 1 and not plan.ray_address:
            process_state().close()
    return results


def _print_route(outcome: RouteOutcome, results: Results) -> None:
    r = outcome.record
    print(f"[{results.next_index}/{results.total}] {r.route_id} (index {r.index}): {r.status}; "
          f"DS {r.scores['score_composed']:.2f} RC {r.scores['score_route']:.2f} "
          f"IS {r.scores['score_penalty']:.3f}", flush=True)
    if outcome.error:
        print(f"    {outcome.error.splitlines()[0]}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leaderboard_evaluator", description=__doc__.split("\n")[0])
    add_evaluator_arguments(parser)
    args = parser.parse_args(argv)
    try:
        plan = plan_evaluation(args)
        results = run_evaluation(plan, on_route=_print_route)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"results: {plan.checkpoint} ({results.entry_status})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
