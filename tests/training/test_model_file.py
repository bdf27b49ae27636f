"""The deployable model folder (model.safetensors + model.json): a saved model loads back with the
same outputs, config and task weights from every form a user may name (the folder, either file, a
training checkpoint, a run folder); each bad input is one InputError naming the path; and
`driving export-model` turns a checkpoint into such a folder."""
from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from driving.cli import main
from driving.config import to_dict
from driving.errors import InputError
from driving.training.checkpoint import save_checkpoint
from driving.training.gradnorm import GradNorm
from driving.training.losses import tasks_for
from perception.config import LeTFuserConfig, load_model_config
from perception.model import LeTFuser
from perception.model_file import (
    MODEL_CONFIG_NAME,
    MODEL_WEIGHTS_NAME,
    export_checkpoint,
    load_model,
    save_model_file,
)

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "configs" / "letfuser_tiny.yaml"
TASK_WEIGHTS = {t: 1.0 + 0.125 * i for i, t in enumerate(tasks_for(False))}


@pytest.fixture(scope="module")
def config() -> LeTFuserConfig:
    return load_model_config(TINY)


@pytest.fixture(scope="module")
def model(config) -> LeTFuser:
    """A random model whose BatchNorm statistics have moved too (buffers must travel as well)."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = LeTFuser(config)
    net.train()
    with torch.no_grad():
        net(*_inputs(config, seed=1))
    return net.eval()


@pytest.fixture(scope="module")
def folder(tmp_path_factory, model, config) -> Path:
    out = tmp_path_factory.mktemp("models") / "model"
    save_model_file(out, model, config, TASK_WEIGHTS, {"epoch": 3, "val": {"loss_total": 1.5, "nan": float("nan")}})
    return out


def _inputs(config: LeTFuserConfig, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    h, w = config.input_height, config.input_width
    command = torch.zeros(2, 6)
    command[:, 3] = 1.0
    return (torch.rand(2, 3, h, w, generator=g) * 255, torch.rand(2, 1, h, w, generator=g),
            torch.randn(2, 2, generator=g) * 10, torch.rand(2, 1, generator=g) * 8, command)


_OUTPUTS = ("seg_logits", "waypoints", "control", "red_light", "pred_speed", "sdc")


@pytest.fixture(scope="module")
def reference(model, config) -> dict[str, torch.Tensor]:
    """The saved model's outputs on a fixed random input."""
    with torch.no_grad():
        out = model(*_inputs(config))
    return {name: getattr(out, name) for name in _OUTPUTS}


def _assert_same_outputs(loaded: torch.nn.Module, reference: dict[str, torch.Tensor],
                         config: LeTFuserConfig) -> None:
    with torch.no_grad():
        out = loaded(*_inputs(config))
    for name, expected in reference.items():
        assert torch.equal(getattr(out, name), expected), name


def _checkpoint_payload(model: LeTFuser, config: LeTFuserConfig, gradnorm: bool = True) -> dict:
    state = None
    if gradnorm:
        gn = GradNorm(tasks_for(False), model.shared_parameters())
        with torch.no_grad():
            gn.weights.copy_(torch.tensor(list(TASK_WEIGHTS.values())))
        state = gn.state_dict()
    return {"epoch": 2, "global_step": 20, "model": model.state_dict(), "optimizer": {}, "scheduler": {},
            "gradnorm": state, "metrics": {"loss_total": 0.5}, "config": {"model": to_dict(config), "train": {}}}


def test_round_trip_gives_the_same_model(folder, reference, config):
    assert sorted(p.name for p in folder.iterdir()) == [MODEL_CONFIG_NAME, MODEL_WEIGHTS_NAME]
    doc = json.loads((folder / MODEL_CONFIG_NAME).read_text())
    assert doc["format"] == "letfuser-model" and doc["format_version"] == 1
    assert doc["model"] == to_dict(config) and doc["task_weights"] == TASK_WEIGHTS
    assert doc["source"] == {"epoch": 3, "val": {"loss_total": 1.5, "nan": None}}  # standard JSON, no NaN
    for named in (folder, folder / MODEL_CONFIG_NAME, folder / MODEL_WEIGHTS_NAME):
        loaded = load_model(named)
        assert loaded.source == named and loaded.config == config and loaded.task_weights == TASK_WEIGHTS
        assert isinstance(loaded.model, LeTFuser) and not loaded.model.training
        assert all(t.device.type == "cpu" for t in loaded.model.state_dict().values())
    _assert_same_outputs(loaded.model, reference, config)


