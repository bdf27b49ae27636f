"""Scenario vehicles driven from above the World seam: lane paths and a path-following driver.

Scenario cars ignore lights, priority and other actors unless a behaviour says otherwise (a
lead car that brakes "for nothing", a red-light runner), so they are not handed to the backend's
traffic driver: they are spawned as manually driven vehicles and steered with `apply_control`,
as scenario_runner's `WaypointFollower` / `KeepVelocity` do on a server. Steering is a PD on
the heading error to a look-ahead point (scenario_runner's lane-following PID: KP 1.0, KD 0.01
on the angle in radians); speed is a proportional throttle/brake.
"""
from __future__ import annotations

import math
import typing

import carla
import numpy as np

from driving.world import World

STEER_KP = 1.0
STEER_KD = 0.01
#: Throttle per m/s of speed shortfall, brake per m/s of excess.
THROTTLE_PER_MPS = 0.5
BRAKE_PER_MPS = 0.4
MAX_THROTTLE = 0.9


def _heading_change_deg(wp: carla.Waypoint, ahead_m: float) -> float:
    """How far the lane turns over the next `ahead_m` metres from `wp` (degrees, + = right)."""
    nxt = wp.next(ahead_m)
    if not nxt:
        return 0.0
    d = nxt[0].transform.rotation.yaw - wp.transform.rotation.yaw
    return (d + 180.0) % 360.0 - 180.0


TurnChooser = typing.Callable[[typing.List[carla.Waypoint]], carla.Waypoint]


def prefer(turn: str) -> TurnChooser:
    """Pick at forks: 'straight' (least heading change), 'left' (most left) or 'right' (most right)."""
    if turn not in ("straight", "left", "right"):
        raise ValueError(f"turn must be 'straight', 'left' or 'right', got {turn!r}")

    def choose(options: list[carla.Waypoint]) -> carla.Waypoint:
        changes = [_heading_change_deg(w, 20.0) for w in options]
        if turn == "straight":
            k = int(np.argmin(np.abs(changes)))
        elif turn == "left":
            k = int(np.argmin(changes))
        else:
            k = int(np.argmax(changes))
        return options[k]

    return choose


def lane_path(start: carla.Waypoint, length_m: float, step_m: float = 1.0,
              choose: TurnChooser | None = None) -> np.ndarray:
    """(N, 3) lane-centre points (x, y, z metres) from `start` along its lane for `length_m`.

    At a fork `choose` picks the branch (default: straight on); the path ends early where the
    lane ends.
    """
    choose = choose or prefer("straight")
    pts = [start.transform.location]
    wp = start
    travelled = 0.0
    while travelled < length_m:
        options = wp.next(step_m)
        if not options:
            break
        wp = options[0] if len(options) == 1 else choose(options)
        pts.append(wp.transform.location)
        travelled += step_m
    return np.array([(p.x, p.y, p.z) for p in pts], dtype=float)


def lane_change_path(start: carla.Waypoint, side: str, before_m: float, change_m: float, after_m: float,
                     step_m: float = 1.0) -> np.ndarray:
    """(N, 3) points (x, y, z metres): along `start`'s lane for `before_m`, across to the lane on
    `side` ('left' or 'right') over `change_m` (half-cosine blend, no heading kink), then along
    that lane for `after_m` - a cut-in, or (with the oncoming lane) a pull-out to overtake.

    The neighbour lane is taken at every point, so the path follows curves. Raises ValueError
    when a point of the move has no driving lane on that side.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    n = max(2, round((before_m + change_m + after_m) / step_m) + 1)
    k_start, k_end = before_m / step_m, (before_m + change_m) / step_m
    wp, pts = start, []
    for k in range(n):
        if k:
            options = wp.next(step_m)
            if not options:
                break
            wp = options[0] if len(options) == 1 else prefer("straight")(options)
        here = wp.transform.location
        t = min(max((k - k_start) / max(k_end - k_start, 1e-9), 0.0), 1.0)
        if t <= 0.0:
            pts.append((here.x, here.y, here.z))
            continue
        other = wp.get_left_lane() if side == "left" else wp.get_right_lane()
        if other is None or other.lane_type != carla.LaneType.Driving:
            raise ValueError(f"no driving lane to the {side} of road {wp.road_id} lane {wp.lane_id} at "
                             f"({here.x:.1f}, {here.y:.1f})")
        there = other.transform.location
        w = 0.5 - 0.5 * math.cos(math.pi * t)
        pts.append((here.x + w * (there.x - here.x), here.y + w * (there.y - here.y), here.z + w * (there.z - here.z)))
    return np.array(pts, dtype=float)


def lane_point_ahead(start: carla.Waypoint, distance_m: float,
                     stop_at_junction: bool = True) -> tuple[carla.Waypoint, float]:
    """(lane point, metres actually travelled): `distance_m` along `start`'s lane in 1 m steps,
    straight on at forks; with `stop_at_junction` it stops at the first junction point, as
    scenario_runner's `get_waypoint_in_distance` (or where the lane ends)."""
    wp = start
    travelled = 0.0
    while travelled < distance_m:
        options = wp.next(1.0)
        if not options:
            break
        nxt = options[0] if len(options) == 1 else prefer("straight")(options)
        if stop_at_junction and nxt.is_junction:
            break
        wp = nxt
        travelled += 1.0
    return wp, travelled


