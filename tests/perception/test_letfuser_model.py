"""LeTFuser end to end: shapes and ranges, parameter counts, depth-head variant, gradients."""
from __future__ import annotations

import dataclasses
import socket
import warnings
from pathlib import Path

import pytest
import torch

from perception.config import LeTFuserConfig, load_model_config
from perception.model import LeTFuser, LeTFuserOutput, parameter_breakdown
from perception.pretrained import RandomInitWarning

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
REFERENCE_PARAMETERS = 31_331_865


@pytest.fixture(autouse=True)
def _quiet_random_init():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomInitWarning)
        yield


def inputs(config: LeTFuserConfig, batch: int, with_depth: bool = True) -> dict:
    torch.manual_seed(0)
    h, w = config.input_height, config.input_width
    return {
        "rgb": torch.rand(batch, 3, h, w) * 255.0,
        "depth": torch.rand(batch, 1, h, w) * 0.04 if with_depth else None,
        "target_point": torch.tensor([[12.0, -3.0]] * batch),
        "speed": torch.full((batch, 1), 4.0),
        "command": torch.nn.functional.one_hot(torch.arange(batch) % 6, 6).float(),
    }


def check_output(out: LeTFuserOutput, config: LeTFuserConfig, batch: int) -> None:
    h, w, c = config.input_height, config.input_width, config.num_classes
    assert out.seg_logits.shape == out.seg_probs.shape == (batch, c, h, w)
    assert torch.allclose(out.seg_probs, torch.sigmoid(out.seg_logits))
    assert out.waypoints.shape == (batch, config.num_waypoints, 2)
    assert out.control.shape == out.control_raw.shape == (batch, 3)
    assert ((out.control_raw >= 0) & (out.control_raw <= 1)).all()
    assert ((out.control[:, 0] >= -1) & (out.control[:, 0] <= 1)).all()
    assert ((out.control[:, 1] >= 0) & (out.control[:, 1] <= config.max_throttle)).all()
    assert ((out.control[:, 2] >= 0) & (out.control[:, 2] <= 1)).all()
    assert torch.allclose(out.control[:, 0], out.control_raw[:, 0] * 2 - 1)
    assert out.red_light.shape == out.pred_speed.shape == (batch, 1)
    assert ((out.red_light > 0) & (out.red_light < 1)).all()
    assert out.sdc.shape == (batch, c, h, w)
    assert set(out.sdc.unique().tolist()) <= {0.0, 1.0} and out.sdc.sum() > 0
    for name in ("seg_logits", "waypoints", "control", "pred_speed"):
        assert torch.isfinite(getattr(out, name)).all()


def test_tiny_forward_shapes_and_ranges() -> None:
    config = load_model_config(CONFIGS / "letfuser_tiny.yaml")
    model = LeTFuser(config).eval()
    with torch.inference_mode():
        out = model(**inputs(config, batch=2))
    check_output(out, config, batch=2)
    assert out.pred_depth is None


def test_full_forward_once() -> None:
    config = load_model_config(CONFIGS / "letfuser.yaml")
    model = LeTFuser(config).eval()
    with torch.inference_mode():
        out = model(**inputs(config, batch=1))
    check_output(out, config, batch=1)


def test_parameter_counts() -> None:
    full = LeTFuser(load_model_config(CONFIGS / "letfuser.yaml"))
    breakdown = parameter_breakdown(full)
    assert abs(breakdown["total"] - REFERENCE_PARAMETERS) <= 0.05 * REFERENCE_PARAMETERS
    assert sum(v for k, v in breakdown.items() if k != "total") == breakdown["total"]
    assert breakdown["backbone.cvt"] > 19_000_000  # CvT-13 is ~19.6 M without its classifier
    tiny = LeTFuser(load_model_config(CONFIGS / "letfuser_tiny.yaml"))
    assert parameter_breakdown(tiny)["total"] <= 3_000_000


def test_depth_head_variant_runs_without_depth() -> None:
    config = dataclasses.replace(load_model_config(CONFIGS / "letfuser_tiny.yaml"), predict_depth=True)
    model = LeTFuser(config).eval()
    with torch.inference_mode():
        out = model(**inputs(config, batch=2, with_depth=False))
    check_output(out, config, batch=2)
    assert out.pred_depth.shape == (2, 1, config.input_height, config.input_width)
    assert ((out.pred_depth > 0) & (out.pred_depth <= 1)).all()


def test_depth_is_required_without_depth_head() -> None:
    config = load_model_config(CONFIGS / "letfuser_tiny.yaml")
    with pytest.raises(ValueError, match="depth is required"):
        LeTFuser(config)(**inputs(config, batch=1, with_depth=False))
    with pytest.raises(ValueError, match="target_point"):
        LeTFuser(config)(**{**inputs(config, batch=1), "target_point": torch.zeros(1, 3)})


def test_gradients_reach_every_head() -> None:
    config = dataclasses.replace(load_model_config(CONFIGS / "letfuser_tiny.yaml"), predict_depth=True)
    model = LeTFuser(config).train()
    out = model(**inputs(config, batch=2, with_depth=False))
    loss = (out.seg_probs.mean() + out.waypoints.abs().mean() + out.control.sum() + out.red_light.sum()
            + out.pred_speed.sum() + out.pred_depth.mean())
    loss.backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []
    shared = model.shared_parameters() + model.perception_shared_parameters()
    assert all(p.grad is not None for p in shared)


def test_perception_losses_reach_perception_shared_layer_only() -> None:
    config = load_model_config(CONFIGS / "letfuser_tiny.yaml")
    model = LeTFuser(config).train()
    out = model(**inputs(config, batch=2))
    (driving_shared,) = model.shared_parameters()
    (perception_shared,) = model.perception_shared_parameters()
    seg_grad = torch.autograd.grad(out.seg_probs.mean(), [perception_shared, driving_shared], allow_unused=True)
    assert seg_grad[0] is not None and seg_grad[1] is None
    (wp_grad,) = torch.autograd.grad(out.waypoints.sum(), [driving_shared])
    assert wp_grad.abs().sum() > 0


def test_building_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args, **_kwargs):
        raise OSError("network access during model construction")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    model = LeTFuser(load_model_config(CONFIGS / "letfuser_tiny.yaml"))
    assert parameter_breakdown(model)["total"] > 0
