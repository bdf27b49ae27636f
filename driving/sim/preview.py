"""Top-down PNG of a layout with signals, actors and a route: the quickest look at a map or a run.

Image axes follow CARLA's world frame seen from above: +x to the right, +y (OpenDRIVE y negated)
downwards, so the picture matches what `carla` users see in the spectator's top view. Drawing is
antialiased with sub-pixel coordinates (`_SHIFT` fractional bits) and the file is written
atomically so a viewer never sees half a PNG.

The drawing is split into layers (`draw_surfaces`, `draw_props`, `draw_route` are static;
`draw_lights`, `draw_actors` change every tick) on a `Canvas`, so the route video
(`leaderboard.video`) draws the static ones once and only the moving ones per frame.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import carla
import cv2
import numpy as np
import shapely

from driving.atomic_io import atomic_write_bytes
from driving.errors import InputError
from driving.geometry import box_corners
from driving.sim.scene import Layout, StaticObject, Surface
from driving.sim.signals import SignalSet
from driving.world import ActorKind, ActorState

_SHIFT = 3  # fractional bits for cv2 sub-pixel drawing
_SCALE = 1 << _SHIFT
MAX_SIDE_PX = 8192  # larger maps are drawn at a lower pixels_per_metre

LIGHT_BGR = {
    carla.TrafficLightState.Red: (40, 40, 230),
    carla.TrafficLightState.Yellow: (20, 200, 245),
    carla.TrafficLightState.Green: (60, 210, 60),
}
LIGHT_OFF_BGR = (150, 150, 150)
ROUTE_BGR = (235, 140, 30)
HERO_OUTLINE_BGR = (255, 255, 0)
WALKER_BGR = (60, 20, 220)
STOP_SIGN_BGR = (30, 30, 200)
_DRAW_ORDER = {"terrain": 0, "shoulder": 1, "road": 2, "junction": 2, "sidewalk": 3, "lane_marking": 4,
               "crosswalk": 4}


def _bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return int(rgb[2]), int(rgb[1]), int(rgb[0])


class Canvas:
    """World-metre -> pixel transform and antialiased primitives on one BGR image.

    Pixel (0, 0) is world (`min_x`, `min_y`); `ppm` is pixels per metre. The route video reuses
    it on a window cropped from a pre-drawn background (`Canvas.wrap`).
    """

    def __init__(self, bounds: tuple[float, float, float, float], ppm: float) -> None:
        self.min_x, self.min_y = bounds[0], bounds[1]
        self.ppm = ppm
        w = max(1, math.ceil((bounds[2] - bounds[0]) * ppm))
        h = max(1, math.ceil((bounds[3] - bounds[1]) * ppm))
        self.img = np.zeros((h, w, 3), np.uint8)

    @classmethod
    def wrap(cls, img: np.ndarray, min_x: float, min_y: float, ppm: float) -> Canvas:
        """A canvas drawing into an existing BGR image whose pixel (0, 0) is world (min_x, min_y) m."""
        cv = cls.__new__(cls)
        cv.min_x, cv.min_y, cv.ppm, cv.img = min_x, min_y, ppm, img
        return cv

    def px(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        out = np.empty_like(xy)
        out[:, 0] = (xy[:, 0] - self.min_x) * self.ppm
        out[:, 1] = (xy[:, 1] - self.min_y) * self.ppm
        return np.round(out * _SCALE).astype(np.int32)

    def polygon(self, poly: shapely.Geometry, bgr: tuple[int, int, int]) -> None:
        for part in shapely.get_parts(poly):
            if not isinstance(part, shapely.Polygon) or part.is_empty:
                continue
            rings = [self.px(np.asarray(part.exterior.coords))] + [self.px(np.asarray(r.coords))
                                                                   for r in part.interiors]
            cv2.fillPoly(self.img, rings, bgr, cv2.LINE_AA, _SHIFT)

    def fill(self, pts: np.ndarray, bgr: tuple[int, int, int]) -> None:
        """Fill the polygon with corners `pts` (N x 2 metres)."""
        cv2.fillPoly(self.img, [self.px(pts)], bgr, cv2.LINE_AA, _SHIFT)

    def outline(self, pts: np.ndarray, bgr: tuple[int, int, int], width_px: int = 1, closed: bool = True) -> None:
        cv2.polylines(self.img, [self.px(pts)], closed, bgr, width_px, cv2.LINE_AA, _SHIFT)

    def circle(self, xy: tuple[float, float], radius_px: float, bgr: tuple[int, int, int],
               thickness: int = -1) -> None:
        c = self.px(np.array(xy))[0]
        cv2.circle(self.img, (int(c[0]), int(c[1])), max(1, int(radius_px * _SCALE)), bgr, thickness,
                   cv2.LINE_AA, _SHIFT)


def _shade(bgr: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, v * factor))) for v in bgr)  # type: ignore[return-value]


def draw_surfaces(cv: Canvas, surfaces: list[Surface]) -> None:
    """Ground polygons lowest first: terrain, shoulders, roads, sidewalks, then markings on top."""
    for s in sorted(surfaces, key=lambda s: (_DRAW_ORDER.get(s.kind, 5), s.z_m)):
        cv.polygon(s.polygon, _bgr(s.color_rgb))


def draw_props(cv: Canvas, objects: list[StaticObject]) -> None:
    """Props lowest first; buildings get a soft shadow, trees round crowns. Light heads are left to
    `draw_lights`, whose colours change every tick."""
    shadow = cv.img.copy()
    for o in objects:
        if o.kind == "building":
            off = min(o.half_extent[2] * 0.25, 6.0)
            pts = box_corners(o.center[0] + off, o.center[1] + off, math.radians(o.yaw_deg), *o.half_extent[:2])
            cv2.fillPoly(shadow, [cv.px(pts)], (0, 0, 0), cv2.LINE_AA, _SHIFT)
    cv2.addWeighted(shadow, 0.3, cv.img, 0.7, 0, dst=cv.img)
    tops = sorted((o for o in objects if o.kind != "traffic_light"),
                  key=lambda o: o.center[2] + o.half_extent[2])
    for o in tops:
        x, y = o.center[0], o.center[1]
        if o.kind in ("tree_crown", "bush"):
            r = max(o.half_extent[0], o.half_extent[1]) * cv.ppm
            cv.circle((x, y), r, _bgr(o.color_rgb))
            cv.circle((x, y), r, _shade(_bgr(o.color_rgb), 0.7), 1)
            cv.circle((x - o.half_extent[0] * 0.3, y - o.half_extent[1] * 0.3), r * 0.45,
                      _shade(_bgr(o.color_rgb), 1.2))
        elif o.kind == "tree_trunk":
            continue  # hidden under the crown
        elif o.kind == "stop_sign":
            r = max(4.0, 1.1 * cv.ppm)
            ang = np.radians(np.arange(8) * 45 + 22.5)
            pts = np.column_stack([x + np.cos(ang) * r / cv.ppm, y + np.sin(ang) * r / cv.ppm])
            cv2.fillPoly(cv.img, [cv.px(pts)], STOP_SIGN_BGR, cv2.LINE_AA, _SHIFT)
            cv.outline(pts, (255, 255, 255), 1)
        elif o.kind in ("pole", "traffic_light_pole", "stop_sign_post"):
            cv.circle((x, y), max(1.5, 0.25 * cv.ppm), _bgr(o.color_rgb))
        else:
            pts = box_corners(x, y, math.radians(o.yaw_deg), o.half_extent[0], o.half_extent[1])
            cv2.fillPoly(cv.img, [cv.px(pts)], _bgr(o.color_rgb), cv2.LINE_AA, _SHIFT)
            if o.kind == "building":
                inner = box_corners(x, y, math.radians(o.yaw_deg), max(o.half_extent[0] - 1.2, 0.2),
                                     max(o.half_extent[1] - 1.2, 0.2))
                cv2.fillPoly(cv.img, [cv.px(inner)], _shade(_bgr(o.color_rgb), 1.12), cv2.LINE_AA, _SHIFT)
                cv.outline(pts, _shade(_bgr(o.color_rgb), 0.6), 1)


def draw_layout_within(cv: Canvas, layout: Layout, bounds: tuple[float, float, float, float]) -> None:
    """The static layers (surfaces, then props) of `layout` that can reach `bounds` (metres: min x,
    min y, max x, max y): a close-up of a large town draws only what shows, not the whole map."""
    box = shapely.box(*bounds)
    hits = shapely.intersects([s.polygon for s in layout.surfaces], box) if layout.surfaces else []
    draw_surfaces(cv, [s for s, hit in zip(layout.surfaces, hits) if hit])
    draw_props(cv, [o for o in layout.objects if _touches(o.center, max(o.half_extent[:2]) + 6.0, bounds)])


def _touches(xy: tuple[float, ...], radius_m: float, bounds: tuple[float, float, float, float]) -> bool:
    """Whether a prop within `radius_m` of `xy` (its half size plus its shadow) can reach `bounds`."""
    return (bounds[0] - radius_m <= xy[0] <= bounds[2] + radius_m
            and bounds[1] - radius_m <= xy[1] <= bounds[3] + radius_m)


@dataclass(frozen=True)
class LightMark:
    """Where a traffic light is drawn: (x, y) metres, its `TrafficLightInfo.id`, and whether a placed
    head (ringed lamp) or only the signal's own position (plain dot) is shown."""

    x_m: float
    y_m: float
    light_id: int
    head: bool


