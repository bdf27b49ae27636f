"""TransFuser 2022 route folders: detected per folder without a manifest, positions converted from
its GPS frame to CARLA world, waypoints from the next frames' positions (its forecast ignored),
R/B-swapped depth decoded right, light-state tags 23/24 read as TrafficLight, and an unknown or
ambiguous folder refused naming it. The folders are written here the way its data agent writes them."""
from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from driving.collect.dataset import DatasetConfig, LeTFuserDataset
from driving.collect.layout import RouteMeta, route_dir
from driving.collect.letfuser_reader import LeTFuserRouteReader
from driving.collect.route_reader import check_frame_interval, classify, discover_routes, open_route
from driving.collect.transfuser_layout import TransFuser2022RouteReader, gps_frame_to_world, town_from_path
from driving.collect.writer import RouteWriter, synthetic_frames
from driving.errors import InputError
from driving.image_codecs import encode_depth_bgra
from driving.tags import Tag

TINY = DatasetConfig(input_height=64, input_width=320, crop_fraction=320 / 384)
H, W = 160, 960
EARTH_R = 6378137.0


def world_to_transfuser(x: float, y: float) -> tuple[float, float]:
    """CARLA's GNSS at lat_ref = lon_ref = 0 (leaderboard `_location_to_gps`), then TransFuser's
    `_get_position`: (lat, lon) x RoutePlanner.scale. Written independently of the reader."""
    lon = x * 180.0 / (math.pi * EARTH_R)
    lat = 360.0 * math.atan(math.exp(-y / EARTH_R)) / math.pi - 90.0
    return lat * 111324.60662786, lon * 111319.490945


def _depth_m(k: int) -> np.ndarray:
    """A known depth per pixel: grows with the column, distinct per frame, from 0.5 m to 900 m."""
    cols = np.linspace(0.5, 900.0, W)[None, :]
    return np.broadcast_to(cols + k, (H, W)).astype(np.float64)


def _tags(k: int) -> np.ndarray:
    tags = np.full((H, W), int(Tag.ROAD), np.uint8)
    tags[:40] = int(Tag.SKY)
    tags[50:60, 400:420] = int(Tag.TRAFFIC_LIGHT)  # a green light stays 18
    tags[50:60, 470:490] = 23  # the ego's light when red
    tags[50:60, 520:540] = 24  # ... when yellow
    tags[100:120, 300:340] = int(Tag.VEHICLES)
    return tags


