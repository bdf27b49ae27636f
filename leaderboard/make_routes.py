"""Generate the bundled route sets: `python -m leaderboard.make_routes [--out DIR] [--seed N]`.

Writes `routes_{train,val,test}_{short,long}.xml` (LB1.0 layout) into leaderboard/data/ for the
bundled towns. Deterministic for a seed: the same maps and seed give byte-identical files.

How a route is made: a seeded random drive along driving lanes (random branch at every
junction, never the same lane twice) from a random non-junction start point until the target
length; keypoints are taken on it every 50-100 m outside junctions, plus its last point. The
route is then densified with `interpolate_trajectory` and kept only if that length is in range:
short 200-500 m, long 1000-2000 m. Each route gets a weather preset (the 14 daytime presets
LeTFuser evaluates on; the test split cycles through them in order) and background traffic
attributes `n_vehicles` / `n_walkers` scaled by the town's driving-lane length (no walkers on
a town without sidewalks).

The split (why it is a fair held-out test):
- train: 12 short + 6 long routes, val: 6 short + 3 long, on `town_grid` and `highway`;
- test: 6 short + 3 long on `town_suburb`, a town never used for training or tuning (as
  LeTFuser holds out a town); while a preferred town is not bundled, a split falls back to the
  towns that are.
- Across all splits no two routes start within 20 m of each other or end within 20 m of each
  other, so every test route has start/end pairs unseen in train/val even on a shared town.
"""
from __future__ import annotations

import argparse
import math
import random
import re
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import carla

from driving.errors import InputError
from driving.sim.maps import available_maps, load_map
from leaderboard.routes import RouteConfig, write_routes_file
from planning.route_planner import GlobalRoutePlanner, interpolate_trajectory, route_length_m

DATA_DIR = Path(__file__).resolve().parent / "data"
HOP_M = 1.0
MIN_SEPARATION_M = 20.0
KEYPOINT_SPACING_M = (50.0, 100.0)
WEATHERS = ("ClearNoon", "ClearSunset", "CloudyNoon", "CloudySunset", "WetNoon", "WetSunset",
            "MidRainyNoon", "MidRainSunset", "WetCloudyNoon", "WetCloudySunset", "HardRainNoon",
            "HardRainSunset", "SoftRainNoon", "SoftRainSunset")
VEHICLES_PER_KM = (4.0, 12.0)
"""Background vehicles per km of driving lane (uniform range per route)."""
WALKERS_PER_KM = (2.0, 8.0)


@dataclass(frozen=True)
class Kind:
    """A route length class: target drive length and accepted interpolated length, metres."""

    name: str
    target_m: tuple[float, float]
    accept_m: tuple[float, float]


SHORT = Kind("short", (260.0, 450.0), (200.0, 500.0))
LONG = Kind("long", (1100.0, 1700.0), (1000.0, 2000.0))
SPLITS: dict[str, tuple[tuple[str, ...], dict[str, int]]] = {
    "train": (("town_grid", "highway"), {"short": 12, "long": 6}),
    "val": (("town_grid", "highway"), {"short": 6, "long": 3}),
    "test": (("town_suburb",), {"short": 6, "long": 3}),
}


class _Town:
    """One bundled town with what route making needs: planner, start points, lane length."""

    def __init__(self, name: str) -> None:
        loaded = load_map(name)
        self.name = name
        self.carla_map = loaded.carla_map
        self.planner = GlobalRoutePlanner(self.carla_map, HOP_M)
        points = [w for w in self.carla_map.generate_waypoints(2.0)
                  if not w.is_junction and w.lane_type == carla.LaneType.Driving and _finite(w)]
        self.starts = sorted(points, key=lambda w: (w.road_id, w.section_id, w.lane_id, round(w.s, 3)))
        self.lane_km = len(self.carla_map.generate_waypoints(HOP_M)) * HOP_M / 1000.0
        self.has_sidewalks = re.search(r"type=[\"']sidewalk[\"']", loaded.xodr_text) is not None


def _finite(wp: carla.Waypoint) -> bool:
    loc = wp.transform.location
    return all(math.isfinite(v) for v in (loc.x, loc.y, loc.z))


def _drive(town: _Town, rng: random.Random, target_m: float) -> list[carla.Waypoint] | None:
    """Random drive (1 m steps) from a random start; None if it gets stuck before `target_m`."""
    wp = rng.choice(town.starts)
    visited = {(wp.road_id, wp.section_id, wp.lane_id)}
    trail, length = [wp], 0.0
    while length < target_m:
        options = [w for w in wp.next(HOP_M) if (w.road_id, w.section_id, w.lane_id) not in visited
                   or (w.road_id, w.section_id, w.lane_id) == (wp.road_id, wp.section_id, wp.lane_id)]
        if not options:
            return None
        nxt = rng.choice(sorted(options, key=lambda w: (w.road_id, w.lane_id)))
        visited.add((nxt.road_id, nxt.section_id, nxt.lane_id))
        if _finite(nxt):
            length += trail[-1].transform.location.distance(nxt.transform.location)
            trail.append(nxt)
        wp = nxt
    while trail[-1].is_junction and len(trail) > 1:
        trail.pop()
    return trail


