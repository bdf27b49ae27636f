"""Validation metrics, accumulated as sums so they add up across batches and DDP ranks.

- seg_miou: mean over classes present in the ground truth or the prediction of
  intersection / union, the prediction being the arg-max class per pixel.
- wp_ade_m / wp_fde_m: mean / final L2 distance between predicted and expert waypoints (metres).
- light_accuracy: red-light probability > 0.5 against the `light_hazard` label.
- control_l1 (mean of steer, throttle, brake) and each component's L1.
- loss_*: the mean task losses (unweighted) and their sum `loss_total`, which drives the
  learning-rate schedule.
"""
from __future__ import annotations

import torch
import torch.distributed as dist

_CONTROL = ("steer", "throttle", "brake")


class MetricAccumulator:
    """Sums over a validation pass; `compute()` turns them into a flat dict of floats."""

    def __init__(self, num_classes: int, tasks: tuple[str, ...], device: torch.device | str = "cpu") -> None:
        self.num_classes = num_classes
        self.tasks = tasks
        self.intersection = torch.zeros(num_classes, dtype=torch.float64, device=device)
        self.union = torch.zeros(num_classes, dtype=torch.float64, device=device)
        # samples, ADE sum, FDE sum, light correct, steer/throttle/brake abs sums, per-task loss sums
        self.sums = torch.zeros(7 + len(tasks), dtype=torch.float64, device=device)

    @torch.no_grad()
    def update(self, output, batch: dict[str, torch.Tensor], losses: dict[str, torch.Tensor]) -> None:
        n = batch["waypoints"].shape[0]
        pred = output.seg_logits.argmax(dim=1)
        truth = batch["semantic"]
        c = self.num_classes
        self.intersection += torch.bincount(truth[pred == truth].flatten(), minlength=c)[:c].double()
        area_pred = torch.bincount(pred.flatten(), minlength=c)[:c].double()
        area_truth = torch.bincount(truth.flatten(), minlength=c)[:c].double()
        self.union += area_pred + area_truth
        dist_m = (output.waypoints.float() - batch["waypoints"].float()).norm(dim=-1)
        light_ok = ((output.red_light.float() > 0.5) == (batch["red_light"] > 0.5)).double().sum()
        control_abs = (output.control.float() - batch["control"].float()).abs().sum(dim=0).double()
        loss_sums = torch.stack([losses[t].detach().double() * n for t in self.tasks])
        self.sums += torch.cat([torch.tensor([n], dtype=torch.float64, device=self.sums.device),
                                dist_m.mean(dim=1).sum().double()[None], dist_m[:, -1].sum().double()[None],
                                light_ok[None], control_abs, loss_sums])

    def all_reduce(self) -> None:
        """Sum the accumulators over DDP ranks (no-op without a process group)."""
        if dist.is_available() and dist.is_initialized():
            for t in (self.intersection, self.union, self.sums):
                dist.all_reduce(t)

    def compute(self) -> dict[str, float]:
        union = self.union - self.intersection  # area_pred + area_truth - intersection
        present = union > 0
        iou = self.intersection[present] / union[present]
        n = max(float(self.sums[0]), 1.0)
        s = self.sums.tolist()
        out = {
            "samples": s[0],
            "seg_miou": float(iou.mean()) if bool(present.any()) else 0.0,
            "wp_ade_m": s[1] / n,
            "wp_fde_m": s[2] / n,
            "light_accuracy": s[3] / n,
        }
        for i, name in enumerate(_CONTROL):
            out[f"{name}_l1"] = s[4 + i] / n
        out["control_l1"] = sum(s[4:7]) / (3 * n)
        for i, task in enumerate(self.tasks):
            out[f"loss_{task}"] = s[7 + i] / n
        out["loss_total"] = sum(out[f"loss_{t}"] for t in self.tasks)
        return out
