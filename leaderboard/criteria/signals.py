"""RunningRedLightTest and RunningStopTest as scenario_runner's.

Red light: when the ego is within 15 m of a red light's trigger volume, in the lane of one of
its stop waypoints and heading the same way, and the segment from 0.8 to 1.0 vehicle
half-lengths (+1 m) behind its centre crosses that stop line (80% of the lane width), it ran the
light; each light counts at most once per route. As officially, the line is the stop waypoint
advanced to the junction entry, not the painted stop line before the crosswalk.
Stop sign: a sign affects the ego when its trigger volume contains the ego or one of the next 20
lane points (1 m apart) and the ego drives along its lane; once affected, the ego must go slower
than 0.1 m/s before it leaves the sign's influence, else it ran the stop.
"""
from __future__ import annotations

import math

import carla
import shapely

from driving.world import StopSignInfo, TrafficLightInfo
from leaderboard.criteria.base import (
    CriteriaTick,
    Criterion,
    TrafficEvent,
    TrafficEventType,
    forward_vector,
    location_message,
)

DISTANCE_LIGHT_M = 15.0
STOP_PROXIMITY_THRESHOLD_M = 50.0
STOP_SPEED_THRESHOLD_MPS = 0.1
STOP_WAYPOINT_STEP_M = 1.0
STOP_LOOKAHEAD_STEPS = 20
#: Stop lines move forward in these steps to the junction entry, as the official test does.
STOP_LINE_ADVANCE_STEP_M = 0.5
#: How far ahead a junction may be for the stop line to move to it (a light with no junction
#: this close, e.g. at a mid-block crossing, keeps its own stop line).
STOP_LINE_ADVANCE_MAX_M = 50.0


def advance_to_junction(wp: carla.Waypoint) -> carla.Waypoint:
    """The last lane point before the junction ahead of `wp` (0.5 m steps), as scenario_runner's
    `get_traffic_light_waypoints` does ("advance them until the intersection"); `wp` itself when
    it is in a junction or no junction lies within STOP_LINE_ADVANCE_MAX_M."""
    current = wp
    for _ in range(int(STOP_LINE_ADVANCE_MAX_M / STOP_LINE_ADVANCE_STEP_M)):
        if current.is_junction:
            return current
        ahead = current.next(STOP_LINE_ADVANCE_STEP_M)
        if not ahead or ahead[0].is_junction:
            return current
        current = ahead[0]
    return wp


def _rotate(x: float, y: float, yaw_deg: float) -> tuple[float, float]:
    rad = math.radians(yaw_deg)
    return x * math.cos(rad) - y * math.sin(rad), x * math.sin(rad) + y * math.cos(rad)


class RunningRedLightTest(Criterion):
    """Counts crossings of a red light's stop line."""

    def __init__(self, carla_map: carla.Map, lights: list[TrafficLightInfo]) -> None:
        super().__init__()
        self._map = carla_map
        self._lights = lights
        self._stop_lines = {light.id: tuple(advance_to_junction(wp) for wp in light.stop_waypoints)
                            for light in lights}
        self._last_red_light_id: int | None = None

    def update(self, tick: CriteriaTick) -> None:
        ego = tick.ego
        loc, yaw = ego.transform.location, ego.transform.rotation.yaw
        ext_x = ego.extent.x
        cx, cy = _rotate(-0.8 * ext_x, 0.0, yaw)
        fx, fy = _rotate(-ext_x - 1.0, 0.0, yaw)
        tail_close = (loc.x + cx, loc.y + cy)
        tail_far = (loc.x + fx, loc.y + fy)
        ve_dir = forward_vector(yaw)
        tail_wp = None
        for light in self._lights:
            if self._last_red_light_id == light.id:
                continue
            if light.trigger_location.distance(loc) > DISTANCE_LIGHT_M:
                continue
            if tick.light_states.get(light.id) != carla.TrafficLightState.Red:
                continue
            if tail_wp is None:
                tail_wp = self._map.get_waypoint(carla.Location(tail_far[0], tail_far[1], loc.z))
            for wp in self._stop_lines[light.id]:
                wp_yaw = wp.transform.rotation.yaw
                wp_dir = forward_vector(wp_yaw)
                if not (tail_wp.road_id == wp.road_id and tail_wp.lane_id == wp.lane_id
                        and ve_dir[0] * wp_dir[0] + ve_dir[1] * wp_dir[1] > 0):
                    continue
                half = 0.4 * wp.lane_width
                wl = wp.transform.location
                lx, ly = _rotate(half, 0.0, wp_yaw + 90)
                rx, ry = _rotate(half, 0.0, wp_yaw - 90)
                stop_line = shapely.LineString([(wl.x + lx, wl.y + ly), (wl.x + rx, wl.y + ry)])
                if shapely.LineString([tail_close, tail_far]).intersects(stop_line):
                    lt = light.transform.location
                    self.events.append(TrafficEvent(
                        TrafficEventType.TRAFFIC_LIGHT_INFRACTION,
                        f"Agent ran a red light {light.id} at {location_message(lt)}",
                        {"id": light.id, "x": lt.x, "y": lt.y, "z": lt.z}))
                    self._last_red_light_id = light.id
                    break


