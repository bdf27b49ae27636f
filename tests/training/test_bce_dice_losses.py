"""Task losses: BCE + Dice behaves as the reference, and every task loss of a real tiny model
output is a finite scalar equal to the L1 it stands for."""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from driving.training.losses import DEPTH_TASK, TASKS, bce_dice_loss, task_losses, tasks_for

REPO = Path(__file__).resolve().parents[2]


def test_bce_dice_is_small_for_a_perfect_prediction_and_large_for_a_wrong_one():
    tags = torch.randint(0, 23, (2, 8, 16))
    target = F.one_hot(tags, 23).permute(0, 3, 1, 2).float()
    perfect = (target * 2 - 1) * 20
    assert float(bce_dice_loss(perfect, target)) < 1e-6
    wrong = -perfect
    assert float(bce_dice_loss(wrong, target)) > 10
    zeros = torch.zeros_like(target)
    dice = 1 - 2 * 0.5 * target.sum() / (0.5 * target.numel() + target.sum())
    assert math.isclose(float(bce_dice_loss(zeros, target)), math.log(2) + float(dice), rel_tol=1e-5)


def test_task_losses_of_a_tiny_model_output():
    from perception.config import load_model_config
    from perception.model import LeTFuser

    cfg = load_model_config(REPO / "configs" / "letfuser_tiny.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LeTFuser(cfg).eval()
    b, h, w = 2, cfg.input_height, cfg.input_width
    tags = torch.randint(0, 23, (b, h, w))
    batch = {"rgb": torch.rand(b, 3, h, w) * 255, "depth": torch.rand(b, 1, h, w),
             "seg_target": F.one_hot(tags, 23).permute(0, 3, 1, 2).float(),
             "waypoints": torch.randn(b, 3, 2) * 3, "target_point": torch.randn(b, 2) * 10,
             "command": torch.eye(6)[:b], "speed": torch.rand(b, 1) * 5,
             "control": torch.tensor([[0.1, 0.5, 0.0], [-0.2, 0.0, 1.0]]), "red_light": torch.tensor([[1.0], [0.0]])}
    with torch.no_grad():
        out = model(batch["rgb"], batch["depth"], batch["target_point"], batch["speed"], batch["command"])
        losses = task_losses(out, batch)
    assert tuple(losses) == TASKS and tasks_for(True) == (*TASKS, DEPTH_TASK)
    for name, value in losses.items():
        assert value.shape == () and torch.isfinite(value), name
    assert torch.isclose(losses["waypoints"], (out.waypoints - batch["waypoints"]).abs().mean())
    assert torch.isclose(losses["brake"], (out.control[:, 2] - batch["control"][:, 2]).abs().mean())
    assert torch.isclose(losses["red_light"], (out.red_light - batch["red_light"]).abs().mean())
    assert torch.isclose(losses["speed"], (out.pred_speed - batch["speed"]).abs().mean())


def test_red_light_bce_keeps_a_gradient_where_l1_has_saturated():
    """A head that answers ~0 for a red light (the majority-class trap): L1's gradient on the
    pre-sigmoid value nearly vanishes, BCE's stays ~1 and points the right way. BCE equals the
    textbook formula, also under autocast."""
    from types import SimpleNamespace

    logit = torch.tensor([[-8.0]], requires_grad=True)
    target = {"red_light": torch.tensor([[1.0]])}
    grads = {}
    for kind in ("l1", "bce"):
        out = SimpleNamespace(red_light=torch.sigmoid(logit), control=torch.zeros(1, 3))
        (loss,) = task_losses(out, {**target, "control": torch.zeros(1, 3)}, ("red_light",), kind).values()
        (grads[kind],) = torch.autograd.grad(loss, logit)
    assert abs(float(grads["l1"])) < 1e-3
    assert float(grads["bce"]) < -0.99  # descent raises the probability of the red light
    p = torch.tensor([[0.3], [0.9]])
    y = torch.tensor([[1.0], [0.0]])
    expected = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = SimpleNamespace(red_light=p, control=torch.zeros(2, 3))
        got = task_losses(out, {"red_light": y, "control": torch.zeros(2, 3)}, ("red_light",), "bce")["red_light"]
    assert torch.isclose(got.float(), expected, rtol=1e-3)


def test_an_unknown_red_light_loss_is_refused_by_the_train_config():
    import pytest

    from driving.training.config import TrainConfig

    assert TrainConfig(red_light_loss="bce").red_light_loss == "bce"
    with pytest.raises(ValueError, match="red_light_loss"):
        TrainConfig(red_light_loss="focal")
