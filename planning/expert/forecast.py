"""Where other actors will be: constant-velocity tracks, plus lane-following tracks for vehicles.

Why lanes too: a constant-velocity forecast misses the vehicles that matter most at junctions,
those on a connector that curves or merges into the ego's lane (a neighbour turning into the same
exit lane, an oncoming car turning left). A vehicle drives along its lane, so its lane's
waypoints (`carla.Waypoint.next`, every branch up to MAX_BRANCHES) at the distances its speed
covers are a second forecast; the expert checks both against its own path. Each track is a pose
per forecast time: arrays x, y (metres, CARLA world) and yaw (radians), one value per time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import carla
import numpy as np

from driving.world import ActorKind, ActorState

#: Lane tracks only for vehicles at least this fast (m/s); standing ones stay where they are.
MIN_LANE_SPEED_MPS = 0.5
#: A vehicle follows a lane when its heading is within this angle of the lane's (radians).
MAX_LANE_HEADING_RAD = math.radians(45.0)
#: Distance between sampled lane points (metres) and the most branches followed per vehicle.
LANE_STEP_M = 2.0
MAX_BRANCHES = 4


@dataclass(frozen=True)
class Track:
    """One forecast of one actor: poses at the forecast times (x, y metres; yaw radians)."""

    actor: ActorState
    x: np.ndarray
    y: np.ndarray
    yaw: np.ndarray


def constant_velocity_track(actor: ActorState, times_s: np.ndarray) -> Track:
    """The actor keeps its velocity and heading."""
    loc, v = actor.transform.location, actor.velocity
    yaw = np.full(len(times_s), math.radians(actor.transform.rotation.yaw))
    return Track(actor, loc.x + v.x * times_s, loc.y + v.y * times_s, yaw)


def _lane_paths(wp: carla.Waypoint, length_m: float) -> list[list[carla.Waypoint]]:
    """Lane points every LANE_STEP_M from `wp` over `length_m`, one list per branch."""
    paths = [[wp]]
    for _ in range(math.ceil(length_m / LANE_STEP_M)):
        grown = []
        for path in paths:
            nxt = path[-1].next(LANE_STEP_M)
            grown.extend([[*path, w] for w in nxt] if nxt else [path])
        paths = grown[:MAX_BRANCHES]
    return paths


def lane_tracks(actor: ActorState, times_s: np.ndarray, carla_map: carla.Map) -> list[Track]:
    """The vehicle follows its lane (every branch) at its current speed; [] when it is not in one."""
    speed = math.hypot(actor.velocity.x, actor.velocity.y)
    if actor.kind != ActorKind.VEHICLE or speed < MIN_LANE_SPEED_MPS:
        return []
    loc = actor.transform.location
    wp = carla_map.get_waypoint(loc, project_to_road=True, lane_type=carla.LaneType.Driving)
    if wp is None:
        return []
    diff = math.radians(actor.transform.rotation.yaw - wp.transform.rotation.yaw)
    if abs(math.atan2(math.sin(diff), math.cos(diff))) > MAX_LANE_HEADING_RAD:
        return []
    dist = speed * times_s
    tracks = []
    for path in _lane_paths(wp, float(dist[-1])):
        xy = np.array([[w.transform.location.x, w.transform.location.y] for w in path])
        yaw = np.unwrap(np.radians([w.transform.rotation.yaw for w in path]))
        s = np.arange(len(path)) * LANE_STEP_M
        tracks.append(Track(actor, np.interp(dist, s, xy[:, 0]), np.interp(dist, s, xy[:, 1]),
                            np.interp(dist, s, yaw)))
    return tracks
