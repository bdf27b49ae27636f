"""Where the infractions happened: their places over each town's top-down view, coloured by type.

Results files do not name a route's town, so the town comes from the routes file the run used
(`--routes`, matched by the official route name `RouteScenario_<id>`), and resolves as in the
evaluator (`--maps DIR/<town>.xodr`, else a bundled map). The background is drawn with the map
preview's own layers (`driving.sim.preview`) over the routes' and infractions' box, with each
route as the preview's band. When no map can be resolved the points go on plain axes in the same
orientation (CARLA's top view: +x right, +y down) and the panel says why.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from driving.errors import InputError
from leaderboard.report.load import INFRACTION_LABELS, RunResults
from leaderboard.report.plots import figure, png_bytes

MARGIN_M = 30.0  # around the routes and infractions drawn
MAX_SIDE_PX = 1600  # longest side of the drawn background
PIXELS_PER_METRE = 4.0  # background scale unless the area is too large for MAX_SIDE_PX
RUN_MARKERS = ("o", "^", "s", "D")  # one marker per results file when comparing
LAYOUT_SEED = 0  # props (trees, buildings) are placed from a seed; any fixed one gives the same picture


@dataclass(frozen=True)
class RouteSite:
    """A route of the routes file: its official name, town and dense path (x, y metres)."""

    name: str
    town: str
    keypoints_xy: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class MapPanel:
    """One town's infraction map: a title, the PNG bytes and a note (why no map was drawn, points
    that name no place), shown under the picture."""

    title: str
    png: bytes
    note: str


def read_route_sites(routes_path: str) -> dict[str, RouteSite]:
    """Official route name -> its town and keypoints, from a routes XML (a bundled set name or a path)."""
    from leaderboard.evaluate_cli import _routes_path
    from leaderboard.routes import parse_routes_file

    configs = parse_routes_file(_routes_path(routes_path))
    return {c.name: RouteSite(c.name, c.town, tuple((p.x, p.y) for p in c.keypoints)) for c in configs}


def _points(runs: Sequence[RunResults], sites: dict[str, RouteSite]) -> dict[str | None, list[tuple[int, str, float, float]]]:
    """Town (None: unknown) -> (run number, kind, x m, y m) of every infraction that names a place."""
    out: dict[str | None, list[tuple[int, str, float, float]]] = {}
    for k, run in enumerate(runs):
        for route in run.routes:
            site = sites.get(route.route_id)
            for inf in route.infractions:
                if inf.x_m is not None and inf.y_m is not None:
                    out.setdefault(site.town if site else None, []).append((k, inf.kind, inf.x_m, inf.y_m))
    return out


def _background(town: str, maps_dir: str | None, routes: list[RouteSite],
                points: list[tuple[int, str, float, float]]) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """RGB picture of the town around the routes and points, and its extent (min x, max x, max y, min y) m."""
    import carla

    from driving.sim.maps import load_map
    from driving.sim.preview import Canvas, draw_layout_within, draw_route, load_layout
    from leaderboard.route_runner import resolve_town
    from planning.route_planner import interpolate_trajectory

    resolved = resolve_town(town, maps_dir)
    layout, _ = load_layout(resolved, LAYOUT_SEED)
    carla_map = load_map(resolved).carla_map
    paths = []
    for site in routes:
        keypoints = [carla.Location(x, y, 0.0) for x, y in site.keypoints_xy]
        paths.append([t.location for t, _ in interpolate_trajectory(carla_map, keypoints).world])
    xy = np.array([(p.x, p.y) for path in paths for p in path] + [(x, y) for _, _, x, y in points]).reshape(-1, 2)
    lb = layout.bounds
    bounds = (max(lb[0], xy[:, 0].min() - MARGIN_M), max(lb[1], xy[:, 1].min() - MARGIN_M),
              min(lb[2], xy[:, 0].max() + MARGIN_M), min(lb[3], xy[:, 1].max() + MARGIN_M))
    span = max(bounds[2] - bounds[0], bounds[3] - bounds[1], 1.0)
    cv = Canvas(bounds, min(PIXELS_PER_METRE, MAX_SIDE_PX / span))
    draw_layout_within(cv, layout, bounds)
    for path in paths:
        draw_route(cv, path, markers=False)  # its red end disc would read as a red-light point
    h, w = cv.img.shape[:2]
    extent = (bounds[0], bounds[0] + w / cv.ppm, bounds[1] + h / cv.ppm, bounds[1])
    return cv2.cvtColor(cv.img, cv2.COLOR_BGR2RGB), extent


def _panel(title: str, runs: Sequence[RunResults], points: list[tuple[int, str, float, float]],
           image: tuple[np.ndarray, tuple[float, float, float, float]] | None, note: str) -> MapPanel:
    fig, (ax,) = figure(8.0, 7.0)
    if image is not None:
        ax.imshow(image[0], extent=image[1], origin="upper", interpolation="bilinear")
    else:
        ax.set_facecolor("#f4f4f4")
        ax.grid(True, alpha=0.4)
        ax.invert_yaxis()  # CARLA's top view: +y downwards, as the map pictures
    colours = {kind: f"C{k}" for k, kind in enumerate(INFRACTION_LABELS)}
    for k, run in enumerate(runs):
        for kind, label in INFRACTION_LABELS.items():
            xy = np.array([(x, y) for n, t, x, y in points if n == k and t == kind]).reshape(-1, 2)
            if len(xy):
                name = f"{label} ({run.label})" if len(runs) > 1 else label
                ax.scatter(xy[:, 0], xy[:, 1], s=70, c=colours[kind], marker=RUN_MARKERS[k % len(RUN_MARKERS)],
                           edgecolors="white", linewidths=1.2, label=name, zorder=3)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(title)
    if points:
        ax.legend(fontsize="small", loc="best")
    return MapPanel(title, png_bytes(fig), note)


def infraction_maps(runs: Sequence[RunResults], sites: dict[str, RouteSite], maps_dir: str | None,
                    routes_note: str = "") -> list[MapPanel]:
    """One panel per town with infraction places (all runs' points on it, a marker per run); none
    when no infraction names a place.

    `routes_note` says why no town is known (no `--routes` given); it is shown on the plain axes.
    """
    panels = []
    for town, points in sorted(_points(runs, sites).items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        if town is None:
            why = routes_note or "the routes file does not name these routes"
            panels.append(_panel("Infraction places (map unknown)", runs, points, None,
                                 f"No map drawn: {why}; the points are on plain axes (metres)."))
            continue
        names = {r.route_id for run in runs for r in run.routes}
        routes = [s for s in sites.values() if s.town == town and s.name in names]
        try:
            image, note = _background(town, maps_dir, routes, points), ""
        except InputError as exc:
            image, note = None, f"No map drawn for {town}: {exc}; the points are on plain axes (metres)."
        panels.append(_panel(f"Infraction places on {town}", runs, points, image, note))
    return panels
