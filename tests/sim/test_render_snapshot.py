"""`driving sim snapshot`: the standard rig's PNGs through the CLI entry point."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from driving import cli
from driving.tags import PALETTE_RGB, Tag


def _main(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except ModuleNotFoundError as exc:  # another command's module is not in the tree yet
        if exc.name and exc.name.startswith("driving.sim.snapshot"):
            raise
        pytest.skip(f"CLI cannot be built yet: {exc}")


def test_snapshot_writes_every_rig_image(tmp_path, capsys):
    assert _main(["sim", "snapshot", "--map", "town_grid", "--weather", "ClearNoon", "--out", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.glob("*.png")}
    expected = {f"{k}_{n}.png" for k in ("rgb", "depth", "semantic") for n in ("left", "front", "right")}
    assert expected | {"rgb_front_960.png", "rig.png"} == names
    assert cv2.imread(str(tmp_path / "rgb_front_960.png")).shape == (480, 960, 3)
    assert cv2.imread(str(tmp_path / "rig.png")).shape == (480, 960, 3)
    sem = cv2.imread(str(tmp_path / "semantic_front.png"))[..., ::-1].reshape(-1, 3)
    colours = {tuple(int(v) for v in c) for c in np.unique(sem, axis=0)}
    for tag in (Tag.ROAD, Tag.VEHICLES, Tag.BUILDING):
        assert PALETTE_RGB[tag] in colours, tag
    depth = cv2.imread(str(tmp_path / "depth_front.png"))
    assert np.array_equal(depth[..., 0], depth[..., 1]) and depth.std() > 10
    assert str(tmp_path / "rig.png") in capsys.readouterr().out


def test_snapshot_unknown_weather_is_one_line_error(tmp_path, capsys):
    assert _main(["sim", "snapshot", "--weather", "Sunny", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "weather 'Sunny'" in err and "ClearNoon" in err
