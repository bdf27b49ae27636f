"""Top-down mp4 of a route: a window that follows the ego over lanes, route, lights and actors.

The map's lanes are drawn once into a background image (lane-wide strokes along the map's
waypoints); each frame crops a window around the ego and draws the route, traffic lights in
their current state and every vehicle and walker as an oriented box. Written with OpenCV's
VideoWriter (mp4v) at `FPS` frames per second of game time (every other 20 Hz tick).
"""
from __future__ import annotations

import math
from pathlib import Path

import carla
import cv2
import numpy as np

from driving.world import ActorKind, World

PIXELS_PER_METRE = 4.0
WINDOW_M = 80.0
FPS = 10
TICKS_PER_FRAME = 2  # 20 Hz ticks -> 10 fps
MAX_BACKGROUND_PX = 6000
MARGIN_M = WINDOW_M

ROAD_BGR = (90, 90, 90)
LANE_LINE_BGR = (150, 150, 150)
ROUTE_BGR = (235, 140, 30)
EGO_BGR = (40, 220, 255)
VEHICLE_BGR = (200, 120, 60)
WALKER_BGR = (60, 20, 220)
LIGHT_BGR = {carla.TrafficLightState.Red: (40, 40, 230), carla.TrafficLightState.Yellow: (20, 200, 245),
             carla.TrafficLightState.Green: (60, 210, 60)}


class RouteVideo:
    """Collects frames of one route and writes them to `path` (mp4) on `close`."""

    def __init__(self, path: str | Path, world: World, route: list[carla.Transform], ego_id: int) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._world = world
        self._ego_id = ego_id
        self._lights = world.get_traffic_lights()
        carla_map = world.get_map()
        wps = carla_map.generate_waypoints(2.0)
        xs = [w.transform.location.x for w in wps] + [t.location.x for t in route]
        ys = [w.transform.location.y for w in wps] + [t.location.y for t in route]
        span = max(max(xs) - min(xs), max(ys) - min(ys)) + 2 * MARGIN_M
        self._ppm = min(PIXELS_PER_METRE, MAX_BACKGROUND_PX / span)
        self._origin = (min(xs) - MARGIN_M, min(ys) - MARGIN_M)
        size = math.ceil(span * self._ppm)
        self._background = np.full((size, size, 3), 30, np.uint8)
        for w in wps:
            if w.lane_type == carla.LaneType.Driving:
                self._stroke(self._background, w.transform, 2.0, w.lane_width, ROAD_BGR)
        pts = self._px([(t.location.x, t.location.y) for t in route])
        cv2.polylines(self._background, [pts], False, ROUTE_BGR, max(1, int(self._ppm * 0.6)), cv2.LINE_AA)
        self._window_px = int(WINDOW_M * self._ppm) // 2 * 2
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), FPS,
                                       (self._window_px, self._window_px))
        if not self._writer.isOpened():
            raise RuntimeError(f"video {self.path}: OpenCV cannot open an mp4 writer")
        self.frames = 0

    def _px(self, xy: list[tuple[float, float]]) -> np.ndarray:
        arr = np.asarray(xy, dtype=np.float64)
        return np.round((arr - self._origin) * self._ppm).astype(np.int32)

    def _box(self, cx: float, cy: float, hx: float, hy: float, yaw_deg: float) -> np.ndarray:
        c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
        corners = [(hx, hy), (hx, -hy), (-hx, -hy), (-hx, hy)]
        return self._px([(cx + x * c - y * s, cy + x * s + y * c) for x, y in corners])

    def _stroke(self, img: np.ndarray, t: carla.Transform, length_m: float, width_m: float, bgr) -> None:
        loc = t.location
        cv2.fillConvexPoly(img, self._box(loc.x, loc.y, length_m / 2 + 0.2, width_m / 2, t.rotation.yaw), bgr)

    def add_frame(self, tick: int) -> None:
        """Draw the current world state (called every tick; keeps every TICKS_PER_FRAME-th)."""
        if tick % TICKS_PER_FRAME:
            return
        actors = self._world.get_actor_states()
        ego_loc = next((a.transform.location for a in actors if a.id == self._ego_id), None)
        if ego_loc is None:
            ego_loc = self._world.get_actor_state(self._ego_id).transform.location
        cx, cy = self._px([(ego_loc.x, ego_loc.y)])[0]
        half = self._window_px // 2
        x0, y0 = int(cx) - half, int(cy) - half
        img = np.zeros((self._window_px, self._window_px, 3), np.uint8)
        bx0, by0 = max(x0, 0), max(y0, 0)
        part = self._background[by0:y0 + self._window_px, bx0:x0 + self._window_px]
        img[by0 - y0:by0 - y0 + part.shape[0], bx0 - x0:bx0 - x0 + part.shape[1]] = part
        shift = np.array([x0, y0], np.int32)
        for light in self._lights:
            loc = light.transform.location
            if loc.distance(ego_loc) > WINDOW_M:
                continue
            state = self._world.get_traffic_light_state(light.id)
            centre = self._px([(loc.x, loc.y)])[0] - shift
            cv2.circle(img, (int(centre[0]), int(centre[1])), max(2, int(self._ppm)),
                       LIGHT_BGR.get(state, LANE_LINE_BGR), -1)
        for actor in actors:
            loc, ext = actor.transform.location, actor.extent
            if loc.distance(ego_loc) > WINDOW_M:
                continue
            hero = actor.id == self._ego_id
            bgr = EGO_BGR if hero else WALKER_BGR if actor.kind == ActorKind.WALKER else VEHICLE_BGR
            box = self._box(loc.x, loc.y, max(ext.x, 0.3), max(ext.y, 0.3), actor.transform.rotation.yaw)
            cv2.fillConvexPoly(img, box - shift, bgr, cv2.LINE_AA)
        cv2.putText(img, f"t={self._world.elapsed_seconds:6.1f}s", (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (255, 255, 255), 1, cv2.LINE_AA)
        self._writer.write(img)
        self.frames += 1

    def close(self) -> None:
        self._writer.release()
