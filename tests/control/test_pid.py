"""PID with an integral window: the LeTFuser formula, window behaviour, validation."""
import math

import pytest

from control.pid import LETFUSER_SPEED_GAINS, LETFUSER_TURN_GAINS, PIDController, PidGains
from driving.errors import InputError


def test_first_step_matches_letfuser_formula():
    pid = PIDController(PidGains(kp=2.0, ki=0.5, kd=0.25, window=4))
    # window starts as zeros: integral = mean([0, 0, 0, 1]) = 0.25, derivative = 1 - 0 = 1
    assert pid.step(1.0) == pytest.approx(2.0 * 1.0 + 0.5 * 0.25 + 0.25 * 1.0)


def test_integral_is_mean_of_last_window_errors():
    pid = PIDController(PidGains(kp=0.0, ki=1.0, kd=0.0, window=3))
    outs = [pid.step(e) for e in (3.0, 3.0, 3.0, 0.0, 0.0, 0.0)]
    assert outs == pytest.approx([1.0, 2.0, 3.0, 2.0, 1.0, 0.0])


def test_derivative_is_per_step_difference():
    pid = PIDController(PidGains(kp=0.0, ki=0.0, kd=1.0, window=5))
    pid.step(1.0)
    assert pid.step(4.0) == pytest.approx(3.0)
    assert pid.step(2.0) == pytest.approx(-2.0)


def test_reset_forgets_history():
    pid = PIDController(PidGains(kp=0.0, ki=1.0, kd=1.0, window=2))
    pid.step(5.0)
    pid.step(5.0)
    pid.reset()
    assert pid.step(0.0) == pytest.approx(0.0)


def test_closed_loop_reaches_setpoint_without_windup():
    # a first-order plant x' = u, driven towards 1.0: converges, and the windowed integral does
    # not overshoot beyond a bounded amount after a long saturation period
    pid = PIDController(LETFUSER_SPEED_GAINS)
    x = 0.0
    for _ in range(400):
        u = max(-1.0, min(1.0, pid.step(1.0 - x)))
        x += 0.05 * u
    assert x == pytest.approx(1.0, abs=0.02)


def test_letfuser_gains():
    assert (LETFUSER_TURN_GAINS.kp, LETFUSER_TURN_GAINS.ki, LETFUSER_TURN_GAINS.kd) == (1.25, 0.75, 0.3)
    assert (LETFUSER_SPEED_GAINS.kp, LETFUSER_SPEED_GAINS.ki, LETFUSER_SPEED_GAINS.kd) == (5.0, 0.5, 1.0)
    assert LETFUSER_TURN_GAINS.window == LETFUSER_SPEED_GAINS.window == 40


@pytest.mark.parametrize("kwargs", [{"kp": math.nan}, {"ki": "1"}, {"window": 1}, {"window": 2.5}])
def test_bad_gains_raise_input_error(kwargs):
    with pytest.raises(InputError, match="PidGains"):
        PidGains(**kwargs)


def test_non_finite_error_raises():
    with pytest.raises(InputError, match="finite"):
        PIDController(PidGains()).step(math.inf)
