"""SDC projection: hand-placed depth/class pixels land in the expected bird's-eye cells and channels."""
from __future__ import annotations

import math

import numpy as np
import torch

from driving.tags import Tag
from perception.config import LeTFuserConfig
from perception.sdc import SDCProjector

# A small rig: three 32 px cameras (fov 60 deg), no crop, 16 x 96 input, 1 m cells.
SMALL = LeTFuserConfig(input_height=16, input_width=96, camera_width_px=32, sdc_cell_m=1.0)


def expected_cell(config: LeTFuserConfig, column: int, depth_m: float) -> tuple[int, int]:
    """Cell of a pixel by explicit camera geometry: ray in the camera frame, then the camera's yaw."""
    cam_w = config.camera_width_px
    panorama_col = column + config.side_crop_px
    camera = panorama_col // cam_w
    focal = cam_w / (2 * math.tan(math.radians(config.camera_fov_deg) / 2))
    point_cam = np.array([depth_m, depth_m * (panorama_col - camera * cam_w + 0.5 - cam_w / 2) / focal])
    yaw = math.radians((camera - 1) * config.side_view_rotation_deg)
    rotation = np.array([[math.cos(yaw), -math.sin(yaw)], [math.sin(yaw), math.cos(yaw)]])
    forward_m, right_m = rotation @ point_cam
    row = config.input_height - 1 - math.floor(forward_m / config.sdc_cell_m)
    col = config.input_width // 2 + math.floor(right_m / config.sdc_cell_m)
    return row, col


def project(config: LeTFuserConfig, pixels: list[tuple[int, int, float, int]], batch: int = 1) -> torch.Tensor:
    """Occupancy for images that are empty (depth 1000 m) except `pixels` = (row, col, depth_m, class)."""
    depth = torch.ones(batch, 1, config.input_height, config.input_width)
    classes = torch.full((batch, config.input_height, config.input_width), int(Tag.SKY))
    for row, col, depth_m, tag in pixels:
        depth[0, 0, row, col] = depth_m / 1000.0
        classes[0, row, col] = tag
    return SDCProjector(config)(depth, classes)


def occupied(grid: torch.Tensor) -> set[tuple[int, int, int, int]]:
    return {tuple(int(v) for v in idx) for idx in grid.nonzero()}


def test_front_pixel_lands_in_expected_cell_and_channel() -> None:
    grid = project(SMALL, [(8, 48, 10.0, int(Tag.VEHICLES))])
    row, col = expected_cell(SMALL, 48, 10.0)
    assert (row, col) == (5, 48)  # 10 m straight ahead, on the centre line
    assert occupied(grid) == {(0, int(Tag.VEHICLES), row, col)}
    assert grid.shape == (1, 23, 16, 96)


def test_side_views_are_rotated_by_the_configured_angle() -> None:
    left = project(SMALL, [(3, 16, 10.0, int(Tag.ROAD))])
    right = project(SMALL, [(3, 80, 10.0, int(Tag.PEDESTRIAN))])
    row_l, col_l = expected_cell(SMALL, 16, 10.0)
    row_r, col_r = expected_cell(SMALL, 80, 10.0)
    # 10 m along a camera turned 65 deg (ray 0.5 px right of its axis): ~4.4 m ahead, ~9 m aside.
    assert (row_l, col_l) == (11, 39) and (row_r, col_r) == (11, 57)
    assert occupied(left) == {(0, int(Tag.ROAD), row_l, col_l)}
    assert occupied(right) == {(0, int(Tag.PEDESTRIAN), row_r, col_r)}


def test_every_column_matches_explicit_geometry_on_the_x13_rig() -> None:
    config = LeTFuserConfig()  # 160 x 768, 320 px cameras cropped by 96 px, 0.25 m cells
    rng = np.random.default_rng(0)
    columns = rng.choice(config.input_width, size=40, replace=False)
    depth = torch.ones(1, 1, config.input_height, config.input_width)
    classes = torch.zeros(1, config.input_height, config.input_width, dtype=torch.long)
    expected = set()
    for i, column in enumerate(columns):
        depth_m = float(rng.uniform(2.0, 25.0))
        depth[0, 0, i, column] = depth_m / 1000.0
        classes[0, i, column] = i % 23
        row, col = expected_cell(config, int(column), depth_m)
        if 0 <= row < config.input_height and 0 <= col < config.input_width:
            expected.add((0, i % 23, row, col))
    grid = SDCProjector(config)(depth, classes)
    assert len(expected) > 30
    assert occupied(grid) == expected


def test_far_and_out_of_range_points_are_dropped() -> None:
    pixels = [(0, 48, 40.0, int(Tag.BUILDING)),   # front, beyond the 16 m grid
              (1, 16, 35.0, int(Tag.BUILDING)),   # left view, beyond side_view_max_depth_m (30 m)
              (2, 48, 0.0, int(Tag.BUILDING))]    # no depth
    assert project(SMALL, pixels).sum() == 0


def test_batch_items_are_independent() -> None:
    depth = torch.ones(2, 1, 16, 96)
    classes = torch.zeros(2, 16, 96, dtype=torch.long)
    depth[1, 0, 4, 48] = 0.003
    classes[1, 4, 48] = int(Tag.ROAD)
    grid = SDCProjector(SMALL)(depth, classes)
    row, col = expected_cell(SMALL, 48, 3.0)
    assert occupied(grid) == {(1, int(Tag.ROAD), row, col)}
