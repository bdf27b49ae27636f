"""The frame cache (`driving.collect.frame_cache`): a miss builds it, a hit reads it, a changed
route or another input size gets a new one, and every sample is identical to the uncached path
(augmentation included: same seed, same tensors)."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from driving.collect.dataset import DatasetConfig, LeTFuserDataset
from driving.collect.writer import write_synthetic_dataset
from driving.errors import InputError

TINY = DatasetConfig(input_height=64, input_width=320, crop_fraction=320 / 384, max_yaw_deg=5.0, color_jitter=0.2)


def _samples(ds: LeTFuserDataset, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    torch.manual_seed(seed)
    return [ds[i] for i in range(len(ds))]


def _assert_same(a: list[dict[str, torch.Tensor]], b: list[dict[str, torch.Tensor]]) -> None:
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert x.keys() == y.keys()
        for key in x:
            assert x[key].dtype == y[key].dtype and torch.equal(x[key], y[key]), (i, key)


def _cache_folders(cache: Path) -> list[Path]:
    return sorted(p.parent for p in cache.rglob("rgb.npy"))


def test_cache_miss_hit_and_invalidation_match_the_uncached_path(tmp_path):
    data, cache = tmp_path / "data", tmp_path / "cache"
    write_synthetic_dataset(data, n_routes=2, n_frames=6)
    for augment in (False, True):
        expected = _samples(LeTFuserDataset(data, TINY, augment=augment))
        built = LeTFuserDataset(data, TINY, augment=augment)
        assert built.prepare_cache(cache) == 2  # miss (first pass) or hit (second): both routes served
        _assert_same(_samples(built), expected)
    folders = _cache_folders(cache)
    assert len(folders) == 2
    stamps = {f: (f / "rgb.npy").stat().st_mtime_ns for f in folders}

    hit = LeTFuserDataset(data, TINY, augment=True)
    hit.prepare_cache(cache)
    assert {f: (f / "rgb.npy").stat().st_mtime_ns for f in _cache_folders(cache)} == stamps  # read, not rebuilt
    _assert_same(_samples(hit, seed=3), _samples(LeTFuserDataset(data, TINY, augment=True), seed=3))

    # A changed frame (new size / mtime) invalidates that route's cache only; the stale copy goes.
    changed = next(data.rglob("rgb/0001.png"))
    img = cv2.imread(str(changed))
    cv2.imwrite(str(changed), 255 - img)
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    fresh = LeTFuserDataset(data, TINY)
    fresh.prepare_cache(cache)
    after = _cache_folders(cache)
    assert len(after) == 2 and len(set(after) & set(folders)) == 1
    _assert_same(_samples(fresh), _samples(LeTFuserDataset(data, TINY)))
    route = next(i for i, s in enumerate(fresh.samples) if s.index == 1 and changed.parent.parent == s.route)
    assert not torch.equal(fresh[route]["rgb"], expected[route]["rgb"])

    # Another input size is another cache beside it (both stay valid).
    big = DatasetConfig(input_height=160, input_width=768, crop_fraction=0.8)
    other = LeTFuserDataset(data, big)
    other.prepare_cache(cache)
    assert len(_cache_folders(cache)) == 4
    _assert_same(_samples(other), _samples(LeTFuserDataset(data, big)))
    rgb = np.load(_cache_folders(cache)[0] / "rgb.npy", mmap_mode="r")
    assert rgb.dtype == np.uint8 and rgb.shape[1:] in ((64, 384, 3), (160, 960, 3))


def test_a_route_with_a_missing_file_is_not_cached_and_fails_naming_it(tmp_path):
    data = tmp_path / "data"
    write_synthetic_dataset(data, n_routes=1, n_frames=6)
    ds = LeTFuserDataset(data, TINY)
    missing = next(data.rglob("depth/0002.png"))
    missing.unlink()
    assert ds.prepare_cache(tmp_path / "cache") == 0
    with pytest.raises(InputError, match="depth/0002.png"):
        ds[2]
