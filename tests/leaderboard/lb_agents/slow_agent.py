"""Test agent whose third run_step sleeps past the evaluator's --timeout."""
import time

import carla

from leaderboard.autoagents.autonomous_agent import AutonomousAgent


def get_entry_point():
    return "SlowAgent"


class SlowAgent(AutonomousAgent):
    def setup(self, path_to_conf_file):
        self.steps = 0

    def run_step(self, input_data, timestamp):
        self.steps += 1
        if self.steps == 3:
            time.sleep(3.0)
        return carla.VehicleControl(throttle=0.3)
