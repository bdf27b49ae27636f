"""Test agent whose setup raises."""
from leaderboard.autoagents.autonomous_agent import AutonomousAgent


def get_entry_point():
    return "SetupErrorAgent"


class SetupErrorAgent(AutonomousAgent):
    def setup(self, path_to_conf_file):
        raise RuntimeError("weights not found")
