"""GradNorm: the arithmetic on a two-task layer with known gradients, and weights that move from
uniform on a real tiny LeTFuser batch while summing to the number of tasks and surviving a
state_dict round trip."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from driving.training.gradnorm import GradNorm
from driving.training.losses import TASKS, task_losses
from driving.training.trainer import gradnorm_layers

REPO = Path(__file__).resolve().parents[2]


def test_task_with_larger_gradient_loses_weight():
    torch.manual_seed(0)
    shared = torch.nn.Linear(4, 4)
    x = torch.randn(8, 4)
    out = shared(x)
    losses = {"big": 10.0 * out.pow(2).mean(), "small": 0.1 * out.pow(2).mean()}
    gn = GradNorm(("big", "small"), shared.parameters(), alpha=1.5, lr=0.1)
    gn.update(losses)
    w = gn.weight_dict()
    # Equal training rates at the first step: GradNorm pulls both gradient norms towards their mean.
    assert w["big"] < 1.0 < w["small"]
    assert w["big"] + w["small"] == pytest.approx(2.0)
    assert gn.initial_losses is not None and torch.allclose(gn.initial_losses, torch.stack(
        [losses["big"].detach(), losses["small"].detach()]))
    # The model's own gradients were not touched (torch.autograd.grad, not backward).
    assert all(p.grad is None for p in shared.parameters())


def test_a_task_that_trains_slower_gains_weight():
    torch.manual_seed(0)
    shared = torch.nn.Linear(4, 4)
    x = torch.randn(8, 4)
    gn = GradNorm(("a", "b"), shared.parameters(), alpha=1.5, lr=0.05)
    gn.update({"a": shared(x).pow(2).mean(), "b": shared(x).pow(2).mean()})
    gn.weights.data.fill_(1.0)
    out = shared(x)
    # Task a's loss stayed at its initial value, task b's halved: a is behind and gets more weight.
    gn.update({"a": out.pow(2).mean(), "b": 0.5 * out.pow(2).mean()})
    assert gn.weight_dict()["a"] > gn.weight_dict()["b"]


def test_weights_move_on_a_real_tiny_model_batch():
    from perception.config import load_model_config
    from perception.model import LeTFuser

    torch.manual_seed(0)
    cfg = load_model_config(REPO / "configs" / "letfuser_tiny.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LeTFuser(cfg)
    b, h, w = 2, cfg.input_height, cfg.input_width
    tags = torch.randint(0, 23, (b, h, w))
    batch = {"seg_target": F.one_hot(tags, 23).permute(0, 3, 1, 2).float(), "waypoints": torch.randn(b, 3, 2) * 3,
             "speed": torch.rand(b, 1) * 5, "control": torch.tensor([[0.1, 0.5, 0.0], [-0.2, 0.0, 1.0]]),
             "red_light": torch.tensor([[1.0], [0.0]])}
    out = model(torch.rand(b, 3, h, w) * 255, torch.rand(b, 1, h, w), torch.randn(b, 2) * 10, batch["speed"],
                torch.eye(6)[:b])
    losses = task_losses(out, batch)
    gn = GradNorm(TASKS, gradnorm_layers(model, TASKS), alpha=1.5, lr=0.025)
    assert torch.equal(gn.weights.detach(), torch.ones(len(TASKS)))
    for _ in range(3):
        diag = gn.update(losses)
        assert diag["gradnorm_loss"] > 0
    weights = gn.weights.detach()
    assert not torch.allclose(weights, torch.ones(len(TASKS)), atol=1e-3)
    assert float(weights.sum()) == pytest.approx(len(TASKS), rel=1e-5) and float(weights.min()) > 0
    # The graph is still usable for the model's own backward.
    gn.weighted_sum(losses).backward()
    assert model.shared_parameters()[0].grad is not None

    restored = GradNorm(TASKS, gradnorm_layers(model, TASKS))
    restored.load_state_dict(gn.state_dict())
    assert torch.equal(restored.weights.detach(), weights)
    assert torch.equal(restored.initial_losses, gn.initial_losses)
    with pytest.raises(ValueError, match="tasks"):
        GradNorm(("a",), model.shared_parameters()).load_state_dict(gn.state_dict())
