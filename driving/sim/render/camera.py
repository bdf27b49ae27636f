"""Pinhole cameras with CARLA's conventions and the matrices OpenGL needs.

CARLA camera frame: x forward, y right, z up; image u right, v down; focal length
f = W / (2 tan(fov/2)) pixels with cx = W/2, cy = H/2 (square pixels, `fov` horizontal, degrees).
The projection flips v so that OpenGL's first framebuffer row is the image's top row, which lets
`read_into` fill numpy arrays already in image order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NEAR_M = 0.25
FAR_M = 1500.0

# CARLA camera axes (x fwd, y right, z up) -> OpenGL eye axes (x right, y up, z backwards).
_CARLA_TO_GL = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [-1, 0, 0, 0], [0, 0, 0, 1]], np.float64)


@dataclass(frozen=True)
class CameraView:
    """One rasterized view: a camera pose in the world and its image geometry.

    `pose` is the 4x4 camera -> world matrix (CARLA axes). `draw_distance_m` bounds what is drawn.
    """

    pose: np.ndarray
    width: int
    height: int
    fov_deg: float
    draw_distance_m: float = 400.0

    @property
    def focal_px(self) -> float:
        return self.width / (2.0 * math.tan(math.radians(self.fov_deg) / 2.0))

    @property
    def position(self) -> np.ndarray:
        return self.pose[:3, 3]

    @property
    def forward(self) -> np.ndarray:
        return self.pose[:3, 0]

    def intrinsics(self) -> np.ndarray:
        """CARLA's 3x3 intrinsic matrix K."""
        f = self.focal_px
        return np.array([[f, 0, self.width / 2.0], [0, f, self.height / 2.0], [0, 0, 1.0]])

    def view_matrix(self) -> np.ndarray:
        """World -> OpenGL eye coordinates."""
        return _CARLA_TO_GL @ np.linalg.inv(self.pose)

    def projection_matrix(self) -> np.ndarray:
        """OpenGL clip matrix with CARLA's intrinsics and the v flip (see module docstring)."""
        tx = math.tan(math.radians(self.fov_deg) / 2.0)
        ty = tx * self.height / self.width
        n, f = NEAR_M, FAR_M
        return np.array([[1 / tx, 0, 0, 0], [0, -1 / ty, 0, 0],
                         [0, 0, -(f + n) / (f - n), -2 * f * n / (f - n)], [0, 0, -1, 0]])

    def view_projection(self) -> np.ndarray:
        return self.projection_matrix() @ self.view_matrix()

    def project(self, points_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (N x 3) -> pixel coordinates (N x 2, u right, v down) and depth along x (m)."""
        pts = np.c_[np.asarray(points_world, np.float64), np.ones(len(points_world))]
        cam = (np.linalg.inv(self.pose) @ pts.T).T[:, :3]
        depth = cam[:, 0]
        f = self.focal_px
        with np.errstate(divide="ignore", invalid="ignore"):
            u = f * cam[:, 1] / depth + self.width / 2.0
            v = -f * cam[:, 2] / depth + self.height / 2.0
        return np.stack([u, v], axis=1), depth

    def frustum_planes(self) -> np.ndarray:
        """Inward-facing planes (a, b, c, d) with a*x + b*y + c*z + d >= 0 inside: 4 sides + near."""
        m = self.view_projection()
        planes = np.array([m[3] + m[0], m[3] - m[0], m[3] + m[1], m[3] - m[1], m[3] + m[2]])
        return planes / np.linalg.norm(planes[:, :3], axis=1, keepdims=True)

    def sees_boxes(self, lo: np.ndarray, hi: np.ndarray, max_distance_m: float) -> np.ndarray:
        """Which axis-aligned boxes (N x 3 lo/hi) may be visible: frustum and distance test."""
        planes = self.frustum_planes()
        center = (lo + hi) / 2.0
        half = (hi - lo) / 2.0
        # Box vs plane: the box is outside when even its most inward corner is outside.
        reach = np.abs(half) @ np.abs(planes[:, :3]).T
        dist = center @ planes[:, :3].T + planes[:, 3]
        inside = np.all(dist + reach >= 0, axis=1)
        nearest = np.clip(self.position, lo, hi)
        near_enough = np.linalg.norm(nearest - self.position, axis=1) <= max_distance_m
        return inside & near_enough
