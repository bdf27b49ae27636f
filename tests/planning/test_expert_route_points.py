"""The expert's route is cleaned of the planner's artefacts where an official route's legs meet at
a keypoint (CARLA's Town04 testing route 13): points that step back, lone junction flags, and
zero-length steps whose heading is noise."""
from __future__ import annotations

import math

import carla
import numpy as np

from planning.expert.route_tracker import forward_points, path_headings, without_lone_junction_points
from planning.road_option import RoadOption


def _plan(points: list[tuple[float, float]]) -> list[tuple[carla.Transform, RoadOption]]:
    return [(carla.Transform(carla.Location(x, y, 0.0)), RoadOption.LANEFOLLOW) for x, y in points]


def _xy(plan: list[tuple[carla.Transform, RoadOption]]) -> np.ndarray:
    return np.array([[t.location.x, t.location.y] for t, _ in plan])


def test_a_leg_end_that_overshoots_the_next_legs_start_is_dropped() -> None:
    # a leg ends 1.4 m past the keypoint, the next starts at it (0.1 m back), then three lane
    # changes that each land 5 m ahead, and the keypoint on the new lane 14 m back
    points = [(float(x), 0.0) for x in range(11)] + [(11.4, 0.0), (11.3, 0.0)]
    points += [(16.3, 3.5), (21.3, 7.0), (26.3, 10.5), (12.3, 10.5)] + [(13.3 + i, 10.5) for i in range(10)]
    xy = _xy(forward_points(_plan(points)))
    steps = np.diff(xy, axis=0)
    assert (steps[:, 0] > 0.0).all()  # never a step back
    assert not any(x > 20.0 for x, y in xy if y > 10.0 and x < 13.0)  # the overshooting landing is gone
    assert np.allclose(xy[-1], points[-1]) and np.allclose(xy[0], points[0])


def test_a_duplicate_point_is_dropped_but_a_route_that_loops_back_is_kept() -> None:
    loop = [(20.0 * math.cos(a), 20.0 * math.sin(a)) for a in np.linspace(0.0, 2.0 * math.pi, 126)]
    kept = forward_points(_plan([*loop[:60], loop[59], *loop[60:]]))
    assert len(kept) == 126  # only the duplicate goes: the loop's end on its start is kept


def test_a_lone_junction_flag_is_cleared_and_a_junction_kept() -> None:
    junction = np.zeros(40, bool)
    junction[10] = True  # a keypoint at a road's end projected onto a junction that touches it
    junction[20:26] = True
    out = without_lone_junction_points(junction)
    assert not out[10] and out[20:26].all() and out.sum() == 6


def test_points_on_top_of_each_other_take_the_heading_of_the_road() -> None:
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [2.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0]])
    xy[3:] += [0.0, 1e-4]  # a multi-lane run put on the new lane: zero-length steps, angle noise
    assert np.allclose(path_headings(xy), 0.0, atol=1e-3)