def waypoint_ahead(start: carla.Waypoint, distance_m: float, stop_at_junction: bool = True) -> carla.Waypoint:
    """The lane point of `lane_point_ahead`, without the distance."""
    return lane_point_ahead(start, distance_m, stop_at_junction)[0]


class ScriptedVehicle:
    """Drives one manually controlled vehicle along `path` (N, 3) at `target_speed_mps`.

    The vehicle stops at the path's end. `target_speed_mps` can change any time (0 = brake to a
    stand); `full_brake` brakes fully regardless of speed.
    """

    def __init__(self, world: World, actor_id: int, path: np.ndarray, target_speed_mps: float,
                 lookahead_m: float = 4.0) -> None:
        if len(path) < 2:
            raise ValueError("a scripted vehicle needs a path of at least two points")
        self.world, self.actor_id = world, actor_id
        self.path = np.asarray(path, dtype=float)
        seg = np.linalg.norm(np.diff(self.path[:, :2], axis=0), axis=1)
        self.path_s = np.concatenate([[0.0], np.cumsum(seg)])
        self.target_speed_mps = target_speed_mps
        self.lookahead_m = lookahead_m
        self.full_brake = False
        self._index = 0
        self._last_error = 0.0

    @property
    def remaining_m(self) -> float:
        """Path length left ahead of the vehicle, metres."""
        return float(self.path_s[-1] - self.path_s[self._index])

    def step(self) -> carla.VehicleControl:
        """Compute and apply this tick's control; returns it."""
        state = self.world.get_actor_state(self.actor_id)
        loc, yaw = state.transform.location, math.radians(state.transform.rotation.yaw)
        window = self.path[self._index:self._index + 40, :2]
        self._index += int(np.argmin(np.hypot(window[:, 0] - loc.x, window[:, 1] - loc.y)))
        s_aim = self.path_s[self._index] + self.lookahead_m + 0.25 * max(state.speed_mps, 0.0)
        aim = self.path[min(int(np.searchsorted(self.path_s, s_aim)), len(self.path) - 1)]
        error = math.atan2(aim[1] - loc.y, aim[0] - loc.x) - yaw
        error = (error + math.pi) % (2 * math.pi) - math.pi
        steer = STEER_KP * error + STEER_KD * (error - self._last_error) / self.world.fixed_delta_seconds
        self._last_error = error
        target = 0.0 if self.remaining_m < 1.0 else self.target_speed_mps
        gap = target - state.speed_mps
        control = carla.VehicleControl(steer=float(np.clip(steer, -1.0, 1.0)))
        if self.full_brake:
            control.brake = 1.0
        elif target <= 0.0:
            control.brake = 1.0 if state.speed_mps > 0.1 or self.remaining_m < 1.0 else 0.5
        elif gap >= 0.0:
            control.throttle = float(min(MAX_THROTTLE, THROTTLE_PER_MPS * gap + 0.2))
        else:
            control.brake = float(min(1.0, BRAKE_PER_MPS * -gap)) if gap < -0.5 else 0.0
        self.world.apply_control(self.actor_id, control)
        return control
