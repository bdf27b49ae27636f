"""A checkpoint is read with torch's weights_only unpickler: a file whose pickle would run code (or
build any object that is not a tensor or plain data) is refused with one line naming it, before
anything runs; everything the trainer stores passes, and the trainer cannot write what would not."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
import torch

from driving.cli import main
from driving.errors import InputError
from driving.training.checkpoint import check_plain, load_checkpoint, save_checkpoint
from driving.training.config import load_experiment_config
from driving.training.trainer import Trainer
from perception.model_file import load_model

REPO = Path(__file__).resolve().parents[2]


class _RunsCode:
    """Unpickling this runs a shell command (the classic malicious-pickle payload)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


class _Harmless:
    """An object of a class the weights_only unpickler does not know: refused all the same."""


def _checkpoint(extra) -> dict:
    layer = torch.nn.Linear(3, 2)
    return {"format_version": 1, "epoch": 1, "global_step": 1, "model": layer.state_dict(), "optimizer": {},
            "scheduler": {}, "config": {"model": {}, "train": {}}, "metrics": {"note": extra}}


def _evil_file(path: Path, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(_checkpoint(_RunsCode(marker)), path)
    return path


def _assert_refused(message: str, path: Path) -> None:
    assert message.startswith(f"{path}: contains code or objects that are not plain tensors and data")
    assert message.endswith("refused for safety") and "\n" not in message, message


def test_the_payload_really_runs_code_when_unpickled_unsafely(tmp_path):
    """Control: without weights_only the same file runs its command, so the tests below mean something."""
    marker = tmp_path / "ran"
    torch.load(_evil_file(tmp_path / "evil.pt", marker), weights_only=False)
    assert marker.exists()


def test_code_in_a_checkpoint_is_refused_and_never_runs(tmp_path, capsys):
    marker = tmp_path / "ran"
    evil = _evil_file(tmp_path / "run" / "checkpoints" / "best.pt", marker)
    with pytest.raises(InputError) as info:
        load_checkpoint(evil)
    _assert_refused(str(info.value), evil)
    assert "system" in str(info.value)  # names the global it would have called
    for named in (evil, tmp_path / "run"):
        with pytest.raises(InputError) as info:
            load_model(named)
        _assert_refused(str(info.value), evil)
    assert main(["export-model", "--checkpoint", str(evil), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused for safety" in err and "Traceback" not in err
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_any_non_allowlisted_object_is_refused(tmp_path):
    path = tmp_path / "odd.pt"
    torch.save(_checkpoint(_Harmless()), path)
    with pytest.raises(InputError) as info:
        load_checkpoint(path)
    _assert_refused(str(info.value), path)
    assert "_Harmless" in str(info.value)


def test_save_refuses_what_load_would_refuse(tmp_path):
    payload = _checkpoint(_Harmless())
    with pytest.raises(TypeError, match=r"\['metrics'\]\['note'\]: .*_Harmless is not a tensor or plain data"):
        save_checkpoint(tmp_path / "x.pt", payload)
    assert not any(tmp_path.iterdir())


def test_everything_the_trainer_stores_loads_safely(tmp_path):
    experiment = load_experiment_config(REPO / "configs" / "letfuser_tiny.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from perception.model import LeTFuser

        trainer = Trainer(LeTFuser(experiment.model), experiment)
    trainer.scheduler.step(1.0)
    state = trainer.state({"loss_total": 1.0, "seg_miou": 0.5})
    check_plain(state)
    # As the previous code wrote it (a bare torch.save of the same dict): old checkpoints still load.
    torch.save({"format_version": 1, **state}, tmp_path / "old.pt")
    save_checkpoint(tmp_path / "new.pt", state)
    for name in ("old.pt", "new.pt"):
        data = load_checkpoint(tmp_path / name)
        assert torch.equal(data["rng"]["torch"], state["rng"]["torch"]) and data["best_val"] == state["best_val"]
        assert data["config"] == trainer.config_dict() and data["gradnorm"]["tasks"] == list(trainer.tasks)
        trainer.load_state(tmp_path / name)
