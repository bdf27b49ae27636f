"""The privileged expert as a leaderboard agent: `--agent expert` (or this file's path).

It declares only a speedometer (a SENSORS-track rig) and reads the ground-truth World the
evaluator hands to privileged agents (`PrivilegedAgent.set_world`, `set_dense_plan`). Its
configuration is `configs/expert.yaml` by default (`--agent-config PATH` for another).

`labels()` returns, after each `run_step`, what the expert saw and decided (TransFuser's
measurement names; positions CARLA world metres, speeds m/s):
- x, y, theta (compass rad = yaw + pi/2), speed: the ego state the decision was made on;
- target_speed: the speed the expert drives towards (lowest of the limits below);
- waypoints: the expert's planned positions every 0.5 s ([[x, y], ...], world) along the route;
- x_command, y_command, command, next_command: the target point (next downsampled route point
  more than 7.5 m ahead) and its RoadOption value, and the following point's RoadOption;
- light_hazard (stopping for a red/yellow light), stop_sign_hazard, vehicle_hazard,
  walker_hazard (that limit binds the speed below cruise), junction (ego on a junction lane);
- angle: angle to the pure-pursuit aim point, degrees / 90 (TransFuser's normalisation);
- steer, throttle, brake, reverse: the control returned (reverse only when backing out of a
  deadlock); ego_matrix: the ego transform as 4 x 4;
- route_index, route_remaining_m, limits (name -> m/s; "overtake" is the speed cap while passing
  through the oncoming lane, holding behind the blockers counts as "vehicle"), overtake ("idle",
  "waiting" behind blockers to be passed, "passing"): for debugging.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import carla

from driving.config import load_config
from driving.errors import InputError
from leaderboard.autoagents.autonomous_agent import AutonomousAgent, PrivilegedAgent, Track
from planning.expert.config import ExpertConfig

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "expert.yaml"


def get_entry_point() -> str:
    return "ExpertAgent"


class ExpertAgent(AutonomousAgent, PrivilegedAgent):
    """Ground-truth driver: lights, stop signs, traffic and walkers from the World, no learned parts."""

    def setup(self, path_to_conf_file: str) -> None:
        self.track = Track.SENSORS
        path = Path(path_to_conf_file) if path_to_conf_file else DEFAULT_CONFIG
        self.config = load_config(ExpertConfig, path) if path.is_file() or path_to_conf_file else ExpertConfig()
        self._driver = None

    def sensors(self) -> list[dict[str, Any]]:
        return [{"type": "sensor.speedometer", "id": "speed", "reading_frequency": 20}]

    def _ensure_driver(self):
        if self._driver is None:
            from planning.expert.driver import ExpertDriver

            if self.world is None or self.ego_id is None:
                raise InputError("ExpertAgent: no World was handed over; the expert is a privileged agent and "
                                 "needs an evaluator that calls set_world(world, ego_id)")
            plan = self.dense_plan or self._global_plan_world_coord
            if not plan:
                raise InputError("ExpertAgent: no route was handed over (set_global_plan / set_dense_plan)")
            self._driver = ExpertDriver(self.world, self.ego_id, plan, self.config,
                                        sparse_plan=self._global_plan_world_coord)
        return self._driver

    def run_step(self, input_data: dict[str, tuple[int, Any]], timestamp: float) -> carla.VehicleControl:
        return self._ensure_driver().step()

    def labels(self) -> dict[str, Any]:
        """The last step's labels (see the module docstring); empty before the first step."""
        return self._driver.labels() if self._driver is not None else {}

    def debug_lines(self) -> list[str]:
        """The last step's command, target speed and brake reason, for the route viewer."""
        labels = self.labels()
        if not labels:
            return []
        from driving.collect.labels import binding_limit
        from planning.road_option import RoadOption

        limits = labels.get("limits") or {}
        reason = binding_limit(limits) if float(labels.get("brake", 0.0)) > 0.0 else ""
        hazards = [name[: -len("_hazard")] for name in ("light_hazard", "stop_sign_hazard", "vehicle_hazard",
                                                              "walker_hazard") if labels.get(name)]
        return [f"command {RoadOption(int(labels['command'])).name}",
                f"target {float(labels.get('target_speed', 0.0)) * 3.6:4.1f} km/h",
                f"brake reason {reason or '-'}", f"hazards {', '.join(hazards) or '-'}"]

    def destroy(self) -> None:
        self._driver = None
