"""Collection speed: saved frames per second per worker, embedded backend, full rig and traffic.

Each saved frame is 9 camera images (3 RGB + 3 depth + 3 semantic, stitched into 3 PNGs), the
measurements JSON and a top-down label PNG; the expert drives every 20 Hz tick and frames are
saved every `--every` ticks. Routes are the bundled `val_short` set with its own traffic counts
(it alternates town_grid and the heavier highway). Every worker count drives the same work per
worker: the first `--routes` routes once per worker (each copy in its own folder, same seed, so
the same drive), and the per-worker rates of 1 and 2 workers compare like with like. "incl.
process start" counts the workers' start-up (imports, ~2 s once per collection run); "inside
jobs" is the steady rate a long collection run approaches.
Prints, for 1 and 2 workers: routes, frames, wall seconds, frames/s in total and per worker, and
the CPU time per saved frame (process CPU time of the workers, all their threads, inside the jobs)
with the frames/s it allows per worker: a figure that a busy machine inflates much less than wall time.
`--profile` runs one route in this process under cProfile and prints where the time goes.
First it prints the machine's pure-Python speed (a fixed reference loop, best of 5): the
simulator and the expert are mostly Python, so frames/s scale with it, and figures from two
machines compare only next to it.

Run: python benchmarks/bench_collect.py [--routes N] [--workers 1,2] [--every 10] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def python_reference_mops() -> float:
    """Million iterations per second of a fixed pure-Python loop (float and int arithmetic, a
    list append, an attribute read), best of 5: this machine's speed at the kind of code the
    simulator and the expert run."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        acc, out, n = 0.0, [], 200_000
        for i in range(n):
            acc += (i % 7) * 0.5
            out.append(acc)
        out.clear()
        best = min(best, time.perf_counter() - t0)
    return n / best / 1e6


def val_short_jobs(n_routes: int, out: str, every: int, copies: int = 1) -> list:
    """Collect jobs for the first `n_routes` routes of the bundled val_short set (cycled), `copies`
    times (copy k in `out`/copy<k>, same seed: the same drive), route by route so each worker gets
    the same work."""
    from driving.collect.collector import CollectJob, CollectOptions
    from leaderboard.evaluate_cli import _routes_path

    routes = str(Path(_routes_path("val_short")).resolve())
    jobs = []
    for i in range(n_routes):
        for k in range(copies):
            opts = CollectOptions(out_dir=str(Path(out) / f"copy{k}"), every_ticks=every, scenario_name="bench")
            jobs.append(CollectJob(routes, "", i % 6, "", i, opts))  # index i: every copy gets route i's seed
    return jobs


def bench(n_workers: int, n_routes: int, every: int) -> None:
    from driving.collect.collector import collect_route
    from leaderboard.workers import run_jobs

    with tempfile.TemporaryDirectory() as out:
        jobs = val_short_jobs(n_routes, out, every, copies=n_workers)
        t0 = time.perf_counter()
        results = [r for _, r in run_jobs(collect_route, [(j, None) for j in jobs], n_workers)]
        wall = time.perf_counter() - t0
    errors = [r for r in results if isinstance(r, BaseException) or r.error]
    frames = sum(r.frames for r in results if not isinstance(r, BaseException))
    route_wall = sum(r.wall_s for r in results if not isinstance(r, BaseException))
    route_cpu = sum(r.cpu_s for r in results if not isinstance(r, BaseException))
    cpu_ms = 1000.0 * route_cpu / max(frames, 1)
    print(f"workers {n_workers}: {len(jobs)} routes, {frames} frames, {wall:6.1f} s wall "
          f"(incl. process start), {frames / wall:5.1f} frames/s total, {frames / wall / n_workers:5.1f} "
          f"frames/s per worker; inside jobs {frames / max(route_wall, 1e-9):5.1f} frames/s per worker; "
          f"CPU {cpu_ms:5.1f} ms per frame = {1000.0 / max(cpu_ms, 1e-9):5.1f} frames/s per CPU-busy worker"
          + (f"; {len(errors)} job error(s): {errors[0]}" if errors else ""), flush=True)


def profile(every: int) -> None:
    from driving.collect.collector import collect_route

    with tempfile.TemporaryDirectory() as out:
        (job,) = val_short_jobs(1, out, every)
        prof = cProfile.Profile()
        t0, c0 = time.perf_counter(), time.process_time()
        prof.enable()
        result = collect_route((job, None))
        prof.disable()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"profile: 1 route, {result.frames} frames, {wall:.1f} s wall, {result.frames / wall:.1f} frames/s; "
          f"CPU {cpu:.1f} s, {1000 * cpu / max(result.frames, 1):.1f} ms per frame (cProfile overhead included)")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(35)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--routes", type=int, default=1, help="routes per worker")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    from driving.cpus import available_cpus

    print(f"machine: {python_reference_mops():.1f} M iterations/s of the pure-Python reference loop, "
          f"{available_cpus()} CPUs", flush=True)
    if args.profile:
        profile(args.every)
        return
    for n in (int(w) for w in args.workers.split(",")):
        bench(n, args.routes, args.every)


if __name__ == "__main__":
    main()
