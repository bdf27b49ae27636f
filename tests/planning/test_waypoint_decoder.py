"""GRU waypoint decoder: shapes, autoregressive accumulation, gradients to its inputs."""
from __future__ import annotations

import pytest
import torch

from planning.waypoint_decoder import WaypointDecoder


def test_shapes_and_accumulated_steps() -> None:
    torch.manual_seed(0)
    decoder = WaypointDecoder(latent_dim=16, num_waypoints=3)
    latent, light, target = torch.randn(4, 16), torch.rand(4, 16), torch.randn(4, 2) * 10
    waypoints, hidden = decoder(latent, light, target)
    assert waypoints.shape == (4, 3, 2) and hidden.shape == (4, 16)
    # Replay the recurrence: each waypoint is the previous one plus the step read from the GRU state.
    state, xy = latent, torch.zeros(4, 2)
    for k in range(3):
        state = decoder.gru(torch.cat([xy, target], dim=1), state)
        xy = xy + decoder.step(torch.cat([state, light], dim=1))
        assert torch.allclose(waypoints[:, k], xy, atol=1e-6)
    assert torch.allclose(hidden, state, atol=1e-6)


def test_target_point_changes_the_waypoints_and_gradients_flow() -> None:
    torch.manual_seed(0)
    decoder = WaypointDecoder(latent_dim=8, num_waypoints=3)
    latent = torch.randn(1, 8, requires_grad=True)
    light = torch.rand(1, 8, requires_grad=True)
    near, _ = decoder(latent, light, torch.tensor([[5.0, 0.0]]))
    far, _ = decoder(latent, light, torch.tensor([[5.0, 20.0]]))
    assert not torch.allclose(near, far)
    near.sum().backward()
    assert latent.grad.abs().sum() > 0 and light.grad.abs().sum() > 0


def test_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="num_waypoints"):
        WaypointDecoder(latent_dim=8, num_waypoints=0)
