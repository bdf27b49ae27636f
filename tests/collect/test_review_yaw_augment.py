"""Yaw augmentation: the labels rotate by the yaw the shifted crop really looks at.

The depth image encodes each panorama column's index (depth = column + 1 metres), so the first
column of an augmented sample tells exactly where the crop window went; with the pinhole focal
length f = 320 / (2 tan 30 deg) of a 60 deg, 320 px view, the crop centre moved k pixels right
looks atan(k / f) to the right, and the target point must be rotated by that angle."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from driving.collect.dataset import DatasetConfig, LeTFuserDataset
from driving.collect.layout import RouteMeta, route_dir
from driving.collect.writer import RouteWriter, synthetic_frames
from driving.image_codecs import encode_depth_bgra

FOCAL_PX = 320 / (2 * math.tan(math.radians(30.0)))


def test_label_yaw_matches_the_crop_shift(tmp_path):
    meta = RouteMeta("no_scenario", "Town01", "route_00", seed=0, weather="ClearNoon")
    writer = RouteWriter(route_dir(tmp_path, meta), meta)
    columns = np.broadcast_to(np.arange(960, dtype=np.float64) + 1.0, (160, 960))
    for k, (rgb, _, tags, m) in enumerate(synthetic_frames(6, seed=3)):
        writer.write_frame(k, rgb, encode_depth_bgra(columns), tags, m)
    writer.finish()
    cfg = DatasetConfig(160, 768, 0.8, max_yaw_deg=15.0, color_jitter=0.0)
    plain = LeTFuserDataset(tmp_path, cfg)
    aug = LeTFuserDataset(tmp_path, cfg, augment=True)
    torch.manual_seed(0)
    shifts = []
    for i in range(len(plain)):
        for _ in range(4):
            p, a = plain[i], aug[i]
            first_column = round(float(a["depth"][0, 0, 0]) * 1000.0 - 1.0)
            shift = first_column - 96
            assert round(float(p["depth"][0, 0, 0]) * 1000.0 - 1.0) == 96
            yaw = math.atan2(float(p["target_point"][1]), float(p["target_point"][0])) - \
                math.atan2(float(a["target_point"][1]), float(a["target_point"][0]))
            assert math.degrees(yaw) == pytest.approx(math.degrees(math.atan2(shift, FOCAL_PX)), abs=0.05)
            shifts.append(shift)
    assert max(abs(s) for s in shifts) >= 40  # large shifts, where the two formulas differ by > 0.5 deg

