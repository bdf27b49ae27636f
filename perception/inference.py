"""Deployment form of a trained model: BatchNorm folded into the convolution before it, channels-last.

In eval mode a BatchNorm is an affine map per channel, so it can be folded into the weights of the
convolution that feeds it; that removes one full pass over every feature map, and with channels-last
weights oneDNN runs the convolutions without layout reorders (~25% off the segmentation decoder on
2 CPU cores). Only data-flow-adjacent pairs are folded: consecutive children of an nn.Sequential,
timm EfficientNet blocks, CvT's convolutional q/k/v projections. The change is irreversible (the
BatchNorm layers are gone), so it works on a copy and the training code never sees it.

`compile_for_inference` adds TorchInductor on top (opt-in): with `freezing` the weights become
constants, so oneDNN gets pre-packed weights and the element-wise tails (GELU, SiLU, residual
adds, LayerNorm, the SDC arithmetic) are fused into generated C++ loops. Measured on 2 CPU cores,
alternating with the eager deployed copy: ~5% faster after a ~30-45 s compile; with `autotune`
(inductor's max-autotune, which also times its own C++ GEMM kernels against oneDNN's for every
linear layer) ~10% faster after ~150 s. Outputs equal the eager ones to ~1e-6. Inductor caches
what it built (/tmp/torchinductor_<user>), so a later start with the same model sizes takes
seconds. It needs a C++ compiler. The compile happens in the call, on example inputs, so an agent
pays it during setup and not on its first frame.
"""
from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from typing import Any

import torch
from timm.layers import BatchNormAct2d
from timm.models._efficientnet_blocks import DepthwiseSeparableConv, InvertedResidual
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from transformers.models.cvt.modeling_cvt import CvtSelfAttentionConvProjection

#: (conv, batch norm) attribute pairs that run back to back in these module types.
_NAMED_PAIRS: dict[type, tuple[tuple[str, str], ...]] = {
    DepthwiseSeparableConv: (("conv_dw", "bn1"), ("conv_pw", "bn2")),
    InvertedResidual: (("conv_pw", "bn1"), ("conv_dw", "bn2"), ("conv_pwl", "bn3")),
    CvtSelfAttentionConvProjection: (("convolution", "normalization"),),
}


def _after_fold(norm: nn.BatchNorm2d) -> nn.Module:
    """What stays of a folded norm: timm's fused activation (and its dropout), else nothing."""
    if isinstance(norm, BatchNormAct2d):
        return nn.Sequential(norm.drop, norm.act)
    return nn.Identity()


def _fold(parent: nn.Module, conv_name: str, norm_name: str) -> bool:
    conv, norm = getattr(parent, conv_name), getattr(parent, norm_name)
    if not (type(conv) is nn.Conv2d and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats):
        return False
    setattr(parent, conv_name, fuse_conv_bn_eval(conv, norm))
    setattr(parent, norm_name, _after_fold(norm))
    return True


def fold_batch_norms(model: nn.Module) -> int:
    """Fold every adjacent Conv2d -> BatchNorm2d pair of `model` (in eval mode) in place; returns the count."""
    model.eval()
    folded = 0
    for module in list(model.modules()):
        pairs = _NAMED_PAIRS.get(type(module), ())
        if isinstance(module, nn.Sequential):
            names = [name for name, _ in module.named_children()]
            pairs = tuple(zip(names, names[1:]))
        for conv_name, norm_name in pairs:
            folded += _fold(module, conv_name, norm_name)
    return folded


def prepare_for_inference(model: nn.Module) -> nn.Module:
    """An eval-mode copy of `model` with BatchNorms folded and channels-last weights; `model` is untouched."""
    deployed = copy.deepcopy(model).eval()
    fold_batch_norms(deployed)
    deployed.requires_grad_(False)
    return deployed.to(memory_format=torch.channels_last)


class CompileError(RuntimeError):
    """torch.compile could not build the model on this machine (typically: no C++ compiler)."""


def _compile_error(reason: str) -> CompileError:
    return CompileError(f"torch.compile failed ({reason}); it needs a working C++ compiler (gcc or clang) on "
                        "the PATH; the eager model from prepare_for_inference runs without one")


def _cpp_compiler_problem() -> str:
    """'' when TorchInductor finds the C++ compiler its CPU code needs, else why not.

    Why ask first: without one, torch.compile fails only after dynamo has traced the whole model
    (30-60 s on a small CPU), and `compile: auto` then falls back to eager anyway.
    """
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler
    except ImportError:  # another torch layout: torch.compile itself will tell
        return ""
    try:
        get_cpp_compiler()
    except Exception as exc:  # noqa: BLE001 - InvalidCxxCompiler and whatever a probe raises
        return f"{type(exc).__name__}: {(str(exc).splitlines() or ['no C++ compiler found'])[0][:300]}"
    return ""


def compile_for_inference(deployed: nn.Module, example_inputs: Mapping[str, Any], autotune: bool = False,
                          ) -> tuple[Callable[..., Any], float]:
    """`deployed` (from prepare_for_inference) compiled by TorchInductor with frozen weights.

    Runs it once on `example_inputs` (the keyword arguments of its forward, e.g. a zero frame of the
    real input sizes) so that compilation happens here; returns (compiled callable, compile seconds).
    Call the result under `torch.inference_mode()`; other input shapes trigger a recompile.
    """
    if deployed.training or any(p.requires_grad for p in deployed.parameters()):
        raise ValueError("compile_for_inference: expected a model from prepare_for_inference "
                         "(eval mode, no parameter requiring gradients)")
    with torch.inference_mode():
        deployed(**example_inputs)  # bad inputs fail here, with the model's own message
    on_cpu = all(t.device.type == "cpu" for t in (*deployed.parameters(), *deployed.buffers()))
    problem = _cpp_compiler_problem() if on_cpu else ""
    if problem:  # CPU code needs one; torch.compile would find out only after tracing the model
        raise _compile_error(problem)
    options = {"freezing": True, "max_autotune": autotune}
    compiled = torch.compile(deployed, options=options)
    start = time.perf_counter()
    try:
        with torch.inference_mode():
            compiled(**example_inputs)
    except Exception as exc:  # inductor reports toolchain failures through several exception types
        raise _compile_error(f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from exc
    return compiled, time.perf_counter() - start
