"""Renderer internals: pose matrices as CARLA's, face winding under culling, mesh tiling, actors."""
from __future__ import annotations

import itertools
import math

import carla
import numpy as np
import shapely

from driving.sim.render import CameraView, Renderer, ViewRequest, lighting_from_weather
from driving.sim.render.actors import instance_records
from driving.sim.render.geometry import polygon_triangles, polygon_walls, pose_matrix, transform_matrix
from driving.sim.render.mesh import build_static_mesh
from driving.sim.render.synthetic import synthetic_town
from driving.tags import Tag
from driving.world import ActorKind, ActorState


def test_pose_matrix_matches_carla():
    t = carla.Transform(carla.Location(1, 2, 3), carla.Rotation(pitch=10, yaw=30, roll=20))
    assert np.allclose(transform_matrix(t), np.array(t.get_matrix()), atol=1e-6)


def test_triangulation_faces_up_and_kerb_faces_out():
    poly = shapely.box(0, 0, 10, 5).difference(shapely.box(2, 2, 3, 3))
    tris = polygon_triangles(poly, 0.15)
    normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    assert np.all(normals[:, 2] > 0)
    assert np.isclose(np.abs(normals[:, 2]).sum() / 2, poly.area, rtol=1e-4)
    walls, outward = polygon_walls(poly, 0.15)
    centers = walls.mean(axis=1)[:, :2]
    probe = shapely.points(centers + outward[:, :2] * 0.05)
    assert not np.any(shapely.contains(poly, probe))


def test_mesh_tiles_cover_every_triangle_once():
    mesh = build_static_mesh(synthetic_town(n_blocks=2))
    spans = sorted((t.first, t.count) for t in mesh.tiles)
    assert spans[0][0] == 0 and sum(c for _, c in spans) == len(mesh.vertices)
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(spans))
    assert mesh.light_slots  # traffic lights got lamp slots


def test_back_face_culling_keeps_every_visible_surface():
    layout = synthetic_town(n_blocks=2)
    renderer = Renderer(layout)
    try:
        ego = pose_matrix(130.0, 103.5, 0.0, 0.0, 0.0, 180.0)
        requests = [ViewRequest(CameraView(ego @ pose_matrix(1.3, 0, 2.3, 0, 0, yaw), 160, 80, 60.0), rgb=False,
                                semantic=True) for yaw in (-60, 0, 60)]
        light = lighting_from_weather(carla.WeatherParameters.ClearNoon)
        culled = renderer.render(requests, [], {}, light)
        renderer.cull_faces = False
        full = renderer.render(requests, [], {}, light)
        total = np.zeros(23, np.int64)
        for a, b in zip(culled, full):
            ha, hb = np.bincount(a.tags.ravel(), minlength=23), np.bincount(b.tags.ravel(), minlength=23)
            assert np.abs(ha - hb).sum() <= 0.002 * a.tags.size
            total += ha
        assert total[Tag.BUILDING] > 0 and total[Tag.ROAD] > 0 and total[Tag.SIDEWALK] > 0
    finally:
        renderer.release()


def test_actor_instances_use_carla_rotation():
    tf = carla.Transform(carla.Location(5, -3, 0.2), carla.Rotation(pitch=5, yaw=-120, roll=2))
    actor = ActorState(id=9, kind=ActorKind.VEHICLE, type_id="vehicle.van", role_name="npc", transform=tf,
                       velocity=carla.Vector3D(), angular_velocity_dps=0.0, speed_mps=0.0,
                       extent=carla.Vector3D(2.5, 1.0, 1.1), tag=Tag.VEHICLES, color_rgb=(10, 20, 30))
    rec, ids = instance_records([actor])["van"]
    m = np.array(tf.get_matrix())
    assert ids.tolist() == [9] and rec["tag"][0] == Tag.VEHICLES and rec["color"][0, :3].tolist() == [10, 20, 30]
    assert np.allclose(rec["ax"][0], m[:3, 0] * 2.5, atol=1e-5) and np.allclose(rec["az"][0], m[:3, 2] * 1.1, atol=1e-5)
    assert np.allclose(rec["origin"][0], [5, -3, 0.2]) and math.isclose(np.linalg.norm(rec["ay"][0]), 1.0, rel_tol=1e-5)