def _keypoints(trail: list[carla.Waypoint], rng: random.Random) -> list[carla.Waypoint]:
    """Trail points every 50-100 m (outside junctions), first and last included."""
    keys = [trail[0]]
    gap = rng.uniform(*KEYPOINT_SPACING_M)
    since = 0.0
    for prev, wp in zip(trail[:-2], trail[1:-1]):
        since += prev.transform.location.distance(wp.transform.location)
        if since >= gap and not wp.is_junction:
            keys.append(wp)
            since, gap = 0.0, rng.uniform(*KEYPOINT_SPACING_M)
    if since < 20.0 and len(keys) > 1:
        keys.pop()  # keep the last keypoint clear of the end point
    keys.append(trail[-1])
    return keys


def _far_from(loc: carla.Location, used: list[carla.Location]) -> bool:
    return all(loc.distance(u) >= MIN_SEPARATION_M for u in used)


def make_route(town: _Town, kind: Kind, rng: random.Random, route_id: str, weather: str,
               used_starts: list[carla.Location], used_ends: list[carla.Location],
               attempts: int = 400) -> RouteConfig:
    """One route of `kind` on `town` whose start and end are clear of the used ones."""
    for _ in range(attempts):
        trail = _drive(town, rng, rng.uniform(*kind.target_m))
        if trail is None:
            continue
        keys = _keypoints(trail, rng)
        start, end = keys[0].transform.location, keys[-1].transform.location
        if not (_far_from(start, used_starts) and _far_from(end, used_ends)):
            continue
        locations = [k.transform.location for k in keys]
        try:
            world, _ = interpolate_trajectory(town.carla_map, locations, HOP_M, planner=town.planner)
        except InputError:
            continue
        if not kind.accept_m[0] <= route_length_m(world) <= kind.accept_m[1]:
            continue
        used_starts.append(start)
        used_ends.append(end)
        return RouteConfig(
            route_id=route_id, town=town.name, keypoints=tuple(locations),
            keypoint_yaws_deg=tuple(round(k.transform.rotation.yaw, 3) for k in keys),
            weather=getattr(carla.WeatherParameters, weather), weather_name=weather,
            n_vehicles=round(town.lane_km * rng.uniform(*VEHICLES_PER_KM)),
            n_walkers=round(town.lane_km * rng.uniform(*WALKERS_PER_KM)) if town.has_sidewalks else 0)
    raise InputError(f"make_routes: could not make a {kind.name} route on {town.name!r} in {attempts} attempts")


def _split_towns(preferred: tuple[str, ...], available: list[str]) -> list[str]:
    chosen = [t for t in preferred if t in available]
    return chosen or list(available)


def make_all(seed: int = 0) -> dict[str, list[RouteConfig]]:
    """All route sets, keyed by file stem (e.g. 'routes_train_short')."""
    available = available_maps()
    if not available:
        raise InputError("make_routes: no bundled maps found (run python -m driving.sim.maps.generator)")
    towns: dict[str, _Town] = {}
    used_starts: list[carla.Location] = []
    used_ends: list[carla.Location] = []
    sets: dict[str, list[RouteConfig]] = {}
    for split, (preferred, counts) in SPLITS.items():
        names = _split_towns(preferred, available)
        for kind in (SHORT, LONG):
            rng = random.Random(zlib.crc32(f"{seed}/{split}/{kind.name}".encode()))
            routes = []
            for i in range(counts[kind.name]):
                name = names[i % len(names)]
                if name not in towns:
                    towns[name] = _Town(name)
                town = towns[name]
                weather = WEATHERS[i % len(WEATHERS)] if split == "test" else rng.choice(WEATHERS)
                routes.append(make_route(town, kind, rng, str(i), weather, used_starts, used_ends))
            sets[f"routes_{split}_{kind.name}"] = routes
    return sets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output folder (default: leaderboard/data)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    planners: dict[str, GlobalRoutePlanner] = {}
    try:
        for stem, routes in make_all(args.seed).items():
            path = args.out / f"{stem}.xml"
            write_routes_file(path, routes)
            lengths = []
            for r in routes:
                carla_map = load_map(r.town).carla_map
                if r.town not in planners:
                    planners[r.town] = GlobalRoutePlanner(carla_map, HOP_M)
                world, _ = interpolate_trajectory(carla_map, list(r.keypoints), HOP_M, planner=planners[r.town])
                lengths.append(route_length_m(world))
            print(f"{path}: {len(routes)} routes, towns {sorted({r.town for r in routes})}, "
                  f"length {min(lengths):.0f}-{max(lengths):.0f} m")
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
