"""Honest learning check: on a small fixed batch read from a written dataset, the tiny LeTFuser's
total loss (sum of the unweighted task losses) falls to half within a bounded number of trainer
steps on CPU, with GradNorm on, and the segmentation loss falls too."""
from __future__ import annotations

from pathlib import Path

import torch

from driving.collect.dataset import LeTFuserDataset
from driving.collect.layout import RouteMeta, route_dir
from driving.collect.writer import RouteWriter, synthetic_frames
from driving.training.config import ExperimentConfig, TrainConfig
from driving.training.trainer import Trainer, dataset_config_for

REPO = Path(__file__).resolve().parents[2]
MAX_STEPS = 30


def test_total_loss_halves_on_a_fixed_batch(tmp_path):
    from perception.config import load_model_config
    from perception.model import LeTFuser

    torch.manual_seed(0)
    torch.set_num_threads(2)
    meta = RouteMeta("no_scenario", "Town01", "route_00", seed=0, weather="ClearNoon")
    writer = RouteWriter(route_dir(tmp_path, meta), meta)
    for k, frame in enumerate(synthetic_frames(5, seed=0)):
        writer.write_frame(k, *frame)
    writer.finish()
    model_cfg = load_model_config(REPO / "configs" / "letfuser_tiny.yaml")
    experiment = ExperimentConfig(model=model_cfg, train=TrainConfig(lr=1e-3, weight_decay=0.0))
    ds = LeTFuserDataset(tmp_path, dataset_config_for(model_cfg, experiment))
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=2)))
    trainer = Trainer(LeTFuser(model_cfg), experiment)

    history = [trainer.train_step(batch) for _ in range(2)]
    first = history[0]
    while history[-1]["loss_total"] > first["loss_total"] / 2 and len(history) < MAX_STEPS:
        history.append(trainer.train_step(batch))
    last = history[-1]
    assert last["loss_total"] <= first["loss_total"] / 2, [round(h["loss_total"], 3) for h in history]
    assert last["loss_segmentation"] < first["loss_segmentation"]
    assert trainer.gradnorm is not None and trainer.global_step == len(history)
