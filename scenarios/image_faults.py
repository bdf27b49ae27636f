"""Pixel operations of the camera faults, on CARLA BGRA uint8 images (H x W x 4), always into a new array.

Every function returns a fresh array and leaves its input alone: the input is the world's buffer,
which ground truth, recorders and other sensors may share. Alpha (channel 3) is kept as delivered.
All of them are vectorised: a lookup table for exposure, one gather for the calibration warp.
"""
from __future__ import annotations

import math

import numpy as np

from driving.sim.render.geometry import rotation_matrix


def blackout(image: np.ndarray) -> np.ndarray:
    """A black frame: colour channels 0, alpha as delivered (a dead camera still sends opaque frames)."""
    out = np.zeros_like(image)
    out[..., 3] = image[..., 3]
    return out


def exposure_lut(stops: float) -> np.ndarray:
    """256-entry table: value * 2**stops, rounded and clipped to 0..255 (one exposure shift)."""
    return np.clip(np.rint(np.arange(256, dtype=np.float64) * 2.0 ** stops), 0, 255).astype(np.uint8)


def apply_lut(image: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Colour channels mapped through `lut`, alpha copied."""
    out = np.empty_like(image)
    out[..., :3] = lut[image[..., :3]]
    out[..., 3] = image[..., 3]
    return out


def add_gaussian_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Colour channels plus N(0, sigma**2) noise (0-255 units), rounded and clipped; alpha copied."""
    noise = rng.standard_normal(image.shape[:2] + (3,), dtype=np.float32)
    noisy = image[..., :3].astype(np.float32) + noise * np.float32(sigma)
    out = np.empty_like(image)
    out[..., :3] = np.clip(np.rint(noisy), 0, 255)
    out[..., 3] = image[..., 3]
    return out


def focal_length_px(width_px: int, fov_deg: float) -> float:
    """Pinhole focal length as CARLA computes it from the horizontal field of view."""
    return width_px / (2.0 * math.tan(math.radians(fov_deg) / 2.0))


def rotation_remap(height_px: int, width_px: int, fov_deg: float, roll_deg: float, pitch_deg: float,
                   yaw_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source (rows, cols) for every pixel of a camera rotated by (roll, pitch, yaw), and a validity mask.

    A camera turned about its optical centre sees the same rays, re-projected: the warp from the
    nominal image to the rotated one is the homography K R K^-1, exact for any scene depth. For small
    angles it is close to a shift of f * tan(angle) pixels (yaw: content moves left when the camera
    turns right; pitch: down when it tilts up) plus a rotation about the centre for roll. What it
    cannot give is the strip the rotated camera would newly see: those pixels are invalid (black).
    Nearest-neighbour sampling: computed once per camera and fault, applied as one gather per frame.
    """
    f = focal_length_px(width_px, fov_deg)
    cx, cy = width_px / 2.0, height_px / 2.0
    v, u = np.mgrid[0:height_px, 0:width_px].astype(np.float64)
    # Ray of each output pixel centre in the rotated camera frame (x forward, y right, z up).
    rays = np.stack([np.full_like(u, f), u + 0.5 - cx, -(v + 0.5 - cy)], axis=-1)
    nominal = rays @ rotation_matrix(roll_deg, pitch_deg, yaw_deg).T
    ahead = nominal[..., 0] > 1e-6
    depth = np.where(ahead, nominal[..., 0], 1.0)
    src_u = np.floor(cx + f * nominal[..., 1] / depth).astype(np.int64)
    src_v = np.floor(cy - f * nominal[..., 2] / depth).astype(np.int64)
    valid = ahead & (src_u >= 0) & (src_u < width_px) & (src_v >= 0) & (src_v < height_px)
    return np.where(valid, src_v, 0), np.where(valid, src_u, 0), valid


def remap(image: np.ndarray, rows: np.ndarray, cols: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Gather `image[rows, cols]`; colour channels 0 where the source is outside the image, alpha kept."""
    out = image[rows, cols]
    out[~valid, :3] = 0
    out[..., 3] = image[..., 3]
    return out
