"""LeTFuserConfig: both bundled configs load; bad input fails with the file and field named."""
from __future__ import annotations

from pathlib import Path

import pytest

from driving.errors import InputError
from perception.config import LeTFuserConfig, load_model_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_bundled_configs_load() -> None:
    full = load_model_config(CONFIGS / "letfuser.yaml")
    tiny = load_model_config(CONFIGS / "letfuser_tiny.yaml")
    assert (full.input_height, full.input_width, full.num_classes) == (160, 768, 23)
    assert full.latent_dim == 232
    assert full.side_crop_px == 96
    assert full.camera_focal_px == pytest.approx(320 / (2 * 0.5773502691896257))
    assert tiny.input_height * tiny.input_width < full.input_height * full.input_width
    assert full == LeTFuserConfig()  # the dataclass defaults are the x13 sizes


def test_unknown_key_names_file_and_known_keys(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  input_hieght: 160\n")
    with pytest.raises(InputError, match=r"bad\.yaml.*input_hieght.*known keys"):
        load_model_config(path)


def test_bad_values_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  input_height: 100\n")
    with pytest.raises(InputError, match=r"bad\.yaml.*input_height"):
        load_model_config(path)
    path.write_text("model:\n  embed_dims: [64, 192]\n")
    with pytest.raises(InputError, match=r"bad\.yaml.*embed_dims"):
        load_model_config(path)
    path.write_text("model:\n  camera_width_px: 100\n")
    with pytest.raises(InputError, match=r"camera_width_px"):
        load_model_config(path)


def test_missing_model_section_and_file(tmp_path: Path) -> None:
    path = tmp_path / "train_only.yaml"
    path.write_text("train:\n  lr: 0.001\n")
    with pytest.raises(InputError, match=r"train_only\.yaml.*model"):
        load_model_config(path)
    with pytest.raises(InputError, match=r"nope\.yaml"):
        load_model_config(tmp_path / "nope.yaml")
