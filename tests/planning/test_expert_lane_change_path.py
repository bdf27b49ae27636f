"""The expert's path across a lane change: gradual, continuous, and never bent inside a junction."""
from __future__ import annotations

import numpy as np

from planning.expert.route_tracker import LANE_CHANGE_M_PER_M, smooth_lane_changes

LANE_M = 3.5


def _straight(n: int) -> np.ndarray:
    return np.array([[float(i), 0.0] for i in range(n)])


def _max_step(xy: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(xy, axis=0), axis=1).max())


def test_a_lane_change_jump_becomes_a_gradual_move_before_it() -> None:
    xy = _straight(80)
    xy[51:, 1] = LANE_M  # the planner jumps one lane sideways between points 50 and 51
    out = smooth_lane_changes(xy, np.zeros(80, bool))
    blend = round(LANE_CHANGE_M_PER_M * LANE_M)
    assert _max_step(out) < 1.1  # no jump left: every step about the 1 m spacing
    assert np.allclose(out[51:], xy[51:]) and np.allclose(out[:51 - blend], xy[:51 - blend])
    lateral = out[51 - blend:51, 1]
    assert np.all(np.diff(lateral) >= 0) and 0 < lateral[-1] < LANE_M  # monotone move across
    heading = np.arctan2(np.diff(out[:, 1]), np.diff(out[:, 0]))
    assert np.abs(np.diff(heading)).max() < 0.1  # eased: no kink where the move starts or ends


def test_a_three_lane_run_of_jumps_is_one_longer_move() -> None:
    xy = _straight(120)
    for k, i in enumerate((80, 81, 82)):  # three consecutive jumps, as after a junction exit
        xy[i + 1:, 1] = LANE_M * (k + 1)
    out = smooth_lane_changes(xy, np.zeros(120, bool))
    assert _max_step(out) < 1.2
    moved = np.nonzero(np.abs(out[:, 1] - xy[:, 1]) > 1e-9)[0]
    assert moved.max() - moved.min() + 1 >= LANE_CHANGE_M_PER_M * 3 * LANE_M * 0.9
    assert np.isclose(out[-1, 1], 3 * LANE_M)


def test_a_lane_change_at_the_route_start_is_blended_after_the_jump() -> None:
    xy = _straight(60)
    xy[1:, 1] = LANE_M  # the route's first step already changes lane (as at a spawn)
    out = smooth_lane_changes(xy, np.zeros(60, bool))
    assert _max_step(out) < 1.1
    assert out[0, 1] == 0.0 and np.isclose(out[-1, 1], LANE_M)


def test_after_a_junction_exit_the_move_starts_on_the_old_lane() -> None:
    xy = _straight(90)
    xy[31:, 1] = LANE_M
    junction = np.zeros(90, bool)
    junction[20:30] = True  # the jump comes right after the junction: no room before it
    out = smooth_lane_changes(xy, junction)
    assert np.allclose(out[:31], xy[:31])  # the junction and the exit point are untouched
    assert _max_step(out[30:]) < 1.3 and np.isclose(out[-1, 1], LANE_M)


def test_a_route_without_jumps_is_unchanged() -> None:
    xy = np.array([[np.cos(a) * 30, np.sin(a) * 30] for a in np.linspace(0, 1.5, 50)])
    assert np.array_equal(smooth_lane_changes(xy, np.zeros(50, bool)), xy)
