"""Route videos: the real evaluator with --video writes an mp4 in the preview's look that follows the ego."""
from __future__ import annotations

import argparse
from pathlib import Path

import carla
import cv2
import numpy as np
from test_lb_evaluator import AGENTS, write_routes

from driving.sim.embedded_world import EmbeddedWorld
from driving.sim.layout_surfaces import ROAD_RGB
from driving.sim.preview import HERO_OUTLINE_BGR, ROUTE_BGR
from leaderboard.evaluate_cli import add_arguments, run
from leaderboard.video import LANE_BGR, WINDOW_PX, RouteVideo


def _count(img: np.ndarray, bgr: tuple[int, int, int], tol: int) -> int:
    """Pixels within `tol` of `bgr` on every channel (mp4 compression shifts colours a little)."""
    diff = np.abs(img.astype(np.int16) - np.array(bgr, dtype=np.int16)).max(axis=2)
    return int((diff <= tol).sum())


def _frames(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def test_evaluate_with_video_writes_a_preview_style_mp4(tmp_path: Path) -> None:
    routes = write_routes(tmp_path / "routes.xml", 1, traffic=(3, 3))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--routes", str(routes), "--agent", str(AGENTS / "follow_agent.py"),
                              "--out", str(tmp_path / "out"), "--video"])
    assert run(args) == 0
    videos = tmp_path / "out" / "videos"
    assert sorted(p.name for p in videos.iterdir()) == ["RouteScenario_0_0.mp4"]  # no temp file left
    frames = _frames(videos / "RouteScenario_0_0.mp4")
    assert len(frames) > 20
    road_bgr = ROAD_RGB[::-1]
    for frame in frames[::10]:
        assert frame.shape == (WINDOW_PX, WINDOW_PX, 3)
        assert _count(frame, road_bgr, 10) > 2000, "road surface missing"
        assert _count(frame, HERO_OUTLINE_BGR, 60) > 15, "hero outline missing"
    assert _count(frames[0], ROUTE_BGR, 60) > 200, "route band missing"
    # the window follows the ego along the route: early and late frames show different places
    diff = np.abs(frames[0].astype(np.int16) - frames[-1].astype(np.int16)).mean()
    assert diff > 3.0
    cv2.imwrite(str(tmp_path / "first.png"), frames[0])


def _straight_route(world: EmbeddedWorld, length_m: float) -> list[carla.Transform]:
    wp = next(w for w in world.get_map().generate_waypoints(2.0)
              if w.lane_type == carla.LaneType.Driving and not w.is_junction)
    out = [wp.transform]
    for _ in range(int(length_m / 2)):
        nxt = wp.next(2.0)
        if not nxt:
            break
        wp = nxt[0]
        out.append(wp.transform)
    return out


def test_world_without_layout_falls_back_to_lane_strokes_and_empty_run_leaves_no_file(tmp_path: Path) -> None:
    world = EmbeddedWorld()
    try:
        world.load_map("town_grid", 0)
        route = _straight_route(world, 40.0)
        ego_id = world.spawn_vehicle(route[0], role_name="hero")
        world.layout = None  # as a CARLA server backend: no static layout to draw
        video = RouteVideo(tmp_path / "lanes.mp4", world, route, ego_id)
        ego = world.get_actor_state(ego_id)
        img = video.render(ego, world.get_actor_states())
        assert img.shape == (WINDOW_PX, WINDOW_PX, 3)
        assert _count(img, LANE_BGR, 2) > 2000 and _count(img, HERO_OUTLINE_BGR, 10) > 15
        for tick in range(6):
            video.add_frame(tick)
            world.tick()
        video.close()
        video.close()  # idempotent
        assert video.frames == 3 and len(_frames(tmp_path / "lanes.mp4")) == 3

        empty = RouteVideo(tmp_path / "empty.mp4", world, route, ego_id)
        empty.close()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["lanes.mp4"]
    finally:
        world.close()
