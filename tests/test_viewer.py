"""The route viewer: real `driving evaluate` / `driving collect` runs with the video viewer (one H.264
video per route, a frame every 2nd tick, moving), the frame picture's layout and text, and the
pygame window under SDL's dummy video driver."""
from __future__ import annotations

import json
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from test_agent_debug_video import make_frame
from test_video_writer import ffmpeg_meta, read_frames

from driving.agent_debug_video import PANEL_BGR, WIDTH_PX, render_debug_frame
from driving.atomic_io import is_temp_file
from driving.cli import main
from leaderboard.viewer.compose import TOPDOWN_PX, compose_frame
from leaderboard.viewer.frame import RouteScore, ViewerFrame
from leaderboard.viewer.window import PygameWindowViewer

REPO = Path(__file__).resolve().parents[1]
FOLLOW_AGENT = REPO / "tests" / "leaderboard" / "lb_agents" / "follow_agent.py"
TICK_S = 0.05
#: 30 m along one straight lane of town_grid (no junction, no light): a few seconds of game time.
ROUTE_XML = """<?xml version="1.0"?>
<routes>
  <route id="0" town="town_grid" n_vehicles="{vehicles}" n_walkers="0">
    <waypoint x="115.0" y="-298.25" z="0.0" pitch="0.0" roll="0.0" yaw="0.0"/>
    <waypoint x="145.0" y="-298.25" z="0.0" pitch="0.0" roll="0.0" yaw="0.0"/>
  </route>
</routes>
"""


def write_route(path: Path, vehicles: int = 0) -> Path:
    path.write_text(ROUTE_XML.format(vehicles=vehicles))
    return path


def only_video(folder: Path) -> Path:
    """The folder's one video, checked to be H.264 with no temporary file left beside it."""
    files = sorted(folder.iterdir())
    assert len(files) == 1 and not is_temp_file(files[0]) and files[0].suffix == ".mp4", files
    assert ffmpeg_meta(files[0])["codec"] == "h264"
    return files[0]


def assert_moving(frames: list[np.ndarray]) -> None:
    diff = np.abs(frames[0].astype(np.int16) - frames[-1].astype(np.int16)).mean()
    assert diff > 1.0, "the first and last frames look the same"


def test_evaluate_with_the_video_viewer_writes_one_h264_video_per_route(tmp_path: Path) -> None:
    routes = write_route(tmp_path / "routes.xml", vehicles=2)
    out = tmp_path / "out"
    assert main(["evaluate", "--routes", str(routes), "--agent", str(FOLLOW_AGENT), "--out", str(out),
                 "--viewer", "video"]) == 0
    video = only_video(out / "viewer")
    assert video.name == "RouteScenario_0_0.mp4"
    (record,) = json.loads((out / "results.json").read_text())["_checkpoint"]["records"]
    ticks = round(record["meta"]["duration_game"] / TICK_S)
    frames = read_frames(video)
    assert abs(len(frames) - ticks / 2) <= 1, (len(frames), ticks)
    assert imageio_ffmpeg.count_frames_and_secs(str(video))[0] == len(frames)
    assert frames[0].shape == (TOPDOWN_PX, WIDTH_PX, 3)  # no cameras: top-down | status
    assert_moving(frames)


def test_collect_with_the_viewer_and_no_display_writes_the_video_with_cameras(tmp_path: Path, monkeypatch,
                                                                              capsys) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    routes = write_route(tmp_path / "routes.xml")
    out = tmp_path / "data"
    assert main(["collect", "--routes", str(routes), "--out", str(out), "--quiet", "--viewer"]) == 0
    assert "viewer: no display" in capsys.readouterr().out  # the window fell back to the video, said once
    video = only_video(out / "viewer")
    frames = read_frames(video)
    (measurements,) = {p.parent for p in out.rglob("measurements/*.json")}
    last_saved_tick = round(json.loads(max(measurements.glob("*.json")).read_text())["game_time"] / TICK_S)
    # frames every 2nd tick up to the route's end, which is less than one save interval (10 ticks) after
    assert last_saved_tick / 2 + 1 <= len(frames) <= last_saved_tick / 2 + 5, (len(frames), last_saved_tick)
    camera_row_px = frames[0].shape[0] - TOPDOWN_PX
    assert frames[0].shape[1] == WIDTH_PX and camera_row_px == 160  # the expert's rig: 3 cameras, then the rest
    assert frames[-1][:camera_row_px].std() > 10, "camera images missing"
    assert_moving(frames)


