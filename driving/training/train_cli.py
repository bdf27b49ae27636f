"""`driving train --config configs/letfuser_tiny.yaml --data DIR --out RUN [--resume] [--epochs N]`.

Trains LeTFuser on a collected dataset (layout in `driving.collect.layout`). `--resume`
continues the run in RUN from its last checkpoint; `--epochs` overrides the config's total
number of epochs (so a finished run can be extended with `--resume --epochs N`). For several
GPUs launch it through torchrun: `torchrun --nproc_per_node=4 -m driving.cli train ...`.
Imports of torch and the model happen in `run` so `driving --help` stays fast.
"""
from __future__ import annotations

import argparse
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="YAML with model: and train: sections")
    parser.add_argument("--data", required=True, help="dataset root (<scenario>/<town>/<route>/...)")
    parser.add_argument("--out", required=True, help="run folder: checkpoints, metrics.json, tensorboard/")
    parser.add_argument("--resume", action="store_true", help="continue from RUN/checkpoints/last.pt")
    parser.add_argument("--epochs", type=int, default=None, help="total epochs to reach (default: config)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")


def run(args: argparse.Namespace) -> int:
    from driving.training.config import load_experiment_config
    from driving.training.trainer import train

    experiment = load_experiment_config(args.config)
    history = train(experiment, args.data, args.out, resume=args.resume, epochs=args.epochs,
                    show_progress=not args.no_progress)
    if history and int(os.environ.get("RANK", "0")) == 0:  # torchrun's rank; only rank 0 reports
        print(f"{args.out}: {len(history)} epochs, last val loss {history[-1]['val']['loss_total']:.4f}")
    return 0


if __name__ == "__main__":  # `torchrun --nproc_per_node=N -m driving.training.train_cli --config ...`
    import sys

    from driving.cli import main

    sys.exit(main(["train", *sys.argv[1:]]))
