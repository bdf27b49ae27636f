"""Driving quality of the privileged expert on any map folder and route file (embedded backend).

By default runs the leaderboard evaluator with `--agent expert` over the bundled
leaderboard/data/routes_val_short.xml and routes_val_long.xml (background traffic and pedestrians
as each route specifies). With `--routes FILE [--maps DIR]` it runs any route file instead, e.g.
the official LB1.0 routes on CARLA's own towns (towns without a route-given traffic count get
LB1.0's per-town density). Writes the official results JSON per route set into --out and prints
per route the status, DS, RC, IS and infractions, then the mean driving score and every
infraction grouped by type with its place. Targets: mean DS >= 98 on the bundled routes, >= 95
on CARLA's towns with the official routes. Prints figures only (no assertion); wall times depend
on the (shared) machine.

    python benchmarks/bench_expert.py [--out runs/bench_expert] [--workers 2] [--sets val_short,val_long]
    python benchmarks/bench_expert.py --maps DIR --routes routes_training.xml [--routes-subset 0-9]

It also times the expert's own step (without the world's tick) for --timing-steps steps.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROUTES_DIR = Path(__file__).resolve().parents[1] / "leaderboard" / "data"
#: Mean DS goals: the bundled routes, and CARLA's towns with the official routes.
TARGET_DS_BUNDLED = 98.0
TARGET_DS_CARLA = 95.0
PLACE = re.compile(r"x=(?P<x>-?[\d.]+), y=(?P<y>-?[\d.]+)")


def run_set(name: str, routes: Path, out: Path, workers: int, subset: str, agent_config: str, seed: int,
            maps: str = "") -> list:
    from leaderboard.leaderboard_evaluator import add_evaluator_arguments, plan_evaluation, run_evaluation

    parser = argparse.ArgumentParser()
    add_evaluator_arguments(parser)
    argv = ["--routes", str(routes), "--agent", "expert",
            "--checkpoint", str(out / f"results_{name}.json"), "--workers", str(workers),
            "--trafficManagerSeed", str(seed)]
    if maps:
        argv += ["--maps", maps]
    if subset:
        argv += ["--routes-subset", subset]
    if agent_config:
        argv += ["--agent-config", agent_config]
    plan = plan_evaluation(parser.parse_args(argv))

    def on_route(outcome, results) -> None:
        r = outcome.record
        inf = {k: len(v) for k, v in r.infractions.items() if v}
        print(f"  {name} {r.route_id:>18} {r.status:38} DS {r.scores['score_composed']:6.2f} "
              f"RC {r.scores['score_route']:6.2f} IS {r.scores['score_penalty']:.3f} "
              f"len {r.meta['route_length']:6.0f} m game {r.meta['duration_game']:6.1f} s "
              f"wall {r.meta['duration_system']:6.1f} s {inf or ''}", flush=True)
        for kind, messages in r.infractions.items():
            for m in messages:
                print(f"      {kind}: {m}", flush=True)
        if outcome.error:
            print(f"      error: {outcome.error.splitlines()[0]}", flush=True)

    return run_evaluation(plan, on_route=on_route).records


def time_expert_steps(steps: int) -> tuple[float, float]:
    """Mean and 95th percentile wall time (ms) of one expert step (its own work, not the world's)
    on val_short route 0 with its background traffic."""
    import numpy as np

    from driving.sim.embedded_world import EmbeddedWorld
    from leaderboard.routes import parse_routes_file
    from planning.expert.driver import ExpertDriver
    from planning.route_planner import interpolate_trajectory

    config = parse_routes_file(str(ROUTES_DIR / "routes_val_short.xml"), "0")[0]
    world = EmbeddedWorld()
    carla_map = world.load_map(config.town, 0)
    plan = interpolate_trajectory(carla_map, list(config.keypoints))
    ego_id = world.spawn_vehicle(plan.world[0][0], role_name="hero")
    world.spawn_traffic(config.n_vehicles or 40, config.n_walkers or 20, seed=0)
    driver = ExpertDriver(world, ego_id, plan.world)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        control = driver.step()
        times.append(time.perf_counter() - t)
        world.apply_control(ego_id, control)
        world.tick()
    world.close()
    return 1e3 * float(np.mean(times)), 1e3 * float(np.percentile(times, 95))


def print_infractions_by_place(records: list) -> None:
    """Every infraction grouped by type, with its route and the place the criteria recorded."""
    by_kind: dict[str, list[str]] = {}
    for r in records:
        for kind, messages in r.infractions.items():
            for m in messages:
                place = PLACE.search(m)
                where = f"x {float(place['x']):7.1f} y {float(place['y']):7.1f}" if place else "(no place)"
                by_kind.setdefault(kind, []).append(f"{r.route_id:>20} {where}  {m}")
    for kind in sorted(by_kind):
        print(f"  {kind} ({len(by_kind[kind])}):")
        for line in by_kind[kind]:
            print(f"    {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/bench_expert", help="folder for the results JSON files")
    parser.add_argument("--workers", type=int, default=2, help="routes driven in parallel")
    parser.add_argument("--sets", default="val_short,val_long", help="bundled route sets, comma separated")
    parser.add_argument("--routes", default="", help="a route file to run instead of the bundled sets")
    parser.add_argument("--maps", default="", help="folder of <town>.xodr maps for the routes' towns")
    parser.add_argument("--routes-subset", default="", help="route ids within each set, e.g. '0-2'")
    parser.add_argument("--agent-config", default="", help="expert YAML (default configs/expert.yaml)")
    parser.add_argument("--seed", type=int, default=0, help="traffic seed (--trafficManagerSeed)")
    parser.add_argument("--timing-steps", type=int, default=400, help="expert steps timed on their own (0: skip)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    t0 = time.time()
    records = []
    if args.routes:
        sets = [(Path(args.routes).stem, Path(args.routes))]
    else:
        sets = [(name, ROUTES_DIR / f"routes_{name}.xml") for name in args.sets.split(",") if name]
    for name, routes in sets:
        print(f"route set {name}:", flush=True)
        records += run_set(name, routes, out, args.workers, args.routes_subset, args.agent_config, args.seed,
                           args.maps)
    if not records:
        print("no routes ran")
        return 1
    ds = [r.scores["score_composed"] for r in records]
    rc = [r.scores["score_route"] for r in records]
    pen = [r.scores["score_penalty"] for r in records]
    totals: dict[str, int] = {}
    for r in records:
        for k, v in r.infractions.items():
            totals[k] = totals.get(k, 0) + len(v)
    km = sum(r.meta["route_length"] for r in records) / 1000.0
    game = sum(r.meta["duration_game"] for r in records)
    print(f"\n{len(records)} routes, {km:.2f} km, {game:.0f} s game time, {time.time() - t0:.0f} s wall "
          f"({args.workers} workers)")
    print(f"mean DS {statistics.mean(ds):.2f} (target >= {TARGET_DS_CARLA if args.routes else TARGET_DS_BUNDLED})  RC {statistics.mean(rc):.2f}  "
          f"IS {statistics.mean(pen):.3f}")
    print("infractions: " + (", ".join(f"{k} {n}" for k, n in sorted(totals.items()) if n) or "none"))
    print_infractions_by_place(records)
    if args.timing_steps > 0:
        mean_ms, p95_ms = time_expert_steps(args.timing_steps)
        print(f"expert step (own work, val_short route 0 with traffic): mean {mean_ms:.2f} ms, p95 {p95_ms:.2f} ms")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
