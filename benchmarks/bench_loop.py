"""Closed-loop speed of the LeTFuser agent on the embedded simulator: ms per step, split by stage.

    python benchmarks/bench_loop.py [--model tiny|full|both] [--steps 200] [--warmup 20] [--compile auto|off]

One step is what the evaluator does each 20 Hz tick: render and read the agent's rig (3 RGB + 3
depth cameras, GNSS, IMU, speedometer), the agent's `run_step` (preprocessing, model forward,
controller), then apply the control and tick the world with traffic (town_grid, 40 vehicles and
20 pedestrians near the ego). The model has random weights (speed does not depend on them); it is
written as a model folder and loaded by the agent as a user's would be. Real time is 20 steps/s;
the target for `letfuser_tiny` on 2 CPU cores is >= 20 steps/s.

Figures are medians over the timed steps (after `--warmup` steps); the agent's own split
(preprocess / model / control) comes from its `step_timings_ms`.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sensors import populate

MODELS = {"tiny": REPO / "configs" / "letfuser_tiny.yaml", "full": REPO / "configs" / "letfuser.yaml"}
ROUTE_KEYPOINTS_M = 300.0  # route length asked of the planner (the loop never finishes it)


def _write_model(config_path: Path, out: Path) -> Path:
    from perception.config import load_model_config
    from perception.model import LeTFuser
    from perception.model_file import save_model_file

    torch.manual_seed(0)
    config = load_model_config(config_path)
    return save_model_file(out, LeTFuser(config).eval(), config)


def _agent_yaml(model_dir: Path, compile_mode: str, out: Path) -> Path:
    out.write_text(f"model: {model_dir}\ncompile: {compile_mode}\n")
    return out


def _route(world, ego_spawn):
    """A ~300 m lane-following route from the ego's spawn point, as the evaluator plans it."""
    from planning.route_planner import interpolate_trajectory

    carla_map = world.get_map()
    wp = carla_map.get_waypoint(ego_spawn.location)
    keypoints, travelled = [wp.transform.location], 0.0
    while travelled < ROUTE_KEYPOINTS_M:
        nxt = wp.next(10.0)
        if not nxt:
            break
        wp = nxt[0]
        travelled += 10.0
        keypoints.append(wp.transform.location)
    return interpolate_trajectory(carla_map, keypoints)


def run(config_path: Path, steps: int, warmup: int, compile_mode: str) -> dict[str, float]:
    """Drive `steps` + `warmup` closed-loop steps; returns the median ms of each stage."""
    from driving.sim.embedded_world import EmbeddedWorld
    from leaderboard.agents_registry import load_agent_class
    from leaderboard.autoagents.agent_wrapper import AgentWrapper

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = _write_model(config_path, Path(tmp) / "model")
        agent_cfg = _agent_yaml(model_dir, compile_mode, Path(tmp) / "agent.yaml")
        world = EmbeddedWorld()
        world.load_map("town_grid", seed=0)
        spawn = world.get_spawn_points()[0]
        ego_id = world.spawn_vehicle(spawn, role_name="hero")
        vehicles, walkers = populate(world, spawn, 40, 20)
        plan = _route(world, spawn)
        t0 = time.perf_counter()
        agent = load_agent_class("letfuser")(str(agent_cfg))
        setup_s = time.perf_counter() - t0
        agent.set_global_plan(plan.gps, plan.world)
        wrapper = AgentWrapper(agent)
        wrapper.setup_sensors(world, ego_id)
        stages: dict[str, list[float]] = {"sensors": [], "agent": [], "world": [], "step": []}
        inner: dict[str, list[float]] = {}
        for i in range(steps + warmup):
            t0 = time.perf_counter()
            wrapper.feed(world)
            t1 = time.perf_counter()
            control = wrapper()
            t2 = time.perf_counter()
            world.apply_control(ego_id, control)
            world.tick()
            t3 = time.perf_counter()
            if i < warmup:
                continue
            for name, ms in (("sensors", t1 - t0), ("agent", t2 - t1), ("world", t3 - t2), ("step", t3 - t0)):
                stages[name].append(ms * 1000.0)
            for name, ms in getattr(agent, "step_timings_ms", {}).items():
                inner.setdefault(name, []).append(ms)
        speed = world.get_actor_state(ego_id).speed_mps
        world_start, world_end = spawn.location, world.get_actor_state(ego_id).transform.location
        agent.destroy()
        world.close()
    out = {name: statistics.median(v) for name, v in stages.items()}
    out.update({f"agent.{name}": statistics.median(v) for name, v in inner.items()})
    out["setup_s"] = setup_s
    out["driven_m"] = world_start.distance(world_end)
    out["final_speed_mps"] = speed
    out["actors"] = (vehicles, walkers)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("tiny", "full", "both"), default="both")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--compile", choices=("auto", "off", "on"), default="auto")
    args = parser.parse_args(argv)
    names = ("tiny", "full") if args.model == "both" else (args.model,)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; town_grid, 40 vehicles, 20 pedestrians; "
          f"{args.steps} timed steps after {args.warmup} warm-up steps; compile {args.compile}")
    for name in names:
        steps = args.steps if name == "tiny" else max(args.steps // 5, 10)
        r = run(MODELS[name], steps, args.warmup if name == "tiny" else 5, args.compile)
        per_step = r["step"]
        print(f"\nletfuser_{name}: {per_step:7.1f} ms per step  ->  {1000.0 / per_step:5.1f} steps/s "
              f"({1000.0 / per_step / 20.0:4.2f}x real time at 20 Hz); agent set-up {r['setup_s']:.1f} s; "
              f"{r['actors'][0]} vehicles, {r['actors'][1]} pedestrians; ego moved {r['driven_m']:.1f} m")
        print(f"    sensors (render + read rig) {r['sensors']:7.1f} ms | agent {r['agent']:7.1f} ms | "
              f"world tick with traffic {r['world']:6.1f} ms")
        split = "  ".join(f"{k.removeprefix('agent.')} {v:6.1f} ms" for k, v in r.items() if k.startswith("agent."))
        if split:
            print(f"    agent split: {split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
