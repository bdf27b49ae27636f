"""Label assembly for one saved frame (TransFuser measurement names, layout in `driving.collect.layout`).

- Target point and command are what the LeTFuser agent will see: the leaderboard's downsampled
  GPS route (`AutonomousAgent.set_global_plan`) followed with the agent's own
  `GpsRouteFollower` and its default pop / lookahead distances, stepped every tick from the
  ego's true position converted to GNSS (no sensor noise) and its compass. The expert's own
  target (`labels()["x_command"]`) uses a slightly different rule and is kept as
  `expert_x_command` / `expert_y_command` / `expert_command`.
- `waypoints` are the ego's DRIVEN future positions, filled in later (`DrivenPath`); the
  expert's forecast is kept as `expert_waypoints`.
- `brake_reason`: the expert's binding speed limit (`labels()["limits"]`, lowest value; ties go
  to the first limit, i.e. "cruise") when it brakes, else null; `binding_limit` always.
"""
from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

import carla
import numpy as np

from driving.world import ActorState
from planning.gps import geo_reference, location_to_gps
from planning.gps_route_follower import GpsRouteFollower
from planning.letfuser_agent_config import LeTFuserAgentConfig


def _agent_defaults() -> dict[str, Any]:
    return {f.name: f.default for f in fields(LeTFuserAgentConfig)}


class RouteTargetLabeller:
    """The agent's target-point rule on the downsampled GPS route, fed with ground truth."""

    def __init__(self, global_plan_gps: list, carla_map: carla.Map) -> None:
        d = _agent_defaults()
        self.follower = GpsRouteFollower(d["route_pop_distance_m"], d["route_lookahead_m"], d["gnss_max_jump_m"])
        self.follower.set_route(global_plan_gps)
        self._lat_ref, self._lon_ref = geo_reference(carla_map.to_opendrive(), f"map {carla_map.name!r}")
        self.target_ego_m = np.zeros(2)
        self.command = 4

    def step(self, ego: ActorState) -> tuple[np.ndarray, int]:
        """Advance on this tick's ego state; (target point in the ego frame (x fwd, y right), command)."""
        gps = location_to_gps(self._lat_ref, self._lon_ref, ego.transform.location)
        compass = math.radians(ego.transform.rotation.yaw) + math.pi / 2
        nav = self.follower.step([gps["lat"], gps["lon"], gps.get("z", 0.0)], compass)
        self.target_ego_m = np.asarray(nav.target_ego_m, dtype=np.float64)
        self.command = int(nav.option)
        return self.target_ego_m, self.command


def ego_to_world(point_ego: np.ndarray, ego_xy: tuple[float, float], yaw_rad: float) -> tuple[float, float]:
    """Ego-frame point (x forward, y right; metres) -> CARLA world (inverse of dataset.world_to_ego)."""
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    x, y = float(point_ego[0]), float(point_ego[1])
    return ego_xy[0] + c * x - s * y, ego_xy[1] + s * x + c * y


def binding_limit(limits: dict[str, float]) -> str:
    """Name of the lowest speed limit (first one on ties); '' when there is none."""
    if not limits:
        return ""
    return min(limits, key=lambda k: limits[k])


def frame_measurements(ego: ActorState, expert: dict[str, Any], target_ego_m: np.ndarray, command: int,
                       applied: carla.VehicleControl, perturbed: bool) -> dict[str, Any]:
    """The measurements of one saved frame, `waypoints` left empty (filled in by `DrivenPath`).

    `expert` is the expert's `labels()` of this tick; steer/throttle/brake are its own control (the
    label), `applied_*` what reached the car (different only inside a recovery burst).
    """
    loc = ego.transform.location
    yaw = math.radians(ego.transform.rotation.yaw)
    tx, ty = ego_to_world(target_ego_m, (loc.x, loc.y), yaw)
    limits = {k: float(v) for k, v in (expert.get("limits") or {}).items()}
    binding = binding_limit(limits)
    brake = float(expert.get("brake", 0.0))
    return {
        "x": float(loc.x), "y": float(loc.y), "theta": yaw + math.pi / 2,
        "speed": float(ego.speed_mps), "target_speed": float(expert.get("target_speed", 0.0)),
        "x_command": tx, "y_command": ty, "command": int(command),
        "waypoints": [],
        "steer": float(expert.get("steer", 0.0)), "throttle": float(expert.get("throttle", 0.0)), "brake": brake,
        "reverse": bool(expert.get("reverse", False)),
        "applied_steer": float(applied.steer), "applied_throttle": float(applied.throttle),
        "applied_brake": float(applied.brake), "perturbed": bool(perturbed),
        "junction": bool(expert.get("junction", False)),
        "vehicle_hazard": bool(expert.get("vehicle_hazard", False)),
        "light_hazard": bool(expert.get("light_hazard", False)),
        "walker_hazard": bool(expert.get("walker_hazard", False)),
        "stop_sign_hazard": bool(expert.get("stop_sign_hazard", False)),
        "angle": float(expert.get("angle", 0.0)),
        "ego_matrix": [list(map(float, row)) for row in ego.transform.get_matrix()],
        "binding_limit": binding, "brake_reason": binding if brake > 0.0 else None,
        "limits": limits,
        "expert_x_command": float(expert.get("x_command", tx)), "expert_y_command": float(expert.get("y_command", ty)),
        "expert_command": int(expert.get("command", command)),
        "expert_waypoints": [[float(p[0]), float(p[1])] for p in expert.get("waypoints", [])],
    }


class DrivenPath:
    """The ego's position every tick, to fill a frame's `waypoints` with where it really drove.

    Waypoint j (1-based) of the frame saved at tick t is the position at tick
    t + j * `spacing_ticks`; `num_future` of them when the drive went on long enough, fewer at
    the end of a route (the reader skips frames with fewer than the model needs).
    """

    def __init__(self, spacing_ticks: int, num_future: int) -> None:
        self.spacing_ticks = spacing_ticks
        self.num_future = num_future
        self._xy: list[tuple[float, float]] = []

    def add(self, tick: int, ego: ActorState) -> None:
        if tick != len(self._xy):
            raise ValueError(f"DrivenPath: ticks must arrive in order, got {tick} after {len(self._xy) - 1}")
        self._xy.append((float(ego.transform.location.x), float(ego.transform.location.y)))

    def ready(self, tick: int) -> bool:
        """Whether every future waypoint of a frame saved at `tick` is known."""
        return tick + self.num_future * self.spacing_ticks < len(self._xy)

    def waypoints(self, tick: int) -> list[list[float]]:
        out = []
        for j in range(1, self.num_future + 1):
            t = tick + j * self.spacing_ticks
            if t >= len(self._xy):
                break
            out.append(list(self._xy[t]))
        return out
