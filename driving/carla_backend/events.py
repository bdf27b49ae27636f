"""Collision, lane-invasion and off-road events of server vehicles as the seam's event records.

CARLA reports collisions and lane crossings through sensors attached to a vehicle
(`sensor.other.collision`, `sensor.other.lane_invasion`); their callbacks run on the client's
network thread, so they only copy plain values into a locked list, and `pop` turns them into
`CollisionEvent`/`LaneInvasionEvent` in frame order. Off-road is ours: one `OffRoadEvent` when a
vehicle's centre leaves every driving lane (`carla.Map.get_waypoint(..., project_to_road=False,
lane_type=Driving)` is None), not every tick while outside, as the embedded world does.
Frames are CARLA's absolute frame numbers minus the frame at map load (the seam counts from 0).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import carla

from driving.carla_backend.blueprints import actor_kind
from driving.world import ActorKind, CollisionEvent, LaneInvasionEvent, OffRoadEvent, WorldEvent

COLLISION_BLUEPRINT = "sensor.other.collision"
LANE_INVASION_BLUEPRINT = "sensor.other.lane_invasion"
#: Type id reported when CARLA gives no other actor for a collision (the map's own geometry).
UNKNOWN_STATIC_TYPE = "static.unknown"


def collision_event(
    frame: int,
    actor_id: int,
    other_id: int | None,
    other_type_id: str | None,
    impulse: carla.Vector3D,
    location: carla.Location,
) -> CollisionEvent:
    """A collision record; the other actor's kind comes from its CARLA type id (none: static)."""
    type_id = other_type_id or UNKNOWN_STATIC_TYPE
    kind = actor_kind(type_id)
    if kind == ActorKind.SENSOR:  # sensors have no bodies; never expected, kept honest
        kind = ActorKind.STATIC
    return CollisionEvent(
        frame=frame,
        actor_id=actor_id,
        other_id=int(other_id or 0),
        other_kind=kind,
        other_type_id=type_id,
        impulse=carla.Vector3D(impulse.x, impulse.y, impulse.z),
        location=carla.Location(location.x, location.y, location.z),
    )


def lane_invasion_event(
    frame: int, actor_id: int, markings: Iterable[Any], location: carla.Location
) -> LaneInvasionEvent:
    """A lane-invasion record from `carla.LaneMarking` objects or their `carla.LaneMarkingType`s."""
    types = tuple(m if isinstance(m, carla.LaneMarkingType) else m.type for m in markings)
    return LaneInvasionEvent(
        frame=frame,
        actor_id=actor_id,
        crossed_lane_markings=types,
        location=carla.Location(location.x, location.y, location.z),
    )


def is_off_road(carla_map: carla.Map, location: carla.Location) -> bool:
    """Whether `location` lies outside every driving lane of `carla_map`."""
    return carla_map.get_waypoint(location, project_to_road=False, lane_type=carla.LaneType.Driving) is None


class EventSensors:
    """Event sensors of the vehicles we track, their pending events and off-road flags."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[WorldEvent] = []
        self._sensors: dict[int, list[Any]] = {}
        self._off_road: dict[int, bool] = {}
        self.frame_offset = 0

    def _store(self, make: Callable[[], WorldEvent]) -> None:
        try:
            event = make()
        except RuntimeError:  # the actor died between the event and the callback
            return
        with self._lock:
            self._pending.append(event)

    def attach(self, world: Any, library: Any, vehicle: Any) -> None:
        """Spawn a collision and a lane-invasion sensor on `vehicle` and listen to them."""
        vid = vehicle.id
        collision = world.spawn_actor(library.find(COLLISION_BLUEPRINT), carla.Transform(), attach_to=vehicle)
        lanes = world.spawn_actor(library.find(LANE_INVASION_BLUEPRINT), carla.Transform(), attach_to=vehicle)
        pair = [collision, lanes]
        self._sensors[vid] = pair

        def on_collision(ev: Any) -> None:
            def make() -> CollisionEvent:
                other = ev.other_actor
                return collision_event(
                    ev.frame - self.frame_offset,
                    vid,
                    getattr(other, "id", None),
                    getattr(other, "type_id", None),
                    ev.normal_impulse,
                    ev.transform.location,
                )

            if self._sensors.get(vid) is pair:  # not a late callback of a detached sensor
                self._store(make)

        def on_lane(ev: Any) -> None:
            if self._sensors.get(vid) is pair:
                self._store(
                    lambda: lane_invasion_event(
                        ev.frame - self.frame_offset, vid, ev.crossed_lane_markings, ev.transform.location
                    )
                )

        collision.listen(on_collision)
        lanes.listen(on_lane)

    @property
    def tracked_ids(self) -> list[int]:
        return list(self._sensors)

    def update_off_road(
        self, frame: int, actor_id: int, location: carla.Location, carla_map: carla.Map
    ) -> None:
        """Record an OffRoadEvent when `actor_id`'s centre has just left the driving lanes."""
        off = is_off_road(carla_map, location)
        if off and not self._off_road.get(actor_id, False):
            with self._lock:
                self._pending.append(
                    OffRoadEvent(frame, actor_id, carla.Location(location.x, location.y, location.z))
                )
        self._off_road[actor_id] = off

    def pop(self) -> list[WorldEvent]:
        """Events since the last call, in frame order (stable within a frame)."""
        with self._lock:
            events, self._pending = self._pending, []
        return sorted(events, key=lambda e: e.frame)

    def detach(self, actor_id: int) -> None:
        """Stop and destroy the event sensors of one vehicle (it is being destroyed)."""
        for sensor in self._sensors.pop(actor_id, []):
            stop_and_destroy(sensor)
        self._off_road.pop(actor_id, None)

    def clear(self) -> None:
        """Destroy every event sensor and forget pending events (map reload, close)."""
        for actor_id in list(self._sensors):
            self.detach(actor_id)
        with self._lock:
            self._pending = []
        self._off_road = {}


def stop_and_destroy(sensor: Any) -> None:
    """Stop a sensor's stream and destroy it; a server that is already gone is not an error here."""
    try:
        if sensor.is_alive:
            sensor.stop()
            sensor.destroy()
    except RuntimeError:
        pass
