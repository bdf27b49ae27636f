"""`driving sim preview`: a top-down picture of a map with its traffic, lights and a route.

Spawns background traffic in the embedded world, lets it run for `--seconds` so vehicles spread
and lights change, traces a route between two spawn points picked from the seed, and draws it
all with `driving.sim.preview.render_preview`.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--map", default="town_grid", help="bundled map name or path to an .xodr file")
    parser.add_argument("--seed", type=int, default=0, help="layout, traffic and route seed")
    parser.add_argument("--out", default="bev.png", help="output PNG path")
    parser.add_argument("--vehicles", type=_vehicle_count, default=30,
                        help="background vehicles, or 'lb1' for LB1.0's count for the map's town (Town01 120, ...)")
    parser.add_argument("--walkers", type=int, default=40, help="pedestrians")
    parser.add_argument("--seconds", type=float, default=5.0, help="simulated seconds before the picture")
    parser.add_argument("--pixels-per-metre", type=float, default=3.0, help="image scale")
    parser.add_argument("--stats", action="store_true",
                        help="print how many vehicles moved in the last 30 s, wait at red lights or are stuck "
                             "(no hero is spawned then)")


def _vehicle_count(text: str) -> int | str:
    if text.strip().lower() == "lb1":
        return "lb1"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of vehicles or 'lb1', got {text!r}") from None


def lb1_vehicles(map_name: str) -> int:
    """LB1.0's background vehicles for a CARLA town name (a map file's stem), else the default."""
    from leaderboard.route_runner import DEFAULT_VEHICLES, OFFICIAL_VEHICLES_PER_TOWN

    return OFFICIAL_VEHICLES_PER_TOWN.get(map_name, DEFAULT_VEHICLES)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from driving.errors import InputError
    from driving.sim.embedded_world import EmbeddedWorld
    from driving.sim.preview import render_preview
    from driving.traffic_stats import run_and_measure
    from planning.route_planner import GlobalRoutePlanner

    world = EmbeddedWorld()
    try:
        carla_map = world.load_map(args.map, seed=args.seed)
        vehicles = lb1_vehicles(carla_map.name) if args.vehicles == "lb1" else args.vehicles
        if vehicles < 0 or args.walkers < 0 or not args.seconds >= 0:
            raise InputError("--vehicles, --walkers and --seconds must be >= 0")
        spawns = world.get_spawn_points()
        rng = np.random.default_rng(args.seed)
        start, goal = (spawns[i] for i in rng.choice(len(spawns), size=2, replace=False))
        route = [wp.transform.location for wp, _ in
                 GlobalRoutePlanner(carla_map).trace_route(start.location, goal.location)]
        if not args.stats:  # a parked hero would hold up the traffic behind it and count as a jam
            world.spawn_vehicle(start, role_name="hero")
        spawned = world.spawn_traffic(vehicles, args.walkers, seed=args.seed)
        stats = run_and_measure(world, args.seconds)
        path = render_preview(world.layout, world.signals, world.light_states(), world.get_actor_states(),
                              route, args.out, pixels_per_metre=args.pixels_per_metre)
    finally:
        world.close()
    print(f"wrote {path}")
    if args.stats:
        print(f"{args.map}: asked for {vehicles} vehicles and {args.walkers} walkers, spawned {len(spawned)} actors")
        print(stats.summary())
    return 0
