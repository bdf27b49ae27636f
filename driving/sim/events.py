"""Lane-invasion and off-road events for manually driven vehicles (the ego and scenario cars).

Lane invasion follows CARLA's client-side LaneInvasionSensor: every tick each of the four
bounding-box corners is located on the map; a corner that moved sideways into another lane of
the same road section crossed the markings between the two lanes, and one event per tick lists
every crossed marking (`carla.LaneMarkingType`). Moving on to the next road (longitudinally,
through junctions) crosses nothing.

Off-road: the box centre left the drivable area (`Layout.drivable`, driving lanes and
junctions). One `OffRoadEvent` is emitted when the centre leaves, not every tick while outside
(the criteria measure the distance driven off-road from the actor states).

Heights: every lookup is made at the actor's height (`z`, its base, the road under it), and
`carla.Map.get_waypoint` measures distance in 3-D, so where roads overlap (a bridge over a
road) the lanes found are those of the actor's level. The plan-view drivable area holds both
levels, so a centre inside it is also checked against the driving lane at its height
(`LEVEL_TOLERANCE_M`): a car on the ground under a deck is not on the deck's road.
"""
from __future__ import annotations

import carla
import numpy as np
import shapely

from driving.geometry import box_corners
from driving.world import LaneInvasionEvent, OffRoadEvent

MAX_LANES_APART = 8
#: A driving lane counts as under an actor when its surface is within this height (metres).
LEVEL_TOLERANCE_M = 2.0


def _key(wp: carla.Waypoint | None) -> tuple[int, int, int] | None:
    return None if wp is None else (wp.road_id, wp.section_id, wp.lane_id)


def crossed_markings(old: carla.Waypoint, new: carla.Waypoint) -> list[carla.LaneMarkingType]:
    """Markings between lane `old` and lane `new` of the same road section (empty otherwise)."""
    if old.road_id != new.road_id or old.section_id != new.section_id or old.lane_id == new.lane_id:
        return []
    target = _key(new)
    for side in ("left", "right"):
        crossed, wp = [], old
        for _ in range(MAX_LANES_APART):
            crossed.append(getattr(wp, f"{side}_lane_marking").type)
            wp = getattr(wp, f"get_{side}_lane")()
            if wp is None:
                break
            if _key(wp) == target:
                return crossed
    return []


class LaneEventTracker:
    """Remembers, per tracked actor, the lanes under its corners and whether it is off-road."""

    def __init__(self, carla_map: carla.Map, drivable: shapely.Geometry | None):
        self.map = carla_map
        self.drivable = drivable
        if drivable is not None:
            shapely.prepare(drivable)
        self._corners: dict[int, list[carla.Waypoint | None]] = {}
        self._off_road: dict[int, bool] = {}
        self._pose: dict[int, tuple[float, ...]] = {}  # the pose of the last update per actor

    def forget(self, actor_id: int) -> None:
        self._corners.pop(actor_id, None)
        self._off_road.pop(actor_id, None)
        self._pose.pop(actor_id, None)

    def _lanes(self, corners: np.ndarray, z: float) -> list[carla.Waypoint | None]:
        return [self.map.get_waypoint(carla.Location(float(cx), float(cy), z), project_to_road=False,
                                      lane_type=carla.LaneType.Any) for cx, cy in corners]

    def _is_off_road(self, x: float, y: float, z: float) -> bool:
        if self.drivable is not None and not shapely.intersects_xy(self.drivable, x, y):
            return True
        if self.drivable is None:
            wp = self.map.get_waypoint(carla.Location(x, y, z), project_to_road=False,
                                       lane_type=carla.LaneType.Driving)
            return wp is None or abs(wp.transform.location.z - z) > LEVEL_TOLERANCE_M
        # inside the plan-view area: off-road only when the lane nearest in 3-D is on another level
        wp = self.map.get_waypoint(carla.Location(x, y, z), project_to_road=True,
                                   lane_type=carla.LaneType.Driving)
        return wp is not None and abs(wp.transform.location.z - z) > LEVEL_TOLERANCE_M

    def update(self, frame: int, actor_id: int, x: float, y: float, z: float, yaw_rad: float,
               hl: float, hw: float) -> list[LaneInvasionEvent | OffRoadEvent]:
        """Events of `actor_id` for this tick given its new pose (metres, radians)."""
        pose = (x, y, z, yaw_rad, hl, hw)
        if self._pose.get(actor_id) == pose:
            # standing still (a red light, a queue): the same lanes and the same off-road state
            # as last tick, so no event; skips four map queries per tick
            return []
        self._pose[actor_id] = pose
        events: list[LaneInvasionEvent | OffRoadEvent] = []
        lanes = self._lanes(box_corners(x, y, yaw_rad, hl, hw), z)
        previous = self._corners.get(actor_id)
        if previous is not None:  # a corner over a gap between lane polygons keeps its last lane
            lanes = [new if new is not None else old for old, new in zip(previous, lanes)]
        self._corners[actor_id] = lanes
        location = carla.Location(x, y, z)
        if previous is not None:
            crossed: list[carla.LaneMarkingType] = []
            for old, new in zip(previous, lanes):
                if old is not None and new is not None:
                    crossed.extend(crossed_markings(old, new))
            if crossed:
                events.append(LaneInvasionEvent(frame, actor_id, tuple(crossed), location))
        off = self._is_off_road(x, y, z)
        if off and not self._off_road.get(actor_id, False):
            events.append(OffRoadEvent(frame, actor_id, location))
        self._off_road[actor_id] = off
        return events
