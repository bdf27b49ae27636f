"""Helpers shared by the leaderboard tests: real town_grid map, real routes, ActorState builders."""
from __future__ import annotations

import math

import carla

from driving.sim.maps import load_map
from driving.tags import Tag
from driving.world import ActorKind, ActorState


def town_grid() -> carla.Map:
    return load_map("town_grid").carla_map


def straight_waypoint(carla_map: carla.Map, length_m: float = 40.0) -> carla.Waypoint:
    """A driving-lane waypoint with `length_m` of lane ahead that stays outside junctions."""
    for wp in carla_map.generate_waypoints(2.0):
        if wp.is_junction or wp.lane_type != carla.LaneType.Driving:
            continue
        ahead, ok = wp, True
        for _ in range(int(length_m)):
            nxt = ahead.next(1.0)
            if not nxt or nxt[0].is_junction or nxt[0].road_id != wp.road_id:
                ok = False
                break
            ahead = nxt[0]
        if ok:
            return wp
    raise AssertionError("town_grid has no straight stretch")


def lane_points(start: carla.Waypoint, n: int, step_m: float = 1.0) -> list[carla.Transform]:
    out, wp = [start.transform], start
    for _ in range(n - 1):
        wp = wp.next(step_m)[0]
        out.append(wp.transform)
    return out


def ego(transform: carla.Transform, speed_mps: float = 5.0, actor_id: int = 1) -> ActorState:
    yaw = math.radians(transform.rotation.yaw)
    v = carla.Vector3D(speed_mps * math.cos(yaw), speed_mps * math.sin(yaw), 0.0)
    return ActorState(id=actor_id, kind=ActorKind.VEHICLE, type_id="vehicle.car", role_name="hero",
                      transform=transform, velocity=v, angular_velocity_dps=0.0, speed_mps=speed_mps,
                      extent=carla.Vector3D(2.4, 1.0, 0.8), tag=Tag.VEHICLES)


def offset(t: carla.Transform, lateral_m: float = 0.0, forward_m: float = 0.0,
           yaw_deg: float | None = None) -> carla.Transform:
    """`t` moved right by `lateral_m` and ahead by `forward_m` (its own frame)."""
    f, r = t.get_forward_vector(), t.get_right_vector()
    loc = carla.Location(t.location.x + f.x * forward_m + r.x * lateral_m,
                         t.location.y + f.y * forward_m + r.y * lateral_m, t.location.z)
    return carla.Transform(loc, carla.Rotation(yaw=t.rotation.yaw if yaw_deg is None else yaw_deg))
