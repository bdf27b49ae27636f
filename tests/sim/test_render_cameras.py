"""Cameras through SensorSuite: CARLA formats, known geometry, alignment, determinism, weather."""
from __future__ import annotations

import math

import carla
import numpy as np
import pytest
import shapely

from driving.errors import InputError
from driving.image_codecs import decode_depth_m, tags_from_semantic
from driving.sim.maps import load_map
from driving.sim.render.camera import CameraView
from driving.sim.scene import Layout, StaticObject, Surface
from driving.sim.sensors import SensorSuite
from driving.sim.weather import get_weather, weather_presets
from driving.tags import Tag
from driving.world import ActorKind, ActorState, SensorSpec

EGO = 1
CAM_Z = 1.5


def _actor(actor_id: int, x: float, y: float = 0.0, yaw: float = 0.0, type_id: str = "vehicle.car",
           extent=(2.2, 0.9, 0.75), speed: float = 0.0, tag: Tag = Tag.VEHICLES) -> ActorState:
    rad = math.radians(yaw)
    return ActorState(id=actor_id, kind=ActorKind.VEHICLE, type_id=type_id, role_name="npc",
                      transform=carla.Transform(carla.Location(x, y, 0.0), carla.Rotation(yaw=yaw)),
                      velocity=carla.Vector3D(speed * math.cos(rad), speed * math.sin(rad), 0.0),
                      angular_velocity_dps=0.0, speed_mps=speed, extent=carla.Vector3D(*extent), tag=tag,
                      color_rgb=(200, 30, 30))


def _layout(objects=()) -> Layout:
    ground = Surface("road", Tag.ROAD, shapely.box(-200, -200, 400, 200), 0.0, (80, 80, 80))
    return Layout(map_name="test", seed=0, surfaces=[ground], objects=list(objects),
                  bounds=(-200.0, -200.0, 400.0, 200.0))


def _cams(width=320, height=160, fov=60.0, types=("rgb", "depth", "semantic_segmentation")) -> list[SensorSpec]:
    return [SensorSpec(type=f"sensor.camera.{t}", id=f"cam_{t}", x=0.0, z=CAM_Z, width=width, height=height,
                       fov=fov) for t in types]


def _read(layout, actors, specs, weather="ClearNoon", light_states=None, seed=0):
    with SensorSuite(load_map("town_grid"), layout, None, seed) as suite:
        for spec in specs:
            suite.attach(spec, EGO)
        return suite.read(7, 0.35, {a.id: a for a in actors}, light_states or {}, get_weather(weather))


def test_formats_and_pixel_alignment():
    ego, car = _actor(EGO, 0.0), _actor(2, 20.0, 1.0, yaw=30.0)
    out = _read(_layout(), [ego, car], _cams())
    assert set(out) == {"cam_rgb", "cam_depth", "cam_semantic_segmentation"}
    for frame, img in out.values():
        assert frame == 7 and img.dtype == np.uint8 and img.shape == (160, 320, 4)
    tags = tags_from_semantic(out["cam_semantic_segmentation"][1])
    depth = decode_depth_m(out["cam_depth"][1])
    vehicle = tags == Tag.VEHICLES
    assert vehicle.sum() > 200
    # Every vehicle pixel has the depth of that car: within its bounding circle around 20 m.
    reach = math.hypot(2.2, 0.9) + 0.1
    assert np.all(np.abs(depth[vehicle] - 20.0) <= reach)
    assert np.all(depth[~vehicle & (tags == Tag.ROAD)] > 0)
    assert set(np.unique(tags)) <= {int(Tag.ROAD), int(Tag.VEHICLES), int(Tag.SKY), int(Tag.TERRAIN)}
    assert np.all(depth[tags == Tag.SKY] >= 999.0)
    assert np.all(out["cam_semantic_segmentation"][1][..., :2] == 0)


def test_box_known_size_decodes_depth_and_projects_to_pixels():
    box = StaticObject("building", Tag.BUILDING, (30.0, 0.0, 3.0), (1.0, 2.0, 3.0), 0.0, (150, 150, 150))
    out = _read(_layout([box]), [_actor(EGO, 0.0)], _cams())
    depth = decode_depth_m(out["cam_depth"][1])
    tags = tags_from_semantic(out["cam_semantic_segmentation"][1])
    assert abs(depth[80, 160] - 29.0) / 29.0 < 0.01
    # CARLA intrinsics: f = W / (2 tan(fov/2)); the front face spans y in [-2, 2], z in [0, 6].
    f = 320 / (2 * math.tan(math.radians(30)))
    u0, u1 = 160 - f * 2 / 29, 160 + f * 2 / 29
    v0, v1 = 80 - f * (6 - CAM_Z) / 29, 80 + f * CAM_Z / 29
    cols = np.flatnonzero((tags == Tag.BUILDING).any(axis=0))
    rows = np.flatnonzero((tags == Tag.BUILDING).any(axis=1))
    assert abs(cols[0] - u0) <= 1.0 and abs(cols[-1] + 1 - u1) <= 1.0
    assert abs(rows[0] - v0) <= 1.0 and abs(rows[-1] + 1 - v1) <= 1.0


