"""`driving train --config configs/letfuser_tiny.yaml --data DIR --out RUN [--resume] [--epochs N]
[--max-hours H] [--max-steps N] [--cache-dir DIR]`.

Trains LeTFuser on a collected dataset (layout in `driving.collect.layout`). `--resume`
continues the run in RUN from its last checkpoint; `--epochs` overrides the config's total
number of epochs (so a finished run can be extended with `--resume --epochs N`). `--max-hours` /
`--max-steps` stop earlier (the last epoch cut short, validated and saved; `checkpoints/best.pt`
keeps the best), e.g. `--max-hours 1.67` for a 100-minute CPU run. For several
GPUs launch it through torchrun: `torchrun --nproc_per_node=4 -m driving.cli train ...`.
Imports of torch and the model happen in `run` so `driving --help` stays fast.
"""
from __future__ import annotations

import argparse
import os

from driving.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="YAML with model: and train: sections")
    parser.add_argument("--data", required=True, help="dataset root (<scenario>/<town>/<route>/...)")
    parser.add_argument("--out", required=True, help="run folder: checkpoints, metrics.json, tensorboard/")
    parser.add_argument("--resume", action="store_true", help="continue from RUN/checkpoints/last.pt")
    parser.add_argument("--epochs", type=int, default=None, help="total epochs to reach (default: config)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    parser.add_argument("--max-hours", type=float, default=None,
                        help="stop after this many hours of training, validate, keep the best (default: config)")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="stop at this many optimiser steps in total, across --resume (default: config)")
    parser.add_argument("--cache-dir", default=None,
                        help="folder for the decoded-frame cache (default RUN/frame_cache; share it between runs "
                             "on the same data)")


def run(args: argparse.Namespace) -> int:
    from driving.training.config import load_experiment_config
    from driving.training.trainer import train

    for name in ("max_hours", "max_steps"):
        if getattr(args, name) is not None and getattr(args, name) < 0:
            raise InputError(f"--{name.replace('_', '-')}: expected >= 0 (0 = no limit), got {getattr(args, name)}")
    experiment = load_experiment_config(args.config)
    history = train(experiment, args.data, args.out, resume=args.resume, epochs=args.epochs,
                    show_progress=not args.no_progress, cache_dir=args.cache_dir, max_hours=args.max_hours,
                    max_steps=args.max_steps)
    if history and int(os.environ.get("RANK", "0")) == 0:  # torchrun's rank; only rank 0 reports
        print(f"{args.out}: {len(history)} epochs, last val loss {history[-1]['val']['loss_total']:.4f}")
    return 0


if __name__ == "__main__":  # `torchrun --nproc_per_node=N -m driving.training.train_cli --config ...`
    import sys

    from driving.cli import main

    sys.exit(main(["train", *sys.argv[1:]]))
