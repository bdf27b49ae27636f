"""LeTFuser's controller on hand-computed cases: the PID geometry, each mode's rules, blending.

On its first step a PID with a zero-filled window of 40 gives u = (kp + ki / 40 + kd) * e, so the
turn PID scales the first error by 1.25 + 0.75 / 40 + 0.3 = 1.56875 and the speed PID by
5 + 0.5 / 40 + 1 = 6.0125.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from control.letfuser_controller import (
    CONTROL_MODES,
    ControllerConfig,
    LeTFuserController,
    pid_weights_from_task_weights,
)
from driving.errors import InputError

TURN_FIRST = 1.25 + 0.75 / 40 + 0.3
SPEED_FIRST = 5.0 + 0.5 / 40 + 1.0

STRAIGHT_FAST = np.array([[2.0, 0.0], [4.0, 0.0], [6.0, 0.0]])  # desired 4 m/s: PID throttle saturates
STRAIGHT_SLOW = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])  # desired 2 m/s


def controller(mode: str = "one_of", **kwargs) -> LeTFuserController:
    return LeTFuserController(ControllerConfig(mode=mode, **kwargs))


def test_pid_steer_is_the_aim_bearing_positive_to_the_right():
    wps = np.array([[2.0, 1.0], [4.0, 3.0], [6.0, 5.0]])  # aim (3, 2): 33.69 deg to the right
    d = controller("pid_only").step(wps, 0.0, (0.0, 0.0, 0.0))
    angle = math.degrees(math.atan2(2.0, 3.0)) / 90.0
    assert d.aim_angle == pytest.approx(angle)
    assert d.steer == pytest.approx(TURN_FIRST * angle)
    assert d.steer > 0  # CARLA: positive steer turns right
    left = controller("pid_only").step(wps * [1.0, -1.0], 0.0, (0.0, 0.0, 0.0))
    assert left.steer == pytest.approx(-d.steer)


def test_pid_steer_is_clipped_to_unit_range():
    wps = np.array([[0.1, 5.0], [0.1, 6.0]])  # nearly 90 deg right: 1.56875 * ~0.99 > 1
    assert controller("pid_only").step(wps, 0.0, (0.0, 0.0, 0.0)).steer == 1.0


def test_pid_desired_speed_is_twice_the_first_gap_and_delta_is_clipped():
    d = controller("pid_only").step(STRAIGHT_FAST, 0.0, (0.0, 0.0, 0.0))
    assert d.desired_speed_mps == pytest.approx(4.0)
    # delta = clip(4 - 0, 0, 0.25) -> 6.0125 * 0.25 = 1.503 -> clipped to max throttle 0.75
    assert d.pid[1] == pytest.approx(0.75)
    small = controller("pid_only").step(STRAIGHT_SLOW, 1.98, (0.0, 0.0, 0.0))
    assert small.pid[1] == pytest.approx(SPEED_FIRST * 0.02)
    faster = controller("pid_only").step(STRAIGHT_SLOW, 3.0, (0.0, 0.0, 0.0))
    assert faster.pid[1] == 0.0  # negative delta clipped to 0


def test_one_of_both_active_blends_steer_and_throttle_without_brake():
    wps = np.array([[2.0, 1.0], [4.0, 3.0], [6.0, 5.0]])  # desired |(2,2)| / 0.5 = 5.66 m/s
    d = controller("one_of").step(wps, 0.0, (-0.4, 0.5, 1.0))
    pid_steer = TURN_FIRST * math.degrees(math.atan2(2.0, 3.0)) / 90.0
    assert d.source == "blend"
    assert d.steer == pytest.approx(0.5 * pid_steer + 0.5 * -0.4)
    assert d.throttle == pytest.approx(0.5 * 0.75 + 0.5 * 0.5)
    assert d.brake == 0.0


def test_one_of_only_pid_active_uses_the_pid():
    d = controller("one_of").step(STRAIGHT_FAST, 0.0, (0.3, 0.1, 0.0))
    assert (d.source, d.steer, d.throttle, d.brake) == ("pid", 0.0, pytest.approx(0.75), 0.0)


def test_one_of_only_policy_active_uses_the_policy():
    d = controller("one_of").step(STRAIGHT_SLOW, 3.0, (0.3, 0.6, 0.0))
    assert (d.source, d.steer, d.throttle, d.brake) == ("policy", 0.3, 0.6, 0.0)
    assert d.pid[2] == 1.0  # the inactive PID proposes to brake


def test_one_of_none_active_stops_with_the_blended_brake():
    # PID inactive (brake 1); policy brake 0.3 rounds to 0 -> brake 0.5 * 1 + 0.5 * 0 = 0.5
    d = controller("one_of").step(STRAIGHT_SLOW, 3.0, (0.2, 0.1, 0.3))
    assert (d.source, d.throttle) == ("stop", 0.0)
    assert d.brake == pytest.approx(0.5)
    assert d.steer == pytest.approx(0.5 * 0.0 + 0.5 * 0.2)  # steer stays blended, as x13
    # policy brake 0.7 rounds to 1 -> full brake
    assert controller("one_of").step(STRAIGHT_SLOW, 3.0, (0.0, 0.1, 0.7)).brake == pytest.approx(1.0)


def test_policy_brake_is_rounded_before_fusion():
    d = controller("one_of").step(STRAIGHT_SLOW, 3.0, (0.0, 0.0, 0.49))
    assert d.policy[2] == 0.0
    d = controller("one_of").step(STRAIGHT_SLOW, 3.0, (0.0, 0.0, 0.51))
    assert d.policy[2] == 1.0


def test_both_must_stops_when_either_is_inactive():
    only_pid = controller("both_must").step(STRAIGHT_FAST, 0.0, (0.3, 0.1, 0.0))
    assert (only_pid.source, only_pid.throttle) == ("stop", 0.0)
    assert only_pid.brake == pytest.approx(0.5)  # 0.5 * PID brake 1 + 0.5 * policy brake 0
    only_policy = controller("both_must").step(STRAIGHT_SLOW, 3.0, (0.3, 0.6, 1.0))
    assert (only_policy.source, only_policy.throttle, only_policy.brake) == ("stop", 0.0, 1.0)
    both = controller("both_must").step(STRAIGHT_FAST, 0.0, (0.2, 0.5, 1.0))
    assert (both.source, both.brake) == ("blend", 0.0)
    assert both.throttle == pytest.approx(0.5 * 0.75 + 0.5 * 0.5)
    assert both.steer == pytest.approx(0.1)


def test_pid_only_ignores_the_policy_and_brakes_fully_when_inactive():
    d = controller("pid_only").step(STRAIGHT_FAST, 0.0, (-1.0, 0.0, 1.0))
    assert (d.source, d.steer, d.throttle, d.brake) == ("pid", 0.0, pytest.approx(0.75), 0.0)
    stop = controller("pid_only").step(STRAIGHT_SLOW, 3.0, (0.5, 0.7, 0.0))
    assert (stop.source, stop.throttle, stop.brake) == ("stop", 0.0, 1.0)


def test_mlp_only_uses_the_policy_brake_when_inactive():
    go = controller("mlp_only").step(STRAIGHT_SLOW, 3.0, (0.4, 0.5, 1.0))
    assert (go.source, go.steer, go.throttle, go.brake) == ("policy", 0.4, 0.5, 0.0)
    stop = controller("mlp_only").step(STRAIGHT_FAST, 0.0, (0.4, 0.1, 0.0))
    assert (stop.source, stop.throttle, stop.brake) == ("stop", 0.0, 0.0)  # policy brake 0: coast
    stop = controller("mlp_only").step(STRAIGHT_FAST, 0.0, (0.4, 0.1, 0.8))
    assert stop.brake == 1.0


def test_policy_throttle_above_max_is_clipped():
    d = controller("mlp_only").step(STRAIGHT_SLOW, 3.0, (2.0, 0.9, 0.0))
    assert (d.steer, d.throttle) == (1.0, 0.75)


def test_blend_weights_from_training_task_weights():
    weights = {"waypoints": 3.0, "steer": 1.0, "throttle": 3.0, "brake": 0.0, "segmentation": 9.0}
    assert pid_weights_from_task_weights(weights) == pytest.approx((0.75, 0.5, 1.0))
    assert pid_weights_from_task_weights(None) == (0.5, 0.5, 0.5)
    c = LeTFuserController(ControllerConfig(), task_weights=weights)
    d = c.step(np.array([[2.0, 1.0], [4.0, 3.0]]), 0.0, (-0.4, 0.5, 0.0))
    pid_steer = TURN_FIRST * math.degrees(math.atan2(2.0, 3.0)) / 90.0
    assert d.steer == pytest.approx(0.75 * pid_steer + 0.25 * -0.4)
    # explicit weights in the config win over task weights
    fixed = LeTFuserController(ControllerConfig(pid_weights=(1.0, 1.0, 1.0)), task_weights=weights)
    assert fixed.pid_weights == (1.0, 1.0, 1.0)


def test_pid_state_carries_over_steps_and_reset_forgets_it():
    c = controller("pid_only")
    first = c.step(np.array([[2.0, 1.0], [4.0, 3.0]]), 0.0, (0.0, 0.0, 0.0)).steer
    second = c.step(np.array([[2.0, 1.0], [4.0, 3.0]]), 0.0, (0.0, 0.0, 0.0)).steer
    angle = math.degrees(math.atan2(2.0, 3.0)) / 90.0
    assert second == pytest.approx(1.25 * angle + 0.75 * 2 * angle / 40 + 0.0)
    assert second != pytest.approx(first)
    c.reset()
    assert c.step(np.array([[2.0, 1.0], [4.0, 3.0]]), 0.0, (0.0, 0.0, 0.0)).steer == pytest.approx(first)


@pytest.mark.parametrize("kwargs, field", [({"mode": "both"}, "control.mode"),
                                           ({"pid_weights": (0.5, 1.5, 0.5)}, "control.pid_weights"),
                                           ({"max_throttle": 0.0}, "control.max_throttle")])
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(InputError, match=field):
        ControllerConfig(**kwargs)


def test_bad_inputs_are_one_clear_error():
    c = controller()
    with pytest.raises(InputError, match="waypoints"):
        c.step(np.zeros((1, 2)), 0.0, (0.0, 0.0, 0.0))
    with pytest.raises(InputError, match="policy_control"):
        c.step(STRAIGHT_FAST, 0.0, (0.0, float("nan"), 0.0))


def test_every_mode_is_accepted():
    for mode in CONTROL_MODES:
        assert controller(mode).step(STRAIGHT_FAST, 0.0, (0.0, 0.5, 0.0)).throttle > 0


def test_an_aim_point_behind_and_left_steers_left():
    """x13's bearing wraps at 270 deg and would steer right here; ours turns towards the point."""
    d = controller("pid_only").step(np.array([[-3.0, -1.0], [-5.0, -1.0]]), 0.0, (0.0, 0.0, 0.0))
    assert d.steer == -1.0
