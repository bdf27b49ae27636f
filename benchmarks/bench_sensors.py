"""Camera speed on the embedded simulator: ms per frame for the LeTFuser rig and one 960x480 RGB.

    python benchmarks/bench_sensors.py [--map town_grid] [--frames 60] [--weather ClearNoon]

Scene: `town_grid`, an ego vehicle with 50 vehicles and 50 pedestrians placed nearest to it (in
view range), world ticking between frames (tick time not counted). Figures:
1. rig: 3 cameras (yaw -60/0/+60, 320x160, fov 60) x RGB + depth + semantic, all 9 images read back
   as numpy arrays in CARLA's formats (`EmbeddedWorld.read_sensors`);
2. one 960x480 RGB camera.
Targets on a 2-core machine without a GPU: rig >= 50 fps, 960x480 RGB >= 60 fps.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import carla
import numpy as np

from driving.errors import WorldError
from driving.sim.embedded_world import EmbeddedWorld
from driving.sim.snapshot import RIG_MOUNT, standard_rig
from driving.sim.weather import get_weather
from driving.world import SensorSpec


def populate(world: EmbeddedWorld, ego_tf: carla.Transform, n_vehicles: int, n_walkers: int) -> tuple[int, int]:
    """Spawn autopilot vehicles on the spawn points nearest the ego and walkers on nearby sidewalks."""
    loc = ego_tf.location
    placed_v = placed_w = 0
    for p in sorted(world.get_spawn_points(), key=lambda p: p.location.distance(loc))[1:]:
        if placed_v >= n_vehicles:
            break
        try:
            world.spawn_vehicle(p, "vehicle.car" if placed_v % 4 else "vehicle.van", "npc", autopilot=True)
            placed_v += 1
        except WorldError:
            continue
    pts = np.concatenate(world.layout.sidewalk_paths)
    order = np.argsort(np.hypot(pts[:, 0] - loc.x, pts[:, 1] - loc.y))
    for k in order[::3]:
        if placed_w >= n_walkers:
            break
        try:
            world.spawn_walker(carla.Transform(carla.Location(float(pts[k, 0]), float(pts[k, 1]), 0.15)))
            placed_w += 1
        except WorldError:
            continue
    return placed_v, placed_w


def measure(world: EmbeddedWorld, frames: int) -> tuple[list[float], list[float]]:
    """Wall-clock and process CPU milliseconds (all threads, llvmpipe's included) per sensor read."""
    wall, cpu = [], []
    for _ in range(frames):
        world.tick()
        t0, c0 = time.perf_counter(), time.process_time()
        data = world.read_sensors()
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
        assert all(isinstance(v[1], np.ndarray) for v in data.values())
    return wall, cpu


def report(name: str, wall: list[float], cpu: list[float]) -> None:
    med = statistics.median(wall)
    print(f"{name}\n    wall median {med:7.2f} ms ({1000.0 / med:6.1f} fps)  p90 {np.percentile(wall, 90):7.2f} ms  "
          f"min {min(wall):6.2f} ms ({1000.0 / min(wall):6.1f} fps);  CPU time median {statistics.median(cpu):7.2f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--map", default="town_grid")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--weather", default="ClearNoon")
    args = parser.parse_args(argv)
    for label, specs in (("LeTFuser rig: 3 cams x rgb+depth+semantic", [s for s in standard_rig()
                                                                        if s["width"] == 320]),
                         ("one RGB camera 960x480", [{"type": "sensor.camera.rgb", "id": "rgb", **RIG_MOUNT,
                                                      "yaw": 0.0, "width": 960, "height": 480, "fov": 60.0}])):
        with EmbeddedWorld() as world:
            world.load_map(args.map, seed=0)
            world.set_weather(get_weather(args.weather))
            points = world.get_spawn_points()
            ego_tf = points[len(points) // 3]
            ego = world.spawn_vehicle(ego_tf, "vehicle.car", "hero")
            n_v, n_w = populate(world, ego_tf, 50, 50)
            for spec in specs:
                world.attach_sensor(SensorSpec.from_dict(spec), ego)
            measure(world, 3)  # warm-up: context, shader compilation, buffers
            renderer = world._sensors._renderer
            wall, cpu = measure(world, args.frames)
            report(f"{label} ({n_v} vehicles, {n_w} pedestrians)", wall, cpu)
            print(f"    static mesh: {renderer.mesh.triangle_count} triangles in {len(renderer.mesh.tiles)} tiles; "
                  f"GL renderer: {renderer.ctx.info['GL_RENDERER']}")
    print(f"load average while measuring: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
