"""`driving train` end to end on a small written dataset: one epoch, then --resume for a second;
bad input (no checkpoint, corrupt checkpoint, bad config, reused run folder) exits 2 naming the file."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from driving.cli import main
from driving.collect.layout import find_route_dirs, verify_route
from driving.collect.writer import write_synthetic_dataset
from driving.training.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "configs" / "letfuser_tiny.yaml"
CONFORMANCE = REPO.parent / "shared" / "conformance"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Two complete routes, checked against their manifests (the shared check is its own test)."""
    root = tmp_path_factory.mktemp("data")
    write_synthetic_dataset(root, n_routes=2, n_frames=6)
    complete, partial = find_route_dirs(root)
    assert len(complete) == 2 and partial == []
    assert all(verify_route(route) == [] for route in complete)
    return root


def test_dataset_passes_the_shared_conformance_check(dataset):
    if not (CONFORMANCE / "check_dataset.py").is_file():
        pytest.skip(f"shared conformance checks not found at {CONFORMANCE}")
    check = subprocess.run([sys.executable, str(CONFORMANCE / "check_dataset.py"), str(dataset)],
                           check=False, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout


def _train(dataset: Path, out: Path, *extra: str, config: Path = TINY) -> int:
    torch.set_num_threads(2)
    return main(["train", "--config", str(config), "--data", str(dataset), "--out", str(out), "--no-progress",
                 *extra])


def test_one_epoch_then_resume_for_a_second(dataset, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(dataset, out, "--epochs", "1") == 0
    first = load_checkpoint(out / "checkpoints" / "last.pt")
    assert first["epoch"] == 1 and first["gradnorm"] is not None
    assert first["config"]["model"]["input_width"] == 320 and first["config"]["train"]["batch_size"] == 4
    history = json.loads((out / "metrics.json").read_text())["epochs"]
    assert [e["epoch"] for e in history] == [1]
    val = history[0]["val"]
    for key in ("seg_miou", "wp_ade_m", "wp_fde_m", "light_accuracy", "control_l1", "loss_total"):
        assert val[key] == val[key] and val[key] >= 0, key  # a number, not NaN
    assert 0 <= val["seg_miou"] <= 1 and 0 <= val["light_accuracy"] <= 1
    assert any((out / "tensorboard").iterdir())

    assert _train(dataset, out, "--epochs", "2", "--resume") == 0
    second = load_checkpoint(out / "checkpoints" / "last.pt")
    assert second["epoch"] == 2 and second["global_step"] == 2 * first["global_step"]
    assert not torch.equal(second["model"]["fusion.conv.weight"], first["model"]["fusion.conv.weight"])
    assert [e["epoch"] for e in json.loads((out / "metrics.json").read_text())["epochs"]] == [1, 2]
    assert "epoch 2:" in capsys.readouterr().out

    # The run folder is taken: starting over without --resume is refused.
    assert _train(dataset, out, "--epochs", "1") == 2
    assert "pass --resume" in capsys.readouterr().err


def test_bad_input_exits_2_naming_the_file(dataset, tmp_path, capsys):
    assert _train(dataset, tmp_path / "fresh", "--resume") == 2
    assert "checkpoints/last.pt: checkpoint not found" in capsys.readouterr().err

    ckpt = tmp_path / "broken" / "checkpoints" / "last.pt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"PK\x03\x04 not really a checkpoint")
    assert _train(dataset, tmp_path / "broken", "--resume") == 2
    assert "last.pt: corrupt or unreadable checkpoint" in capsys.readouterr().err

    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text() + "  learning_rate: 0.1\n")
    assert _train(dataset, tmp_path / "x", config=bad) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: train: unknown key(s) ['learning_rate']" in err

    assert _train(tmp_path / "no_data", tmp_path / "y") == 2
    assert "no_data: dataset folder does not exist" in capsys.readouterr().err


def test_relative_data_and_out_paths(dataset, tmp_path, monkeypatch):
    """`driving train --data data --out run` from the folder holding them (as users type it)."""
    monkeypatch.chdir(dataset.parent)
    assert _train(Path(dataset.name), Path("run_relative"), "--epochs", "1") == 0
    assert (dataset.parent / "run_relative" / "checkpoints" / "last.pt").is_file()
