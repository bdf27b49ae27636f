"""Route criteria as scenario_runner's: completion, deviation, outside lanes, blocked, timeout.

All take the dense route (1 m spaced `carla.Transform`s from the route planner). Thresholds are
the official LB1.0 ones: completion within 10 m of the end above 99%; deviation beyond 30 m
from the route (or > 30% of the route driven 15-30 m away); outside lanes beyond half the lane
width + 1.3 m or in a lane against the route's direction; blocked below 0.1 m/s for 180 s;
timeout int(0.8 * route length + 5) s of game time.
"""
from __future__ import annotations

import math

import carla
import numpy as np

from leaderboard.criteria.base import (
    CriteriaTick,
    Criterion,
    TrafficEvent,
    TrafficEventType,
    location_dict,
    location_message,
)

COMPLETION_DISTANCE_THRESHOLD_M = 10.0
COMPLETION_WINDOW = 2
IN_ROUTE_WINDOW = 5
IN_ROUTE_MAX_PERCENTAGE = 30.0
OFFROAD_MIN_M = 15.0
OFFROAD_MAX_M = 30.0
ALLOWED_OUT_DISTANCE_M = 1.3
MAX_ALLOWED_VEHICLE_ANGLE_DEG = 120.0
MAX_ALLOWED_WAYPOINT_ANGLE_DEG = 150.0
OUTSIDE_LANES_WINDOW = 3
BLOCKED_SPEED_THRESHOLD_MPS = 0.1
BLOCKED_MAX_TIME_S = 180.0
SECONDS_GIVEN_PER_METER = 0.8
INITIAL_SECONDS_DELAY = 5.0


class RoutePath:
    """The dense route as arrays: point locations (N x 3), forward vectors, cumulative metres."""

    def __init__(self, route: list[carla.Transform]) -> None:
        if len(route) < 2:
            raise ValueError(f"a route needs at least 2 points, got {len(route)}")
        self.transforms = list(route)
        self.xyz = np.array([[t.location.x, t.location.y, t.location.z] for t in route])
        yaw = np.radians([t.rotation.yaw for t in route])
        self.fwd = np.stack([np.cos(yaw), np.sin(yaw)], axis=1)
        steps = np.linalg.norm(np.diff(self.xyz, axis=0), axis=1)
        self.accum_m = np.concatenate([[0.0], np.cumsum(steps)])

    @property
    def length_m(self) -> float:
        return float(self.accum_m[-1])

    def __len__(self) -> int:
        return len(self.transforms)

    def passed(self, index: int, location: carla.Location) -> bool:
        """Whether `location` lies past route point `index` along its direction."""
        dx, dy = location.x - self.xyz[index, 0], location.y - self.xyz[index, 1]
        return dx * self.fwd[index, 0] + dy * self.fwd[index, 1] > 0


def route_timeout_s(route_length_m: float) -> int:
    """Official LB1.0 route timeout in game seconds."""
    return int(SECONDS_GIVEN_PER_METER * route_length_m + INITIAL_SECONDS_DELAY)


class RouteCompletionTest(Criterion):
    """Progress along the route: percentage up to the last passed point; success near the end."""

    def __init__(self, path: RoutePath) -> None:
        super().__init__()
        self._path = path
        self._index = 0
        self.percentage = 0.0
        self._event = TrafficEvent(TrafficEventType.ROUTE_COMPLETION, "", {"route_completed": 0.0})
        self.events.append(self._event)

    def update(self, tick: CriteriaTick) -> None:
        if self.success:
            return
        loc = tick.ego.transform.location
        for index in range(self._index, min(self._index + COMPLETION_WINDOW + 1, len(self._path))):
            if self._path.passed(index, loc):
                self._index = index
                self.percentage = 100.0 * self._path.accum_m[index] / self._path.length_m
                self._event.data = {"route_completed": self.percentage}
                self._event.message = f"Agent has completed > {self.percentage:.2f}% of the route"
        end = self._path.xyz[-1]
        if self.percentage > 99.0 and math.dist((loc.x, loc.y, loc.z), end) < COMPLETION_DISTANCE_THRESHOLD_M:
            self.events.append(TrafficEvent(TrafficEventType.ROUTE_COMPLETED, "Destination was successfully reached"))
            self.success = True
            self.terminal = True
            self.percentage = 100.0


class InRouteTest(Criterion):
    """Route deviation: ends the route when the ego is > 30 m away or strays too long 15-30 m away."""

    failure_message = "Agent deviated from the route"

    def __init__(self, path: RoutePath) -> None:
        super().__init__()
        self._path = path
        self._index = 0
        self._out_route_m = 0.0
        self._in_safe_route = True

    def update(self, tick: CriteriaTick) -> None:
        if self.terminal:
            return
        loc = tick.ego.transform.location
        hi = min(self._index + IN_ROUTE_WINDOW + 1, len(self._path))
        d = np.hypot(self._path.xyz[self._index:hi, 0] - loc.x, self._path.xyz[self._index:hi, 1] - loc.y)
        closest = self._index + int(len(d) - 1 - np.argmin(d[::-1]))  # last minimum, as official (<=)
        shortest = float(d[closest - self._index])
        off_route = True
        if shortest < OFFROAD_MAX_M:
            off_route = False
            self._in_safe_route = shortest < OFFROAD_MIN_M
        if closest != self._index:
            new_dist = self._path.accum_m[closest] - self._path.accum_m[self._index]
            if not self._in_safe_route:
                self._out_route_m += new_dist
                if 100.0 * self._out_route_m / self._path.length_m > IN_ROUTE_MAX_PERCENTAGE:
                    off_route = True
            self._index = closest
        if off_route:
            self.events.append(TrafficEvent(TrafficEventType.ROUTE_DEVIATION,
                                            f"Agent deviated from the route at {location_message(loc)}",
                                            location_dict(loc)))
            self.terminal = True


