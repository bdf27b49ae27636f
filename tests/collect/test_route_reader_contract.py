"""Contract of the route folder reader seam, run over every registered layout: each claims its own
sample folder and nothing else, and hands out frames in one set of conventions."""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from driving.collect.layout import RouteMeta, route_dir
from driving.collect.route_reader import Claim, RouteReader, classify, known_readers
from driving.collect.writer import RouteWriter, synthetic_frames
from driving.tags import NUM_TAGS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_transfuser_layout import write_transfuser_route  # the TransFuser 2022 folder writer


def _ours(root: Path) -> Path:
    meta = RouteMeta("s", "Town03", "r", 0, "ClearNoon")
    writer = RouteWriter(route_dir(root, meta), meta)
    for k, frame in enumerate(synthetic_frames(5)):
        writer.write_frame(k, *frame)
    writer.finish()
    return route_dir(root, meta)


def _transfuser(root: Path) -> Path:
    return write_transfuser_route(root / "routes_town03_x_route0_01_01_00_00_00",
                                  [(0.0, -2.0 * k) for k in range(5)], 0.0, (0.0, -30.0))


#: One sample folder writer per registered layout: a new layout must add one.
SAMPLES: dict[str, Callable[[Path], Path]] = {"letfuser": _ours, "transfuser2022": _transfuser}


def test_every_registered_layout_has_a_sample():
    assert set(known_readers()) == set(SAMPLES)


@pytest.mark.parametrize("layout", sorted(SAMPLES))
def test_reader_contract(layout, tmp_path):
    cls = known_readers()[layout]
    route = SAMPLES[layout](tmp_path)
    assert classify(route) is cls
    for other, write in SAMPLES.items():
        if other != layout:
            assert cls.claim(write(tmp_path / other)) is Claim.NO
    empty = tmp_path / "empty"
    (empty / "measurements").mkdir(parents=True)
    assert cls.claim(empty) is Claim.NO

    reader = cls(route)
    assert reader.frame_interval_s > 0 and reader.town == "Town03"
    indices = reader.frame_indices()
    assert indices == sorted(indices) and len(indices) == 5
    assert all(p.is_file() for p in reader.files()) and reader.problems() == []
    for i in indices:
        f = reader.frame(i)
        assert f.index == i and 1 <= f.command <= 6 and np.isfinite([f.x, f.y, f.theta]).all()
        future = reader.future_positions(i, 3)
        assert future.ndim == 2 and future.shape[1] == 2 and len(future) == min(3, len(indices) - 1 - indices.index(i))
    rgb, depth, tags = reader.read_rgb(0), reader.read_depth(0), reader.read_tags(0)
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    assert depth.dtype == np.float32 and depth.shape == rgb.shape[:2] and 0 <= depth.min() <= depth.max() <= 1
    assert tags.dtype == np.uint8 and tags.shape == rgb.shape[:2] and int(tags.max()) < NUM_TAGS


def test_subclasses_must_name_their_layout():
    with pytest.raises(TypeError, match="layout"):
        class Nameless(RouteReader):
            describe = "nothing"
