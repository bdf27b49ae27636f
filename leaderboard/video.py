"""Top-down mp4 of a route in the look of `driving sim preview`, following the ego.

The static layers (terrain, roads, markings, sidewalks, crosswalks, buildings, trees, signs, the
route band and a chequered finish line) are drawn ONCE per route with the preview's own layer
functions into a background image covering the route's bounding box plus half a window and a
detour margin, at `PIXELS_PER_METRE` (lowered for very long routes so the image stays under
`MAX_BACKGROUND_PX` a side). Each frame copies a
`WINDOW_PX` square around the ego out of it and draws only what moves: traffic lights in their
current state, vehicles (hero outlined cyan) and walkers, plus an overlay with game time, ego
speed, route progress and (when the caller passes it) the infraction count.

The window is north-up (CARLA's top view: +x right, +y down), like the preview PNG: no per-frame
rotation or resampling, so thin markings stay crisp and the picture matches the map preview.
Worlds without a static layout (`world.layout`, e.g. a CARLA server) get driving lanes drawn as
grey strokes from the `carla.Map` instead.

Frames are written at `FPS` (every `TICKS_PER_FRAME`-th 20 Hz tick) through
`driving.video_writer` (H.264 that browsers play, mp4v as the fallback), whose file appears at
the destination only once complete.
"""
from __future__ import annotations

import math
from pathlib import Path

import carla
import cv2
import numpy as np

from driving.geometry import box_corners
from driving.sim.preview import (
    Canvas,
    LightMark,
    draw_actors,
    draw_layout_within,
    draw_lights,
    draw_route,
    light_marks,
)
from driving.video_writer import open_video_writer
from driving.world import ActorState, World

PIXELS_PER_METRE = 6.0
WINDOW_PX = 384  # 64 m x 64 m at 6 px/m
FPS = 10
TICKS_PER_FRAME = 2  # 20 Hz ticks -> 10 fps
MAX_BACKGROUND_PX = 4096  # longest background side; longer routes are drawn at a lower px/m
OUTSIDE_BGR = (40, 48, 44)  # beyond the pre-drawn background (ego far off the route)
LANE_BGR = (90, 90, 90)  # fallback lane strokes when the world has no layout
LANE_STEP_M = 2.0
ACTOR_REACH_M = 6.0  # an actor this far outside the window may still poke into it
PROGRESS_LOOKAHEAD_M = 30.0
DETOUR_MARGIN_M = 40.0  # the ego may stray this far from the route before leaving the background
FINISH_BGR = ((255, 255, 255), (20, 20, 20))


