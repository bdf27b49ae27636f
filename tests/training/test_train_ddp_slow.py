"""DDP through torchrun's protocol on CPU (Gloo): two ranks train one epoch, rank 0 writes the run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from driving.collect.writer import write_synthetic_dataset
from driving.training.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_torchrun_two_cpu_ranks(tmp_path):
    data = tmp_path / "data"
    write_synthetic_dataset(data, n_routes=2, n_frames=8)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "driving.training.train_cli", "--config", str(REPO / "configs" / "letfuser_tiny.yaml"),
           "--data", str(data), "--out", str(out), "--epochs", "1", "--no-progress"]
    result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600, cwd=REPO,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("epoch 1:") == 1  # only rank 0 reports
    assert load_checkpoint(out / "checkpoints" / "last.pt")["epoch"] == 1
    assert [e["epoch"] for e in json.loads((out / "metrics.json").read_text())["epochs"]] == [1]
