"""Sparse route for agents: the indices of the points the leaderboard hands to `set_global_plan`.

Agents receive the dense (1 m) route thinned to one point every `sample_factor_m` metres
(LB1.0: 50 m, LB2.0: 200 m) plus every point where the command changes, so a model that reads
the next target point and its command sees every turn and lane change. Same rule as the
official `leaderboard.utils.route_manipulation.downsample_route`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import carla

from planning.road_option import LANE_CHANGES, RoadOption


def _location(point: Any) -> carla.Location:
    """The location of a route point: a carla.Transform, carla.Waypoint or carla.Location."""
    if isinstance(point, carla.Location):
        return point
    if isinstance(point, carla.Waypoint):
        return point.transform.location
    return point.location


def downsample_route(route: Sequence[tuple[Any, RoadOption]], sample_factor_m: float) -> list[int]:
    """Indices of `route` to keep: lane changes, command changes, every `sample_factor_m` metres, the end.

    `route` is a list of (carla.Transform | carla.Waypoint | carla.Location, RoadOption). Distance
    is accumulated point to point in metres and reset at every kept point; a kept point is one whose
    accumulated distance *exceeds* `sample_factor_m` (official behaviour). A point right after a
    lane change is not kept for its option change alone (the change point already marks it).
    """
    kept: list[int] = []
    prev_option: RoadOption | None = None
    dist_m = 0.0
    last = len(route) - 1
    for i, (point, option) in enumerate(route):
        keep = (option in LANE_CHANGES
                or (prev_option != option and prev_option not in LANE_CHANGES)
                or dist_m > sample_factor_m
                or i == last)
        if keep:
            kept.append(i)
            dist_m = 0.0
        else:
            dist_m += _location(point).distance(_location(route[i - 1][0]))
        prev_option = option
    return kept
