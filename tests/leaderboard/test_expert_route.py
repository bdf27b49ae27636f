"""The expert through the evaluator's route runner: a short town_grid route with background
traffic and pedestrians, completed without infractions; its config file and labels."""
from __future__ import annotations

import carla
import pytest

from driving.config import load_config
from driving.errors import InputError
from driving.sim.embedded_world import EmbeddedWorld
from leaderboard.agents_registry import load_agent_class, resolve_agent
from leaderboard.route_runner import RouteJob, RunOptions, run_route
from leaderboard.routes import RouteConfig
from planning.expert.config import ExpertConfig

# The first leg of bundled val_short route 0 (a right turn at a signalized junction), ~110 m.
KEYPOINTS = (carla.Location(198.25, -31.0, 0.0), carla.Location(258.096039, 1.75, 0.0))


def test_expert_completes_short_route_with_traffic_without_infractions():
    config = RouteConfig(route_id="expert_smoke", town="town_grid", keypoints=KEYPOINTS,
                         n_vehicles=30, n_walkers=30)
    opts = RunOptions(agent=str(resolve_agent("expert")), seed=3)
    job = RouteJob(routes_path="", routes_subset="", position=0, repetition=0, index=0)
    outcome = run_route(EmbeddedWorld(), config, job, opts, load_agent_class("expert"))
    record = outcome.record
    assert outcome.error == ""
    assert record.status == "Completed", record.infractions
    assert {k: v for k, v in record.infractions.items() if v} == {}
    assert record.scores["score_composed"] == pytest.approx(100.0)
    assert record.meta["route_length"] > 80.0 and record.meta["duration_game"] > 10.0  # it really drove


def test_bundled_config_loads_and_bad_keys_are_rejected(tmp_path):
    from leaderboard.autoagents import expert_agent

    loaded = load_config(ExpertConfig, expert_agent.DEFAULT_CONFIG)
    assert loaded == ExpertConfig()  # the YAML spells out the defaults
    bad = tmp_path / "bad.yaml"
    bad.write_text("cruise_speed_mps: 8.0\ncruise_sped_mps: 3.0\n")
    with pytest.raises(InputError, match="cruise_sped_mps"):
        load_config(ExpertConfig, bad)
    bad.write_text("cruise_speed_mps: -1.0\n")
    with pytest.raises(InputError, match="cruise_speed_mps"):
        load_config(ExpertConfig, bad)


def test_agent_without_world_says_what_it_needs():
    cls = load_agent_class("expert")
    agent = cls("")
    assert agent.sensors() == [{"type": "sensor.speedometer", "id": "speed", "reading_frequency": 20}]
    assert agent.labels() == {}
    with pytest.raises(InputError, match="set_world"):
        agent.run_step({}, 0.0)
