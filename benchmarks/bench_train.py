"""End-to-end training speed of a config on real collected data: samples/s, split into data and model time.

Runs the trainer's own path (`driving.training.trainer`: the loaders `driving train` builds, with
augmentation, and `Trainer.train_step`: forward, task losses, GradNorm, backward, AdamW) for
`--steps` steps after `--warmup` untimed ones, and prints the samples/s end to end, the
milliseconds per sample spent waiting for the loader (decode, augmentation, collation) and in
the model step, this process's CPU time per sample (less inflated by other processes than the
wall time), and the one-off time to build the datasets and the frame cache (the first epoch's
decoding; the timed steps read the cache, as every later epoch does). Without `--data` it first collects
`--routes` routes of the bundled val_short set with the expert into a temporary folder (a few
minutes on 2 cores). Figures only, no assertion: the machine may be shared and noisy, so compare
runs made alternately under the same conditions.

    python benchmarks/bench_train.py [--data DIR] [--config configs/letfuser_tiny.yaml] [--steps 40]
        [--batch N] [--workers N] [--threads N] [--no-cache] [--contiguous] [--cache-dir DIR]
"""
from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def collect(out: str, n_routes: int, every: int) -> None:
    """`driving collect` drives the first `n_routes` val_short routes into `out`, in a child process:
    the simulator's native libraries and torch's lazily imported triton crashed (segmentation
    fault) when both were loaded into one process."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "driving.cli", "collect", "--routes", "val_short", "--routes-subset",
                    f"0-{n_routes - 1}", "--every", str(every), "--out", out, "--quiet"], check=True, cwd=REPO)
    print(f"collected {n_routes} route(s) in {time.perf_counter() - t0:.0f} s", flush=True)


def bench(data: Path, config: Path, steps: int, warmup: int, overrides: dict, cache_dir: str) -> None:
    """Time `steps` training steps of the trainer's path on `data`; prints one summary line.

    `overrides`: TrainConfig fields to change (batch_size, num_workers, cache_frames, ...)."""
    import dataclasses

    from driving.training.config import load_experiment_config
    from driving.training.trainer import Trainer, _default_model, _to_device, prepare_data, set_cpu_threads

    experiment = load_experiment_config(config)
    experiment = dataclasses.replace(experiment, train=dataclasses.replace(experiment.train, **overrides))
    torch.manual_seed(experiment.train.seed)
    set_cpu_threads(experiment.train)
    t0 = time.perf_counter()
    train_loader, _ = prepare_data(experiment, data, cache_dir=cache_dir if experiment.train.cache_frames else None)
    prepare_s = time.perf_counter() - t0
    trainer = Trainer(_default_model(experiment), experiment)
    batches = itertools.chain.from_iterable(itertools.repeat(train_loader))  # epochs back to back
    data_s = step_s = cpu_s = 0.0
    samples = 0
    for i in range(warmup + steps):
        if i == warmup:
            cpu_start = time.process_time()
        t_data = time.perf_counter()
        batch_cpu = next(batches)
        t_step = time.perf_counter()
        trainer.train_step(_to_device(batch_cpu, trainer.ctx.device))
        t_end = time.perf_counter()
        if i >= warmup:
            data_s += t_step - t_data
            step_s += t_end - t_step
            samples += int(batch_cpu["rgb"].shape[0])
    cpu_s = time.process_time() - cpu_start
    total = data_s + step_s
    cfg = experiment.train
    print(f"{config.name}: {samples / total:.2f} samples/s end to end over {steps} steps (batch {cfg.batch_size}, "
          f"num_workers {cfg.num_workers}, {torch.get_num_threads()} threads, cache_frames {cfg.cache_frames}, "
          f"channels_last {cfg.channels_last}); per sample: data {1e3 * data_s / samples:.1f} ms, model step "
          f"{1e3 * step_s / samples:.1f} ms (model only {samples / step_s:.2f} samples/s), this process's CPU "
          f"{1e3 * cpu_s / samples:.0f} ms; datasets (and frame cache) built in {prepare_s:.1f} s "
          f"({len(train_loader.dataset)} training samples)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="dataset root (default: collect into a temporary folder)")
    parser.add_argument("--config", default=str(REPO / "configs" / "letfuser_tiny.yaml"))
    parser.add_argument("--steps", type=int, default=40, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--batch", type=int, default=None, help="batch size (default: the config's)")
    parser.add_argument("--workers", type=int, default=None, help="loader workers (default: the config's)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the config's rule)")
    parser.add_argument("--no-cache", action="store_true", help="decode PNGs every epoch (no frame cache)")
    parser.add_argument("--contiguous", action="store_true", help="NCHW instead of channels_last")
    parser.add_argument("--cache-dir", default=None, help="frame cache folder (default: a temporary one, so the "
                                                          "reported build time includes decoding every frame)")
    parser.add_argument("--routes", type=int, default=2, help="val_short routes to collect without --data")
    parser.add_argument("--every", type=int, default=10, help="save every N-th 20 Hz tick when collecting")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # random-init and skipped-route warnings: speed does not depend on them
    overrides = {k: v for k, v in (("batch_size", args.batch), ("num_workers", args.workers),
                                   ("num_threads", args.threads)) if v is not None}
    overrides.update({k: False for k, off in (("cache_frames", args.no_cache), ("channels_last", args.contiguous))
                      if off})
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data) if args.data else Path(tmp) / "data"
        if not args.data:
            collect(str(data), args.routes, args.every)
        bench(data, Path(args.config), args.steps, args.warmup, overrides, args.cache_dir or str(Path(tmp) / "cache"))


if __name__ == "__main__":
    main()