def test_traffic_light_50m_ahead_is_visible_and_lit():
    head = StaticObject("traffic_light", Tag.TRAFFIC_LIGHT, (50.0, 0.0, 3.0), (0.15, 0.2, 0.45), 180.0,
                        (30, 30, 30), light_id=4)
    red = _read(_layout([head]), [_actor(EGO, 0.0)], _cams(), light_states={4: carla.TrafficLightState.Red})
    tags = tags_from_semantic(red["cam_semantic_segmentation"][1])
    assert (tags == Tag.TRAFFIC_LIGHT).sum() >= 4
    green = _read(_layout([head]), [_actor(EGO, 0.0)], _cams(), light_states={4: carla.TrafficLightState.Green})
    mask = tags == Tag.TRAFFIC_LIGHT
    bgr_red, bgr_green = red["cam_rgb"][1][mask].astype(int), green["cam_rgb"][1][mask].astype(int)
    assert bgr_red[:, 2].max() > 200 and bgr_green[:, 1].max() > 200
    assert bgr_red[:, 2].max() > bgr_green[:, 2].max() + 80


def test_same_seed_gives_identical_images():
    actors = [_actor(EGO, 0.0), _actor(2, 15.0, -3.0, type_id="walker.pedestrian", extent=(0.3, 0.3, 0.9),
                                       tag=Tag.PEDESTRIAN)]
    a = _read(_layout(), actors, _cams(), weather="HardRainNoon")
    b = _read(_layout(), actors, _cams(), weather="HardRainNoon")
    for key in a:
        assert np.array_equal(a[key][1], b[key][1])


def test_weather_changes_rgb_only():
    actors = [_actor(EGO, 0.0), _actor(2, 20.0)]
    noon = _read(_layout(), actors, _cams(), weather="ClearNoon")
    night = _read(_layout(), actors, _cams(), weather="HardRainNight")
    assert np.abs(noon["cam_rgb"][1].astype(int) - night["cam_rgb"][1].astype(int)).mean() > 20
    assert np.array_equal(noon["cam_depth"][1], night["cam_depth"][1])
    assert np.array_equal(noon["cam_semantic_segmentation"][1], night["cam_semantic_segmentation"][1])


def test_every_weather_preset_renders():
    presets = weather_presets()
    assert len(presets) >= 23 and {"ClearNoon", "HardRainNight", "DustStorm"} <= set(presets)
    means = {}
    with SensorSuite(load_map("town_grid"), _layout(), None, 0) as suite:
        suite.attach(SensorSpec(type="sensor.camera.rgb", id="rgb", z=CAM_Z, width=64, height=32), EGO)
        for name, weather in presets.items():
            img = suite.read(0, 0.0, {EGO: _actor(EGO, 0.0)}, {}, weather)["rgb"][1]
            means[name] = img[..., :3].mean()
    assert means["ClearNoon"] > means["ClearNight"] + 30


def test_bad_specs_raise_input_error_naming_sensor():
    with SensorSuite(load_map("town_grid"), _layout(), None, 0) as suite:
        with pytest.raises(InputError, match="'x1'.*unknown type"):
            suite.attach(SensorSpec(type="sensor.camera.thermal", id="x1"), EGO)
        with pytest.raises(InputError, match="'c2'.*fov"):
            suite.attach(SensorSpec(type="sensor.camera.rgb", id="c2", fov=0.0), EGO)
        with pytest.raises(InputError, match="'c3'.*bogus"):
            suite.attach(SensorSpec(type="sensor.camera.rgb", id="c3", attributes={"bogus": 1}), EGO)
        suite.attach(SensorSpec(type="sensor.camera.rgb", id="c4"), EGO)
        with pytest.raises(InputError, match="'c4'.*already"):
            suite.attach(SensorSpec(type="sensor.camera.depth", id="c4"), EGO)
        suite.detach(EGO)
        assert suite.sensor_ids == []


def test_intrinsics_match_carla():
    view = CameraView(np.eye(4), 320, 160, 60.0)
    k = view.intrinsics()
    assert k[0, 0] == pytest.approx(320 / (2 * math.tan(math.radians(30))))
    assert (k[0, 2], k[1, 2]) == (160.0, 80.0)
    uv, depth = view.project(np.array([[10.0, 1.0, -0.5]]))
    assert uv[0, 0] == pytest.approx(160 + k[0, 0] * 0.1) and uv[0, 1] == pytest.approx(80 + k[0, 0] * 0.05)
    assert depth[0] == pytest.approx(10.0)
