"""`driving model-metrics` on a held-out folder gives the numbers the trainer's validation pass
logged for the same routes (it is that pass), from a checkpoint or the run's model folder."""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import torch

from driving.cli import main
from driving.collect.writer import write_synthetic_dataset
from driving.training.config import load_experiment_config
from driving.training.data import split_routes
from driving.training.trainer import train

REPO = Path(__file__).resolve().parents[2]
EXACT = ("samples", "seg_miou", "light_accuracy", "wp_ade_m", "wp_fde_m", "control_l1")


def test_model_metrics_match_the_trainers_validation(tmp_path, capsys):
    torch.set_num_threads(2)
    data, run = tmp_path / "data", tmp_path / "run"
    write_synthetic_dataset(data, n_routes=2, n_frames=8)
    experiment = load_experiment_config(REPO / "configs" / "letfuser_tiny.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = train(experiment, data, run, epochs=1, show_progress=False)
    logged = history[-1]["val"]
    _, (val_route,) = split_routes(data, experiment.train.val_towns, experiment.train.val_fraction)
    held_out = tmp_path / "held_out"
    shutil.copytree(val_route.route, held_out / val_route.route.relative_to(data.resolve()))

    for source in (run / "checkpoints" / "best.pt", run):
        out = tmp_path / f"metrics_{source.name}.json"
        code = main(["model-metrics", "--checkpoint", str(source), "--data", str(held_out), "--out", str(out),
                     "--batch-size", str(experiment.train.batch_size)])
        assert code == 0
        metrics = json.loads(out.read_text())["metrics"]
        for key in EXACT:
            assert metrics[key] == logged[key], (source, key)
        assert abs(metrics["loss_total"] - logged["loss_total"]) < 1e-5
    printed = capsys.readouterr().out
    assert "seg mIoU" in printed and "traffic-light accuracy" in printed and "waypoint FDE (m)" in printed

    assert main(["model-metrics", "--checkpoint", str(tmp_path / "nope.pt"), "--data", str(held_out)]) == 2
    assert "nope.pt" in capsys.readouterr().err
