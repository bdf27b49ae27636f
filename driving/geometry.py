"""Plane geometry shared by the simulator, the expert and the pictures (CARLA world frame:
x forward/east, y right/south, yaw clockwise seen from above; metres, radians).

Why one module: the corners of an actor's box were computed in four places (lane events,
the preview, the route video, the expert's reverse check) with two corner orders and two
angle units.
"""
from __future__ import annotations

import math

import numpy as np


def box_corners(x: float, y: float, yaw_rad: float, half_length_m: float, half_width_m: float) -> np.ndarray:
    """The four ground corners (4 x 2, metres) of a box centred at (x, y) and turned by
    `yaw_rad`: front-right, front-left, rear-left, rear-right (y right)."""
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    local = np.array([[half_length_m, half_width_m], [half_length_m, -half_width_m],
                      [-half_length_m, -half_width_m], [-half_length_m, half_width_m]])
    return np.stack([x + local[:, 0] * c - local[:, 1] * s, y + local[:, 0] * s + local[:, 1] * c], 1)
