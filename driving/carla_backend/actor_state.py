"""Server actors -> the seam's `ActorState`, and the straight-line walker steering.

CARLA reports transforms in degrees, velocities in m/s (world) and angular velocity in deg/s,
which is what `ActorState` carries; the forward speed is the velocity projected on the heading
(signed, as the leaderboard's speedometer). A walker's speed is its ground speed.
"""

from __future__ import annotations

import math
from typing import Any

import carla

from driving.carla_backend.blueprints import actor_kind, parse_color
from driving.carla_backend.conversions import forward_speed_mps
from driving.tags import Tag
from driving.world import ActorKind, ActorState


def actor_state(
    actor: Any, type_id: str | None = None, spawn_transform: carla.Transform | None = None
) -> ActorState:
    """State of a vehicle or walker actor after the last tick.

    `type_id` overrides the reported type (the id it was requested with, e.g. "vehicle.car");
    `spawn_transform` stands in for the pose of an actor not simulated yet (spawned since the
    last tick, when the server has no pose for it), with zero velocity.
    """
    kind = actor_kind(actor.type_id)
    if spawn_transform is not None:
        transform, velocity, yaw_rate_dps = spawn_transform, carla.Vector3D(), 0.0
    else:
        transform, velocity = actor.get_transform(), actor.get_velocity()
        yaw_rate_dps = actor.get_angular_velocity().z
    rot = transform.rotation
    if kind == ActorKind.WALKER:
        speed = math.hypot(velocity.x, velocity.y)
    else:
        speed = forward_speed_mps((velocity.x, velocity.y, velocity.z), rot.pitch, rot.yaw)
    attributes = actor.attributes
    extent = actor.bounding_box.extent
    return ActorState(
        id=actor.id,
        kind=kind,
        type_id=type_id or actor.type_id,
        role_name=attributes.get("role_name", ""),
        transform=carla.Transform(
            carla.Location(transform.location.x, transform.location.y, transform.location.z),
            carla.Rotation(pitch=rot.pitch, yaw=rot.yaw, roll=rot.roll),
        ),
        velocity=carla.Vector3D(velocity.x, velocity.y, velocity.z),
        angular_velocity_dps=float(yaw_rate_dps),
        speed_mps=float(speed),
        extent=carla.Vector3D(extent.x, extent.y, extent.z),
        tag=Tag.VEHICLES if kind == ActorKind.VEHICLE else Tag.PEDESTRIAN,
        color_rgb=parse_color(attributes.get("color")),
        control=actor.get_control() if kind == ActorKind.VEHICLE else None,
    )


def walker_control_towards(
    location: carla.Location, target: carla.Location, speed_mps: float, arrived_m: float
) -> tuple[carla.WalkerControl, bool]:
    """The control that walks straight from `location` to `target` (metres), and whether it arrived.

    Within `arrived_m` of the target the walker stops (speed 0).
    """
    dx, dy = target.x - location.x, target.y - location.y
    dist = math.hypot(dx, dy)
    if dist < arrived_m:
        return carla.WalkerControl(speed=0.0), True
    return carla.WalkerControl(
        direction=carla.Vector3D(dx / dist, dy / dist, 0.0), speed=float(speed_mps)
    ), False
