"""Backbone weights come from local files only; random init warns once; bad paths are InputErrors."""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import pytest
import torch

from driving.errors import InputError
from perception import pretrained
from perception.backbone import CvTBackbone
from perception.config import load_model_config
from perception.pretrained import RandomInitWarning

TINY = load_model_config(Path(__file__).resolve().parents[2] / "configs" / "letfuser_tiny.yaml")


def source_backbone() -> CvTBackbone:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomInitWarning)
        torch.manual_seed(1)
        return CvTBackbone(TINY)


def assert_same_cvt(a: CvTBackbone, b: CvTBackbone) -> None:
    for (name, x), y in zip(a.cvt.state_dict().items(), b.cvt.state_dict().values()):
        assert torch.equal(x, y), name


def test_random_init_warns_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pretrained, "_WARNED_RANDOM_INIT", False)
    with pytest.warns(RandomInitWarning, match="pretrained_backbone_path"):
        CvTBackbone(TINY)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CvTBackbone(TINY)
    assert not [w for w in caught if issubclass(w.category, RandomInitWarning)]


def test_loads_classification_state_dict_file(tmp_path: Path) -> None:
    source = source_backbone()
    # A CvtForImageClassification-style checkpoint: `cvt.` prefix plus a head we must ignore.
    state = {f"cvt.{k}": v for k, v in source.cvt.state_dict().items()}
    state["classifier.weight"] = torch.zeros(1000, TINY.embed_dims[-1])
    path = tmp_path / "cvt_tiny.pt"
    torch.save(state, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RandomInitWarning)
        loaded = CvTBackbone(dataclasses.replace(TINY, pretrained_backbone_path=str(path)))
    assert_same_cvt(source, loaded)


def test_loads_hugging_face_folder(tmp_path: Path) -> None:
    source = source_backbone()
    source.cvt.save_pretrained(tmp_path / "cvt")
    loaded = CvTBackbone(dataclasses.replace(TINY, pretrained_backbone_path=str(tmp_path / "cvt")))
    assert_same_cvt(source, loaded)


def test_bad_paths_are_input_errors(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_weights.pt"
    with pytest.raises(InputError, match="no_such_weights.pt"):
        CvTBackbone(dataclasses.replace(TINY, pretrained_backbone_path=str(missing)))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty"):
        CvTBackbone(dataclasses.replace(TINY, pretrained_backbone_path=str(tmp_path / "empty")))
    wrong = tmp_path / "wrong.pt"
    torch.save({"encoder.stages.0.cls": torch.zeros(1)}, wrong)
    with pytest.raises(InputError, match="wrong.pt.*lacks"):
        CvTBackbone(dataclasses.replace(TINY, pretrained_backbone_path=str(wrong)))
