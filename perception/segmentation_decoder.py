"""U-Net-like decoder from /16 backbone features back to full input resolution.

x13's segmentation decoder: at each level bilinear x2 upsampling (align_corners=True), concat the
skip of that level, two 3x3 ConvBNReLU; a last ConvBNReLU + 1x1 conv at full resolution. The same
class, with other widths and one output channel, is the optional depth head.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvBNReLU(nn.Sequential):
    """3x3 (or k x k) conv + BatchNorm + ReLU, Kaiming-initialised as in x13."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, kernel_size: int = 3) -> None:
        conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2)
        nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
        super().__init__(conv, nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class ConvBlock(nn.Sequential):
    """Two ConvBNReLU: in -> out -> out (x13's `ConvBlock`)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(ConvBNReLU(in_channels, out_channels), ConvBNReLU(out_channels, out_channels))


def upsample2(x: torch.Tensor) -> torch.Tensor:
    """Bilinear x2 upsampling as x13's nn.Upsample(scale_factor=2, align_corners=True)."""
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True)


class UNetDecoder(nn.Module):
    """Features at /2, /4, /8, /16 -> `out_channels` logits at full resolution (no activation).

    `skip_channels` lists the channels of the /2, /4, /8, /16 inputs; `widths` the decoder width
    at /16, /8, /4, /2 (x13 segmentation: 384, 192, 64, 32 over CvT's 384, 192, 64 and a 24-wide
    /2 skip).
    """

    def __init__(self, skip_channels: tuple[int, int, int, int], widths: tuple[int, int, int, int],
                 out_channels: int) -> None:
        super().__init__()
        c2, c4, c8, c16 = skip_channels
        w16, w8, w4, w2 = widths
        self.level16 = ConvBlock(c16, w16)
        self.level8 = ConvBlock(w16 + c8, w8)
        self.level4 = ConvBlock(w8 + c4, w4)
        self.level2 = ConvBlock(w4 + c2, w2)
        self.head = nn.Sequential(ConvBNReLU(w2, w2), nn.Conv2d(w2, out_channels, kernel_size=1))

    def forward(self, f2: torch.Tensor, f4: torch.Tensor, f8: torch.Tensor, f16: torch.Tensor) -> torch.Tensor:
        x = self.level16(f16)
        x = self.level8(torch.cat([upsample2(x), f8], dim=1))
        x = self.level4(torch.cat([upsample2(x), f4], dim=1))
        x = self.level2(torch.cat([upsample2(x), f2], dim=1))
        return self.head(upsample2(x))
