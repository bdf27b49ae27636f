"""Deployment copy: BatchNorms folded, channels-last, same outputs, original model untouched."""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from perception.config import load_model_config
from perception.inference import CompileError, compile_for_inference, fold_batch_norms, prepare_for_inference
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


@pytest.mark.skipif(shutil.which("g++") is None, reason="TorchInductor's CPU backend needs a C++ compiler (g++)")
def test_compiled_copy_gives_the_deployed_outputs() -> None:
    """TorchInductor with frozen weights: same outputs as the eager deployed copy (float rounding)."""
    torch.manual_seed(1)
    deployed = _tiny_deployed()
    compiled, seconds = compile_for_inference(deployed, _zero_frame())
    h, w = TINY.input_height, TINY.input_width
    assert seconds > 0
    frame = {"rgb": torch.rand(1, 3, h, w) * 255, "depth": torch.rand(1, 1, h, w) * 0.04,
             "target_point": torch.tensor([[8.0, -1.0]]), "speed": torch.tensor([[4.0]]),
             "command": torch.eye(6)[3:4]}
    with torch.inference_mode():
        eager, fast = deployed(**frame), compiled(**frame)
    for field in ("seg_probs", "waypoints", "control", "red_light", "pred_speed"):
        assert torch.allclose(getattr(eager, field), getattr(fast, field), atol=1e-4), field
    assert (eager.sdc != fast.sdc).float().mean() < 1e-3  # an argmax tie may flip a pixel's class


def _tiny_deployed() -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomInitWarning)
        return prepare_for_inference(LeTFuser(TINY))


def _zero_frame() -> dict[str, torch.Tensor]:
    h, w = TINY.input_height, TINY.input_width
    return {"rgb": torch.zeros(1, 3, h, w), "depth": torch.zeros(1, 1, h, w), "target_point": torch.zeros(1, 2),
            "speed": torch.zeros(1, 1), "command": torch.eye(6)[:1]}


def test_compile_refuses_a_training_model_and_bad_example_inputs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomInitWarning)
        model = LeTFuser(TINY)
    with pytest.raises(ValueError, match="prepare_for_inference"):
        compile_for_inference(model, {})
    with pytest.raises(ValueError, match=r"rgb must have shape \[1, 3, 64, 320\]"):
        compile_for_inference(_tiny_deployed(), {**_zero_frame(), "rgb": torch.zeros(1, 3, 8, 8)})


def test_compile_without_a_cxx_compiler_is_one_clear_error() -> None:
    import torch._inductor.config as inductor_config
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    with inductor_config.patch({"cpp.cxx": (None, "no-such-c++-compiler")}), \
            pytest.raises(CompileError, match="needs a working C.. compiler"):
        compile_for_inference(_tiny_deployed(), _zero_frame())
    assert not counters["frames"], "the missing compiler is found before dynamo traces the model"
    torch._dynamo.reset()
