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


def world_to_ego(points_xy: np.ndarray, ego_xy: np.ndarray, theta_rad: float) -> np.ndarray:
    """World points (metres) -> ego frame (x forward, y right) of a vehicle at `ego_xy`, compass `theta_rad`.

    CARLA's compass is yaw + pi/2; forward is (cos yaw, sin yaw) and right (-sin yaw, cos yaw).
    """
    yaw = (0.0 if math.isnan(theta_rad) else theta_rad) - math.pi / 2
    d = np.asarray(points_xy, dtype=np.float64) - np.asarray(ego_xy, dtype=np.float64)
    c, s = math.cos(yaw), math.sin(yaw)
    return np.stack([c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1]], axis=-1).astype(np.float32)
