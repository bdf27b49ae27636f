"""Test agent with LeTFuser's research rig (RGB + depth cameras): invalid on the SENSORS track."""
from leaderboard.autoagents.autonomous_agent import AutonomousAgent


def get_entry_point():
    return "DepthRigAgent"


class DepthRigAgent(AutonomousAgent):
    def sensors(self):
        cams = []
        for i, yaw in enumerate((-60.0, 0.0, 60.0)):
            for kind in ("rgb", "depth"):
                cams.append({"type": f"sensor.camera.{kind}", "id": f"{kind}_{i}", "x": 1.3, "y": 0.0, "z": 2.3,
                             "roll": 0.0, "pitch": 0.0, "yaw": yaw, "width": 64, "height": 32, "fov": 60})
        return cams
