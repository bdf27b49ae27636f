"""Sensor-only test agent: drives straight ahead at a gentle speed read from its speedometer."""
import carla

from leaderboard.autoagents import autonomous_agent


def get_entry_point():
    return "StraightAgent"


class StraightAgent(autonomous_agent.AutonomousAgent):
    def setup(self, path_to_conf_file):
        self.track = autonomous_agent.Track.SENSORS
        self.frames = 0

    def sensors(self):
        return [{"type": "sensor.speedometer", "id": "speed"},
                {"type": "sensor.other.gnss", "id": "gps", "x": 0.0, "y": 0.0, "z": 0.0},
                {"type": "sensor.other.imu", "id": "imu", "x": 0.0, "y": 0.0, "z": 0.0,
                 "roll": 0.0, "pitch": 0.0, "yaw": 0.0}]

    def run_step(self, input_data, timestamp):
        assert len(input_data["gps"][1]) == 3 and len(input_data["imu"][1]) == 7
        self.frames += 1
        speed = input_data["speed"][1]["speed"]
        return carla.VehicleControl(throttle=0.5 if speed < 5.0 else 0.0, steer=0.0, brake=0.0)
