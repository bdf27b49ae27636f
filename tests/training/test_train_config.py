"""The `train:` section: defaults are LeTFuser's, unknown keys and wrong types name file and field."""
from __future__ import annotations

from pathlib import Path

import pytest

from driving.errors import InputError
from driving.training.config import TrainConfig, load_train_config

REPO = Path(__file__).resolve().parents[2]


def test_defaults_are_the_reference_settings(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: {}\n")
    cfg = load_train_config(path)
    assert cfg == TrainConfig()
    assert (cfg.lr, cfg.weight_decay, cfg.batch_size, cfg.epochs, cfg.gradnorm_alpha) == (1e-4, 1e-3, 20, 20, 1.5)


def test_values_are_read_and_checked(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 3\n  lr: 0.001\n  val_towns: [Town02, Town05]\n")
    cfg = load_train_config(path)
    assert (cfg.epochs, cfg.lr, cfg.val_towns) == (3, 1e-3, ("Town02", "Town05"))

    path.write_text("train:\n  epoch: 3\n")
    with pytest.raises(InputError, match=r"c\.yaml: train: unknown key\(s\) \['epoch'\]"):
        load_train_config(path)
    path.write_text("train:\n  batch_size: four\n")
    with pytest.raises(InputError, match=r"c\.yaml: train\.batch_size: expected an integer"):
        load_train_config(path)
    path.write_text("train:\n  plateau_factor: 2.0\n")
    with pytest.raises(InputError, match="c.yaml.*plateau_factor must be in"):
        load_train_config(path)
    with pytest.raises(InputError, match="missing.yaml: cannot read"):
        load_train_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("name", ["letfuser.yaml", "letfuser_tiny.yaml"])
def test_bundled_configs_have_a_valid_train_section(name):
    path = REPO / "configs" / name
    if not path.is_file():
        pytest.skip(f"{path} not written yet")
    cfg = load_train_config(path)
    assert cfg.epochs > 0 and cfg.batch_size > 0
