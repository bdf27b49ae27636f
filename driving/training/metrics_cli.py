"""`driving model-metrics --checkpoint FILE --data DIR [--out metrics.json] [--batch-size N]`.

The held-out figures of a trained model on a dataset folder, without training: segmentation
mIoU, traffic-light accuracy, waypoint ADE/FDE (metres), control L1 and the task losses, computed
by the trainer's own validation pass (`Trainer.validate`, `driving.training.metrics`) over every
complete route under DIR, unaugmented, so the numbers are those `driving train` logs for the same
data. FILE is a training checkpoint, a model folder or a run folder (`perception.model_file.load_model`).
mIoU, light accuracy and ADE/FDE do not depend on `--batch-size`; the segmentation loss does a
little (its Dice term is taken per batch, as in training): give the run's batch size to reproduce
its validation loss exactly. Imports of torch and the model happen in `run` so `driving --help`
stays fast.
"""
from __future__ import annotations

import argparse

from driving.errors import InputError

#: The figures printed, in order (all of `MetricAccumulator.compute()` go to --out).
SHOWN = (("seg_miou", "seg mIoU", ".3f"), ("light_accuracy", "traffic-light accuracy", ".3f"),
         ("wp_ade_m", "waypoint ADE (m)", ".3f"), ("wp_fde_m", "waypoint FDE (m)", ".3f"),
         ("control_l1", "control L1", ".3f"), ("loss_total", "loss total", ".4f"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="training checkpoint (.pt), model folder or run folder")
    parser.add_argument("--data", required=True, help="dataset root; every complete route under it is evaluated")
    parser.add_argument("--out", default=None, help="write the metrics as JSON here")
    parser.add_argument("--batch-size", type=int, default=8, help="validation batch size (default 8)")
    parser.add_argument("--cache-dir", default=None, help="read/write the decoded-frame cache here (default: none)")


def run(args: argparse.Namespace) -> int:
    import torch

    from driving.collect.writer import write_json_atomic
    from driving.training.config import ExperimentConfig, TrainConfig
    from driving.training.context import DistContext
    from driving.training.data import evaluation_loader
    from driving.training.trainer import Trainer
    from perception.model_file import load_model

    if args.batch_size <= 0:
        raise InputError(f"--batch-size: expected a positive number, got {args.batch_size}")
    loaded = load_model(args.checkpoint)
    experiment = ExperimentConfig(model=loaded.config, train=TrainConfig(batch_size=args.batch_size, num_workers=0,
                                                                        augment=False))
    loader = evaluation_loader(experiment, args.data, cache_dir=args.cache_dir)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    metrics = Trainer(loaded.model, experiment, DistContext(device=device)).validate(loader)
    print(f"{args.checkpoint} on {args.data}: {int(metrics['samples'])} samples")
    for key, label, fmt in SHOWN:
        print(f"  {label:24s} {metrics[key]:{fmt}}")
    if args.out:
        write_json_atomic(args.out, {"checkpoint": str(args.checkpoint), "data": str(args.data),
                                     "batch_size": args.batch_size, "metrics": metrics})
        print(f"{args.out}: written")
    return 0
