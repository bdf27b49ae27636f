"""A PID controller with a sliding integral window, as TransFuser's and LeTFuser's controllers.

Why a window instead of an accumulating integral: the controllers run on a vehicle that stops
and starts many times per route (lights, traffic); an unbounded integral winds up while the car
waits and makes it lurch on release. The window keeps the last `window` errors and uses their
mean as the integral term, and the difference of the last two errors (per step, not per second)
as the derivative term, exactly as LeTFuser's `PIDController` (turn KP 1.25 KI 0.75 KD 0.3,
speed KP 5.0 KI 0.5 KD 1.0, window 40).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from driving.errors import InputError


@dataclass(frozen=True)
class PidGains:
    """Proportional, integral (on the window mean) and derivative (per step) gains; window in steps."""

    kp: float = 1.0
    ki: float = 0.0
    kd: float = 0.0
    window: int = 20

    def __post_init__(self) -> None:
        for name in ("kp", "ki", "kd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(f"PidGains.{name}: expected a finite number, got {value!r}")
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 2:
            raise InputError(f"PidGains.window: expected an integer >= 2 (steps), got {self.window!r}")


#: LeTFuser's lateral and longitudinal controllers (x13, branch cvpr-w).
LETFUSER_TURN_GAINS = PidGains(kp=1.25, ki=0.75, kd=0.3, window=40)
LETFUSER_SPEED_GAINS = PidGains(kp=5.0, ki=0.5, kd=1.0, window=40)


class PIDController:
    """u = kp * e + ki * mean(last `window` errors) + kd * (e - previous e).

    The window starts filled with zeros (as LeTFuser's), so the integral term ramps up over the
    first `window` steps instead of jumping to the first error.
    """

    def __init__(self, gains: PidGains) -> None:
        self.gains = gains
        self._errors: deque[float] = deque([0.0] * gains.window, maxlen=gains.window)

    def step(self, error: float) -> float:
        """Feed this step's error, return the control output (same units as gains * error)."""
        if not math.isfinite(error):
            raise InputError(f"PIDController.step: error must be finite, got {error!r}")
        self._errors.append(float(error))
        integral = sum(self._errors) / len(self._errors)
        derivative = self._errors[-1] - self._errors[-2]
        g = self.gains
        return g.kp * error + g.ki * integral + g.kd * derivative

    def reset(self) -> None:
        """Forget the error history (e.g. after the vehicle was held still on purpose)."""
        self._errors.extend([0.0] * self.gains.window)