class RouteTopDown:
    """The route's top-down picture around the ego: static layers drawn once, movers drawn per call.

    Shared by the route video (`RouteVideo`, north-up with an overlay) and the dataset collector's
    label images (`driving.collect.topdown`, rotated ego-up). `pixels_per_metre` is lowered for a
    route whose background would exceed `max_background_px` a side (`ppm` holds the value used).
    """

    def __init__(self, world: World, route: list[carla.Transform], pixels_per_metre: float = PIXELS_PER_METRE,
                 window_px: int = WINDOW_PX, max_background_px: int = MAX_BACKGROUND_PX) -> None:
        self._world = world
        self.window_px = window_px
        self._route_xy = np.array([(t.location.x, t.location.y) for t in route],
                                  dtype=np.float64).reshape(-1, 2)
        self.background = self._draw_background(world, route, pixels_per_metre, max_background_px)
        self.half_view_m = window_px / 2 * math.sqrt(2) / self.ppm + ACTOR_REACH_M

    def _draw_background(self, world: World, route: list[carla.Transform], ppm: float,
                         max_background_px: int) -> Canvas:
        """Static layers over the route's box plus half a window and `DETOUR_MARGIN_M`.

        Also sets `ppm` (pixels per metre) and `_marks` (the traffic lights to colour per frame).
        """
        xy = self._route_xy if len(self._route_xy) else np.zeros((1, 2))
        span_m = max(float(np.ptp(xy[:, 0])), float(np.ptp(xy[:, 1])), 1.0)
        margin_px = self.window_px / 2 + 16
        self.ppm = min(ppm, (max_background_px - 2 * margin_px) / (span_m + 2 * DETOUR_MARGIN_M))
        margin_m = margin_px / self.ppm + DETOUR_MARGIN_M
        bounds = (float(xy[:, 0].min()) - margin_m, float(xy[:, 1].min()) - margin_m,
                  float(xy[:, 0].max()) + margin_m, float(xy[:, 1].max()) + margin_m)
        cv = Canvas(bounds, self.ppm)
        cv.img[:] = OUTSIDE_BGR
        layout, signals = getattr(world, "layout", None), getattr(world, "signals", None)
        if layout is not None and signals is not None:
            draw_layout_within(cv, layout, bounds)
            self._marks = light_marks(layout, signals)
        else:
            self._draw_lanes(cv, world.get_map(), bounds)
            self._marks = [LightMark(tl.transform.location.x, tl.transform.location.y, tl.id, False)
                           for tl in world.get_traffic_lights()]
        self._mark_xy = np.array([(m.x_m, m.y_m) for m in self._marks], dtype=np.float64).reshape(-1, 2)
        if len(route) >= 2:
            draw_route(cv, [t.location for t in route], markers=False)
            _finish_line(cv, route[-1])
        return cv

    @staticmethod
    def _draw_lanes(cv: Canvas, carla_map: carla.Map, bounds: tuple[float, float, float, float]) -> None:
        """Fallback background: each driving-lane waypoint as a lane-wide stroke `LANE_STEP_M` long."""
        for w in carla_map.generate_waypoints(LANE_STEP_M):
            loc = w.transform.location
            if w.lane_type != carla.LaneType.Driving or not (
                    bounds[0] - 5 <= loc.x <= bounds[2] + 5 and bounds[1] - 5 <= loc.y <= bounds[3] + 5):
                continue
            yaw = w.transform.rotation.yaw
            cv.fill(box_corners(loc.x, loc.y, math.radians(yaw), LANE_STEP_M / 2 + 0.2, w.lane_width / 2), LANE_BGR)

    def render(self, ego: ActorState, actors: list[ActorState]) -> np.ndarray:
        """A `window_px` square BGR image centred on `ego`, north-up: background, lights, actors."""
        bg = self.background
        ex, ey = ego.transform.location.x, ego.transform.location.y
        x0 = round((ex - bg.min_x) * self.ppm) - self.window_px // 2
        y0 = round((ey - bg.min_y) * self.ppm) - self.window_px // 2
        img = _crop(bg.img, x0, y0, self.window_px)
        cv = Canvas.wrap(img, bg.min_x + x0 / self.ppm, bg.min_y + y0 / self.ppm, self.ppm)
        if len(self._marks):
            near = np.abs(self._mark_xy - (ex, ey)).max(axis=1) <= self.half_view_m
            marks = [m for m, keep in zip(self._marks, near) if keep]
            states = {m.light_id: self._world.get_traffic_light_state(m.light_id) for m in marks}
            draw_lights(cv, marks, states)
        reach = self.half_view_m
        others = [a for a in actors if a.id != ego.id and abs(a.transform.location.x - ex) <= reach
                  and abs(a.transform.location.y - ey) <= reach]
        draw_actors(cv, others + [ego])  # the ego last, on top
        return img


def video_file_name(route_name: str, index: int) -> str:
    """The mp4 name of one route run in the video folder: `<route name>_<index in the results>.mp4`
    (the report finds a record's video by it)."""
    return f"{route_name}_{index}.mp4"


