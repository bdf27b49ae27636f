"""Training LeTFuser: config, losses, GradNorm task balancing, metrics, checkpoints, trainer, CLI.

Modules import torch; the CLI module (`train_cli`) keeps its import light and loads the rest in
`run`.
"""