def light_marks(layout: Layout, signals: SignalSet) -> list[LightMark]:
    """Every placed light head, lowest first, plus lights without a head at their signal position."""
    heads = sorted((o for o in layout.objects if o.kind == "traffic_light"),
                   key=lambda o: o.center[2] + o.half_extent[2])
    marks = [LightMark(o.center[0], o.center[1], o.light_id, True) for o in heads]
    drawn = {o.light_id for o in heads}
    marks += [LightMark(tl.transform.location.x, tl.transform.location.y, tl.id, False)
              for tl in signals.traffic_lights if tl.id not in drawn]
    return marks


def draw_lights(cv: Canvas, marks: list[LightMark], light_states: dict[int, carla.TrafficLightState]) -> None:
    """Lamps in their state colour (grey when off or unknown)."""
    r = max(3.0, 0.9 * cv.ppm)
    for m in marks:
        bgr = LIGHT_BGR.get(light_states.get(m.light_id), LIGHT_OFF_BGR)
        if m.head:
            cv.circle((m.x_m, m.y_m), r + 1.5, (20, 20, 20))
        cv.circle((m.x_m, m.y_m), r, bgr)


def draw_actors(cv: Canvas, actors: list[ActorState]) -> None:
    """Vehicles as boxes in their paint with a white heading arrow (hero outlined cyan); walkers as dots."""
    for a in actors:
        loc, yaw = a.transform.location, a.transform.rotation.yaw
        if a.kind == ActorKind.WALKER:
            cv.circle((loc.x, loc.y), max(2.5, 0.45 * cv.ppm), (255, 255, 255))
            cv.circle((loc.x, loc.y), max(2.0, 0.35 * cv.ppm), WALKER_BGR)
            continue
        if a.kind != ActorKind.VEHICLE:
            continue
        pts = box_corners(loc.x, loc.y, math.radians(yaw), a.extent.x, a.extent.y)
        cv2.fillPoly(cv.img, [cv.px(pts)], _bgr(a.color_rgb), cv2.LINE_AA, _SHIFT)
        hero = a.role_name == "hero"
        cv.outline(pts, HERO_OUTLINE_BGR if hero else (20, 20, 20), 2 if hero else 1)
        c, s = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
        nose = np.array([loc.x + c * a.extent.x, loc.y + s * a.extent.x])
        left = np.array([loc.x + c * a.extent.x * 0.35 + s * a.extent.y * 0.8,
                         loc.y + s * a.extent.x * 0.35 - c * a.extent.y * 0.8])
        right = np.array([loc.x + c * a.extent.x * 0.35 - s * a.extent.y * 0.8,
                          loc.y + s * a.extent.x * 0.35 + c * a.extent.y * 0.8])
        cv2.fillPoly(cv.img, [cv.px(np.vstack([nose, left, right]))], (255, 255, 255), cv2.LINE_AA, _SHIFT)


