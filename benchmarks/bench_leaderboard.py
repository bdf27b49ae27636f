"""Leaderboard layer speed: criteria cost per tick and a whole route through the evaluator.

Prints (1) microseconds per tick for all official criteria of a long town_grid route, replayed
on recorded ego states, and (2) for one evaluated route (the test follow agent, background
traffic), wall seconds, ticks per wall second and the real-time factor (game s / wall s).
Run: python benchmarks/bench_leaderboard.py [--vehicles N] [--walkers N]
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLLOW_AGENT = REPO / "tests" / "leaderboard" / "lb_agents" / "follow_agent.py"


def bench_criteria(carla_map, world_plan) -> float:
    import carla

    from driving.tags import Tag
    from driving.world import ActorKind, ActorState
    from leaderboard.criteria import CriteriaTick, RouteCriteria

    lights, stops = [], []
    from driving.sim.signals import find_signals

    signals = find_signals(carla_map)
    lights, stops = list(signals.traffic_lights), list(signals.stop_signs)
    route = [t for t, _ in world_plan]
    crit = RouteCriteria(route, carla_map, lights, stops)
    states = []
    for t in route:
        yaw = math.radians(t.rotation.yaw)
        states.append(ActorState(1, ActorKind.VEHICLE, "vehicle.car", "hero", t,
                                 carla.Vector3D(5 * math.cos(yaw), 5 * math.sin(yaw), 0), 0.0, 5.0,
                                 carla.Vector3D(2.4, 1.0, 0.8), Tag.VEHICLES))
    red = {lt.id: carla.TrafficLightState.Red for lt in lights}
    t0 = time.perf_counter()
    for k, state in enumerate(states):
        crit.update(CriteriaTick(state, k * 0.2, (), red))
    return (time.perf_counter() - t0) / len(states) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vehicles", type=int, default=20)
    parser.add_argument("--walkers", type=int, default=10)
    args = parser.parse_args()
    from driving.sim.maps import load_map
    from leaderboard.leaderboard_evaluator import main as evaluator_main
    from planning.route_planner import interpolate_trajectory

    carla_map = load_map("town_grid").carla_map
    wps = [w for w in carla_map.generate_waypoints(2.0) if not w.is_junction]
    a = wps[0].transform.location
    b = max(wps, key=lambda w: w.transform.location.distance(a)).transform.location
    plan = interpolate_trajectory(carla_map, [a, b])
    us = bench_criteria(carla_map, plan.world)
    print(f"criteria: {us:.0f} us per tick over a {len(plan.world)}-point route (all 8 criteria)")

    wp = next(w for w in wps if w.next(60.0) and not w.next(60.0)[0].is_junction)
    end = wp.next(60.0)[0].transform.location
    with tempfile.TemporaryDirectory() as tmp:
        routes = Path(tmp) / "routes.xml"
        routes.write_text(f'<routes><route id="0" town="town_grid" n_vehicles="{args.vehicles}" '
                          f'n_walkers="{args.walkers}"><waypoint x="{wp.transform.location.x}" '
                          f'y="{wp.transform.location.y}" z="0"/><waypoint x="{end.x}" y="{end.y}" z="0"/>'
                          f"</route></routes>")
        out = Path(tmp) / "results.json"
        t0 = time.perf_counter()
        evaluator_main(["--routes", str(routes), "--agent", str(FOLLOW_AGENT), "--checkpoint", str(out)])
        wall = time.perf_counter() - t0
        import json

        rec = json.loads(out.read_text())["_checkpoint"]["records"][0]
        game = rec["meta"]["duration_game"]
        loop = rec["meta"]["duration_system"]
        print(f"route: {rec['meta']['route_length']:.0f} m, {game:.1f} s game, {loop:.2f} s in the route "
              f"({wall:.2f} s with start-up), {game / 0.05 / loop:.0f} ticks/s, real-time factor "
              f"{game / loop:.1f}x ({args.vehicles} vehicles, {args.walkers} walkers)")


if __name__ == "__main__":
    sys.exit(main())
