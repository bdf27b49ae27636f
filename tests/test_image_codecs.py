"""CARLA image encodings round-trip and colour as CARLA does."""
from __future__ import annotations

import numpy as np
import pytest

from driving.image_codecs import (
    colorize_depth_log_bgr,
    colorize_semantic_bgr,
    decode_depth_m,
    encode_depth_bgra,
    tags_from_semantic,
)
from driving.tags import CARLA_0916_TO_0910, PALETTE_RGB, Tag


def test_depth_round_trip_within_quantisation():
    depth = np.array([[0.1, 1.0, 12.345], [250.0, 999.0, np.inf]])
    enc = encode_depth_bgra(depth)
    assert enc.dtype == np.uint8 and enc.shape == (2, 3, 4)
    dec = decode_depth_m(enc)
    expect = np.minimum(depth, 1000.0)
    assert np.allclose(dec, expect, atol=1000.0 / (256**3 - 1) + 1e-4)


def test_depth_encoding_is_bit_identical_to_the_plain_formula():
    """encode_depth_bgra works in place for speed; its bytes are the plain formula's, input untouched."""
    rng = np.random.default_rng(0)
    depth = (rng.random((40, 64)) ** 3 * 1200.0).astype(np.float32)
    depth[0, :6] = [np.nan, np.inf, -np.inf, -3.0, 1000.0, 0.0]
    depth[1] = np.arange(64) * 0.5
    for arr in (depth, depth.astype(np.float64), depth[:, ::2]):
        d = np.nan_to_num(np.asarray(arr, np.float64), nan=1000.0, posinf=1000.0)
        code = np.rint(np.clip(d / 1000.0, 0.0, 1.0) * (256**3 - 1)).astype(np.uint32)
        expect = np.stack([(code >> 16) & 0xFF, (code >> 8) & 0xFF, code & 0xFF, np.full_like(code, 255)],
                          axis=-1).astype(np.uint8)
        before = np.array(arr, copy=True)
        assert np.array_equal(encode_depth_bgra(arr), expect)
        assert np.array_equal(arr, before, equal_nan=True)


def test_depth_channels_follow_carla_formula():
    enc = encode_depth_bgra(np.array([[1000.0 * (1 + 2 * 256 + 3 * 65536) / (256**3 - 1)]]))
    b, g, r, a = enc[0, 0]
    assert (r, g, b, a) == (1, 2, 3, 255)


def test_semantic_colours_and_tag_channel():
    img = np.zeros((1, 2, 4), np.uint8)
    img[0, 0, 2] = Tag.ROAD
    img[0, 1, 2] = Tag.VEHICLES
    assert tags_from_semantic(img).tolist() == [[Tag.ROAD, Tag.VEHICLES]]
    bgr = colorize_semantic_bgr(img)
    assert tuple(bgr[0, 0][::-1]) == PALETTE_RGB[Tag.ROAD]
    assert tuple(bgr[0, 1][::-1]) == PALETTE_RGB[Tag.VEHICLES]


def test_log_depth_is_brighter_far_away():
    grey = colorize_depth_log_bgr(encode_depth_bgra(np.array([[1.0, 100.0, 1000.0]])))
    assert grey[0, 0, 0] < grey[0, 1, 0] < grey[0, 2, 0] == 255


def test_bad_depth_image_is_rejected():
    with pytest.raises(ValueError, match="uint8"):
        decode_depth_m(np.zeros((2, 2), np.float32))


def test_tag_table_covers_every_carla_0916_label():
    import carla
    labels = {int(v) for k, v in carla.CityObjectLabel.names.items() if k != "Any"}
    assert labels == set(CARLA_0916_TO_0910)
    assert CARLA_0916_TO_0910[int(carla.CityObjectLabel.Roads)] == Tag.ROAD
    assert CARLA_0916_TO_0910[int(carla.CityObjectLabel.Car)] == Tag.VEHICLES
