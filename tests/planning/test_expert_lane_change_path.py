"""The expert's path across a lane change: gradual, continuous, and never bent inside a junction."""
from __future__ import annotations

import numpy as np

from planning.expert.route_tracker import LANE_CHANGE_BLEND_M, smooth_lane_changes

LANE_M = 3.5


def _straight(n: int) -> np.ndarray:
    return np.array([[float(i), 0.0] for i in range(n)])


def test_a_lane_change_jump_becomes_a_gradual_move_before_it() -> None:
    xy = _straight(60)
    xy[31:, 1] = LANE_M  # the planner jumps one lane sideways between points 30 and 31
    out = smooth_lane_changes(xy, np.zeros(60, bool))
    steps = np.linalg.norm(np.diff(out, axis=0), axis=1)
    assert steps.max() < 1.1  # no jump left: every step about the 1 m spacing
    assert np.allclose(out[31:], xy[31:]) and np.allclose(out[:30 - int(LANE_CHANGE_BLEND_M)], xy[:30 - int(LANE_CHANGE_BLEND_M)])
    lateral = out[15:31, 1]
    assert np.all(np.diff(lateral) >= 0) and 0 < lateral[-1] < LANE_M  # monotone move across


def test_a_lane_change_at_the_route_start_is_blended_after_the_jump() -> None:
    xy = _straight(40)
    xy[1:, 1] = LANE_M  # the route's first step already changes lane (as at a spawn)
    out = smooth_lane_changes(xy, np.zeros(40, bool))
    assert np.linalg.norm(np.diff(out, axis=0), axis=1).max() < 1.1
    assert out[0, 1] == 0.0 and np.isclose(out[-1, 1], LANE_M)


def test_points_inside_a_junction_are_never_moved() -> None:
    xy = _straight(60)
    xy[31:, 1] = LANE_M
    junction = np.zeros(60, bool)
    junction[20:28] = True  # a junction just before the jump leaves 3 free points
    out = smooth_lane_changes(xy, junction)
    assert np.allclose(out[:28], xy[:28])
    assert np.linalg.norm(np.diff(out[28:], axis=0), axis=1).max() < 1.6


def test_a_route_without_jumps_is_unchanged() -> None:
    xy = np.array([[np.cos(a) * 30, np.sin(a) * 30] for a in np.linspace(0, 1.5, 50)])
    assert np.array_equal(smooth_lane_changes(xy, np.zeros(50, bool)), xy)
