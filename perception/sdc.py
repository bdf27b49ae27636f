"""Semantic depth cloud (SDC): depth + predicted classes -> bird's-eye per-class occupancy, and its encoder.

x13 (`gen_top_view_sc`) back-projects every pixel of each third of the panorama with its depth,
marks the cell under it in the channel of its argmax class, turns the two side views by +-65 deg
around the camera and stacks everything into a 23 x 160 x 768 grid (0.25 m cells, 40 m ahead). It
does so with Python-built index lists, `torch.unique` and an image rotation per view (~108 ms on
2 CPU cores). Here the geometry is folded into two per-column factors computed once: a pixel in
column u with planar depth d lands at ego x = d * ax[u] (forward), y = d * ay[u] (right), where
ax, ay come from the column's camera (yaw, focal length, principal point). One multiply, one
floor and one `index_fill_` per frame, no loop and no host sync.

Grid: row 0 is farthest ahead, row H-1 holds 0 .. cell_m ahead of the cameras; column W/2 starts
at the cameras' centre line, y to the right. All three cameras share one mount point (x13's rig),
which is the grid origin.
"""
from __future__ import annotations

import math

import timm
import torch
from torch import nn

from driving.errors import InputError
from perception.config import DEPTH_RANGE_M, LeTFuserConfig


def column_factors(config: LeTFuserConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per input column: (ax, ay, max_depth_m) so that ego x = d * ax, y = d * ay for planar depth d.

    Column u of the cropped panorama is column u + crop of the uncropped one, which belongs to
    camera k = (u + crop) // camera_width (0 left, 1 front, 2 right), yaw (k - 1) * rotation.
    The ray through the pixel centre has lateral slope s = (u_cam + 0.5 - W_cam / 2) / f in the
    camera frame; turning (1, s) by the yaw gives (ax, ay).
    """
    cam_w = config.camera_width_px
    panorama_col = torch.arange(config.input_width, dtype=torch.float64) + config.side_crop_px
    camera = torch.div(panorama_col, cam_w, rounding_mode="floor")
    slope = (panorama_col - camera * cam_w + 0.5 - cam_w / 2.0) / config.camera_focal_px
    yaw = (camera - 1.0) * math.radians(config.side_view_rotation_deg)
    ax = torch.cos(yaw) - slope * torch.sin(yaw)
    ay = torch.sin(yaw) + slope * torch.cos(yaw)
    front_max_m = math.inf
    max_depth = torch.where(camera == 1, front_max_m, config.side_view_max_depth_m)
    return ax.float(), ay.float(), max_depth.float()


class SDCProjector(nn.Module):
    """(depth [B,1,H,W] in 0..1 = 0..1000 m, classes [B,H,W] int) -> occupancy [B, C, H, W] in {0, 1}."""

    def __init__(self, config: LeTFuserConfig) -> None:
        super().__init__()
        self.num_classes = config.num_classes
        self.grid_h, self.grid_w = config.input_height, config.input_width
        self.cell_m = config.sdc_cell_m
        ax, ay, max_depth = column_factors(config)
        self.register_buffer("ax", ax, persistent=False)
        self.register_buffer("ay", ay, persistent=False)
        self.register_buffer("max_depth_m", max_depth, persistent=False)

    def cells(self, depth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Grid (row, col) of every pixel and whether it lands inside the grid; each [B, H, W]."""
        depth_m = depth[:, 0].float() * DEPTH_RANGE_M
        forward_m = depth_m * self.ax
        right_m = depth_m * self.ay
        row = (self.grid_h - 1) - torch.floor(forward_m / self.cell_m).long()
        col = torch.floor(right_m / self.cell_m).long() + self.grid_w // 2
        valid = ((depth_m > 0) & (depth_m <= self.max_depth_m) & (row >= 0) & (row < self.grid_h)
                 & (col >= 0) & (col < self.grid_w))
        return row, col, valid

    def forward(self, depth: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = depth.shape
        if (height, width) != (self.grid_h, self.grid_w) or classes.shape != (batch, height, width):
            raise ValueError(f"SDC: expected depth [B,1,{self.grid_h},{self.grid_w}] and classes [B,H,W], "
                             f"got {tuple(depth.shape)} and {tuple(classes.shape)}")
        row, col, valid = self.cells(depth)
        plane = self.grid_h * self.grid_w
        image = torch.arange(batch, device=depth.device).view(batch, 1, 1) * self.num_classes
        flat = (image + classes.long()) * plane + row * self.grid_w + col
        size = batch * self.num_classes * plane
        flat = torch.where(valid, flat, size)  # off-grid pixels go to one spare slot, dropped below
        grid = torch.zeros(size + 1, device=depth.device, dtype=torch.float32)
        grid.index_fill_(0, flat.reshape(-1), 1.0)
        return grid[:size].view(batch, self.num_classes, self.grid_h, self.grid_w)


class SDCEncoder(nn.Module):
    """timm EfficientNet trunk over the SDC: stem adapted to C channels + blocks [0, n) (x13: 112 @ /16).

    Built with `pretrained=False` (no download). With `sdc_keep_reference_tail` the remaining blocks
    and the 1x1 head stay registered, unused and frozen, as in x13 (see LeTFuserConfig).
    """

    def __init__(self, config: LeTFuserConfig) -> None:
        super().__init__()
        try:
            trunk = timm.create_model(config.sdc_encoder, pretrained=False, in_chans=config.num_classes,
                                      num_classes=0)
        except RuntimeError as exc:
            raise InputError(f"model.sdc_encoder: {exc}; expected a timm EfficientNet name") from None
        if not hasattr(trunk, "blocks") or not hasattr(trunk, "conv_head"):
            raise InputError(f"model.sdc_encoder: {config.sdc_encoder} is not a timm EfficientNet-style model")
        blocks = list(trunk.blocks)
        if not 0 < config.sdc_encoder_blocks <= len(blocks):
            raise InputError(f"model.sdc_encoder_blocks: {config.sdc_encoder} has {len(blocks)} blocks, "
                             f"got {config.sdc_encoder_blocks}")
        self.stem = nn.Sequential(trunk.conv_stem, trunk.bn1)
        self.blocks = nn.Sequential(*blocks[: config.sdc_encoder_blocks])
        self.reference_tail = None
        if config.sdc_keep_reference_tail:  # registered for parity with x13, never run: frozen
            self.reference_tail = nn.ModuleList([*blocks[config.sdc_encoder_blocks:], trunk.conv_head, trunk.bn2])
            self.reference_tail.requires_grad_(False)
        norms = [m for m in self.blocks.modules() if isinstance(m, nn.BatchNorm2d)]
        self.out_channels = norms[-1].num_features

    def forward(self, sdc: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(sdc))
