"""Test agent whose run_step raises after a few frames."""
import carla

from leaderboard.autoagents.autonomous_agent import AutonomousAgent


def get_entry_point():
    return "StepErrorAgent"


class StepErrorAgent(AutonomousAgent):
    def setup(self, path_to_conf_file):
        self.steps = 0

    def run_step(self, input_data, timestamp):
        self.steps += 1
        if self.steps > 5:
            raise ValueError("model exploded")
        return carla.VehicleControl(throttle=0.3)
