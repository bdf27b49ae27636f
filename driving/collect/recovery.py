"""Recovery data (`driving collect --recovery`): seeded perturbation bursts on the driven car.

TransFuser-style data without recovery shows the model only the expert's own, well-centred
drive; bursts of perturbed steering and throttle push the car off that line so the dataset
also holds the expert bringing it back. During a burst the APPLIED control is perturbed while
the labels stay the expert's own control (what to do from this state). Bursts start at random
(seeded per route) with probability `start_probability` per tick outside a burst, last
`burst_ticks` ticks, add a constant steering offset of magnitude in `steer_offset` and scale
the throttle; no bursts while the expert brakes (stopping for a light must stay a stop).
"""
from __future__ import annotations

from dataclasses import dataclass

import carla
import numpy as np

from driving.errors import InputError


@dataclass(frozen=True)
class RecoveryConfig:
    """Perturbation bursts (units in names); the defaults give about one 1 s burst every 10 s at 20 Hz."""

    start_probability: float = 0.005
    burst_ticks: int = 20
    steer_offset_min: float = 0.15
    steer_offset_max: float = 0.35
    throttle_scale_min: float = 0.6
    throttle_scale_max: float = 1.2
    warmup_ticks: int = 40  # none right after the start (the car is still accelerating)

    def __post_init__(self) -> None:
        if not 0.0 <= self.start_probability <= 1.0:
            raise InputError(f"recovery: start_probability must be in [0, 1], got {self.start_probability}")
        if self.burst_ticks <= 0 or self.warmup_ticks < 0:
            raise InputError("recovery: burst_ticks must be > 0 and warmup_ticks >= 0")
        if not 0.0 <= self.steer_offset_min <= self.steer_offset_max <= 1.0:
            raise InputError("recovery: need 0 <= steer_offset_min <= steer_offset_max <= 1")
        if not 0.0 <= self.throttle_scale_min <= self.throttle_scale_max:
            raise InputError("recovery: need 0 <= throttle_scale_min <= throttle_scale_max")


class Perturber:
    """Applies the bursts of one route; deterministic for a given seed and control sequence."""

    def __init__(self, config: RecoveryConfig, seed: int) -> None:
        self.config = config
        self._rng = np.random.default_rng(seed)
        self._left = 0
        self._steer = 0.0
        self._throttle_scale = 1.0
        self.bursts = 0
        self.active = False

    def apply(self, tick: int, control: carla.VehicleControl) -> carla.VehicleControl:
        """The control to apply this tick: `control` itself outside a burst, a perturbed copy inside."""
        c = self.config
        if self._left == 0 and tick >= c.warmup_ticks and control.brake <= 0.0 \
                and self._rng.random() < c.start_probability:
            self._left = c.burst_ticks
            sign = 1.0 if self._rng.random() < 0.5 else -1.0
            self._steer = sign * float(self._rng.uniform(c.steer_offset_min, c.steer_offset_max))
            self._throttle_scale = float(self._rng.uniform(c.throttle_scale_min, c.throttle_scale_max))
            self.bursts += 1
        self.active = self._left > 0
        if not self.active:
            return control
        self._left -= 1
        return carla.VehicleControl(throttle=float(min(max(control.throttle * self._throttle_scale, 0.0), 1.0)),
                                    steer=float(min(max(control.steer + self._steer, -1.0), 1.0)),
                                    brake=float(control.brake), hand_brake=control.hand_brake,
                                    reverse=control.reverse)
