"""Deployment copy: BatchNorms folded, channels-last, same outputs, original model untouched."""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from perception.config import load_model_config
from perception.inference import fold_batch_norms, prepare_for_inference
from perception.model import LeTFuser
from perception.pretrained import RandomInitWarning

TINY = load_model_config(Path(__file__).resolve().parents[2] / "configs" / "letfuser_tiny.yaml")


def test_deployed_copy_matches_the_eval_model() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomInitWarning)
        torch.manual_seed(0)
        model = LeTFuser(TINY).eval()
    for module in model.modules():  # non-trivial statistics so that folding matters
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    norms_before = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    deployed = prepare_for_inference(model)
    h, w = TINY.input_height, TINY.input_width
    inputs = (torch.rand(2, 3, h, w) * 255, torch.rand(2, 1, h, w) * 0.04, torch.randn(2, 2),
              torch.rand(2, 1), torch.eye(6)[:2])
    with torch.inference_mode():
        ref, out = model(*inputs), deployed(*inputs)
    assert torch.allclose(ref.seg_logits, out.seg_logits, atol=1e-4)
    assert torch.allclose(ref.waypoints, out.waypoints, atol=1e-4)
    assert torch.allclose(ref.control, out.control, atol=1e-4)
    assert torch.equal(ref.sdc, out.sdc) or (ref.sdc != out.sdc).float().mean() < 1e-3
    # Only the fusion's input BatchNorm (it precedes its conv) stays; the original keeps all of them.
    assert sum(isinstance(m, nn.BatchNorm2d) for m in deployed.modules()) == 1
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == norms_before
    assert not any(p.requires_grad for p in deployed.parameters())


def test_fold_counts_every_conv_bn_pair() -> None:
    block = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1))
    assert fold_batch_norms(block) == 1
    assert isinstance(block[1], nn.Identity) and isinstance(block[3], nn.BatchNorm2d)
