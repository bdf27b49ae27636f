"""Autoregressive GRU waypoint decoder (x13): the fused latent -> N future waypoints, 0.5 s apart.

Each step feeds the previous waypoint and the target point into a GRUCell whose hidden state starts
as the fused latent; a linear layer over (hidden, traffic-light feature) predicts the step to the
next waypoint. Waypoints are metres in the ego frame at the current time (x forward, y right).
"""
from __future__ import annotations

import torch
from torch import nn


class WaypointDecoder(nn.Module):
    """(latent [B,L], light feature [B,L], target point [B,2] m) -> (waypoints [B,N,2] m, hidden [B,L])."""

    def __init__(self, latent_dim: int, num_waypoints: int) -> None:
        super().__init__()
        if latent_dim <= 0 or num_waypoints <= 0:
            raise ValueError(f"WaypointDecoder: latent_dim and num_waypoints must be positive, got "
                             f"{latent_dim}, {num_waypoints}")
        self.num_waypoints = num_waypoints
        self.gru = nn.GRUCell(input_size=2 + 2, hidden_size=latent_dim)
        self.step = nn.Linear(2 * latent_dim, 2)

    def forward(self, latent: torch.Tensor, light_feature: torch.Tensor,
                target_point: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = latent
        xy = latent.new_zeros(latent.shape[0], 2)
        waypoints = []
        for _ in range(self.num_waypoints):  # autoregressive over time steps, not over samples
            hidden = self.gru(torch.cat([xy, target_point], dim=1), hidden)
            xy = xy + self.step(torch.cat([hidden, light_feature], dim=1))
            waypoints.append(xy)
        return torch.stack(waypoints, dim=1), hidden
