"""Obstacles on the ego's future path: other vehicles and walkers, from their forecasts.

Why a path check and not a box-vs-box check of two forecasts (TransFuser's autopilot): the expert
always drives along its dense route, so its future footprint is the route ahead widened by its
half width. Each other actor is forecast over `forecast_horizon_s` (`forecast`: with its
velocity, and vehicles also along their lanes); a forecast box that comes within (ego half
width + margin) of a route point at arc distance d that the ego could reach by then is an
obstacle at distance d. The nearest obstacle and its speed along the route decide the speed the
ego may drive (`follow_speed_mps`). All numpy, one call per step for all actors. Units: metres,
seconds, m/s; positions CARLA world.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from driving.world import ActorKind, ActorState
from planning.expert.forecast import Track

#: When standing still the ego still "reaches" this speed in the forecast (it wants to start).
MIN_REACH_SPEED_MPS = 4.0
#: Slack (metres) added to the distance the ego could cover by a forecast time.
REACH_SLACK_M = 3.0
#: Vehicle forecasts are continued at their last velocity up to this horizon (s); see `_extended`.
CROSSING_HORIZON_S = 3.5


@dataclass(frozen=True)
class Obstacle:
    """The nearest obstacle: actor id and kind, distance from the ego centre along the route (m),
    its speed along the route (m/s, >= 0), and whether it is there now (not only in the forecast)."""

    actor_id: int
    kind: ActorKind
    distance_m: float
    speed_along_mps: float
    current: bool


def nearest_obstacle(tracks: list[Track], times_s: np.ndarray, path_xy: np.ndarray, path_d: np.ndarray,
                     path_heading: np.ndarray, ego_speed_mps: float, clearance_m: float,
                     ignore_moving_away: bool = True) -> Obstacle | None:
    """The nearest actor whose forecast box touches the ego path; None when the path is clear.

    `tracks` are forecasts (several per actor allowed) at `times_s` [K]; `path_xy` [P, 2] are
    route points ahead, `path_d` [P] their arc distance from the ego centre, `path_heading` [P]
    the route heading (rad); `clearance_m` is ego half width + margin. A forecast at time t only
    counts on points the ego could reach by t (its speed, at least MIN_REACH_SPEED_MPS, times t
    plus REACH_SLACK_M), so far crossings do not stop it; the pose at t = 0 counts everywhere.
    Vehicle forecasts shorter than CROSSING_HORIZON_S are continued at their last velocity, so a
    vehicle on a crossing connector that would arrive together with the ego counts.
    """
    if not tracks or len(path_xy) == 0:
        return None
    fx, fy, fyaw, times_s = _extended(tracks, np.asarray(times_s, np.float64))  # [A, K]
    c, s = np.cos(fyaw)[:, :, None], np.sin(fyaw)[:, :, None]
    hl = np.array([t.actor.extent.x for t in tracks])[:, None, None]
    hw = np.array([t.actor.extent.y for t in tracks])[:, None, None]
    dx = path_xy[None, None, :, 0] - fx[:, :, None]  # [A, K, P]
    dy = path_xy[None, None, :, 1] - fy[:, :, None]
    touch = _box_distance_sq(dx, dy, c, s, hl, hw) < clearance_m * clearance_m
    reach = max(ego_speed_mps, MIN_REACH_SPEED_MPS) * times_s + REACH_SLACK_M  # [K]
    touch &= (path_d[None, None, :] <= reach[None, :, None]) | (times_s[None, :, None] == 0.0)
    if not touch.any():
        return None
    d = np.where(touch, path_d[None, None, :], np.inf)
    per_track = d.min(axis=(1, 2))
    for i in np.argsort(per_track):
        if not math.isfinite(per_track[i]):
            break
        _, p = np.unravel_index(int(np.argmin(d[i])), d[i].shape)
        actor = tracks[i].actor
        h = path_heading[p]
        along = float(actor.velocity.x * math.cos(h) + actor.velocity.y * math.sin(h))
        across = float(-actor.velocity.x * math.sin(h) + actor.velocity.y * math.cos(h))
        current = bool(touch[i, 0].any())
        if ignore_moving_away and not current and along > ego_speed_mps and along > abs(across):
            # only its forecast touches and it drives our way faster than us. A car crossing at
            # an angle (more across than along) is never moving away: ignoring one whenever the
            # braking ego fell below its along-speed made the expert stop and go every tick into
            # a car entering a roundabout (Town03 training 24)
            continue
        return Obstacle(actor.id, actor.kind, float(per_track[i]), max(along, 0.0), current)
    return None


def _box_distance_sq(dx: np.ndarray, dy: np.ndarray, c: np.ndarray | float, s: np.ndarray | float,
                     half_length_m: np.ndarray | float, half_width_m: np.ndarray | float) -> np.ndarray:
    """Squared distance (m^2) from points at (dx, dy) off a box's centre to that box, whose
    heading has cosine `c` and sine `s` (0 inside); broadcasts over all arguments."""
    ex = np.maximum(np.abs(dx * c + dy * s) - half_length_m, 0.0)
    ey = np.maximum(np.abs(-dx * s + dy * c) - half_width_m, 0.0)
    return ex * ex + ey * ey


def _extended(tracks: list[Track], times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Forecast poses [A, K'] and times [K'], vehicle tracks continued at their last velocity up to
    CROSSING_HORIZON_S. Why: at a junction a car that reaches the ego's path 3 s from now (the ego
    needs that long to cross a wide junction) matters as much as one 2 s away. Walker tracks are
    not extended (NaN poses never touch the path)."""
    fx = np.stack([t.x for t in tracks]).astype(np.float64)
    fy = np.stack([t.y for t in tracks]).astype(np.float64)
    fyaw = np.stack([t.yaw for t in tracks]).astype(np.float64)
    if len(times_s) < 2 or times_s[-1] >= CROSSING_HORIZON_S - 1e-9:
        return fx, fy, fyaw, times_s
    dt = float(times_s[-1] - times_s[-2])
    extra = np.arange(times_s[-1] + dt, CROSSING_HORIZON_S + 1e-9, dt)
    ahead = (extra - times_s[-1])[None, :]
    vehicle = np.array([t.actor.kind == ActorKind.VEHICLE for t in tracks])[:, None]
    ex = np.where(vehicle, fx[:, -1:] + (fx[:, -1:] - fx[:, -2:-1]) / dt * ahead, np.nan)
    ey = np.where(vehicle, fy[:, -1:] + (fy[:, -1:] - fy[:, -2:-1]) / dt * ahead, np.nan)
    eyaw = np.repeat(fyaw[:, -1:], len(extra), axis=1)
    return (np.concatenate([fx, ex], 1), np.concatenate([fy, ey], 1), np.concatenate([fyaw, eyaw], 1),
            np.concatenate([times_s, extra]))


