"""The training budget: `--max-steps` ends the run inside an epoch, that epoch is validated and
saved, `best.pt` holds the lowest validation loss of the run, --resume with a larger budget goes
on; `max_hours` is measured on this invocation's clock; metrics.json records the pace."""
from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import pytest
import torch

from driving.cli import main
from driving.collect.writer import write_synthetic_dataset
from driving.training.budget import RunBudget, format_duration
from driving.training.checkpoint import load_checkpoint

TINY = Path(__file__).resolve().parents[2] / "configs" / "letfuser_tiny.yaml"


def _train(data, out, *extra: str) -> int:
    torch.set_num_threads(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return main(["train", "--config", str(TINY), "--data", str(data), "--out", str(out), "--no-progress",
                     *extra])


def test_max_steps_stops_mid_epoch_keeps_the_best_and_resumes(tmp_path, capsys):
    data, out = tmp_path / "data", tmp_path / "run"
    write_synthetic_dataset(data, n_routes=2, n_frames=8)  # 1 training route: 5 samples, 2 steps of 4
    assert _train(data, out, "--epochs", "5", "--max-steps", "3") == 0
    history = json.loads((out / "metrics.json").read_text())["epochs"]
    assert [e["epoch"] for e in history] == [1, 2] and [e["global_step"] for e in history] == [2, 3]
    assert history[0]["stopped"] is None and history[1]["stopped"] == "max_steps"
    assert history[1]["train"]["samples_per_s"] > 0 and 0 <= history[1]["train"]["data_share"] <= 1
    best = load_checkpoint(out / "checkpoints" / "best.pt")
    assert best["metrics"]["loss_total"] == min(e["val"]["loss_total"] for e in history)
    assert load_checkpoint(out / "checkpoints" / "last.pt")["global_step"] == 3
    assert "stopped by max_steps at step 3" in capsys.readouterr().out

    assert _train(data, out, "--epochs", "5", "--max-steps", "3", "--resume") == 0  # budget spent: nothing to do
    assert load_checkpoint(out / "checkpoints" / "last.pt")["global_step"] == 3
    assert _train(data, out, "--epochs", "5", "--max-steps", "5", "--resume") == 0
    history = json.loads((out / "metrics.json").read_text())["epochs"]
    assert [e["global_step"] for e in history] == [2, 3, 5] and history[-1]["stopped"] == "max_steps"
    best = load_checkpoint(out / "checkpoints" / "best.pt")
    assert best["metrics"]["loss_total"] == min(e["val"]["loss_total"] for e in history)
    assert (out / "frame_cache").is_dir()

    assert _train(data, tmp_path / "bad", "--max-hours", "-1") == 2
    assert "--max-hours" in capsys.readouterr().err


def test_run_budget_limits_and_eta():
    assert RunBudget().exhausted(10**9) is None
    assert RunBudget(max_steps=4).exhausted(3) is None and RunBudget(max_steps=4).exhausted(4) == "max_steps"
    spent = RunBudget(max_hours=1.0, start_s=time.monotonic() - 3601.0)
    assert spent.exhausted(0) == "max_hours" and spent.eta_s(100, 0) == 0.0
    budget = RunBudget(max_steps=10)
    budget.record(data_s=0.5, step_s=1.5, samples=4)
    assert budget.samples_per_s() == pytest.approx(2.0) and budget.data_share() == pytest.approx(0.25)
    assert budget.eta_s(steps_left=100, global_step=4) == pytest.approx(12.0)  # 6 steps to max_steps, 2 s each
    assert format_duration(3723) == "1:02:03" and format_duration(62) == "1:02"
