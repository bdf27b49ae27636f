"""Every registered `driving` command builds its parser and answers --help; bad input is one line."""
from __future__ import annotations

import pytest

from driving.cli import COMMANDS, main


@pytest.mark.parametrize("group,name", sorted(COMMANDS))
def test_every_command_has_help(group, name, capsys):
    argv = [group, name, "--help"] if group else [name, "--help"]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: driving") and COMMANDS[(group, name)][1] in out


def test_top_level_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for group, name in COMMANDS:
        assert (group or name) in out


def test_unknown_map_is_one_clear_line(capsys, tmp_path):
    assert main(["sim", "preview", "--map", "Town99", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "Town99" in err and "town_grid" in err and "\n" not in err


def test_maps_command_lists_bundled_towns(capsys):
    assert main(["sim", "maps"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("town_grid", "town_suburb", "highway"))


def test_preview_draws_traffic_and_route(tmp_path, capsys):
    import cv2

    out = tmp_path / "bev.png"
    assert main(["sim", "preview", "--map", "town_grid", "--seed", "1", "--vehicles", "5", "--walkers", "5",
                 "--seconds", "1", "--pixels-per-metre", "1.5", "--out", str(out)]) == 0
    image = cv2.imread(str(out))
    assert image is not None and min(image.shape[:2]) > 300
    assert "wrote" in capsys.readouterr().out
