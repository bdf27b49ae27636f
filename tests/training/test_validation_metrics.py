"""Validation metrics on hand-made outputs with known answers (mIoU, ADE/FDE, light accuracy, control L1)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from driving.training.metrics import MetricAccumulator
from perception.model import LeTFuserOutput


def _output(pred_tags: torch.Tensor, waypoints, red, control) -> LeTFuserOutput:
    logits = F.one_hot(pred_tags, 23).permute(0, 3, 1, 2).float() * 10 - 5
    control = torch.tensor(control)
    return LeTFuserOutput(seg_logits=logits, seg_probs=torch.sigmoid(logits), waypoints=torch.tensor(waypoints),
                          control=control, control_raw=control, red_light=torch.tensor(red),
                          pred_speed=torch.zeros(len(red), 1), pred_depth=None, sdc=torch.zeros(1))


def test_metrics_match_hand_computed_values():
    truth = torch.zeros(2, 2, 4, dtype=torch.long)
    truth[:, :, 2:] = 7  # left half class 0, right half class 7
    pred = truth.clone()
    pred[0, 0, 2] = 0  # one pixel of class 7 predicted as 0
    batch = {"semantic": truth, "waypoints": torch.zeros(2, 3, 2), "red_light": torch.tensor([[1.0], [0.0]]),
             "control": torch.tensor([[0.0, 0.5, 0.0], [0.2, 0.0, 1.0]])}
    wps = [[[3.0, 4.0], [0.0, 0.0], [6.0, 8.0]], [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]]
    out = _output(pred, wps, [[0.9], [0.7]], [[0.1, 0.5, 0.0], [0.2, 0.0, 0.0]])
    acc = MetricAccumulator(23, ("waypoints",))
    acc.update(out, batch, {"waypoints": torch.tensor(2.0)})
    m = acc.compute()
    # class 0: intersection 8, union 9; class 7: intersection 7, union 8
    assert m["seg_miou"] == pytest.approx((8 / 9 + 7 / 8) / 2)
    assert m["wp_ade_m"] == pytest.approx((5 + 0 + 10) / 3 / 2)
    assert m["wp_fde_m"] == pytest.approx(10 / 2)
    assert m["light_accuracy"] == pytest.approx(0.5)
    assert m["steer_l1"] == pytest.approx(0.05) and m["brake_l1"] == pytest.approx(0.5)
    assert m["control_l1"] == pytest.approx((0.1 + 1.0) / 6)
    assert m["loss_waypoints"] == pytest.approx(2.0) and m["loss_total"] == pytest.approx(2.0)
    assert m["samples"] == 2