class RouteVideo:
    """Collects frames of one route and writes them to `path` (mp4, complete on `close`)."""

    def __init__(self, path: str | Path, world: World, route: list[carla.Transform], ego_id: int) -> None:
        self.path = Path(path)
        self._world = world
        self._ego_id = ego_id
        self._topdown = RouteTopDown(world, route)
        self._route_xy = self._topdown._route_xy
        seg = np.linalg.norm(np.diff(self._route_xy, axis=0), axis=1)
        self._route_cum_m = np.concatenate([[0.0], np.cumsum(seg)])
        self._route_idx = 0
        self._ppm = self._topdown.ppm
        self._writer = open_video_writer(self.path, FPS)
        self._closed = False

    @property
    def frames(self) -> int:
        """Frames written so far."""
        return self._writer.frames

    # ---- every frame ------------------------------------------------------------------
    def add_frame(self, tick: int, progress_pct: float | None = None, infractions: int | None = None) -> None:
        """Draw the current world state (called every tick; keeps every TICKS_PER_FRAME-th).

        `progress_pct` (route completion, %) is estimated from the ego's nearest route point when
        not given; `infractions` is shown only when the caller passes it.
        """
        if tick % TICKS_PER_FRAME or self._closed:
            return
        actors = self._world.get_actor_states()
        ego = next((a for a in actors if a.id == self._ego_id), None)
        if ego is None:
            ego = self._world.get_actor_state(self._ego_id)
        self._writer.add(self.render(ego, actors, progress_pct, infractions))

    def render(self, ego: ActorState, actors: list[ActorState], progress_pct: float | None = None,
               infractions: int | None = None) -> np.ndarray:
        """One WINDOW_PX square BGR frame centred on `ego` (lights read from the world)."""
        img = self._topdown.render(ego, actors)
        ex, ey = ego.transform.location.x, ego.transform.location.y
        if progress_pct is None:
            progress_pct = self._progress_pct(ex, ey)
        lines = [f"t {self._world.elapsed_seconds:6.1f} s", f"{ego.speed_mps * 3.6:5.1f} km/h",
                 f"route {progress_pct:5.1f} %"]
        if infractions is not None:
            lines.append(f"infractions {infractions}")
        _overlay(img, lines, self._ppm)
        return img

    def _progress_pct(self, x_m: float, y_m: float) -> float:
        """Completion of the route (arc length to the nearest route point, searched forward only)."""
        if len(self._route_xy) < 2 or self._route_cum_m[-1] <= 0:
            return 0.0
        start = self._route_idx
        end = int(np.searchsorted(self._route_cum_m, self._route_cum_m[start] + PROGRESS_LOOKAHEAD_M)) + 1
        d2 = ((self._route_xy[start:end] - (x_m, y_m)) ** 2).sum(axis=1)
        self._route_idx = start + int(np.argmin(d2))
        return 100.0 * float(self._route_cum_m[self._route_idx] / self._route_cum_m[-1])

    def close(self) -> None:
        """Finish the file and move it into place (a route with no frame leaves no file)."""
        self._closed = True
        self._writer.close()


def _finish_line(cv: Canvas, end: carla.Transform, square_m: float = 0.6) -> None:
    """A chequered band two squares deep, 3.6 m wide, across the route's end."""
    yaw = end.rotation.yaw
    c, s = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    for along in (0, 1):
        for across in range(-3, 3):
            fx, fy = (along - 0.5) * square_m, (across + 0.5) * square_m  # forward, right of the end point
            cx, cy = end.location.x + c * fx - s * fy, end.location.y + s * fx + c * fy
            cv.fill(box_corners(cx, cy, math.radians(yaw), square_m / 2, square_m / 2), FINISH_BGR[(along + across) % 2])


def _crop(img: np.ndarray, x0: int, y0: int, size: int) -> np.ndarray:
    """A `size` square copy of `img` from pixel (x0, y0); parts outside are `OUTSIDE_BGR`."""
    h, w = img.shape[:2]
    if 0 <= x0 and 0 <= y0 and x0 + size <= w and y0 + size <= h:
        return img[y0:y0 + size, x0:x0 + size].copy()
    out = np.empty((size, size, 3), np.uint8)
    out[:] = OUTSIDE_BGR
    bx0, by0, bx1, by1 = max(x0, 0), max(y0, 0), min(x0 + size, w), min(y0 + size, h)
    if bx0 < bx1 and by0 < by1:
        out[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0] = img[by0:by1, bx0:bx1]
    return out


def _overlay(img: np.ndarray, lines: list[str], ppm: float) -> None:
    """Text panel top-left and a 10 m scale bar bottom-left, on translucent dark backgrounds."""
    row, font, scale = 16, cv2.FONT_HERSHEY_SIMPLEX, 0.42
    w = 8 + max(cv2.getTextSize(t, font, scale, 1)[0][0] for t in lines)
    panel = img[4:8 + row * len(lines), 4:4 + w]
    cv2.addWeighted(panel, 0.35, np.zeros_like(panel), 0.65, 0, dst=panel)
    for i, text in enumerate(lines):
        cv2.putText(img, text, (8, 4 + row * (i + 1)), font, scale, (255, 255, 255), 1, cv2.LINE_AA)
    bar_px = round(10.0 * ppm)
    y = img.shape[0] - 10
    bar = img[y - 16:y + 5, 5:bar_px + 15]
    cv2.addWeighted(bar, 0.35, np.zeros_like(bar), 0.65, 0, dst=bar)
    cv2.line(img, (10, y), (10 + bar_px, y), (255, 255, 255), 2)
    cv2.putText(img, "10 m", (10, y - 5), font, 0.35, (255, 255, 255), 1, cv2.LINE_AA)
