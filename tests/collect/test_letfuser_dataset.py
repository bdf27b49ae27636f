"""LeTFuserDataset: sample shapes and ranges, ego-frame labels, the centre crop, augmentation
consistency, incomplete routes skipped, and corrupt files named in InputError."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from driving.collect.augment import rotate_points_yaw
from driving.collect.dataset import DatasetConfig, LeTFuserDataset, world_to_ego
from driving.collect.layout import RouteMeta, route_dir
from driving.collect.writer import RouteWriter, synthetic_frames
from driving.errors import InputError
from driving.tags import Tag

TINY = DatasetConfig(input_height=64, input_width=320, crop_fraction=320 / 384)


def _write_route(root: Path, name: str, n_frames: int = 6, seed: int = 0, finish: bool = True) -> Path:
    meta = RouteMeta("no_scenario", "Town01", name, seed, "ClearNoon")
    writer = RouteWriter(route_dir(root, meta), meta)
    for k, frame in enumerate(synthetic_frames(n_frames, seed=seed)):
        writer.write_frame(k, *frame)
    if finish:
        writer.finish()
    return route_dir(root, meta)


def test_world_to_ego_follows_carla_compass_convention():
    # Facing south (+y in CARLA): yaw = 90 deg, compass theta = yaw + 90 deg = pi.
    ego = np.array([10.0, 5.0])
    pts = np.array([[10.0, 8.0], [7.0, 5.0], [13.0, 5.0]])
    local = world_to_ego(pts, ego, math.pi)
    assert np.allclose(local, [[3.0, 0.0], [0.0, 3.0], [0.0, -3.0]], atol=1e-6)
    # Facing east (yaw 0): world x ahead, world +y on the right; NaN compass is read as 0 (north).
    assert np.allclose(world_to_ego(np.array([12.0, 6.0]), ego, math.pi / 2), [2.0, 1.0], atol=1e-6)
    assert np.allclose(world_to_ego(np.array([10.0, 3.0]), ego, float("nan")), [2.0, 0.0], atol=1e-6)


def test_samples_have_the_model_interface_shapes(tmp_path):
    for r in range(2):
        _write_route(tmp_path, f"route_{r}", seed=r)
    ds = LeTFuserDataset(tmp_path, TINY)
    assert len(ds) == 2 * 3  # the last 3 frames of each route have < 3 future waypoints
    s = ds[0]
    assert s["rgb"].shape == (3, 64, 320) and s["rgb"].dtype == torch.float32
    assert 0 <= float(s["rgb"].min()) and float(s["rgb"].max()) <= 255
    assert s["depth"].shape == (1, 64, 320) and 0 <= float(s["depth"].min()) <= float(s["depth"].max()) <= 1
    assert s["semantic"].shape == (64, 320) and s["semantic"].dtype == torch.long
    assert s["seg_target"].shape == (23, 64, 320)
    assert torch.equal(s["seg_target"].argmax(0), s["semantic"]) and torch.all(s["seg_target"].sum(0) == 1)
    assert s["waypoints"].shape == (3, 2) and s["target_point"].shape == (2,)
    assert s["command"].shape == (6,) and float(s["command"].sum()) == 1
    assert s["speed"].shape == (1,) and s["control"].shape == (3,) and s["red_light"].shape == (1,)
    # The synthetic ego drives forward at 3..8 m/s: waypoints 0.5 s apart lie ahead, spaced evenly.
    wp = s["waypoints"].numpy()
    step = float(s["speed"]) * 0.5
    assert np.all(wp[:, 0] > 0)
    assert np.allclose(np.linalg.norm(np.diff(np.vstack([[0, 0], wp]), axis=0), axis=1), step, rtol=0.02)
    assert np.allclose(s["target_point"].numpy(), [30.0, 0.0], atol=1e-4)
    assert float(s["red_light"]) == 1.0  # frame 0 of the synthetic drive is a red-light frame
    loader = torch.utils.data.DataLoader(ds, batch_size=4)
    assert next(iter(loader))["rgb"].shape == (4, 3, 64, 320)


def test_centre_crop_keeps_the_middle_768_columns(tmp_path):
    meta = RouteMeta("s", "Town01", "r", 0, "ClearNoon")
    writer = RouteWriter(route_dir(tmp_path, meta), meta)
    for k, (rgb, depth, tags, m) in enumerate(synthetic_frames(4)):
        cols = np.arange(960)
        rgb[:, :, 2] = (cols // 4).astype(np.uint8)  # R encodes the column
        rgb[:, :, 0] = 7  # B constant
        writer.write_frame(k, rgb, depth, tags, m)
    writer.finish()
    s = LeTFuserDataset(tmp_path, DatasetConfig(input_height=160, input_width=768))[0]
    assert s["rgb"].shape == (3, 160, 768)
    assert torch.equal(s["rgb"][0, 5], torch.arange(96, 96 + 768, dtype=torch.float32) // 4)
    assert torch.all(s["rgb"][2] == 7)  # channel order is RGB


def test_augmentation_rotates_labels_with_the_view(tmp_path):
    _write_route(tmp_path, "route_0")
    plain = LeTFuserDataset(tmp_path, TINY)
    aug = LeTFuserDataset(tmp_path, DatasetConfig(64, 320, 320 / 384, max_yaw_deg=10.0, color_jitter=0.3),
                          augment=True)
    torch.manual_seed(0)
    changed = 0
    for i in range(len(plain)):
        a, p = aug[i], plain[i]
        # Rotation keeps distances; the yaw between the two is the same for waypoints and target.
        assert torch.allclose(a["waypoints"].norm(dim=-1), p["waypoints"].norm(dim=-1), atol=1e-4)
        yaw = math.atan2(float(p["target_point"][1]), float(p["target_point"][0])) - \
            math.atan2(float(a["target_point"][1]), float(a["target_point"][0]))
        assert np.allclose(rotate_points_yaw(p["waypoints"].numpy(), yaw), a["waypoints"].numpy(), atol=1e-3)
        changed += int(abs(yaw) > 1e-6)
        assert set(a["semantic"].unique().tolist()) <= {t.value for t in Tag}
    assert changed > 0


def test_incomplete_routes_are_skipped_and_bad_files_named(tmp_path):
    good = _write_route(tmp_path, "route_good", seed=0)
    _write_route(tmp_path, "route_partial", seed=1, finish=False)
    with pytest.warns(UserWarning, match="route_partial"):
        ds = LeTFuserDataset(tmp_path, TINY)
    assert {s.route for s in ds.samples} == {good}

    (good / "rgb" / "0001.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="rgb/0001.png"):
        ds[1]
    (good / "measurements" / "0002.json").write_text("{broken")
    with pytest.raises(InputError, match="measurements/0002.json"):
        LeTFuserDataset(tmp_path, TINY, routes=[good])

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="empty"):
        LeTFuserDataset(empty, TINY)
    with pytest.raises(InputError, match="does not exist"):
        LeTFuserDataset(tmp_path / "missing", TINY)
