"""CollisionTest as scenario_runner's: one infraction per collision, debounced like the official.

A collision is ignored when it is with the same actor as the last counted one (remembered for
5 s of game time) or when the ego is within 3 m of where a previous collision was counted
(locations are forgotten once the ego is 5 m away). Static layout (map geometry: buildings,
poles, fences, traffic-light posts) counts as `collisions_layout` and, like the official map
actor with id 0, is not remembered by id.
"""
from __future__ import annotations

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
                            if loc.distance(location) <= MAX_AREA_OF_COLLISION_M]
        if self._last_id is not None and tick.game_time_s - self._collision_time_s > MAX_ID_TIME_S:
            self._last_id = None
        for event in tick.collisions:
            self._count(event, location, tick.game_time_s)

    def _count(self, event: CollisionEvent, location: carla.Location, time_s: float) -> None:
        if self._last_id is not None and event.other_id == self._last_id:
            return
        if any(loc.distance(location) <= MIN_AREA_OF_COLLISION_M for loc in self._registered):
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
        if event.other_kind not in (ActorKind.STATIC, ActorKind.TRAFFIC_LIGHT):
            self._last_id = event.other_id