def draw_route(cv: Canvas, route: list[carla.Location], markers: bool = True) -> None:
    """The route as a translucent band; with `markers` a green start and a red end disc (the close-up
    route video leaves them out: at its scale they look like traffic lights)."""
    pts = np.array([(p.x, p.y) for p in route])
    if len(pts) >= 2:
        overlay = cv.img.copy()
        cv2.polylines(overlay, [cv.px(pts)], False, ROUTE_BGR, max(2, int(1.2 * cv.ppm)), cv2.LINE_AA, _SHIFT)
        cv2.addWeighted(overlay, 0.75, cv.img, 0.25, 0, dst=cv.img)
    if not markers:
        return
    r = max(5.0, 1.8 * cv.ppm)
    for xy, bgr in ((pts[0], (60, 200, 60)), (pts[-1], (40, 40, 220))):
        cv.circle(tuple(xy), r + 2, (255, 255, 255))
        cv.circle(tuple(xy), r, bgr)


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, bgr: tuple[int, int, int]) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, bgr, max(1, int(scale * 2)), cv2.LINE_AA)


def _draw_legend(img: np.ndarray, title: str) -> None:
    entries = [("road", (66, 62, 62)), ("sidewalk", (158, 166, 172)), ("crosswalk / markings", (230, 235, 235)),
               ("building", (158, 168, 178)), ("vegetation", (52, 128, 78)), ("red light", LIGHT_BGR[
                   carla.TrafficLightState.Red]), ("green light", LIGHT_BGR[carla.TrafficLightState.Green]),
               ("stop sign", STOP_SIGN_BGR), ("vehicle (hero: cyan)", (200, 80, 40)),
               ("pedestrian", WALKER_BGR), ("route", ROUTE_BGR)]
    scale = float(np.clip(img.shape[1] / 1800.0, 0.4, 1.0))
    row = int(26 * scale) + 4
    w, h = int(300 * scale) + 20, row * (len(entries) + 1) + 16
    x0, y0 = 10, 10
    panel = img[y0:y0 + h, x0:x0 + w]
    panel[:] = (panel * 0.25 + 235 * 0.75).astype(np.uint8)
    _text(img, title, (x0 + 8, y0 + row), scale * 0.7, (30, 30, 30))
    for i, (label, bgr) in enumerate(entries):
        y = y0 + row * (i + 2)
        cv2.rectangle(img, (x0 + 8, y - row + 8), (x0 + 8 + row - 8, y), bgr, -1, cv2.LINE_AA)
        cv2.rectangle(img, (x0 + 8, y - row + 8), (x0 + 8 + row - 8, y), (40, 40, 40), 1, cv2.LINE_AA)
        _text(img, label, (x0 + row + 8, y - 2), scale * 0.6, (30, 30, 30))


