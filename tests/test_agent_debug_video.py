"""Agent debug video: picture layout and size, palette colours, bird's-eye geometry against the real
SDC projector, and the pictures written as a video (the writer itself: test_video_writer.py)."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from test_video_writer import read_frames

from driving.agent_debug_video import (
    BEV_H_PX,
    BEV_W_PX,
    EMPTY_BGR,
    SDC_ORIGIN_AHEAD_M,
    TARGET_BGR,
    WAYPOINT_BGR,
    WIDTH_PX,
    BevWindow,
    DebugFrame,
    render_bev,
    render_debug_frame,
    sdc_bgr,
)
from driving.tags import NUM_TAGS, PALETTE_RGB, Tag
from driving.video_writer import open_video_writer
from perception.config import LeTFuserConfig, load_model_config
from perception.panorama import camera_specs
from perception.sdc import SDCProjector

REPO = Path(__file__).resolve().parents[1]
TINY = load_model_config(REPO / "configs" / "letfuser_tiny.yaml")
MOUNT_X_M = camera_specs(TINY)[0]["x"]  # the cameras (the SDC's origin) this far ahead of the ego origin
CAMERA_ROW_PX = 160  # 3 x 128 px cameras (64 high) scaled to 960 px wide

RED, GREEN, BLUE = (0, 0, 255), (0, 255, 0), (255, 0, 0)


def bgr(tag: Tag) -> tuple[int, int, int]:
    return PALETTE_RGB[tag][::-1]


def make_frame(camera_hw: tuple[int, int] = (64, 128), panorama_hw: tuple[int, int] = (64, 320),
               **changes: object) -> DebugFrame:
    """A frame of uniform red | green | blue cameras, an all-road segmentation and an empty SDC."""
    views = [np.dstack([np.full((*camera_hw, 3), c, np.uint8), np.full(camera_hw, 255, np.uint8)])
             for c in (RED, GREEN, BLUE)]
    frame = DebugFrame(
        rgb_views=views, seg_classes=np.full(panorama_hw, int(Tag.ROAD), np.int64),
        sdc=np.zeros((NUM_TAGS, *panorama_hw), np.float32), waypoints=np.array([[3.0, 0.0], [6.0, 0.2]]),
        target_point=np.array([20.0, -3.0]), speed_mps=5.0, steer=0.1, throttle=0.4, brake=0.0,
        source="policy", pid=(0.1, 0.5, 0.0), policy=(0.12, 0.4, 0.0), red_light=0.2, command="LANEFOLLOW",
        game_time_s=12.5)
    return dataclasses.replace(frame, **changes)


def project(config: LeTFuserConfig, column: int, depth_m: float, tag: Tag) -> np.ndarray:
    """SDC of a panorama that is all sky except one column at `depth_m` of class `tag`."""
    h, w = config.input_height, config.input_width
    depth = torch.ones(1, 1, h, w)
    classes = torch.full((1, h, w), int(Tag.SKY))
    depth[0, 0, 20:40, column] = depth_m / 1000.0
    classes[0, 20:40, column] = int(tag)
    return SDCProjector(config)(depth, classes)[0].numpy()


def camera_ray_m(config: LeTFuserConfig, column: int, depth_m: float) -> tuple[float, float]:
    """Explicit geometry: (ahead, right) of the cameras of a panorama column's pixel at planar depth."""
    cam_w = config.camera_width_px
    panorama_col = column + config.side_crop_px
    camera = panorama_col // cam_w
    slope = (panorama_col - camera * cam_w + 0.5 - cam_w / 2) / config.camera_focal_px
    yaw = math.radians((camera - 1) * config.side_view_rotation_deg)
    return (depth_m * (math.cos(yaw) - slope * math.sin(yaw)),
            depth_m * (math.sin(yaw) + slope * math.cos(yaw)))


def pixel(panel: np.ndarray, window: BevWindow, point_ego_m: tuple[float, float]) -> tuple[int, ...]:
    u, v = np.floor(window.to_px([point_ego_m])[0]).astype(int)
    return tuple(int(c) for c in panel[v, u])


def test_picture_size_is_fixed_by_the_input_sizes() -> None:
    tiny = render_debug_frame(make_frame(), TINY.sdc_cell_m)
    assert tiny.dtype == np.uint8 and tiny.shape == (672, WIDTH_PX, 3)
    assert np.array_equal(tiny, render_debug_frame(make_frame(), TINY.sdc_cell_m))  # deterministic
    other = make_frame(speed_mps=20.0, source="stop", waypoints=np.zeros((5, 2)), command="CHANGELANELEFT")
    assert render_debug_frame(other, TINY.sdc_cell_m).shape == tiny.shape
    full = render_debug_frame(make_frame((160, 320), (160, 768)), 0.25)
    assert full.shape == (680, WIDTH_PX, 3)


