"""CARLA's image encodings: depth in 24 bits, tags in the R channel, and their viewing colours.

Shared by the renderer (which produces them), the dataset writer/reader and the viewer, so the
formulas exist once. Arrays are CARLA's BGRA uint8 layout (R is channel 2).
"""
from __future__ import annotations

import numpy as np

from driving.tags import NUM_TAGS, PALETTE_ARRAY

DEPTH_RANGE_M = 1000.0
_DEPTH_SCALE = 256**3 - 1


def encode_depth_bgra(depth_m: np.ndarray) -> np.ndarray:
    """Metres (H x W float) -> CARLA depth image (H x W x 4 uint8 BGRA).

    normalized = (R + G*256 + B*65536) / (256^3 - 1); metres = 1000 * normalized. Depths beyond
    1000 m (sky, +inf) saturate at 1000 m as CARLA's far plane does.
    """
    # The same float64 operations in the same order as the plain formula
    # rint(clip(nan_to_num(d) / 1000, 0, 1) * (256^3 - 1)), done in place on one buffer.
    depth = np.array(depth_m, dtype=np.float64)
    np.nan_to_num(depth, copy=False, nan=DEPTH_RANGE_M, posinf=DEPTH_RANGE_M)
    depth /= DEPTH_RANGE_M
    np.clip(depth, 0.0, 1.0, out=depth)
    depth *= _DEPTH_SCALE
    np.rint(depth, out=depth)
    code = depth.astype(np.uint32)
    out = np.empty(depth.shape + (4,), dtype=np.uint8)
    out[..., 2] = code  # R (uint8 assignment keeps the low byte)
    code >>= 8
    out[..., 1] = code  # G
    code >>= 8
    out[..., 0] = code  # B
    out[..., 3] = 255
    return out


def decode_depth_normalized(bgra: np.ndarray) -> np.ndarray:
    """CARLA depth image (BGR or BGRA uint8) -> depth in [0, 1] where 1 = 1000 m (float32)."""
    img = np.asarray(bgra)
    if img.ndim != 3 or img.shape[2] < 3 or img.dtype != np.uint8:
        raise ValueError(f"depth image must be H x W x 3/4 uint8 (BGR[A]), got {img.dtype} {img.shape}")
    r = img[..., 2].astype(np.float32)
    g = img[..., 1].astype(np.float32)
    b = img[..., 0].astype(np.float32)
    return (r + g * 256.0 + b * 65536.0) / float(_DEPTH_SCALE)


def decode_depth_m(bgra: np.ndarray) -> np.ndarray:
    """CARLA depth image -> metres (float32)."""
    return decode_depth_normalized(bgra) * DEPTH_RANGE_M


def tags_from_semantic(bgra: np.ndarray) -> np.ndarray:
    """CARLA semantic image (tag in R) or a plain tag image -> H x W uint8 tags."""
    img = np.asarray(bgra)
    return img if img.ndim == 2 else img[..., 2]


def colorize_semantic_bgr(tags: np.ndarray) -> np.ndarray:
    """Tags (H x W, or a CARLA semantic image) -> CityScapes palette BGR image for viewing."""
    t = tags_from_semantic(tags)
    rgb = PALETTE_ARRAY[np.clip(t, 0, NUM_TAGS - 1)]
    return np.ascontiguousarray(rgb[..., ::-1])


def colorize_depth_log_bgr(bgra_or_m: np.ndarray) -> np.ndarray:
    """Depth (CARLA image or metres) -> grey BGR image with CARLA's LogarithmicDepth converter.

    CARLA (image/ColorConverter.h LogarithmicLinear): intensity = 1 + log(normalized) / 5.70378,
    clamped to [0.005, 1], then converted to 8 bits as boost::gil does (x * 255 + 0.5, truncated).
    """
    arr = np.asarray(bgra_or_m)
    normalized = decode_depth_normalized(arr) if arr.ndim == 3 else np.asarray(arr, np.float32) / DEPTH_RANGE_M
    grey = 1.0 + np.log(np.clip(normalized, 1e-12, 1.0)) / 5.70378
    grey = (np.clip(grey, 0.005, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)
