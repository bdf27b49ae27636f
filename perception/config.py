"""Sizes of the LeTFuser model, as one frozen dataclass read from the `model:` section of a YAML file.

The defaults reproduce LeTFuser x13 (pagand/e2etransfuser, branch cvpr-w): CvT-13 over a 160 x 768
panorama, a 23-class U-Net decoder, a bird's-eye semantic depth cloud (SDC) encoded by an
EfficientNet-B1 trunk, a 232-wide fused latent, a GRU waypoint decoder and a policy head. The
`letfuser_tiny` config shrinks the same code for CI and quick training runs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from driving.config import load_config_section
from driving.errors import InputError

#: Pixel value of the depth input that means 1000 m (CARLA's normalised depth).
DEPTH_RANGE_M = 1000.0


@dataclass(frozen=True)
class LeTFuserConfig:
    """All sizes of the model; units in names (px, m, deg, s).

    Camera geometry: the input is a stitched panorama of three cameras (yaw -60/0/+60 deg), each
    `camera_width_px` wide at the model's input scale with horizontal fov `camera_fov_deg`,
    centre-cropped to `input_width`; x13 uses 3 x 320 = 960 px cropped to 768 px, so each side
    view keeps its inner 224 columns. The SDC projection derives its intrinsics from these numbers.
    """

    # Input panorama (pixels) and classes.
    input_height: int = 160
    input_width: int = 768
    num_classes: int = 23
    camera_width_px: int = 320
    camera_fov_deg: float = 60.0
    # Backbone: CvT-13 sizes (transformers.CvtConfig), built locally, weights from a local path only.
    embed_dims: tuple[int, int, int] = (64, 192, 384)
    depths: tuple[int, int, int] = (1, 2, 10)
    num_heads: tuple[int, int, int] = (1, 3, 6)
    patch_sizes: tuple[int, int, int] = (7, 3, 3)
    patch_strides: tuple[int, int, int] = (4, 2, 2)
    pretrained_backbone_path: str | None = None
    # Extra stride-2 ConvBNReLU skip from the normalised image, and the decoder's last width.
    skip_channels: int = 24
    decoder_channels: int = 32
    # Optional depth head (submittable SENSORS-track variant: no depth camera needed).
    predict_depth: bool = False
    depth_decoder_channels: tuple[int, int, int, int] = (96, 64, 32, 16)
    # SDC: bird's-eye grid of input_height x input_width cells ahead of the cameras (x13: 40 m x
    # 192 m at 0.25 m/cell), per-class binary occupancy; side views turned by +-side_view_rotation_deg
    # (x13 turns them by 65 deg; the rig's cameras look 60 deg aside) and kept up to their max depth.
    sdc_cell_m: float = 0.25
    side_view_rotation_deg: float = 65.0
    side_view_max_depth_m: float = 30.0
    # SDC encoder: a timm EfficientNet trunk; blocks [0, sdc_encoder_blocks) run (x13: 5 -> 112 ch).
    sdc_encoder: str = "efficientnet_b1"
    sdc_encoder_blocks: int = 5
    # x13 registers the whole EfficientNet-B1 (blocks 5, 6 and the 1280 head too, 5.3 M weights) but
    # runs only blocks 0..4; keeping them registered (frozen, never run) reproduces its parameter
    # count, 31,331,865; false drops them (26.0 M) with no change to any output.
    sdc_keep_reference_tail: bool = True
    # Fusion, heads and latent (latent = fusion_out + measurement_out = 232 in x13).
    fusion_channels: int = 384
    fusion_out: int = 136
    measurement_hidden: int = 112
    measurement_out: int = 96
    speed_hidden: int = 96
    # Waypoints and control.
    num_waypoints: int = 3
    waypoint_interval_s: float = 0.5
    policy_hidden: int = 384
    max_throttle: float = 0.75

    def __post_init__(self) -> None:
        positive_ints = ("input_height", "input_width", "num_classes", "camera_width_px", "skip_channels",
                         "decoder_channels", "sdc_encoder_blocks",
                         "fusion_channels", "fusion_out", "measurement_hidden", "measurement_out",
                         "speed_hidden", "num_waypoints", "policy_hidden")
        for name in positive_ints:
            if getattr(self, name) <= 0:
                raise InputError(f"model.{name}: expected a positive integer, got {getattr(self, name)}")
        for name in ("embed_dims", "depths", "num_heads", "patch_sizes", "patch_strides"):
            value = getattr(self, name)
            if len(value) != 3 or min(value) <= 0:
                raise InputError(f"model.{name}: expected 3 positive integers (one per CvT stage), got {value}")
        if any(depth <= stage for stage, depth in enumerate(self.depths)):
            raise InputError(f"model.depths: stage i needs more than i layers (transformers' CvtStage "
                             f"indexes its drop-path list by stage number), got {self.depths}")
        for dim, heads in zip(self.embed_dims, self.num_heads):
            if dim % heads:
                raise InputError(f"model.embed_dims: {dim} is not divisible by num_heads {heads}")
        if len(self.depth_decoder_channels) != 4 or min(self.depth_decoder_channels) <= 0:
            raise InputError(f"model.depth_decoder_channels: expected 4 positive integers, "
                             f"got {self.depth_decoder_channels}")
        stride = math.prod(self.patch_strides)
        if self.patch_strides[0] != 4 or stride != 16:
            raise InputError(f"model.patch_strides: expected 4, 2, 2 (features at /4, /8, /16 for the "
                             f"U-Net decoder), got {self.patch_strides}")
        if self.input_height % 16 or self.input_width % 16:
            raise InputError(f"model.input_height/input_width: expected multiples of 16, got "
                             f"{self.input_height} x {self.input_width}")
        crop = 3 * self.camera_width_px - self.input_width
        if crop < 0 or crop % 2 or crop // 2 >= self.camera_width_px:
            raise InputError(f"model.camera_width_px: 3 x {self.camera_width_px} px must be >= input_width "
                             f"{self.input_width} with an even, partial crop of the side views")
        if not 0.0 < self.camera_fov_deg < 180.0:
            raise InputError(f"model.camera_fov_deg: expected (0, 180) degrees, got {self.camera_fov_deg}")
        if self.sdc_cell_m <= 0.0 or self.side_view_max_depth_m <= 0.0:
            raise InputError("model.sdc_cell_m and model.side_view_max_depth_m: expected positive metres")
        if self.num_classes > 255:
            raise InputError(f"model.num_classes: expected <= 255, got {self.num_classes}")
        if not 0.0 < self.max_throttle <= 1.0:
            raise InputError(f"model.max_throttle: expected (0, 1], got {self.max_throttle}")
        if self.waypoint_interval_s <= 0.0:
            raise InputError(f"model.waypoint_interval_s: expected positive seconds, got "
                             f"{self.waypoint_interval_s}")

    @property
    def latent_dim(self) -> int:
        """Width of the fused latent shared by the waypoint GRU and the policy head (232 in x13)."""
        return self.fusion_out + self.measurement_out

    @property
    def camera_focal_px(self) -> float:
        """Focal length in pixels, as CARLA derives it: f = W / (2 tan(fov / 2))."""
        return self.camera_width_px / (2.0 * math.tan(math.radians(self.camera_fov_deg) / 2.0))

    @property
    def side_crop_px(self) -> int:
        """Columns cut from the outer edge of each side view by the centre crop (96 px in x13)."""
        return (3 * self.camera_width_px - self.input_width) // 2


def load_model_config(path: str | Path) -> LeTFuserConfig:
    """Read the `model:` section of a YAML file (the `train:` section belongs to the training code)."""
    return load_config_section(LeTFuserConfig, path, "model")

