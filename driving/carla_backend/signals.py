"""Traffic lights and stop signs of a server world as the seam's `TrafficLightInfo`/`StopSignInfo`.

A light's trigger volume is a box relative to the light actor (`trigger_volume`); the records
carry it in world coordinates (centre and half sizes, metres). Lights know their stop waypoints
(`get_stop_waypoints()`); stop signs do not, so theirs are the driving lanes of the sign's
direction whose centre line passes through the trigger box, taken at the box (what the
official stop-sign criterion checks against), computed from the `carla.Map` alone.
"""

from __future__ import annotations

import math
from typing import Any

import carla

from driving.errors import InputError, WorldError
from driving.world import StopSignInfo, TrafficLightInfo

#: Metres added around a trigger box when deciding which lanes pass through it.
TRIGGER_MARGIN_M = 0.5
#: Lanes to look at on each side of the lane under a trigger box.
MAX_NEIGHBOUR_LANES = 6


def trigger_volume_in_world(
    actor_transform: carla.Transform, trigger: carla.BoundingBox
) -> tuple[carla.Location, carla.Vector3D, float]:
    """(centre in world metres, half sizes, yaw in degrees) of a trigger box given relative to an actor."""
    local = carla.Location(trigger.location.x, trigger.location.y, trigger.location.z)
    centre = actor_transform.transform(local)  # carla transforms its argument in place: pass a copy
    extent = carla.Vector3D(trigger.extent.x, trigger.extent.y, trigger.extent.z)
    return (
        carla.Location(centre.x, centre.y, centre.z),
        extent,
        actor_transform.rotation.yaw + trigger.rotation.yaw,
    )


def inside_box_xy(
    point: carla.Location,
    centre: carla.Location,
    extent: carla.Vector3D,
    yaw_deg: float,
    margin_m: float = TRIGGER_MARGIN_M,
) -> bool:
    """Whether `point` lies inside the box's ground footprint grown by `margin_m` (metres)."""
    dx, dy = point.x - centre.x, point.y - centre.y
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    along, across = dx * c + dy * s, -dx * s + dy * c
    return abs(along) <= extent.x + margin_m and abs(across) <= extent.y + margin_m


def lanes_through_box(
    carla_map: carla.Map, centre: carla.Location, extent: carla.Vector3D, yaw_deg: float
) -> tuple[carla.Waypoint, ...]:
    """Driving-lane waypoints at the box, one per lane of the box's lane direction crossing it."""
    start = carla_map.get_waypoint(centre, project_to_road=True, lane_type=carla.LaneType.Driving)
    if start is None or not inside_box_xy(
        start.transform.location, centre, extent, yaw_deg, TRIGGER_MARGIN_M + max(extent.x, extent.y)
    ):
        return ()
    found = [start]
    for side in ("get_left_lane", "get_right_lane"):
        wp = start
        for _ in range(MAX_NEIGHBOUR_LANES):
            wp = getattr(wp, side)()
            if wp is None or wp.lane_type != carla.LaneType.Driving or wp.lane_id * start.lane_id <= 0:
                break
            if inside_box_xy(wp.transform.location, centre, extent, yaw_deg):
                found.append(wp)
    return tuple(sorted(found, key=lambda w: abs(w.lane_id)))


def traffic_light_info(light: Any) -> TrafficLightInfo:
    """The record of one `carla.TrafficLight` actor (group id = smallest actor id of its group)."""
    transform = light.get_transform()
    centre, extent, _ = trigger_volume_in_world(transform, light.trigger_volume)
    group = [tl.id for tl in light.get_group_traffic_lights()] or [light.id]
    return TrafficLightInfo(
        id=light.id,
        transform=transform,
        group_id=min(group),
        stop_waypoints=tuple(light.get_stop_waypoints()),
        trigger_location=centre,
        trigger_extent=extent,
        opendrive_id=str(light.get_opendrive_id()),
    )


def stop_sign_info(sign: Any, carla_map: carla.Map) -> StopSignInfo:
    """The record of one `traffic.stop` actor, its stop waypoints found on `carla_map`."""
    transform = sign.get_transform()
    centre, extent, yaw = trigger_volume_in_world(transform, sign.trigger_volume)
    lanes = lanes_through_box(carla_map, centre, extent, yaw)
    return StopSignInfo(
        id=sign.id, transform=transform, stop_waypoints=lanes, trigger_location=centre, trigger_extent=extent
    )


class ServerSignals:
    """The lights and stop signs of one loaded server world (records built once, states live)."""

    def __init__(self, world: Any, carla_map: carla.Map) -> None:
        self._world = world
        self._map = carla_map
        self._lights = {tl.id: tl for tl in world.get_actors().filter("traffic.traffic_light*")}
        self._light_infos: list[TrafficLightInfo] | None = None
        self._stop_signs: list[StopSignInfo] | None = None

    def light(self, light_id: int) -> Any:
        """The `carla.TrafficLight` with this id; WorldError for an unknown id."""
        try:
            return self._lights[light_id]
        except (KeyError, TypeError):
            raise WorldError(f"unknown traffic light id {light_id!r}") from None

    def traffic_lights(self) -> list[TrafficLightInfo]:
        if self._light_infos is None:
            self._light_infos = [traffic_light_info(tl) for tl in self._lights.values()]
        return list(self._light_infos)

    def stop_signs(self) -> list[StopSignInfo]:
        if self._stop_signs is None:
            self._stop_signs = [
                stop_sign_info(s, self._map) for s in self._world.get_actors().filter("traffic.stop")
            ]
        return list(self._stop_signs)

    def set_state(self, light_id: int, state: carla.TrafficLightState, freeze: bool) -> None:
        """Force a light's state; `freeze` stops its cycle, otherwise it cycles on from there."""
        light = self.light(light_id)
        if not isinstance(state, carla.TrafficLightState):
            raise InputError(f"set_traffic_light_state: expected a carla.TrafficLightState, got {state!r}")
        light.set_state(state)
        light.freeze(bool(freeze))

    def states(self) -> dict[int, carla.TrafficLightState]:
        return {i: tl.get_state() for i, tl in self._lights.items()}