def follow_speed_mps(obstacle: Obstacle, ego_half_length_m: float, stop_gap_m: float, time_gap_s: float,
                     decel_mps2: float) -> float:
    """Highest speed that keeps `stop_gap_m + time_gap_s * v_lead` to the obstacle, braking at
    `decel_mps2`: sqrt(v_lead^2 + 2 b (gap - desired)), scaled down linearly inside the desired gap."""
    gap = obstacle.distance_m - ego_half_length_m
    v_lead = obstacle.speed_along_mps
    desired = stop_gap_m + time_gap_s * v_lead
    if gap >= desired:
        return math.sqrt(v_lead * v_lead + 2.0 * decel_mps2 * (gap - desired))
    if gap <= stop_gap_m:
        return 0.0
    return v_lead * (gap - stop_gap_m) / max(desired - stop_gap_m, 1e-6)


#: A vehicle heading within this angle (radians) of the ego drives its way (`lead_in_front`).
LEAD_SAME_DIRECTION_RAD = math.radians(30.0)
#: Sample step (metres) along the ego's own arc ahead (`lead_in_front`).
FRONT_STEP_M = 0.5
#: The arc bends with the ego's yaw rate / speed, at most this curvature (1/m).
FRONT_MAX_CURVATURE = 0.2


def lead_in_front(ego: ActorState, actors: list[ActorState], length_m: float, margin_m: float) -> Obstacle | None:
    """The nearest vehicle driving the ego's way whose box lies in the strip the ego's own body
    sweeps along its current arc (ego width + `margin_m`, `length_m` past its front), or None.

    Why, besides the path check: that check looks along the route, and an ego that is off its
    route (waiting to move into the next lane while the route's points already lie there) has
    the car right in front of its bumper outside the route's corridor; it followed a crawling
    queue 3 m too close and ran into it (Town06 training 44). Only vehicles heading the ego's
    way: crossing and oncoming traffic is the path check's (their forecasts)."""
    loc = ego.transform.location
    yaw = math.radians(ego.transform.rotation.yaw)
    v = abs(ego.speed_mps)
    kappa = 0.0 if v < 0.5 else float(np.clip(math.radians(ego.angular_velocity_dps) / v,
                                               -FRONT_MAX_CURVATURE, FRONT_MAX_CURVATURE))
    d = np.arange(ego.extent.x, ego.extent.x + length_m + 1e-9, FRONT_STEP_M)
    heading = yaw + kappa * d
    if abs(kappa) < 1e-6:
        px, py = loc.x + d * math.cos(yaw), loc.y + d * math.sin(yaw)
    else:
        px = loc.x + (np.sin(heading) - math.sin(yaw)) / kappa
        py = loc.y - (np.cos(heading) - math.cos(yaw)) / kappa
    best: Obstacle | None = None
    for other in actors:
        if other.id == ego.id or other.kind != ActorKind.VEHICLE:
            continue
        o = other.transform.location
        if math.hypot(o.x - loc.x, o.y - loc.y) > ego.extent.x + length_m + other.extent.x + other.extent.y:
            continue
        oyaw = math.radians(other.transform.rotation.yaw)
        if abs(math.atan2(math.sin(oyaw - yaw), math.cos(oyaw - yaw))) > LEAD_SAME_DIRECTION_RAD:
            continue
        dist_sq = _box_distance_sq(px - o.x, py - o.y, math.cos(oyaw), math.sin(oyaw), other.extent.x, other.extent.y)
        hit = np.nonzero(dist_sq < (ego.extent.y + margin_m) ** 2)[0]
        if not len(hit) or (best is not None and d[hit[0]] >= best.distance_m):
            continue
        k = int(hit[0])
        along = float(other.velocity.x * math.cos(heading[k]) + other.velocity.y * math.sin(heading[k]))
        best = Obstacle(other.id, other.kind, float(d[k]), max(along, 0.0), True)
    return best
