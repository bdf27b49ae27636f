"""The walkers' per-tick test against vehicle boxes, compiled (numba).

Why a kernel: every tick each moving walker's step is tested against every vehicle's box, twice
(walkers on paths and walkers crossing); as numpy that is a dozen temporaries of walkers x
vehicles each time, ~3% of a collection run. The loop below does the same arithmetic in the
same order (cosines and sines come in from numpy), so results are bit-identical, and it stops
at the first box a walker would walk into.
"""
from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, inline="always")
def _box_gap(px: float, py: float, bx: float, by: float, c: float, s: float, hl: float, hw: float) -> float:
    # Distance (m) from (px, py) to the box centred at (bx, by) with heading cos c, sin s.
    dx, dy = px - bx, py - by
    ex = max(abs(dx * c + dy * s) - hl, 0.0)
    ey = max(abs(-dx * s + dy * c) - hw, 0.0)
    return math.hypot(ex, ey)


@numba.njit(cache=True)
def walks_into_box(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray, bx: np.ndarray,
                   by: np.ndarray, c: np.ndarray, s: np.ndarray, hl: np.ndarray, hw: np.ndarray,
                   radius_m: float) -> np.ndarray:
    """Per walker: its step from (x0, y0) to (x1, y1) ends closer than `radius_m` to some box
    (centre bx, by; heading cos c, sin s; half length hl, half width hw; metres) and closer to it
    than it started (stepping away is always allowed)."""
    out = np.zeros(x0.shape[0], np.bool_)
    for i in range(x0.shape[0]):
        for j in range(bx.shape[0]):
            after = _box_gap(x1[i], y1[i], bx[j], by[j], c[j], s[j], hl[j], hw[j])
            if after < radius_m and after < _box_gap(x0[i], y0[i], bx[j], by[j], c[j], s[j], hl[j], hw[j]):
                out[i] = True
                break
    return out
