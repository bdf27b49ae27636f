"""A scripted car that crosses the ego's path in a junction at a chosen moment (S7/S8/S9).

The official signalized-junction scenarios spawn nothing: the background traffic on the approach
given the conflicting green is what may run into the ego. Whether a background car is there at
the right moment is luck, so a test could never show the hazard. This car makes it
deterministic: it waits on the chosen approach, `CAR_BACK_M` before the stop line, takes the
branch of the junction whose lane passes closest to the ego's route through it, and is timed to
reach that crossing point when the ego does (an ego that keeps going meets it) or, while the
ego stands, when the conflict phase begins (an ego waiting at its red meets it just as its own
light turns green). It re-times only until it enters the junction, then holds its speed: it is
the hazard and never yields (role "scenario", ignores lights).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import carla
import numpy as np

from driving.errors import WorldError
from driving.world import TrafficLightInfo, World
from scenarios.route_geometry import RouteGeometry
from scenarios.scripted_vehicle import ScriptedVehicle, lane_path, prefer

#: Where the car waits: metres before its stop line along its lane.
CAR_BACK_M = 25.0
#: Path length past the stop line (through any junction and out of it), metres.
CAR_PATH_PAST_STOP_M = 60.0
#: A branch crosses the ego's route when its lane centre passes this close to it (metres).
CROSSING_REACH_M = 2.5
#: Speed limits of the timed approach (m/s) and the smallest time left to aim at (s).
MIN_SPEED_MPS, MAX_SPEED_MPS = 4.0, 12.0
MIN_TIME_LEFT_S = 0.5
#: Below this the ego counts as standing (its arrival time is unknown), m/s.
EGO_MOVING_MPS = 1.0


@dataclass
class CrossingPlan:
    """Where the car starts and drives, and where its path meets the ego's route."""

    start: carla.Transform
    path: np.ndarray  # (N, 3) lane-centre points, metres
    conflict_path_m: float  # along the car's path
    conflict_route_m: float  # along the ego's route
    junction_path_m: float  # where the car's path enters the junction


def plan_crossing(carla_map: carla.Map, light: TrafficLightInfo, route: RouteGeometry,
                  entry_m: float, exit_m: float) -> CrossingPlan | None:
    """The lane and branch of `light`'s approach that crosses the route between `entry_m` and
    `exit_m` (the ego's junction), or None when none comes within `CROSSING_REACH_M`."""
    lo, hi = route.index_at(entry_m - 2.0), route.index_at(exit_m + 5.0)
    ego_xy = route.xyz[lo:hi + 1, :2]
    best: tuple[float, CrossingPlan] | None = None
    for stop in light.stop_waypoints:
        back = stop.previous(CAR_BACK_M)
        start = back[0] if back else stop
        for turn in ("straight", "left", "right"):
            path = lane_path(start, CAR_BACK_M + CAR_PATH_PAST_STOP_M, choose=prefer(turn))
            d = np.hypot(path[:, None, 0] - ego_xy[None, :, 0], path[:, None, 1] - ego_xy[None, :, 1])
            i, j = np.unravel_index(int(np.argmin(d)), d.shape)
            if d[i, j] > CROSSING_REACH_M or (best is not None and d[i, j] >= best[0]):
                continue
            path_s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path[:, :2], axis=0), axis=1))])
            in_junction = [k for k in range(len(path))
                           if carla_map.get_waypoint(carla.Location(*map(float, path[k]))).is_junction]
            junction_m = float(path_s[in_junction[0]]) if in_junction else float(path_s[i])
            best = (float(d[i, j]), CrossingPlan(start.transform, path, float(path_s[i]),
                                                  float(route.distance_m[lo + j]), junction_m))
    return best[1] if best else None


class CrossingCar:
    """The spawned car: held until `launch`, then timed onto the crossing point."""

    def __init__(self, world: World, plan: CrossingPlan) -> None:
        self.plan = plan
        self.actor_id = world.spawn_vehicle(plan.start, "vehicle.car", role_name="scenario")
        self.driver = ScriptedVehicle(world, self.actor_id, plan.path, 0.0)
        self.driver.full_brake = True
        self.launched = False
        self.entered_junction_s: float | None = None  # game time the car entered the junction

    @property
    def travelled_m(self) -> float:
        return float(self.driver.path_s[-1] - self.driver.remaining_m)

    def launch(self, world: World, now_s: float, conflict_start_s: float, ego_speed_mps: float,
               ego_to_conflict_m: float) -> None:
        """Start driving, at once at the speed that reaches the crossing point on time."""
        self.launched = True
        self.driver.full_brake = False
        speed = self._speed(now_s, conflict_start_s, ego_speed_mps, ego_to_conflict_m)
        yaw = math.radians(self.plan.start.rotation.yaw)
        try:
            world.set_target_velocity(self.actor_id, carla.Vector3D(speed * math.cos(yaw), speed * math.sin(yaw), 0.0))
        except WorldError:
            pass  # the driver accelerates it instead
        self.driver.target_speed_mps = speed

    def _speed(self, now_s: float, conflict_start_s: float, ego_speed_mps: float, ego_to_conflict_m: float) -> float:
        """Speed that brings the car to the crossing point when the ego gets there (moving ego)
        or at `conflict_start_s` (standing ego)."""
        if ego_speed_mps > EGO_MOVING_MPS and ego_to_conflict_m > 0.0:
            arrive_s = now_s + ego_to_conflict_m / ego_speed_mps
        else:
            arrive_s = conflict_start_s
        left_m = max(self.plan.conflict_path_m - self.travelled_m, 0.0)
        return float(np.clip(left_m / max(arrive_s - now_s, MIN_TIME_LEFT_S), MIN_SPEED_MPS, MAX_SPEED_MPS))

    def step(self, now_s: float, conflict_start_s: float, ego_speed_mps: float, ego_to_conflict_m: float) -> None:
        """Drive one tick; re-time while short of the junction, note when it enters it."""
        if self.launched:
            if self.travelled_m >= self.plan.junction_path_m:
                if self.entered_junction_s is None:
                    self.entered_junction_s = now_s
            else:
                self.driver.target_speed_mps = self._speed(now_s, conflict_start_s, ego_speed_mps, ego_to_conflict_m)
        self.driver.step()
