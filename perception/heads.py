"""Small heads on the backbone features and the measurement encoder (x13 sizes by default).

- Traffic-light head: pooled /16 features -> P(red light ahead) (x13 `tls_predictor`), plus the
  light feature (x13 `tls_biasing_bypass`, a sigmoid Linear to the latent width) that the waypoint
  and control decoders read beside their hidden state.
- Speed head: CvT's class token -> speed (m/s), an auxiliary task of x13's loss.
- Measurement encoder: target point (2, metres), speed (1, m/s), one-hot command (6) -> 96.
"""
from __future__ import annotations

import torch
from torch import nn

from perception.config import LeTFuserConfig

#: RoadOption commands 1..6 (LEFT .. CHANGELANERIGHT) as a one-hot of width 6.
NUM_COMMANDS = 6


class TrafficLightHead(nn.Module):
    """/16 features [B, C, h, w] -> (red-light probability [B, 1], light feature [B, latent])."""

    def __init__(self, config: LeTFuserConfig) -> None:
        super().__init__()
        channels = config.embed_dims[-1]
        self.red_light = nn.Linear(channels, 1)
        self.light_feature = nn.Linear(channels, config.latent_dim)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = features.mean(dim=(2, 3))
        return torch.sigmoid(self.red_light(pooled)), torch.sigmoid(self.light_feature(pooled))


class SpeedHead(nn.Module):
    """Class token [B, C] -> predicted ego speed [B, 1] in m/s."""

    def __init__(self, config: LeTFuserConfig) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(config.embed_dims[-1], config.speed_hidden), nn.ReLU(inplace=True),
                                 nn.Linear(config.speed_hidden, 1))

    def forward(self, cls_token: torch.Tensor) -> torch.Tensor:
        return self.mlp(cls_token)


class MeasurementEncoder(nn.Module):
    """(target point [B,2] m, speed [B,1] m/s, command one-hot [B,6]) -> [B, measurement_out]."""

    def __init__(self, config: LeTFuserConfig) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(2 + 1 + NUM_COMMANDS, config.measurement_hidden), nn.ReLU(inplace=True),
            nn.Linear(config.measurement_hidden, config.measurement_out), nn.ReLU(inplace=True),
        )

    def forward(self, target_point: torch.Tensor, speed: torch.Tensor, command: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.cat([target_point, speed, command], dim=1))