class OutsideRouteLanesTest(Criterion):
    """Share of the driven route spent outside driving lanes or in lanes against the route."""

    def __init__(self, path: RoutePath, carla_map: carla.Map, start: carla.Location) -> None:
        super().__init__()
        self._path = path
        self._map = carla_map
        self._index = 0
        self._pre_wp = carla_map.get_waypoint(start)
        self._outside = False
        self._wrong_lane = False
        self._last_road_lane: tuple[int, int] | None = None
        # a parking lookup on a map without parking lanes is slow and always None: skip it
        self._has_parking = 'type="parking"' in carla_map.to_opendrive().lower()
        self.total_m = 0.0
        self.wrong_m = 0.0

    def update(self, tick: CriteriaTick) -> None:
        loc = tick.ego.transform.location
        self._check_outside(loc)
        self._check_wrong_lane(loc, tick.ego.transform.rotation.yaw)
        for index in range(self._index + 1, min(self._index + OUTSIDE_LANES_WINDOW + 1, len(self._path))):
            if self._path.passed(index, loc):
                new_dist = float(np.linalg.norm(self._path.xyz[index] - self._path.xyz[self._index]))
                self._index = index
                self.total_m += new_dist
                if self._outside or self._wrong_lane:
                    self.wrong_m += new_dist
                break

    def _check_outside(self, loc: carla.Location) -> None:
        driving = self._map.get_waypoint(loc, project_to_road=True, lane_type=carla.LaneType.Driving)
        parking = (self._map.get_waypoint(loc, project_to_road=True, lane_type=carla.LaneType.Parking)
                   if self._has_parking else None)
        wp = driving
        if parking is not None and (driving is None or loc.distance(parking.transform.location)
                                    <= loc.distance(driving.transform.location)):
            wp = parking
        if wp is None:
            self._outside = True
            return
        self._outside = loc.distance(wp.transform.location) > wp.lane_width / 2 + ALLOWED_OUT_DISTANCE_M

    def _check_wrong_lane(self, loc: carla.Location, ego_yaw_deg: float) -> None:
        wp = self._map.get_waypoint(loc, project_to_road=True, lane_type=carla.LaneType.Driving)
        if wp is None:
            return
        road_lane = (wp.road_id, wp.lane_id)
        if wp.is_junction:
            self._wrong_lane = False
        elif self._last_road_lane != road_lane:
            if self._pre_wp.is_junction:
                angle = (wp.transform.rotation.yaw % 360 - ego_yaw_deg % 360) % 360
                self._wrong_lane = not (angle < MAX_ALLOWED_VEHICLE_ANGLE_DEG
                                        or angle > 360 - MAX_ALLOWED_VEHICLE_ANGLE_DEG)
            else:
                angle = (self._pre_wp.transform.rotation.yaw % 360 - wp.transform.rotation.yaw % 360) % 360
                if MAX_ALLOWED_WAYPOINT_ANGLE_DEG <= angle <= 360 - MAX_ALLOWED_WAYPOINT_ANGLE_DEG:
                    self._wrong_lane = not self._wrong_lane  # entering or leaving an opposite lane
                else:
                    self._wrong_lane = False
        self._last_road_lane = road_lane
        self._pre_wp = wp

    def terminate(self) -> None:
        if self.wrong_m > 0 and self.total_m > 0:
            pct = self.wrong_m / self.total_m * 100.0
            self.events.append(TrafficEvent(
                TrafficEventType.OUTSIDE_ROUTE_LANES_INFRACTION,
                f"Agent went outside its route lanes for about {round(self.wrong_m, 3)} meters "
                f"({round(pct, 2)}% of the completed route)",
                {"distance": self.wrong_m, "percentage": pct}))


class ActorBlockedTest(Criterion):
    """ActorSpeedAboveThresholdTest: ends the route after 180 s of game time below 0.1 m/s."""

    failure_message = "Agent got blocked"

    def __init__(self, speed_threshold_mps: float = BLOCKED_SPEED_THRESHOLD_MPS,
                 max_time_s: float = BLOCKED_MAX_TIME_S) -> None:
        super().__init__()
        self._threshold = speed_threshold_mps
        self._max_time_s = max_time_s
        self._last_valid_s: float | None = None

    def update(self, tick: CriteriaTick) -> None:
        if self.terminal:
            return
        v = tick.ego.velocity
        speed = math.sqrt(v.x * v.x + v.y * v.y + v.z * v.z)
        if speed < self._threshold and self._last_valid_s is not None:
            if tick.game_time_s - self._last_valid_s > self._max_time_s:
                loc = tick.ego.transform.location
                self.events.append(TrafficEvent(TrafficEventType.VEHICLE_BLOCKED,
                                                f"Agent got blocked at {location_message(loc)}",
                                                location_dict(loc)))
                self.terminal = True
        else:
            self._last_valid_s = tick.game_time_s


class RouteTimeoutTest(Criterion):
    """The route's game-time budget; ends the route with 'Agent timed out' when spent."""

    failure_message = "Agent timed out"

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def update(self, tick: CriteriaTick) -> None:
        if not self.terminal and tick.game_time_s > self.timeout_s:
            self.events.append(TrafficEvent(TrafficEventType.ROUTE_TIMEOUT, "Route timeout."))
            self.terminal = True