def _draw_scale_bar(img: np.ndarray, ppm: float) -> None:
    target_m = img.shape[1] / ppm / 6.0
    length_m = max(m for m in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000) if m <= max(target_m, 1))
    scale = float(np.clip(img.shape[1] / 1800.0, 0.4, 1.0))
    x0, y0 = 20, img.shape[0] - 20
    x1 = x0 + round(length_m * ppm)
    cv2.rectangle(img, (x0 - 8, y0 - int(40 * scale) - 8), (x1 + 8, y0 + 8), (235, 235, 235), -1)
    for k in range(4):
        xa, xb = x0 + (x1 - x0) * k // 4, x0 + (x1 - x0) * (k + 1) // 4
        cv2.rectangle(img, (xa, y0 - 8), (xb, y0), (30, 30, 30) if k % 2 == 0 else (255, 255, 255), -1)
    cv2.rectangle(img, (x0, y0 - 8), (x1, y0), (30, 30, 30), 1)
    _text(img, f"{length_m} m", (x0, y0 - 14), scale * 0.7, (30, 30, 30))


def _write_png_atomic(img: np.ndarray, out_path: Path) -> None:
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise InputError(f"preview {out_path}: PNG encoding failed")
    atomic_write_bytes(out_path, buf.tobytes())


