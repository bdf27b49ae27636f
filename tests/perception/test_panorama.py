"""Camera views -> panorama inputs: crop, channel order, depth decoding, and one clear error per bad view."""
from __future__ import annotations

import numpy as np
import pytest

from driving.errors import InputError
from driving.image_codecs import encode_depth_bgra
from perception.config import load_model_config
from perception.panorama import camera_specs, panorama_inputs, stitch_views

CONFIG = load_model_config("configs/letfuser_tiny.yaml")  # 3 x 128 px views cropped to 320


def _views(height: int, width: int) -> list[np.ndarray]:
    """BGRA views whose B channel holds the panorama column index (mod 256), R the view number."""
    views = []
    for k in range(3):
        view = np.zeros((height, width, 4), np.uint8)
        view[..., 0] = (np.arange(width) + k * width) % 256
        view[..., 2] = k
        views.append(view)
    return views


def test_stitch_crops_the_outer_columns_of_the_side_views():
    strip = stitch_views(_views(CONFIG.input_height, CONFIG.camera_width_px), CONFIG)
    crop = CONFIG.side_crop_px
    assert strip.shape == (CONFIG.input_height, CONFIG.input_width, 4)
    assert crop == 32
    assert strip[0, 0, 0] == crop and strip[0, -1, 0] == (3 * 128 - crop - 1) % 256
    assert (strip[0, :, 2] == np.repeat([0, 1, 2], [128 - crop, 128, 128 - crop])).all()


def test_panorama_inputs_rgb_order_and_depth_metres():
    rgb_views = _views(CONFIG.input_height, CONFIG.camera_width_px)
    depth_views = [encode_depth_bgra(np.full((CONFIG.input_height, CONFIG.camera_width_px), d)) for d in (5., 10., 20.)]
    rgb, depth = panorama_inputs(rgb_views, depth_views, CONFIG)
    assert rgb.shape == (1, 3, CONFIG.input_height, CONFIG.input_width) and rgb.dtype.is_floating_point
    assert rgb[0, 0, 0, 0] == 0 and rgb[0, 2, 0, 0] == CONFIG.side_crop_px  # R first, B last
    assert depth.shape == (1, 1, CONFIG.input_height, CONFIG.input_width)
    np.testing.assert_allclose(depth[0, 0, 0, [0, 100, -1]].numpy() * 1000.0, [5.0, 10.0, 20.0], atol=1e-3)
    assert panorama_inputs(rgb_views, None, CONFIG)[1] is None


def test_wrong_view_size_names_the_view_and_the_config_fields():
    views = _views(CONFIG.input_height, CONFIG.camera_width_px)
    views[2] = views[2][:, :100]
    with pytest.raises(InputError, match=r"rgb_right: expected 64 x 128 .*camera_width_px"):
        panorama_inputs(views, None, CONFIG)
    with pytest.raises(InputError, match="expected 3 views"):
        stitch_views(views[:2], CONFIG)


def test_camera_specs_match_the_config():
    specs = camera_specs(CONFIG)
    assert [s["id"] for s in specs] == ["rgb_left", "depth_left", "rgb_front", "depth_front", "rgb_right",
                                        "depth_right"]
    assert {(s["width"], s["height"], s["fov"]) for s in specs} == {(128, 64, 60.0)}
    assert [s["yaw"] for s in specs[::2]] == [-60.0, 0.0, 60.0]
    assert len(camera_specs(CONFIG, depth=False)) == 3


def test_a_rendered_frame_feeds_the_model_and_fills_the_sdc():
    """The embedded simulator's three cameras -> panorama -> tiny LeTFuser: road pixels land on the grid."""
    import warnings

    import torch

    from driving.sim.snapshot import render_rig
    from perception.model import LeTFuser
    from perception.panorama import VIEW_NAMES
    from perception.pretrained import RandomInitWarning

    data = render_rig("town_grid", seed=0, specs=camera_specs(CONFIG))
    rgb, depth = panorama_inputs([data[f"rgb_{v}"] for v in VIEW_NAMES], [data[f"depth_{v}"] for v in VIEW_NAMES],
                                 CONFIG)
    near = (depth * 1000.0 < 30.0).float().mean().item()
    assert 0.3 < near < 1.0  # a street scene: much of the view within 30 m, some sky or far buildings
    assert 20.0 < rgb.mean().item() < 235.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomInitWarning)
        model = LeTFuser(CONFIG).eval()
    with torch.inference_mode():
        out = model(rgb, depth, torch.tensor([[10.0, 0.0]]), torch.tensor([[5.0]]), torch.eye(6)[3:4])
    assert out.sdc.sum() > 100  # occupied cells (of whatever class the untrained model predicts)
