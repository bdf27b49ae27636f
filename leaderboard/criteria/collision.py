"""CollisionTest as scenario_runner's: one infraction per collision, debounced like the official.

A collision is ignored when it is with the same actor as the last counted one (remembered for
5 s of game time) or when the ego is within 3 m of where a previous collision was counted
(locations are forgotten once the ego is 5 m away); both distances are horizontal (x, y), as
the official test measures them. Static layout (map geometry: buildings, poles, fences) counts
as `collisions_layout` and, like the official map actor with id 0, is not remembered by id.
Traffic lights also count as `collisions_layout` but are actors in CARLA (non-zero id), so the
official test remembers them by id like vehicles.
"""
from __future__ import annotations

import math

import carla

from driving.world import ActorKind, CollisionEvent
from leaderboard.criteria.base import (
    CriteriaTick,
    Criterion,
    TrafficEvent,
    TrafficEventType,
    location_dict,
    location_message,
)

MIN_AREA_OF_COLLISION_M = 3.0
MAX_AREA_OF_COLLISION_M = 5.0
MAX_ID_TIME_S = 5.0

_KIND_TO_EVENT = {
    ActorKind.STATIC: TrafficEventType.COLLISION_STATIC,
    ActorKind.TRAFFIC_LIGHT: TrafficEventType.COLLISION_STATIC,
    ActorKind.VEHICLE: TrafficEventType.COLLISION_VEHICLE,
    ActorKind.WALKER: TrafficEventType.COLLISION_PEDESTRIAN,
}


def _distance_2d(a: carla.Location, b: carla.Location) -> float:
    """Horizontal distance in metres (the official debouncing ignores height)."""
    return math.hypot(a.x - b.x, a.y - b.y)


class CollisionTest(Criterion):
    """Counts collisions of the ego with vehicles, pedestrians and the static layout."""

    def __init__(self) -> None:
        super().__init__()
        self._registered: list[carla.Location] = []
        self._last_id: int | None = None
        self._collision_time_s = -float("inf")

    def update(self, tick: CriteriaTick) -> None:
        location = tick.ego.transform.location
        self._registered = [loc for loc in self._registered
                            if _distance_2d(loc, location) <= MAX_AREA_OF_COLLISION_M]
        if self._last_id is not None and tick.game_time_s - self._collision_time_s > MAX_ID_TIME_S:
            self._last_id = None
        for event in tick.collisions:
            self._count(event, location, tick.game_time_s)

    def _count(self, event: CollisionEvent, location: carla.Location, time_s: float) -> None:
        if self._last_id is not None and event.other_id == self._last_id:
            return
        if any(_distance_2d(loc, location) <= MIN_AREA_OF_COLLISION_M for loc in self._registered):
            return
        kind = _KIND_TO_EVENT.get(event.other_kind)
        if kind is None:
            return
        traffic_event = TrafficEvent(
            kind,
            f"Agent collided against object with type={event.other_type_id} and id={event.other_id} "
            f"at {location_message(location)}",
            {"type": event.other_type_id, "id": event.other_id, **location_dict(location)},
        )
        self.events.append(traffic_event)
        self._collision_time_s = time_s
        self._registered.append(carla.Location(location.x, location.y, location.z))
        if event.other_kind != ActorKind.STATIC and event.other_id != 0:
            self._last_id = event.other_id