def render_preview(layout: Layout, signals: SignalSet, light_states: dict[int, carla.TrafficLightState],
                   actors: list[ActorState], route: list[carla.Location] | None, out_path: str | Path,
                   pixels_per_metre: float = 3.0) -> Path:
    """Draw the layout, lights in their states, actors and route; returns the PNG path.

    `pixels_per_metre` is lowered for maps that would exceed `MAX_SIDE_PX` pixels on a side.
    """
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".png":
        raise InputError(f"preview out_path {out_path}: expected a file name ending in .png")
    if not (isinstance(pixels_per_metre, (int, float)) and math.isfinite(pixels_per_metre)
            and pixels_per_metre > 0):
        raise InputError(f"preview pixels_per_metre: expected a positive number, got {pixels_per_metre!r}")
    span = max(layout.bounds[2] - layout.bounds[0], layout.bounds[3] - layout.bounds[1], 1.0)
    ppm = min(float(pixels_per_metre), MAX_SIDE_PX / span)
    cv = Canvas(layout.bounds, ppm)
    draw_surfaces(cv, layout.surfaces)
    draw_props(cv, layout.objects)
    draw_lights(cv, light_marks(layout, signals), light_states)
    if route:
        draw_route(cv, route)
    draw_actors(cv, actors)
    n_veh = sum(a.kind == ActorKind.VEHICLE for a in actors)
    n_walk = sum(a.kind == ActorKind.WALKER for a in actors)
    counts = f"  {n_veh} vehicles  {n_walk} walkers" if actors else ""
    _draw_legend(cv.img, f"{layout.map_name}  seed {layout.seed}{counts}")
    _draw_scale_bar(cv.img, ppm)
    _write_png_atomic(cv.img, out_path)
    return out_path


def demo_light_states(signals: SignalSet) -> dict[int, carla.TrafficLightState]:
    """One phase of a junction cycle: the first light of each group green, the others red."""
    states = {}
    for lights in signals.groups().values():
        for k, tl in enumerate(lights):
            states[tl.id] = carla.TrafficLightState.Green if k == 0 else carla.TrafficLightState.Red
    return states


def preview_map(map_name_or_path: str | Path, seed: int, out_path: str | Path,
                pixels_per_metre: float = 3.0) -> Path:
    """Render a map's layout and signals with no actors (the CLI's fallback preview)."""
    layout, signals = load_layout(map_name_or_path, seed)
    return render_preview(layout, signals, demo_light_states(signals), [], None, out_path, pixels_per_metre)


def load_layout(map_name_or_path: str | Path, seed: int) -> tuple[Layout, SignalSet]:
    """A map's static layout (props placed from `seed`) and signals, without a world: for pictures
    of a map alone (the preview fallback, the run report's infraction map)."""
    from driving.sim.layout import build_layout
    from driving.sim.maps import load_map
    from driving.sim.signals import find_signals

    loaded = load_map(map_name_or_path)
    signals = find_signals(loaded.carla_map)
    return build_layout(loaded.carla_map, loaded.name, seed, signals), signals
