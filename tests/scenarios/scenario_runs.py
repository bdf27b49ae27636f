"""Drive one route with scenarios from an LB1.0 scenario file written by the test, through the
evaluator's real route runner (placement, behaviours, criteria), on a bundled town.

`trigger_pose(town, keypoints, distance_m)` gives the route's own pose `distance_m` along it, so
a test places a scenario's trigger exactly on the route (as the official files do).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import carla

from driving.sim.embedded_world import EmbeddedWorld
from leaderboard.agents_registry import load_agent_class, resolve_agent
from leaderboard.route_runner import RouteJob, RunOptions, run_route
from leaderboard.routes import RouteConfig
from leaderboard.statistics import RouteRecord
from planning.route_planner import interpolate_trajectory
from scenarios.route_geometry import RouteGeometry


def route_geometry(town: str, keypoints: Sequence[carla.Location]) -> RouteGeometry:
    """The dense route the runner will build for these keypoints."""
    world = EmbeddedWorld()
    try:
        carla_map = world.load_map(town)
        return RouteGeometry(interpolate_trajectory(carla_map, list(keypoints)).world)
    finally:
        world.close()


def trigger_pose(route: RouteGeometry, distance_m: float) -> dict[str, str]:
    """The route's pose `distance_m` along it, as an LB1.0 file `transform` (strings, as official)."""
    i = route.index_at(distance_m)
    x, y, z = route.xyz[i]
    return {"x": f"{x:.3f}", "y": f"{y:.3f}", "z": f"{z + 1.0:.3f}", "yaw": f"{route.yaw_deg[i]:.3f}",
            "pitch": "0", "roll": "0"}


def write_scenario_file(path: Path, town: str, scenario_type: str, transform: dict[str, str],
                        other_actors: dict | None = None) -> Path:
    """An LB1.0 scenario file with one event of one type."""
    event = {"transform": transform}
    if other_actors is not None:
        event["other_actors"] = other_actors
    data = {"available_scenarios": [{town: [{"scenario_type": scenario_type,
                                             "available_event_configurations": [event]}]}]}
    path.write_text(json.dumps(data))
    return path


def run_with_scenarios(town: str, keypoints: Sequence[carla.Location], scenarios_file: Path, agent: str,
                       seed: int = 0, n_vehicles: int = 0, n_walkers: int = 0) -> RouteRecord:
    """Drive the route once with `agent` ('expert', 'never_brake' or a path); returns its record."""
    config = RouteConfig(route_id="scenario_test", town=town, keypoints=tuple(keypoints),
                         n_vehicles=n_vehicles, n_walkers=n_walkers)
    opts = RunOptions(agent=str(resolve_agent(agent)), seed=seed, scenarios_file=str(scenarios_file))
    job = RouteJob(routes_path="", routes_subset="", position=0, repetition=0, index=0)
    outcome = run_route(EmbeddedWorld(), config, job, opts, load_agent_class(agent))
    assert outcome.error == "", outcome.error
    return outcome.record
