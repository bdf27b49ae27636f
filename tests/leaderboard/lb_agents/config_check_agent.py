"""Sensor test agent with the optional `check_agent_config` hook: its config file must exist."""
from pathlib import Path

import carla

from driving.errors import InputError
from leaderboard.autoagents.autonomous_agent import AutonomousAgent, Track


def get_entry_point():
    return "ConfigCheckAgent"


class ConfigCheckAgent(AutonomousAgent):
    @classmethod
    def check_agent_config(cls, path_to_conf_file: str) -> None:
        if not Path(path_to_conf_file).is_file():
            raise InputError(f"--agent-config {path_to_conf_file!r}: no such model file")

    def setup(self, path_to_conf_file):
        self.track = Track.SENSORS
        self.speed_mps = float(Path(path_to_conf_file).read_text())

    def sensors(self):
        return [{"type": "sensor.speedometer", "id": "speed"}]

    def run_step(self, input_data, timestamp):
        speed = input_data["speed"][1]["speed"]
        return carla.VehicleControl(throttle=0.5 if speed < self.speed_mps else 0.0, steer=0.0, brake=0.0)