def test_checkpoint_and_run_folder_load(tmp_path, model, reference, config, folder):
    run = tmp_path / "run"
    save_checkpoint(run / "checkpoints" / "last.pt", _checkpoint_payload(model, config, gradnorm=False))
    loaded = load_model(run)
    assert loaded.source == run / "checkpoints" / "last.pt" and loaded.task_weights is None
    save_checkpoint(run / "checkpoints" / "best.pt", _checkpoint_payload(model, config))
    loaded = load_model(run)
    assert loaded.source == run / "checkpoints" / "best.pt"
    assert loaded.config == config and loaded.task_weights == TASK_WEIGHTS
    _assert_same_outputs(loaded.model, reference, config)
    (run / "model").mkdir()
    (run / "model" / MODEL_WEIGHTS_NAME).write_bytes((folder / MODEL_WEIGHTS_NAME).read_bytes())
    assert load_model(run).source == run / "checkpoints" / "best.pt"  # model/ without model.json: incomplete
    (run / "model" / MODEL_CONFIG_NAME).write_text((folder / MODEL_CONFIG_NAME).read_text())
    assert load_model(run).source == run / "model"


def test_export_cli(tmp_path, model, reference, config, capsys):
    ckpt = tmp_path / "best.pt"
    save_checkpoint(ckpt, _checkpoint_payload(model, config))
    assert main(["export-model", "--checkpoint", str(ckpt), "--out", str(tmp_path / "out")]) == 0
    assert "model exported" in capsys.readouterr().out
    loaded = load_model(tmp_path / "out")
    assert loaded.task_weights == TASK_WEIGHTS
    _assert_same_outputs(loaded.model, reference, config)
    source = json.loads((tmp_path / "out" / MODEL_CONFIG_NAME).read_text())["source"]
    assert source == {"checkpoint": str(ckpt), "epoch": 2, "global_step": 20, "val": {"loss_total": 0.5}}

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"PK\x03\x04 not a checkpoint")
    assert main(["export-model", "--checkpoint", str(bad), "--out", str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}: corrupt or unreadable checkpoint" in err
    assert not (tmp_path / "out2").exists()
    # The same folder again: overwritten in place, still loadable.
    assert export_checkpoint(ckpt, tmp_path / "out") == tmp_path / "out"


def _edit_json(folder: Path, **changes) -> None:
    doc = json.loads((folder / MODEL_CONFIG_NAME).read_text())
    for key, value in changes.items():
        if key.startswith("model_"):
            doc["model"][key.removeprefix("model_")] = value
        else:
            doc[key] = value
    (folder / MODEL_CONFIG_NAME).write_text(json.dumps(doc))


def _edit_weights(folder: Path, drop: int = 0, extra: bool = False) -> None:
    state = load_file(str(folder / MODEL_WEIGHTS_NAME))
    for key in sorted(state)[:drop]:
        del state[key]
    if extra:
        state["ghost.weight"] = torch.zeros(2)
    save_file(state, str(folder / MODEL_WEIGHTS_NAME))


BROKEN = {
    "missing path": (lambda d: d.rename(d.parent / "gone"), "model not found"),
    "empty folder": (lambda d: [p.unlink() for p in d.iterdir()], "holds no model"),
    "no weights": (lambda d: (d / MODEL_WEIGHTS_NAME).unlink(), "model.safetensors: model file not found"),
    "no json": (lambda d: (d / MODEL_CONFIG_NAME).unlink(), "model.json: model file not found"),
    "corrupt json": (lambda d: (d / MODEL_CONFIG_NAME).write_text('{"format": '), "corrupt model JSON"),
    "not an object": (lambda d: (d / MODEL_CONFIG_NAME).write_text("[1]"), "expected a JSON object"),
    "wrong format": (lambda d: _edit_json(d, format="pytorch"), "format: expected 'letfuser-model'"),
    "future version": (lambda d: _edit_json(d, format_version=2), "format_version 2 is not supported"),
    "unknown field": (lambda d: _edit_json(d, model_fusion_width=3), "model: unknown key(s) ['fusion_width']"),
    "wrong type": (lambda d: _edit_json(d, model_num_classes="23"), "model.num_classes: expected an integer"),
    "invalid value": (lambda d: _edit_json(d, model_max_throttle=2.0), "model.max_throttle: expected (0, 1]"),
    "bad task weights": (lambda d: _edit_json(d, task_weights=[1.0]), "task_weights: expected a mapping"),
    "corrupt weights": (lambda d: (d / MODEL_WEIGHTS_NAME).write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}"),
                        "unreadable or corrupt safetensors"),
    "config disagrees": (lambda d: _edit_json(d, model_policy_hidden=64),
                         "config and the weights disagree: shape mismatch in"),
    "missing keys": (lambda d: _edit_weights(d, drop=2), "disagree: missing 2 key(s) e.g. "),
    "unexpected keys": (lambda d: _edit_weights(d, extra=True), "disagree: unexpected 1 key(s) e.g. ghost.weight"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_bad_model_files_name_the_path(case, tmp_path, folder):
    target = tmp_path / "model"
    target.mkdir()
    for f in folder.iterdir():
        (target / f.name).write_bytes(f.read_bytes())
    breaker, expected = BROKEN[case]
    breaker(target)
    with pytest.raises(InputError) as info:
        load_model(target)
    message = str(info.value)
    assert message.startswith(str(target)) and expected in message and "\n" not in message, message


def test_bad_checkpoints_name_the_path(tmp_path, model, config):
    ckpt = tmp_path / "bad.pt"
    payload = _checkpoint_payload(model, config)
    payload["config"]["model"]["policy_hidden"] = 64
    save_checkpoint(ckpt, payload)
    with pytest.raises(InputError, match=r"bad.pt: the model config and the weights disagree: shape mismatch"):
        load_model(ckpt)
    save_checkpoint(ckpt, {**payload, "config": {"train": {}}})
    with pytest.raises(InputError, match=r"bad.pt: config.model: expected the model config as a mapping"):
        load_model(ckpt)
    save_checkpoint(ckpt, {**payload, "config": {"model": {**to_dict(config), "depths": [1, 1, 1]}}})
    with pytest.raises(InputError, match=r"bad.pt: config.model: .*model.depths"):
        load_model(ckpt)
    save_checkpoint(ckpt, {**_checkpoint_payload(model, config), "gradnorm": {"tasks": ["a"], "weights": 1.0}})
    with pytest.raises(InputError, match=r"bad.pt: gradnorm: expected task names and one weight per task"):
        load_model(ckpt)
    with pytest.raises(InputError, match=r"nothing.pt: model not found"):
        load_model(tmp_path / "nothing.pt")


class _NoWriter:
    def add_scalar(self, *args) -> None:
        pass


def test_trainer_writes_the_best_epoch_as_a_model_folder(tmp_path, model, reference, config, capsys):
    from driving.training.config import load_experiment_config
    from driving.training.trainer import Trainer, _save_epoch

    trainer = Trainer(model, load_experiment_config(TINY))
    val = dict.fromkeys(("loss_total", "seg_miou", "wp_ade_m", "wp_fde_m", "light_accuracy", "control_l1"), 0.5)
    history = [{"epoch": 1, "global_step": 4, "train": {}, "val": val,
                "gradnorm_weights": trainer.gradnorm.weight_dict()}]
    _save_epoch(trainer, tmp_path, history, improved=True, writer=_NoWriter())
    loaded = load_model(tmp_path)
    assert loaded.source == tmp_path / "model" and loaded.config == config
    assert loaded.task_weights == trainer.gradnorm.weight_dict() and set(loaded.task_weights) == set(TASK_WEIGHTS)
    _assert_same_outputs(loaded.model, reference, config)
    history.append({**history[0], "epoch": 2, "global_step": 8})
    _save_epoch(trainer, tmp_path, history, improved=False, writer=_NoWriter())
    source = json.loads((tmp_path / "model" / MODEL_CONFIG_NAME).read_text())["source"]
    assert source == {"epoch": 1, "global_step": 4, "val": val}  # only an improved epoch replaces it
    assert "epoch 2:" in capsys.readouterr().out


def test_backbone_init_path_of_the_training_machine_is_not_needed(tmp_path, model, reference, config):
    """The weights hold the whole backbone: a pretrained path that exists only where the model was
    trained is kept in the config but never read."""
    trained_with = dataclasses.replace(config, pretrained_backbone_path=str(tmp_path / "elsewhere" / "cvt-13"))
    loaded = load_model(save_model_file(tmp_path / "m", model, trained_with))
    assert loaded.config == trained_with and loaded.task_weights is None
    _assert_same_outputs(loaded.model, reference, config)
