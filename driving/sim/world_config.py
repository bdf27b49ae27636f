"""Settings of the embedded world (traffic lights, NPC drivers, pedestrians), one frozen dataclass.

Read from YAML with `driving.config.load_config(EmbeddedWorldConfig, path)`; the defaults are
the values the tests and benchmarks use. Units are in the names.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from driving.errors import InputError


@dataclass(frozen=True)
class EmbeddedWorldConfig:
    """Traffic-light phases, NPC driving style and pedestrian behaviour.

    NPCs drive at a fraction in [npc_speed_min_fraction, 1] of each road's OpenDRIVE speed limit;
    `npc_speed_limit_mps` applies to roads without one.
    """

    green_s: float = 10.0
    yellow_s: float = 3.0
    all_red_s: float = 1.0
    npc_speed_limit_mps: float = 11.0
    npc_speed_min_fraction: float = 0.8
    npc_time_headway_s: float = 1.2
    npc_min_gap_m: float = 2.5
    npc_comfortable_decel_mps2: float = 3.0
    npc_max_lateral_accel_mps2: float = 3.0
    walker_speed_min_mps: float = 1.2
    walker_speed_max_mps: float = 1.6
    walker_cross_probability: float = 0.5

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise InputError(f"EmbeddedWorldConfig.{name}: expected a finite number, got {value!r}")
        positive = ("green_s", "npc_speed_limit_mps", "npc_time_headway_s", "npc_min_gap_m",
                    "npc_comfortable_decel_mps2", "npc_max_lateral_accel_mps2", "walker_speed_min_mps")
        for name in positive:
            if getattr(self, name) <= 0:
                raise InputError(f"EmbeddedWorldConfig.{name}: expected > 0, got {getattr(self, name)!r}")
        for name in ("yellow_s", "all_red_s"):
            if getattr(self, name) < 0:
                raise InputError(f"EmbeddedWorldConfig.{name}: expected >= 0 s, got {getattr(self, name)!r}")
        for name in ("npc_speed_min_fraction", "walker_cross_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InputError(f"EmbeddedWorldConfig.{name}: expected a value in [0, 1], "
                                 f"got {getattr(self, name)!r}")
        if self.walker_speed_max_mps < self.walker_speed_min_mps:
            raise InputError(f"EmbeddedWorldConfig.walker_speed_max_mps: expected >= walker_speed_min_mps "
                             f"({self.walker_speed_min_mps}), got {self.walker_speed_max_mps!r}")