def write_transfuser_route(folder: Path, world_xy: list[tuple[float, float]], theta: float,
                           target_world: tuple[float, float], image_frames: int | None = None) -> Path:
    """A route folder as TransFuser 2022's DataAgent + AutoPilot save it (one frame per position)."""
    for d in ("rgb", "depth", "semantics", "lidar", "topdown", "label_raw", "measurements"):
        (folder / d).mkdir(parents=True)
    n_images = len(world_xy) if image_frames is None else image_frames
    tx, ty = world_to_transfuser(*target_world)
    for k, (wx, wy) in enumerate(world_xy):
        x, y = world_to_transfuser(wx, wy)
        m = {"x": x, "y": y, "theta": theta, "speed": 4.0, "target_speed": 4.0, "x_command": tx, "y_command": ty,
             "command": -1 if k == 0 else 3,
             "waypoints": [[999.0, -999.0, 1.0]] * 8,  # the expert's forecast: must not become the labels
             "steer": 0.1, "throttle": 0.5, "brake": k == 1, "junction": False,
             "vehicle_hazard": [False] * 80, "light_hazard": k == 2, "walker_hazard": [False] * 80,
             "stop_sign_hazard": False, "angle": 0.0, "ego_matrix": np.eye(4).tolist()}
        (folder / "measurements" / f"{k:04d}.json").write_text(json.dumps(m, indent=4))
        if k >= n_images:
            continue  # measurements are saved before the sensors: a cut-short route ends like this
        rgb = np.zeros((H, W, 3), np.uint8)
        rgb[..., 0], rgb[..., 2] = 200, 10  # blue-ish in BGR, as cv2.imwrite of the RGB2BGR array
        cv2.imwrite(str(folder / "rgb" / f"{k:04d}.png"), rgb)
        carla_bgr = encode_depth_bgra(_depth_m(k))[..., :3]
        cv2.imwrite(str(folder / "depth" / f"{k:04d}.png"), cv2.cvtColor(carla_bgr, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(folder / "semantics" / f"{k:04d}.png"), _tags(k))
        np.save(folder / "lidar" / f"{k:04d}.npy", np.zeros((4, 4)))
    return folder


def _north_route(root: Path, n: int = 6, **kw) -> Path:
    """Ego heading north (world -y, compass 0) at 2 m per frame; target 20 m ahead, 5 m to the right."""
    pts = [(10.0, 50.0 - 2.0 * k) for k in range(n)]
    return write_transfuser_route(root / "routes_town05_long_route0_11_25_10_00_00", pts, 0.0, (15.0, 30.0), **kw)


def test_transfuser_gps_frame_converts_to_carla_world():
    for wx, wy in ((0.0, 0.0), (120.5, -33.2), (-250.0, 340.75), (4000.0, -3000.0)):
        assert np.allclose(gps_frame_to_world(*world_to_transfuser(wx, wy)), (wx, wy), atol=1e-6)
    # Its frame is x = north (-y world), y = east (+x world), scaled by its lat/lon constants.
    x, y = world_to_transfuser(0.0, -100.0)
    assert x == pytest.approx(100.0 * 111324.60662786 / (math.pi * EARTH_R / 180), rel=1e-9) and abs(y) < 1e-9


def test_folder_detected_and_frames_in_world_coordinates(tmp_path):
    route = _north_route(tmp_path)
    assert classify(route) is TransFuser2022RouteReader
    reader = open_route(route)
    assert reader.layout == "transfuser2022" and reader.frame_interval_s == 0.5 and reader.town == "Town05"
    assert reader.frame_indices() == list(range(6))
    f = reader.frame(3)
    assert (f.x, f.y) == pytest.approx((10.0, 44.0), abs=1e-6)
    assert (f.target_x, f.target_y) == pytest.approx((15.0, 30.0), abs=1e-6)
    assert reader.frame(0).command == 4 and reader.frame(1).command == 3  # VOID -1 read as LANEFOLLOW
    assert reader.frame(1).brake == 1.0 and reader.frame(0).brake == 0.0 and reader.frame(2).red_light == 1.0
    # Waypoints are the next frames' positions, not the stored forecast.
    assert np.allclose(reader.future_positions(2, 3), [[10.0, 44.0], [10.0, 42.0], [10.0, 40.0]], atol=1e-6)
    assert len(reader.future_positions(4, 3)) == 1


def test_dataset_labels_images_and_tags(tmp_path):
    route = _north_route(tmp_path)
    ds = LeTFuserDataset(tmp_path, TINY)
    assert len(ds) == 6 - 3 and {s.route for s in ds.samples} == {route}
    s = ds[0]
    # Heading north, 2 m per frame: 2, 4, 6 m straight ahead; target 20 m ahead, 5 m right (east).
    assert np.allclose(s["waypoints"].numpy(), [[2.0, 0.0], [4.0, 0.0], [6.0, 0.0]], atol=1e-3)
    assert np.allclose(s["target_point"].numpy(), [20.0, 5.0], atol=1e-3)
    assert s["command"].argmax().item() == 3  # LANEFOLLOW (4), one-hot index 3

    reader = ds.readers[0]
    depth = reader.read_depth(0)
    assert np.allclose(depth * 1000.0, _depth_m(0), atol=1e-3)  # despite the R/B swap on disk
    raw = cv2.imread(str(route / "depth" / "0000.png"), cv2.IMREAD_COLOR)
    naive = (raw[..., 2] + raw[..., 1] * 256.0 + raw[..., 0] * 65536.0) / (256**3 - 1)
    assert not np.allclose(naive * 1000.0, _depth_m(0), atol=1.0)  # reading it as ours would be wrong
    tags = reader.read_tags(0)
    assert np.all(tags[50:60, 470:490] == Tag.TRAFFIC_LIGHT) and np.all(tags[50:60, 520:540] == Tag.TRAFFIC_LIGHT)
    assert np.all(tags[50:60, 400:420] == Tag.TRAFFIC_LIGHT) and np.all(tags[100:120, 300:340] == Tag.VEHICLES)
    assert tags.max() < 23 and int(s["semantic"].max()) < 23
    assert reader.read_rgb(0)[0, 0].tolist() == [200, 0, 10]

    bad = _tags(0)
    bad[0, 0] = 25
    cv2.imwrite(str(route / "semantics" / "0001.png"), bad)
    with pytest.raises(InputError, match=r"semantics/0001.png.*\[25\]"):
        reader.read_tags(1)


def test_heading_east_waypoints_and_target_in_ego_frame(tmp_path):
    pts = [(100.0 + 3.0 * k, -20.0) for k in range(5)]  # east = world +x, compass pi/2
    route = write_transfuser_route(tmp_path / "Town02" / "r0", pts, math.pi / 2, (100.0, -30.0))
    s = LeTFuserDataset(tmp_path, TINY)[0]
    assert np.allclose(s["waypoints"].numpy(), [[3.0, 0.0], [6.0, 0.0], [9.0, 0.0]], atol=1e-3)
    assert np.allclose(s["target_point"].numpy(), [0.0, -10.0], atol=1e-3)  # north is on the left
    assert open_route(route).town == "Town02"


def test_cut_short_route_drops_imageless_tail_and_gaps_are_named(tmp_path):
    route = _north_route(tmp_path, n=6, image_frames=4)
    reader = open_route(route)
    assert reader.frame_indices() == [0, 1, 2, 3]
    (route / "measurements" / "0002.json").unlink()
    with pytest.raises(InputError, match="measurements/0002.json: missing"):
        TransFuser2022RouteReader(route).frames()


def test_unknown_and_ambiguous_folders_are_one_clear_error(tmp_path):
    unknown = tmp_path / "mystery"
    (unknown / "measurements").mkdir(parents=True)
    (unknown / "rgb").mkdir()
    with pytest.raises(InputError, match=r"mystery: unknown route layout \(holds measurements/, rgb/\)") as err:
        discover_routes(tmp_path)
    assert "TransFuser 2022" in str(err.value) and "manifest.json" in str(err.value) and "\n" not in str(err.value)

    ambiguous = _north_route(tmp_path / "amb")
    (ambiguous / "route_meta.json").write_text("{}")  # our writer started here too
    with pytest.raises(InputError, match=r"routes_town05_long_route0_11_25_10_00_00: ambiguous route folder"):
        classify(ambiguous)


def test_root_mixing_layouts_and_frame_interval_check(tmp_path):
    meta = RouteMeta("no_scenario", "Town01", "ours", 0, "ClearNoon", frame_interval_s=0.25)
    writer = RouteWriter(route_dir(tmp_path, meta), meta)
    for k, frame in enumerate(synthetic_frames(5, frame_interval_s=0.25)):
        writer.write_frame(k, *frame)
    writer.finish()
    tf = _north_route(tmp_path / "tf")
    readers, incomplete = discover_routes(tmp_path)
    assert incomplete == [] and sorted(type(r).__name__ for r in readers) == \
        [LeTFuserRouteReader.__name__, TransFuser2022RouteReader.__name__]
    check_frame_interval([open_route(tf)], 0.5)
    with pytest.raises(InputError, match=r"ours: frames are 0\.25 s apart .* waypoint_interval_s is 0\.5 s"):
        LeTFuserDataset(tmp_path, DatasetConfig(64, 320, 320 / 384, waypoint_interval_s=0.5))


def test_town_from_transfuser_folder_names(tmp_path):
    assert town_from_path(tmp_path / "routes_town10hd_short_route3_01_01_00_00_00") == "Town10HD"
    assert town_from_path(tmp_path / "Town7" / "route_x") == "Town07"
    assert town_from_path(tmp_path / "a" / "b" / "c") == "unknown"
