"""`driving export-model --checkpoint RUN/checkpoints/best.pt --out DIR`.

Turns a training checkpoint (a pickle with optimiser and RNG state) into the deployable model
folder of `perception.model_file` (model.safetensors + model.json), which carries no code and
is what an agent should be given. The checkpoint is read with the secure loader and its weights
are loaded into a model of its own config before anything is written. Imports of torch and the
model happen in `run` so `driving --help` stays fast.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="training checkpoint (.pt) written by `driving train`")
    parser.add_argument("--out", required=True, help="model folder to write (model.safetensors + model.json)")


def run(args: argparse.Namespace) -> int:
    from perception.model_file import export_checkpoint

    out = export_checkpoint(args.checkpoint, args.out)
    print(f"{out}: model exported from {args.checkpoint}")
    return 0
