"""`driving sim snapshot`: every image sensor of a standard rig saved as PNG, for a person to look at.

The rig is LeTFuser's (three 320x160 fov-60 cameras at x=1.3 m, z=2.3 m, yaw -60/0/+60, each as RGB,
depth and semantic) plus one 960x480 front RGB camera, on an ego vehicle in an `EmbeddedWorld`
with traffic and pedestrians. Depth is saved with CARLA's logarithmic grey scale and semantics with
the CityScapes palette; `rig.png` stacks the three cameras (RGB / depth / semantic rows).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from driving.atomic_io import atomic_write_bytes
from driving.errors import InputError

RIG_YAWS_DEG = (-60.0, 0.0, 60.0)
RIG_MOUNT = {"x": 1.3, "y": 0.0, "z": 2.3, "roll": 0.0, "pitch": 0.0}
NEARBY_VEHICLES = 12
NEARBY_WALKERS = 16
WARMUP_TICKS = 30


def standard_rig() -> list[dict]:
    """Spec dicts of the snapshot rig (leaderboard `sensors()` format)."""
    specs = []
    for name, yaw in zip(("left", "front", "right"), RIG_YAWS_DEG):
        for kind, suffix in (("rgb", "rgb"), ("depth", "depth"), ("semantic_segmentation", "semantic")):
            specs.append({"type": f"sensor.camera.{kind}", "id": f"{suffix}_{name}", **RIG_MOUNT, "yaw": yaw,
                          "width": 320, "height": 160, "fov": 60.0})
    specs.append({"type": "sensor.camera.rgb", "id": "rgb_front_960", **RIG_MOUNT, "yaw": 0.0, "width": 960,
                  "height": 480, "fov": 60.0})
    return specs


def _write_png(path: Path, bgr: np.ndarray) -> Path:
    import cv2

    ok, data = cv2.imencode(".png", bgr)
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    return atomic_write_bytes(path, data.tobytes())


def _viewable(sensor_type: str, data: np.ndarray) -> np.ndarray:
    from driving.image_codecs import colorize_depth_log_bgr, colorize_semantic_bgr

    if sensor_type.endswith("depth"):
        return colorize_depth_log_bgr(data)
    if sensor_type.endswith("semantic_segmentation"):
        return colorize_semantic_bgr(data)
    return np.ascontiguousarray(data[..., :3])


def _pick_ego(world, rng: np.random.Generator):
    """A spawn point 25-60 m before a junction (so signals and crossings are in view)."""
    carla_map = world.get_map()
    points = world.get_spawn_points()
    good = []
    for p in points:
        wp = carla_map.get_waypoint(p.location)
        ahead = [wp.next(d) for d in (25.0, 40.0, 60.0)]
        if any(nxt and nxt[0].is_junction for nxt in ahead) and not any(nxt and nxt[0].is_junction for nxt in
                                                                       [wp.next(15.0)]):
            good.append(p)
    pool = good or points
    if not pool:
        raise InputError("snapshot: the map has no spawn points on driving lanes")
    return pool[int(rng.integers(len(pool)))]


def _populate(world, ego_transform, rng: np.random.Generator) -> None:
    """Vehicles on spawn points near the ego, walkers on nearby sidewalks, then background traffic."""
    import carla

    from driving.errors import WorldError

    loc = ego_transform.location
    near = sorted(world.get_spawn_points(), key=lambda p: p.location.distance(loc))
    placed = 0
    for p in near[1:]:
        if placed >= NEARBY_VEHICLES or p.location.distance(loc) > 120.0:
            break
        if p.location.distance(loc) < 9.0:
            continue
        try:
            world.spawn_vehicle(p, _traffic_type(rng), "npc", autopilot=True)
            placed += 1
        except WorldError:
            continue
    paths = world.layout.sidewalk_paths
    pts = np.concatenate(paths) if paths else np.zeros((0, 2))
    close = pts[np.hypot(pts[:, 0] - loc.x, pts[:, 1] - loc.y) < 70.0] if len(pts) else pts
    for k in rng.permutation(len(close))[:NEARBY_WALKERS * 3]:
        if NEARBY_WALKERS <= 0:
            break
        x, y = close[int(k)]
        try:
            world.spawn_walker(carla.Transform(carla.Location(float(x), float(y), 0.15)))
        except WorldError:
            continue
    world.spawn_traffic(30, 30, seed=int(rng.integers(1 << 30)))


def _traffic_type(rng: np.random.Generator) -> str:
    from driving.sim import blueprints

    return blueprints.pick_traffic_type(rng)


def render_rig(map_name_or_path: str, weather_name: str = "ClearNoon", seed: int = 0,
               specs: list[dict] | None = None) -> dict[str, np.ndarray]:
    """Render `specs` (default the standard rig) once near a junction with traffic; id -> sensor data.

    Data are in the leaderboard's formats (BGRA uint8 for every camera, CARLA-encoded depth).
    """
    import carla

    from driving.sim.embedded_world import EmbeddedWorld
    from driving.sim.weather import get_weather
    from driving.world import SensorSpec

    weather = get_weather(weather_name)
    rng = np.random.default_rng([seed, 77])
    specs = standard_rig() if specs is None else specs
    with EmbeddedWorld() as world:
        world.load_map(str(map_name_or_path), seed=seed)
        world.set_weather(weather)
        ego_tf = _pick_ego(world, rng)
        ego = world.spawn_vehicle(ego_tf, "vehicle.car", "hero", autopilot=False)
        _populate(world, ego_tf, rng)
        for _ in range(WARMUP_TICKS):
            world.apply_control(ego, carla.VehicleControl(throttle=0.0, brake=1.0))
            world.tick()
        for spec in specs:
            world.attach_sensor(SensorSpec.from_dict(spec), ego)
        return {sensor_id: data for sensor_id, (_frame, data) in world.read_sensors().items()}


def snapshot(map_name_or_path: str, weather_name: str, out_dir: str | Path, seed: int = 0) -> list[Path]:
    """Render the standard rig once on `map_name_or_path` in weather `weather_name`; returns the PNGs."""
    from driving.sim.weather import get_weather

    get_weather(weather_name)  # a bad name fails before the output folder is made
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot create directory ({exc.strerror})") from None
    specs = standard_rig()
    data = render_rig(map_name_or_path, weather_name, seed, specs)
    paths = []
    for spec in specs:
        img = _viewable(spec["type"], data[spec["id"]])
        paths.append(_write_png(out / f"{spec['id']}.png", img))
    rows = []
    for prefix, kind in (("rgb", "sensor.camera.rgb"), ("depth", "sensor.camera.depth"),
                         ("semantic", "sensor.camera.semantic_segmentation")):
        rows.append(np.concatenate([_viewable(kind, data[f"{prefix}_{n}"]) for n in ("left", "front", "right")], 1))
    paths.append(_write_png(out / "rig.png", np.concatenate(rows, 0)))
    return paths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--map", default="town_grid", help="bundled map name or .xodr path (default town_grid)")
    parser.add_argument("--weather", default="ClearNoon", help="carla.WeatherParameters preset name")
    parser.add_argument("--out", required=True, help="directory for the PNG files")
    parser.add_argument("--seed", type=int, default=0, help="map/layout/traffic seed (default 0)")


def run(args: argparse.Namespace) -> int:
    for path in snapshot(args.map, args.weather, args.out, seed=args.seed):
        print(path)
    return 0
