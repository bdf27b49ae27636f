"""Speed of the embedded world's tick: town_grid, 50 NPC vehicles + 50 pedestrians, no cameras.

Run: python benchmarks/bench_world.py [--map town_grid] [--vehicles 50] [--walkers 50] [--ticks 1000]
Prints ms per tick (median of 5 blocks) and the first-load times. Target: <= 2 ms per tick on 2 cores.
"""
from __future__ import annotations

import argparse
import statistics
import time

import carla

from driving.sim.embedded_world import EmbeddedWorld
from driving.sim.lane_follow_driver import LaneFollowDriver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default="town_grid")
    parser.add_argument("--vehicles", type=int, default=50)
    parser.add_argument("--walkers", type=int, default=50)
    parser.add_argument("--ticks", type=int, default=1000)
    parser.add_argument("--ego", action="store_true", help="add an ego driven by LaneFollowDriver")
    args = parser.parse_args()

    world = EmbeddedWorld()
    t0 = time.perf_counter()
    world.load_map(args.map, seed=0)
    t1 = time.perf_counter()
    driver = None
    if args.ego:
        ego = world.spawn_vehicle(world.get_spawn_points()[1])
        driver = LaneFollowDriver(world, ego)
    ids = world.spawn_traffic(args.vehicles, args.walkers, seed=0)
    t2 = time.perf_counter()
    for _ in range(100):  # warm-up (numba compile / cache load)
        world.tick()
    blocks = []
    per_block = max(1, args.ticks // 5)
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(per_block):
            if driver is not None:
                world.apply_control(driver.actor_id, driver.run_step())
            world.tick()
        blocks.append((time.perf_counter() - start) / per_block * 1000.0)
    states = world.get_actor_states()
    moving = sum(abs(s.speed_mps) > 0.1 for s in states)
    print(f"map {args.map}: load {t1 - t0:.2f} s, spawn {len(ids)} actors {t2 - t1:.2f} s")
    print(f"ms per tick: {statistics.median(blocks):.3f} (blocks {', '.join(f'{b:.3f}' for b in blocks)}), "
          f"{args.vehicles} vehicles + {args.walkers} walkers{' + ego' if driver else ''}, {moving} moving")
    world.tick()
    t = time.perf_counter()
    world.get_actor_states()  # first read after a tick builds the carla objects
    print(f"get_actor_states: {(time.perf_counter() - t) * 1000:.3f} ms for {len(states)} actors")
    assert isinstance(world.get_weather(), carla.WeatherParameters)
    world.close()


if __name__ == "__main__":
    main()
