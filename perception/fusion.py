"""Fusion of the RGB and SDC features with the measurements into the latent (232 wide in x13).

x13: concat(384 RGB, 112 SDC channels at /16) -> BatchNorm -> 1x1 conv to 384 -> global average
pool -> Linear to 136; concat with the 96-wide measurement feature -> 232. The 1x1 conv is the
last layer shared by the waypoint and control losses, the one GradNorm measures them on.
"""
from __future__ import annotations

import torch
from torch import nn

from perception.config import LeTFuserConfig


class Fusion(nn.Module):
    """(RGB [B, Cr, h, w], SDC [B, Cs, h, w], measurement feature [B, M]) -> latent [B, latent_dim]."""

    def __init__(self, config: LeTFuserConfig, sdc_channels: int) -> None:
        super().__init__()
        channels = config.embed_dims[-1] + sdc_channels
        self.norm = nn.BatchNorm2d(channels)
        self.conv = nn.Conv2d(channels, config.fusion_channels, kernel_size=1)
        self.linear = nn.Linear(config.fusion_channels, config.fusion_out)

    def forward(self, rgb: torch.Tensor, sdc: torch.Tensor, measurement: torch.Tensor) -> torch.Tensor:
        if rgb.shape[2:] != sdc.shape[2:]:
            raise ValueError(f"Fusion: RGB features {tuple(rgb.shape)} and SDC features {tuple(sdc.shape)} "
                             "must share their spatial size")
        fused = self.conv(self.norm(torch.cat([rgb, sdc], dim=1))).mean(dim=(2, 3))
        return torch.cat([self.linear(fused), measurement], dim=1)
