"""Checkpoints are written atomically and a missing, corrupt or foreign file is an InputError naming it."""
from __future__ import annotations

import pytest
import torch

from driving.errors import InputError
from driving.training.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint


def _payload() -> dict:
    layer = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(layer.parameters())
    return {"epoch": 2, "global_step": 10, "model": layer.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": {}, "config": {"model": {}, "train": {"epochs": 3}}}


def test_round_trip_and_no_temp_files_left(tmp_path):
    path = tmp_path / "ckpt" / "last.pt"
    payload = _payload()
    save_checkpoint(path, payload)
    data = load_checkpoint(path)
    assert data["format_version"] == FORMAT_VERSION and data["epoch"] == 2
    assert torch.equal(data["model"]["weight"], payload["model"]["weight"])
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]


def test_bad_checkpoints_name_the_file(tmp_path):
    with pytest.raises(InputError, match="nothing.pt: checkpoint not found"):
        load_checkpoint(tmp_path / "nothing.pt")
    path = tmp_path / "last.pt"
    save_checkpoint(path, _payload())
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError, match="last.pt: corrupt or unreadable"):
        load_checkpoint(path)
    torch.save({"weights": 1}, path)
    with pytest.raises(InputError, match=r"last.pt: not a training checkpoint, missing"):
        load_checkpoint(path)
    save_checkpoint(path, {**_payload(), "format_version": FORMAT_VERSION + 1})
    with pytest.raises(InputError, match="format_version"):
        load_checkpoint(path)
