"""Depth visualisation as CARLA's ColorConverter.LogarithmicDepth computes it."""
from __future__ import annotations

import math

import numpy as np

from driving.image_codecs import colorize_depth_log_bgr, encode_depth_bgra


def test_log_depth_clamps_at_0_005_and_rounds_like_boost_gil():
    depth_m = np.array([[0.05, 10.0, 1000.0]])
    grey = colorize_depth_log_bgr(encode_depth_bgra(depth_m))[0, :, 0]
    code = np.rint(depth_m[0] / 1000.0 * (256**3 - 1))
    value = [min(max(1.0 + math.log(c / (256**3 - 1)) / 5.70378, 0.005), 1.0) for c in code]
    assert grey.tolist() == [int(v * 255.0 + 0.5) for v in value]
    assert grey[0] == 1  # the 0.005 floor: 0.005 * 255 + 0.5 -> 1, never black