def test_camera_pixels_fill_the_top_row_left_to_right() -> None:
    img = render_debug_frame(make_frame(), TINY.sdc_cell_m)
    row = CAMERA_ROW_PX * 3 // 4  # below the caption
    for third, colour in enumerate((RED, GREEN, BLUE)):
        assert tuple(img[row, WIDTH_PX // 6 + third * WIDTH_PX // 3]) == colour
        assert tuple(img[10, WIDTH_PX // 6 + third * WIDTH_PX // 3 + 100]) == colour


def test_segmentation_is_drawn_in_the_cityscapes_palette() -> None:
    seg = np.full((64, 320), int(Tag.ROAD), np.int64)
    seg[:, 160:] = int(Tag.VEHICLES)
    img = render_debug_frame(make_frame(seg_classes=seg), TINY.sdc_cell_m)
    seg_row = img[CAMERA_ROW_PX:CAMERA_ROW_PX + 192]
    assert tuple(seg_row[100, 200]) == bgr(Tag.ROAD)
    assert tuple(seg_row[100, 700]) == bgr(Tag.VEHICLES)
    assert img[CAMERA_ROW_PX + 192:].shape[0] == BEV_H_PX


def test_sdc_cell_shows_its_highest_priority_class() -> None:
    sdc = np.zeros((NUM_TAGS, 2, 3), bool)
    sdc[Tag.ROAD, 0, :] = True
    sdc[Tag.PEDESTRIAN, 0, 1] = True
    sdc[Tag.VEHICLES, 0, 2] = True
    sdc[Tag.SKY, 1, 0] = True  # never drawn
    colours = sdc_bgr(sdc)
    assert [tuple(c) for c in colours[0]] == [bgr(Tag.ROAD), bgr(Tag.PEDESTRIAN), bgr(Tag.VEHICLES)]
    assert [tuple(c) for c in colours[1]] == [EMPTY_BGR] * 3


def test_projected_obstacles_are_drawn_where_their_ego_frame_points_land() -> None:
    """Real SDCProjector on the tiny config: an obstacle at a known place lights the panel pixel of
    that place in ego coordinates (the agent's cameras are mounted MOUNT_X_M ahead of the ego origin)."""
    assert all(spec["x"] == MOUNT_X_M == SDC_ORIGIN_AHEAD_M for spec in camera_specs(TINY))
    window = BevWindow(TINY.input_height, TINY.input_width, TINY.sdc_cell_m)
    front_col = TINY.camera_width_px * 3 // 2 - TINY.side_crop_px  # middle of the front camera
    right_col = TINY.camera_width_px * 5 // 2 - TINY.side_crop_px  # middle of the right camera
    for column, depth_m, tag in ((front_col, 15.2, Tag.VEHICLES), (right_col, 12.3, Tag.PEDESTRIAN)):
        sdc = project(TINY, column, depth_m, tag)
        assert sdc.sum() == 1.0
        ahead_m, right_m = camera_ray_m(TINY, column, depth_m)
        obstacle = (MOUNT_X_M + ahead_m, right_m)
        panel = render_bev(sdc, TINY.sdc_cell_m, np.zeros((0, 2)), np.array([-50.0, 0.0]))
        assert pixel(panel, window, obstacle) == bgr(tag)
        for dx, dy in ((1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)):  # one cell is 0.5 m
            assert pixel(panel, window, (obstacle[0] + dx, obstacle[1] + dy)) == EMPTY_BGR
        on_it = render_bev(sdc, TINY.sdc_cell_m, np.array([obstacle]), np.array([-50.0, 0.0]))
        assert pixel(on_it, window, obstacle) == WAYPOINT_BGR
    assert (ahead_m, right_m) == pytest.approx((5.15, 11.17), abs=0.01)  # the side view is turned 65 deg


def test_cameras_sit_on_the_grid_edge_and_the_ego_behind_it() -> None:
    window = BevWindow(TINY.input_height, TINY.input_width, TINY.sdc_cell_m)
    u, v = np.floor(window.to_px([(MOUNT_X_M, 0.0)])[0]).astype(int)
    _, col, inside = window.cells()
    assert u == BEV_W_PX // 2 and col[v - 1, u] == TINY.input_width // 2
    assert inside[v - 1, u] and not inside[v + 1, u]
    assert window.to_px([(0.0, 0.0)])[0, 1] > v  # the ego origin is behind the cameras


def test_waypoints_and_target_point_are_drawn_in_the_full_picture() -> None:
    frame = make_frame(waypoints=np.array([[8.0, 1.0], [14.0, 2.0]]), target_point=np.array([22.0, -4.0]))
    img = render_debug_frame(frame, TINY.sdc_cell_m)
    panel = img[-BEV_H_PX:, :BEV_W_PX]
    window = BevWindow(TINY.input_height, TINY.input_width, TINY.sdc_cell_m)
    assert pixel(panel, window, (8.0, 1.0)) == WAYPOINT_BGR
    assert pixel(panel, window, (14.0, 2.0)) == WAYPOINT_BGR
    assert pixel(panel, window, (22.0, -4.0)) == TARGET_BGR
    far = render_bev(frame.sdc, TINY.sdc_cell_m, frame.waypoints, np.array([500.0, 0.0]))
    assert (far[:6] == TARGET_BGR).all(axis=2).any(), "an off-window target shows on the window's edge"


def test_debug_pictures_make_a_video_of_the_picture_size(tmp_path: Path) -> None:
    path = tmp_path / "debug" / "route_0.mp4"
    with open_video_writer(path, fps=20.0) as video:
        for k in range(5):
            video.add(render_debug_frame(make_frame(game_time_s=0.05 * k), TINY.sdc_cell_m))
    frames = read_frames(path)
    assert len(frames) == 5 and frames[0].shape == (672, WIDTH_PX, 3)
    assert np.abs(frames[0][120, WIDTH_PX // 6].astype(int) - RED).max() < 40  # mp4 shifts colours a bit
