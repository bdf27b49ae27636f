"""Per-tick trace of one scenario behaviour during a real route run (for the S3/S4 tests).

`traced_run` wraps `ScenarioManager.before_tick` for the duration of one `run_with_scenarios`
call and records, after each call, the ego's route distance and speed, the first behaviour's status and
the states of its actors; a test then asserts where the actors stood and when the status changed.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import carla
import pytest
from scenario_runs import run_with_scenarios

from driving.errors import WorldError
from driving.world import ActorState
from leaderboard.statistics import RouteRecord
from scenarios.behaviour import ScenarioBehaviour
from scenarios.manager import ScenarioManager


@dataclass
class Tick:
    """One frame: ego route distance (m) and speed (m/s), game time (s), behaviour status, its
    actors' states."""

    ego_route_m: float
    ego_speed_mps: float
    time_s: float
    status: str
    actors: dict[int, ActorState]


@dataclass
class Trace:
    ticks: list[Tick] = field(default_factory=list)
    behaviour: ScenarioBehaviour | None = None
    record: RouteRecord | None = None
    wall_s: float = 0.0

    def first(self, status: str) -> Tick | None:
        return next((t for t in self.ticks if t.status == status), None)


def traced_run(town: str, keypoints: Sequence[carla.Location],
               scenarios_file: Path, agent: str) -> Trace:
    """Run the route with `agent`, tracing the route's first scenario behaviour."""
    trace = Trace()
    original = ScenarioManager.before_tick

    def before_tick(self: ScenarioManager, time_s: float) -> None:
        original(self, time_s)
        b = self.behaviours[0]
        trace.behaviour = b
        actors = {}
        for actor_id in b.actor_ids:
            try:
                actors[actor_id] = self.ctx.world.get_actor_state(actor_id)
            except WorldError:
                pass
        trace.ticks.append(Tick(self.ctx.ego_route_m, self.ctx.ego.speed_mps, time_s, b.status.value, actors))

    t0 = time.perf_counter()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ScenarioManager, "before_tick", before_tick)
        trace.record = run_with_scenarios(town, keypoints, scenarios_file, agent)
    trace.wall_s = time.perf_counter() - t0
    return trace
