"""Privileged test agent: follows the dense route with pure pursuit and a speed P-controller."""
import math

import carla

from leaderboard.autoagents.autonomous_agent import AutonomousAgent, PrivilegedAgent, Track

TARGET_SPEED_MPS = 6.0
LOOKAHEAD_M = 4.0


def get_entry_point():
    return "FollowAgent"


class FollowAgent(AutonomousAgent, PrivilegedAgent):
    def setup(self, path_to_conf_file):
        self.track = Track.SENSORS
        self._index = 0

    def sensors(self):
        return [{"type": "sensor.speedometer", "id": "speed"}]

    def run_step(self, input_data, timestamp):
        state = self.world.get_actor_state(self.ego_id)
        loc, yaw = state.transform.location, math.radians(state.transform.rotation.yaw)
        points = [t.location for t, _ in self.dense_plan]
        while self._index < len(points) - 1 and points[self._index].distance(loc) < LOOKAHEAD_M:
            self._index += 1
        target = points[self._index]
        angle = math.atan2(target.y - loc.y, target.x - loc.x) - yaw
        angle = math.atan2(math.sin(angle), math.cos(angle))
        speed = input_data["speed"][1]["speed"]
        control = carla.VehicleControl()
        control.steer = max(-1.0, min(1.0, 2.0 * angle))
        error = TARGET_SPEED_MPS - speed
        control.throttle = max(0.0, min(0.75, 0.3 * error))
        control.brake = 0.0 if error > -1.0 else 0.5
        return control