def _inside_box(point: carla.Location, center: carla.Location, extent: carla.Vector3D) -> bool:
    """Axis-aligned 2D containment, as scenario_runner's point_inside_boundingbox."""
    return (center.x - extent.x < point.x < center.x + extent.x
            and center.y - extent.y < point.y < center.y + extent.y)


class RunningStopTest(Criterion):
    """Counts stop signs passed without stopping."""

    def __init__(self, carla_map: carla.Map, stops: list[StopSignInfo]) -> None:
        super().__init__()
        self._map = carla_map
        self._stops = stops
        self._target: StopSignInfo | None = None
        self._stop_completed = False
        self._affected = False

    def _is_affected(self, location: carla.Location, stop: StopSignInfo) -> bool:
        if stop.transform.location.distance(location) > STOP_PROXIMITY_THRESHOLD_M:
            return False
        points = [location]
        wp = self._map.get_waypoint(location)
        for _ in range(STOP_LOOKAHEAD_STEPS):
            if wp is None:
                break
            nxt = wp.next(STOP_WAYPOINT_STEP_M)
            if not nxt:
                break
            wp = nxt[0]
            points.append(wp.transform.location)
        return any(_inside_box(p, stop.trigger_location, stop.trigger_extent) for p in points)

    def _scan(self, tick: CriteriaTick) -> StopSignInfo | None:
        tr = tick.ego.transform
        wp = self._map.get_waypoint(tr.location)
        ve_dir, wp_dir = forward_vector(tr.rotation.yaw), forward_vector(wp.transform.rotation.yaw)
        if ve_dir[0] * wp_dir[0] + ve_dir[1] * wp_dir[1] <= 0:
            return None  # wrong-way driving is ignored, as official
        for stop in self._stops:
            if self._is_affected(tr.location, stop):
                return stop
        return None

    def update(self, tick: CriteriaTick) -> None:
        location = tick.ego.transform.location
        if self._target is None:
            self._target = self._scan(tick)
            return
        if not self._stop_completed and abs(tick.ego.speed_mps) < STOP_SPEED_THRESHOLD_MPS:
            self._stop_completed = True
        if not self._affected and _inside_box(location, self._target.trigger_location,
                                              self._target.trigger_extent):
            self._affected = True
        if not self._is_affected(location, self._target):
            if not self._stop_completed and self._affected:
                sl = self._target.transform.location
                self.events.append(TrafficEvent(
                    TrafficEventType.STOP_INFRACTION,
                    f"Agent ran a stop with id={self._target.id} at {location_message(sl)}",
                    {"id": self._target.id, "x": sl.x, "y": sl.y, "z": sl.z}))
            self._target = None
            self._stop_completed = False
            self._affected = False
