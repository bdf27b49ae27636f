"""Resume exactness: two epochs in one run and one epoch + --resume for the second give the same
weights (the shuffle order and the augmentation draws continue from the checkpoint's RNG state)."""
from __future__ import annotations

import warnings
from pathlib import Path

import torch

from driving.collect.writer import write_synthetic_dataset
from driving.training.checkpoint import load_checkpoint
from driving.training.config import load_experiment_config
from driving.training.trainer import train

REPO = Path(__file__).resolve().parents[2]


def test_resumed_run_matches_an_uninterrupted_one(tmp_path):
    torch.set_num_threads(2)
    data = tmp_path / "data"
    write_synthetic_dataset(data, n_routes=2, n_frames=8)
    experiment = load_experiment_config(REPO / "configs" / "letfuser_tiny.yaml")
    assert experiment.train.augment and experiment.train.num_workers == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(experiment, data, tmp_path / "straight", epochs=2, show_progress=False)
        train(experiment, data, tmp_path / "resumed", epochs=1, show_progress=False)
        train(experiment, data, tmp_path / "resumed", epochs=2, resume=True, show_progress=False)
    straight = load_checkpoint(tmp_path / "straight" / "checkpoints" / "last.pt")
    resumed = load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pt")
    assert resumed["epoch"] == straight["epoch"] == 2
    for name, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][name]), name
    assert torch.equal(straight["gradnorm"]["weights"], resumed["gradnorm"]["weights"])
    assert resumed["metrics"]["loss_total"] == straight["metrics"]["loss_total"]