def viewer_frame(scenarios: tuple[str, ...] = (), cameras: bool = False, agent_view: bool = False) -> ViewerFrame:
    views = tuple(np.full((64, 128, 4), c, np.uint8) for c in (60, 120, 180)) if cameras else ()
    view = render_debug_frame(make_frame(), 0.5) if agent_view else None
    return ViewerFrame(route_name="RouteScenario_3_0", game_time_s=12.5, speed_mps=6.0, steer=0.1, throttle=0.4,
                       brake=0.0, score=RouteScore(42.0, 0.6, 25.2, 2),
                       topdown_bgr=np.full((TOPDOWN_PX, TOPDOWN_PX, 3), 90, np.uint8), scenarios=scenarios,
                       agent_view_bgr=view, camera_views=views, agent_lines=("brake reason signal",))


def crop(img: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = rect
    return img[y:y + h, x:x + w]


def test_frame_picture_has_status_text_and_camera_panels_only_when_given() -> None:
    plain = compose_frame(viewer_frame(("ParkingExit_1",)))
    status = crop(plain.image, plain.status)
    text_px = (np.abs(status.astype(np.int16) - PANEL_BGR).max(axis=2) > 40).sum()
    assert text_px > 2000, "status text missing"
    no_scenario = crop(compose_frame(viewer_frame()).image, plain.status)
    assert not np.array_equal(status, no_scenario)  # the scenario name is drawn
    assert plain.cameras is None and plain.image.shape == (TOPDOWN_PX, WIDTH_PX, 3)

    with_cameras = compose_frame(viewer_frame(("ParkingExit_1",), cameras=True))
    assert with_cameras.cameras == (0, 0, WIDTH_PX, 160) and with_cameras.image.shape == (160 + TOPDOWN_PX, WIDTH_PX, 3)
    assert with_cameras.topdown[1] == 160 and with_cameras.status[1] == 160
    assert abs(int(with_cameras.image[120, WIDTH_PX // 2, 0]) - 120) < 3  # the front camera's grey

    agent = compose_frame(viewer_frame(("ParkingExit_1",), cameras=True, agent_view=True))
    assert agent.cameras is None and agent.agent_view == (0, 0, WIDTH_PX, 672)  # the cameras are in its view
    assert agent.image.shape == (672, WIDTH_PX + TOPDOWN_PX, 3)
    assert (np.abs(crop(agent.image, agent.status).astype(np.int16) - PANEL_BGR).max(axis=2) > 40).sum() > 2000


def test_window_viewer_shows_frames_under_the_dummy_video_driver(monkeypatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    import pygame

    viewer = PygameWindowViewer("test route")
    try:
        for k in range(3):
            viewer.show(viewer_frame(cameras=k > 0))  # the picture grows: the window follows
        expected = compose_frame(viewer_frame(cameras=True)).image
        surface = pygame.display.get_surface()
        assert viewer.frames == 3 and surface.get_size() == (expected.shape[1], expected.shape[0])
        x, y = WIDTH_PX // 2, 120
        assert tuple(surface.get_at((x, y)))[:3] == tuple(int(c) for c in expected[y, x][::-1])  # BGR shown as RGB
    finally:
        viewer.close()
    viewer.close()  # twice is fine
    assert not viewer.open and not pygame.display.get_init()
    viewer.show(viewer_frame())  # after close: nothing happens


@pytest.mark.parametrize("mode", ["window", "video"])
def test_viewer_option_parses_on_both_commands(mode: str) -> None:
    import argparse

    from driving.commands import collect
    from leaderboard import evaluate_cli

    for add in (evaluate_cli.add_arguments, collect.add_arguments):
        parser = argparse.ArgumentParser()
        add(parser)
        required = ["--out", "x"] if add is collect.add_arguments else []
        assert parser.parse_args([*required, "--viewer", mode]).viewer == mode
        assert parser.parse_args([*required, "--viewer"]).viewer == "window"
        assert parser.parse_args(required).viewer is None
