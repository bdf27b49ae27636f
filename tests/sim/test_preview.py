"""Top-down preview: a real PNG of the expected size with lights, actors and route in their colours."""
from __future__ import annotations

import math
from pathlib import Path

import carla
import cv2
import numpy as np
import pytest
from test_signals import small_map

from driving.errors import InputError
from driving.sim.layout import build_layout
from driving.sim.maps import load_map
from driving.sim.preview import (
    HERO_OUTLINE_BGR,
    LIGHT_BGR,
    ROUTE_BGR,
    WALKER_BGR,
    preview_map,
    render_preview,
)
from driving.sim.signals import find_signals
from driving.tags import Tag
from driving.world import ActorKind, ActorState


def _has_colour(img: np.ndarray, bgr: tuple[int, int, int], min_pixels: int = 4, tol: int = 6) -> bool:
    diff = np.abs(img.astype(np.int16) - np.array(bgr, dtype=np.int16)).max(axis=2)
    return int((diff <= tol).sum()) >= min_pixels


def _actor(actor_id: int, kind: ActorKind, wp: carla.Waypoint, role: str) -> ActorState:
    vehicle = kind == ActorKind.VEHICLE
    return ActorState(id=actor_id, kind=kind, type_id="vehicle.car" if vehicle else "walker.pedestrian",
                      role_name=role, transform=wp.transform, velocity=carla.Vector3D(),
                      angular_velocity_dps=0.0, speed_mps=0.0,
                      extent=carla.Vector3D(2.3, 1.0, 0.8) if vehicle else carla.Vector3D(0.3, 0.3, 0.9),
                      tag=Tag.VEHICLES if vehicle else Tag.PEDESTRIAN, color_rgb=(40, 80, 200))


def test_preview_draws_layout_lights_actors_and_route(tmp_path: Path) -> None:
    loaded = load_map("town_grid")
    signals = find_signals(loaded.carla_map)
    layout = build_layout(loaded.carla_map, loaded.name, 0, signals)
    states = {tl.id: carla.TrafficLightState.Red for tl in signals.traffic_lights}
    states[signals.traffic_lights[0].id] = carla.TrafficLightState.Green
    start = signals.traffic_lights[0].stop_waypoints[0].previous(30.0)[0]
    route = [start.transform.location] + [w.transform.location for w in
                                          [start.next(d)[0] for d in np.arange(2.0, 60.0, 2.0)]]
    actors = [_actor(1, ActorKind.VEHICLE, start, "hero"), _actor(2, ActorKind.VEHICLE, start.next(12.0)[0], "npc"),
              _actor(3, ActorKind.WALKER, start.get_right_lane(), "npc")]
    ppm = 2.5
    out = render_preview(layout, signals, states, actors, route, tmp_path / "sub" / "bev.png", pixels_per_metre=ppm)
    assert out == tmp_path / "sub" / "bev.png" and out.stat().st_size > 10_000
    img = cv2.imread(str(out), cv2.IMREAD_COLOR)
    width = math.ceil((layout.bounds[2] - layout.bounds[0]) * ppm)
    height = math.ceil((layout.bounds[3] - layout.bounds[1]) * ppm)
    assert img.shape == (height, width, 3)
    for bgr in (LIGHT_BGR[carla.TrafficLightState.Red], LIGHT_BGR[carla.TrafficLightState.Green], ROUTE_BGR,
                HERO_OUTLINE_BGR, WALKER_BGR):
        assert _has_colour(img, bgr), f"colour {bgr} missing"
    assert not _has_colour(img, LIGHT_BGR[carla.TrafficLightState.Yellow], min_pixels=40)
    assert not list(tmp_path.glob("sub/*.tmp"))


def test_preview_map_renders_any_opendrive_file(tmp_path: Path) -> None:
    path = small_map(tmp_path, signals=False, sidewalks=False)
    out = preview_map(path, 2, tmp_path / "small.png", pixels_per_metre=2.0)
    img = cv2.imread(str(out), cv2.IMREAD_COLOR)
    assert img is not None and img.shape[0] > 300 and img.shape[1] > 400
    assert _has_colour(img, LIGHT_BGR[carla.TrafficLightState.Green])
    assert _has_colour(img, LIGHT_BGR[carla.TrafficLightState.Red])


def test_preview_rejects_bad_arguments(tmp_path: Path) -> None:
    loaded = load_map("town_grid")
    signals = find_signals(loaded.carla_map)
    layout = build_layout(loaded.carla_map, loaded.name, 0, signals)
    with pytest.raises(InputError, match=r"\.png"):
        render_preview(layout, signals, {}, [], None, tmp_path / "bev.jpg")
    with pytest.raises(InputError, match="pixels_per_metre"):
        render_preview(layout, signals, {}, [], None, tmp_path / "bev.png", pixels_per_metre=0)
    with pytest.raises(InputError, match="does not exist"):
        preview_map(tmp_path / "missing.xodr", 0, tmp_path / "bev.png")
