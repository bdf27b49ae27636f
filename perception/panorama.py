"""Three camera views (left, front, right) -> the model's panorama inputs (RGB and depth tensors).

The reference stitches the three views side by side and centre-crops the strip to the model's
width (x13: 3 x 320 = 960 px -> 768 px, so each side view loses its outer 96 columns); the SDC
geometry (perception.sdc.column_factors) assumes exactly that crop. Cameras give CARLA's BGRA
uint8 images (depth CARLA-encoded), as the leaderboard hands them to an agent.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from driving.errors import InputError
from driving.image_codecs import decode_depth_normalized
from perception.config import LeTFuserConfig

if TYPE_CHECKING:
    import torch

VIEW_NAMES = ("left", "front", "right")


def camera_specs(config: LeTFuserConfig, depth: bool = True) -> list[dict]:
    """Leaderboard `sensors()` specs of the three cameras this config expects (ids rgb_left, depth_left, ...).

    Mount and yaws are the standard rig's (driving.sim.snapshot: x 1.3 m, z 2.3 m, yaw -60/0/+60 deg).
    """
    from driving.sim.snapshot import RIG_MOUNT, RIG_YAWS_DEG

    kinds = (("rgb", "rgb"), ("depth", "depth")) if depth else (("rgb", "rgb"),)
    return [{"type": f"sensor.camera.{kind}", "id": f"{prefix}_{name}", **RIG_MOUNT, "yaw": yaw,
             "width": config.camera_width_px, "height": config.input_height, "fov": config.camera_fov_deg}
            for name, yaw in zip(VIEW_NAMES, RIG_YAWS_DEG) for kind, prefix in kinds]


def centre_crop(image: np.ndarray, crop_width_px: int, shift_px: int = 0) -> np.ndarray:
    """The `crop_width_px` middle columns of `image` (H x W x ...), moved `shift_px` to the right.

    The one crop of the stitched panorama, shared by the training dataset and the driving agent
    so that both cut the same columns: the window starts at (W - crop_width_px) // 2 + shift_px.
    A window that leaves the image is a caller bug (ValueError), never silently clipped.
    """
    width = image.shape[1]
    x0 = (width - crop_width_px) // 2 + shift_px
    if crop_width_px <= 0 or x0 < 0 or x0 + crop_width_px > width:
        raise ValueError(f"centre_crop: a {crop_width_px} px window shifted by {shift_px} px does not fit "
                         f"in {width} px")
    return image[:, x0:x0 + crop_width_px]


def stitch_views(views: Sequence[np.ndarray], config: LeTFuserConfig, what: str = "rgb") -> np.ndarray:
    """Left, front, right images (each input_height x camera_width_px x C) -> the centre-cropped strip."""
    expected = (config.input_height, config.camera_width_px)
    if len(views) != len(VIEW_NAMES):
        raise InputError(f"{what}: expected {len(VIEW_NAMES)} views (left, front, right), got {len(views)}")
    for name, view in zip(VIEW_NAMES, views):
        if view.ndim != 3 or view.shape[:2] != expected:
            raise InputError(f"{what}_{name}: expected {expected[0]} x {expected[1]} x channels "
                             f"(model.input_height x model.camera_width_px), got {view.shape}")
    return centre_crop(np.concatenate(views, axis=1), config.input_width)  # starts at config.side_crop_px


def panorama_inputs(rgb_views: Sequence[np.ndarray], depth_views: Sequence[np.ndarray] | None,
                    config: LeTFuserConfig) -> tuple[torch.Tensor, torch.Tensor | None]:
    """BGRA camera images -> (rgb [1,3,H,W] float 0..255 RGB order, depth [1,1,H,W] in 0..1 or None).

    `depth_views` are CARLA-encoded depth images (None for a depth-predicting model).
    """
    import torch  # here, not at the top: the collector reads camera_specs without loading torch
    bgr = stitch_views(rgb_views, config, "rgb")[..., :3]
    rgb = torch.from_numpy(np.ascontiguousarray(bgr[..., ::-1].transpose(2, 0, 1))).float()[None]
    if depth_views is None:
        return rgb, None
    encoded = stitch_views(depth_views, config, "depth")
    try:
        depth = decode_depth_normalized(encoded)
    except ValueError as exc:
        raise InputError(f"depth: {exc}") from None
    return rgb, torch.from_numpy(np.ascontiguousarray(depth))[None, None]
