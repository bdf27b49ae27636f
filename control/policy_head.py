"""LeTFuser's learned controller: latent -> (steer, throttle, brake), and its output scaling.

x13 predicts a first control from an MLP over (waypoint-GRU hidden + traffic-light feature), then a
GRUCell seeded with the fused latent reads (first control, target point) and a second MLP adds a
residual. Here the residual is added in logit space before one sigmoid, so the raw outputs stay
in [0, 1] (x13 adds a sigmoid to a ReLU output, which can leave that range), and decoding is x13's:
steer = 2 c0 - 1 in [-1, 1], throttle = max_throttle * c1 (0.75), brake = c2.
"""
from __future__ import annotations

import torch
from torch import nn


def decode_control(raw: torch.Tensor, max_throttle: float) -> torch.Tensor:
    """Raw controls [..., 3] in [0, 1] -> (steer in [-1, 1], throttle in [0, max_throttle], brake in [0, 1])."""
    steer = raw[..., 0] * 2.0 - 1.0
    throttle = raw[..., 1] * max_throttle
    return torch.stack([steer, throttle, raw[..., 2]], dim=-1)


class PolicyHead(nn.Module):
    """(hidden, light feature, latent [B,L], target point [B,2] m) -> raw controls [B,3] in [0, 1]."""

    def __init__(self, latent_dim: int, hidden_dim: int) -> None:
        super().__init__()
        if latent_dim <= 0 or hidden_dim <= 0:
            raise ValueError(f"PolicyHead: sizes must be positive, got {latent_dim}, {hidden_dim}")
        self.mlp = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.ReLU(inplace=True),
                                 nn.Linear(hidden_dim, 3))
        self.gru = nn.GRUCell(input_size=3 + 2, hidden_size=latent_dim)
        self.residual = nn.Sequential(nn.Linear(2 * latent_dim, hidden_dim), nn.ReLU(inplace=True),
                                      nn.Linear(hidden_dim, 3))

    def forward(self, hidden: torch.Tensor, light_feature: torch.Tensor, latent: torch.Tensor,
                target_point: torch.Tensor) -> torch.Tensor:
        first_logits = self.mlp(hidden + light_feature)
        state = self.gru(torch.cat([torch.sigmoid(first_logits), target_point], dim=1), latent)
        return torch.sigmoid(first_logits + self.residual(torch.cat([state, light_feature], dim=1)))
