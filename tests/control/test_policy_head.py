"""Policy head: LeTFuser's control scaling and raw outputs that stay in [0, 1]."""
from __future__ import annotations

import pytest
import torch

from control.policy_head import PolicyHead, decode_control


def test_decode_control_scaling() -> None:
    raw = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.25]])
    control = decode_control(raw, max_throttle=0.75)
    expected = torch.tensor([[-1.0, 0.0, 0.0], [1.0, 0.75, 1.0], [0.0, 0.375, 0.25]])
    assert torch.allclose(control, expected)


def test_raw_outputs_stay_in_unit_range_for_extreme_inputs() -> None:
    torch.manual_seed(0)
    head = PolicyHead(latent_dim=16, hidden_dim=32)
    big = torch.randn(8, 16) * 1e3
    raw = head(big, torch.rand(8, 16), big, torch.randn(8, 2) * 100)
    assert raw.shape == (8, 3)
    assert ((raw >= 0) & (raw <= 1)).all()


def test_gradients_reach_mlp_gru_and_residual() -> None:
    torch.manual_seed(0)
    head = PolicyHead(latent_dim=16, hidden_dim=32)
    raw = head(torch.randn(2, 16), torch.rand(2, 16), torch.randn(2, 16), torch.randn(2, 2))
    raw.sum().backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="PolicyHead"):
        PolicyHead(latent_dim=0, hidden_dim=8)
