"""Per-task losses of LeTFuser, as the reference (x13 train.py) computes them.

- segmentation: BCE + Dice over all pixels and classes (the reference's `BCEDice`); the BCE is
  taken on the logits (same value, numerically stable under autocast).
- waypoints: L1 on the [B, 3, 2] ego-frame points (metres).
- steer, throttle, brake: L1 on the scaled policy-head outputs against the expert's control.
- red_light: L1 on the predicted probability against the 0/1 label (the reference uses L1), or
  with `red_light_loss="bce"` binary cross-entropy. Why the choice: the label is positive in
  ~14 % of the frames, and L1's gradient through the sigmoid, sign(p - y) * p * (1 - p), pushes
  every probability towards 0 early on and then vanishes as p saturates; the head then answers
  the majority class for good (LeTFuser-tiny's validation light accuracy stayed at the negative
  share, 0.681, in every epoch of both CPU runs, 10 and 13 epochs). BCE's gradient, p - y, does not vanish.
- speed: L1 on the model's auxiliary speed prediction (m/s), as the reference.
- depth (only for the submittable variant with a depth head, `predict_depth`): L1 on the
  predicted normalised depth against the depth camera's.

Each loss is a scalar tensor; the trainer weights them (GradNorm) and logs them under these names.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from driving.training.config import RED_LIGHT_LOSSES

TASKS = ("segmentation", "waypoints", "steer", "throttle", "brake", "red_light", "speed")
DEPTH_TASK = "depth"
#: Tasks whose gradients x13 measures at the fusion layer; the others at the backbone's last layer.
PLANNING_TASKS = ("waypoints", "steer", "throttle", "brake")


def tasks_for(predict_depth: bool) -> tuple[str, ...]:
    """The task list of a model: the depth task exists only with a depth head."""
    return (*TASKS, DEPTH_TASK) if predict_depth else TASKS


def bce_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1e-7) -> torch.Tensor:
    """BCE + (1 - Dice) over every element; `target` is the one-hot [B, C, H, W] float mask."""
    logits = logits.float()
    target = target.float()
    bce = F.binary_cross_entropy_with_logits(logits, target)
    probs = torch.sigmoid(logits)
    intersection = (probs * target).sum()
    dice = (2.0 * intersection + smooth) / (probs.sum() + target.sum() + smooth)
    return bce + (1.0 - dice)


def red_light_bce(prob: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """BCE of a sigmoid probability, taken on its logit (binary_cross_entropy refuses autocast)."""
    return F.binary_cross_entropy_with_logits(torch.logit(prob.float(), eps=eps), target.float())


def task_losses(output, batch: dict[str, torch.Tensor], tasks: tuple[str, ...] = TASKS,
                red_light_loss: str = "l1") -> dict[str, torch.Tensor]:
    """Losses for `tasks` from a model output (`LeTFuserOutput`) and a batch dict of the dataset;
    `red_light_loss` one of RED_LIGHT_LOSSES (module docstring)."""
    if red_light_loss not in RED_LIGHT_LOSSES:
        raise ValueError(f"red_light_loss: expected one of {list(RED_LIGHT_LOSSES)}, got {red_light_loss!r}")
    control = output.control.float()
    target_control = batch["control"].float()
    makers = {
        "segmentation": lambda: bce_dice_loss(output.seg_logits, batch["seg_target"]),
        "waypoints": lambda: F.l1_loss(output.waypoints.float(), batch["waypoints"].float()),
        "steer": lambda: F.l1_loss(control[:, 0], target_control[:, 0]),
        "throttle": lambda: F.l1_loss(control[:, 1], target_control[:, 1]),
        "brake": lambda: F.l1_loss(control[:, 2], target_control[:, 2]),
        "red_light": lambda: (red_light_bce(output.red_light, batch["red_light"]) if red_light_loss == "bce"
                              else F.l1_loss(output.red_light.float(), batch["red_light"].float())),
        "speed": lambda: F.l1_loss(output.pred_speed.float(), batch["speed"].float()),
        DEPTH_TASK: lambda: F.l1_loss(output.pred_depth.float(), batch["depth"].float()),
    }
    return {t: makers[t]() for t in tasks}
