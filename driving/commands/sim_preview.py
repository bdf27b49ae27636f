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
    parser.add_argument("--vehicles", type=int, default=30, help="background vehicles")
    parser.add_argument("--walkers", type=int, default=40, help="pedestrians")
    parser.add_argument("--seconds", type=float, default=5.0, help="simulated seconds before the picture")
    parser.add_argument("--pixels-per-metre", type=float, default=3.0, help="image scale")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from driving.errors import InputError
    from driving.sim.embedded_world import EmbeddedWorld
    from driving.sim.preview import render_preview
    from planning.route_planner import GlobalRoutePlanner

    if args.vehicles < 0 or args.walkers < 0 or not args.seconds >= 0:
        raise InputError("--vehicles, --walkers and --seconds must be >= 0")
    world = EmbeddedWorld()
    try:
        carla_map = world.load_map(args.map, seed=args.seed)
        spawns = world.get_spawn_points()
        rng = np.random.default_rng(args.seed)
        start, goal = (spawns[i] for i in rng.choice(len(spawns), size=2, replace=False))
        route = [wp.transform.location for wp, _ in
                 GlobalRoutePlanner(carla_map).trace_route(start.location, goal.location)]
        world.spawn_vehicle(start, role_name="hero")
        world.spawn_traffic(args.vehicles, args.walkers, seed=args.seed)
        for _ in range(round(args.seconds / world.fixed_delta_seconds)):
            world.tick()
        path = render_preview(world.layout, world.signals, world.light_states(), world.get_actor_states(),
                              route, args.out, pixels_per_metre=args.pixels_per_metre)
    finally:
        world.close()
    print(f"wrote {path}")
    return 0
