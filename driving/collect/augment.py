"""Training-time augmentation that keeps images and labels consistent.

- Yaw jitter (TransFuser trains with small camera rotations): the stitched panorama is wider
  (960 px) than the model's crop (768 px), so moving the crop window sideways by k pixels is
  the view of a camera yawed by k * degrees-per-pixel. Waypoints and the target point are
  rotated into that yawed frame so they stay correct. The expert's steer label is kept as
  recorded (as the reference does), so keep the yaw range small.
- Colour jitter on RGB only (brightness, contrast, saturation): the depth and semantic labels
  are unaffected by lighting.
"""
from __future__ import annotations

import math

import numpy as np


def rotate_points_yaw(points_xy: np.ndarray, yaw_rad: float) -> np.ndarray:
    """Express ego-frame points (x forward, y right; metres) in a frame yawed right by `yaw_rad`.

    CARLA's ego frame is left-handed seen from above, so a positive yaw turns x towards y.
    """
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    pts = np.asarray(points_xy, dtype=np.float32)
    x, y = pts[..., 0], pts[..., 1]
    return np.stack([c * x + s * y, -s * x + c * y], axis=-1).astype(np.float32)


def crop_shift_for_yaw(yaw_deg: float, focal_px: float, max_shift_px: int) -> int:
    """Crop-window shift (pixels, positive = right) that a camera yaw of `yaw_deg` corresponds to.

    A pinhole view's column u pixels right of its centre looks atan(u / focal_px) to the right, so
    moving the crop centre by k pixels inside the front view points it at atan(k / focal_px)
    (not at k times the view's mean degrees per pixel, which is ~10 % smaller at the centre).
    """
    shift = round(focal_px * math.tan(math.radians(yaw_deg)))
    return max(-max_shift_px, min(max_shift_px, shift))


def yaw_of_crop_shift(shift_px: int, focal_px: float) -> float:
    """The yaw (radians, positive = right) of a crop window moved `shift_px` right: atan(shift / focal)."""
    return math.atan2(shift_px, focal_px)


def color_jitter(rgb: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Random brightness / contrast / saturation, each scaled by a factor in [1 - s, 1 + s].

    `rgb` is H x W x 3 float32 in 0..255; returns the same layout, clipped to 0..255.
    """
    if strength <= 0:
        return rgb
    b, c, s = rng.uniform(1.0 - strength, 1.0 + strength, size=3)
    out = rgb * b
    mean = out.mean()
    out = (out - mean) * c + mean
    grey = out @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    out = (out - grey[..., None]) * s + grey[..., None]
    return np.clip(out, 0.0, 255.0).astype(np.float32)
