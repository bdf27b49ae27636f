"""A baseline that follows the route and never brakes: `--agent never_brake`.

It is what scenario benchmarks compare the expert against: a scenario whose hazard is real makes
this agent collide or run the light. It steers by pure pursuit on the dense route (privileged,
as the expert) and holds `CRUISE_SPEED_MPS` with throttle only; it never sets the brake.
"""
from __future__ import annotations

import math
from typing import Any

import carla

from driving.errors import InputError
from leaderboard.autoagents.autonomous_agent import AutonomousAgent, PrivilegedAgent, Track

CRUISE_SPEED_MPS = 7.0
LOOKAHEAD_M = 5.0
STEER_GAIN = 1.5  # steer per radian of heading error to the aim point


def get_entry_point() -> str:
    return "NeverBrakeAgent"


class NeverBrakeAgent(AutonomousAgent, PrivilegedAgent):
    """Route follower without a brake (a scenario's hazard must hurt it)."""

    def setup(self, path_to_conf_file: str) -> None:
        self.track = Track.SENSORS
        self._index = 0

    def sensors(self) -> list[dict[str, Any]]:
        return [{"type": "sensor.speedometer", "id": "speed", "reading_frequency": 20}]

    def run_step(self, input_data: dict[str, tuple[int, Any]], timestamp: float) -> carla.VehicleControl:
        if self.world is None or not self.dense_plan:
            raise InputError("NeverBrakeAgent: a privileged agent; it needs set_world and set_dense_plan")
        state = self.world.get_actor_state(self.ego_id)
        loc, yaw = state.transform.location, math.radians(state.transform.rotation.yaw)
        points = self.dense_plan
        window = range(self._index, min(len(points), self._index + 30))
        self._index = min(window, key=lambda i: points[i][0].location.distance(loc))
        aim = self._index
        while aim < len(points) - 1 and points[aim][0].location.distance(loc) < LOOKAHEAD_M:
            aim += 1
        target = points[aim][0].location
        angle = math.atan2(target.y - loc.y, target.x - loc.x) - yaw
        angle = math.atan2(math.sin(angle), math.cos(angle))
        gap = CRUISE_SPEED_MPS - state.speed_mps
        return carla.VehicleControl(throttle=max(0.0, min(0.8, 0.4 * gap + 0.2)) if gap > 0 else 0.0,
                                    steer=max(-1.0, min(1.0, STEER_GAIN * angle)), brake=0.0)
