"""Settings of the privileged expert driver: one frozen dataclass, read from configs/expert.yaml.

Units are in the names (metres, seconds, m/s, m/s^2). Defaults are the values the benchmark
and the tests use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from control.pid import PidGains
from driving.errors import InputError


@dataclass(frozen=True)
class ExpertConfig:
    """How the expert drives: speeds, look-aheads, hazard margins and controller gains.

    - cruise_speed_mps: target speed on open road (urban default); a lower speed limit on the
      road ahead wins.
    - max_lateral_accel_mps2: caps the speed in curves (v = sqrt(a / curvature)).
    - junction_speed_mps: cap inside and just before junctions.
    - comfort_decel_mps2: deceleration the speed profile plans with towards any stop point;
      max_accel_mps2: acceleration assumed when planning the label waypoints.
    - stop_gap_m: distance kept between the front bumper and a stop line / an obstacle.
    - follow_time_gap_s: time gap kept to a vehicle ahead (added to stop_gap_m).
    - lookahead_min_m / lookahead_gain_s: pure-pursuit aim distance = max(min, gain * speed).
    - hazard_range_m: other actors beyond this distance are ignored.
    - forecast_horizon_s / forecast_step_s: constant-velocity forecast of other actors.
    - vehicle_margin_m / walker_margin_m: extra clearance added to the ego half width when
      checking a forecast box against the ego's future path.
    - yellow_max_decel_mps2: on yellow the expert stops if it can with at most this decel;
      otherwise it goes only when its tail clears the junction entry within yellow_time_s.
    - yellow_time_s: how long a light stays yellow (CARLA's default 3 s; the embedded world's).
    - stop_sign_wait_s: time standing still (< 0.1 m/s) at a stop sign before going on.
    - creep_after_s / creep_duration_s / creep_speed_mps / creep_margin_m: deadlock breaking.
      After standing still this long for a standing vehicle that crosses the route (heading off
      by more than 30 deg; typically an NPC that waits for the ego while the ego waits for it),
      the expert creeps on for creep_duration_s at creep_speed_mps, checking only where
      vehicles are now with the small creep_margin_m clearance.
    - overtake_after_s: standing this long behind standing vehicles that block the ego's lane on a
      two-way road (no junction or signal near), the expert passes them through the oncoming lane
      when it is free (`overtake`).
    - stop_line_gap_m: where the front bumper stops before a stop line.
    - wheelbase_m / max_steer_deg: the ego's geometry for pure pursuit (steer 1 = max_steer_deg
      of wheel angle; the embedded car has 2.85 m and 37 deg).
    - speed_gains: longitudinal PID on the speed error (m/s -> throttle), throttle capped at
      max_throttle; above the target speed the brake is brake_gain * overspeed (m/s).
    - full_throttle_accel_mps2: the ego's acceleration at full throttle on a level road. The
      slope's share of gravity (g sin pitch) is fed forward as throttle, divided by this, so the
      expert holds its speed on a ramp and pulls away uphill instead of rolling back (CARLA's
      Town03 climbs at up to 21 deg); the cap max_throttle is raised by the same share.
    - label_waypoints / label_waypoint_spacing_s: how many planned positions `labels()` gives
      and their spacing in time.
    """

    cruise_speed_mps: float = 8.0
    max_lateral_accel_mps2: float = 2.0
    junction_speed_mps: float = 6.0
    comfort_decel_mps2: float = 2.5
    max_accel_mps2: float = 2.0
    stop_gap_m: float = 2.0
    stop_line_gap_m: float = 1.0
    creep_after_s: float = 5.0
    creep_duration_s: float = 3.0
    creep_speed_mps: float = 1.5
    creep_margin_m: float = 0.1
    overtake_after_s: float = 3.0
    wheelbase_m: float = 2.85
    max_steer_deg: float = 37.0
    follow_time_gap_s: float = 1.0
    lookahead_min_m: float = 3.5
    lookahead_gain_s: float = 0.6
    hazard_range_m: float = 45.0
    forecast_horizon_s: float = 2.0
    forecast_step_s: float = 0.25
    vehicle_margin_m: float = 0.4
    walker_margin_m: float = 0.8
    yellow_max_decel_mps2: float = 4.5
    yellow_time_s: float = 3.0
    stop_sign_wait_s: float = 0.5
    max_throttle: float = 0.75
    brake_gain: float = 0.6
    full_throttle_accel_mps2: float = 3.8
    label_waypoints: int = 4
    label_waypoint_spacing_s: float = 0.5
    speed_gains: PidGains = field(default_factory=lambda: PidGains(kp=0.5, ki=0.3, kd=0.2, window=40))

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "speed_gains":
                if not isinstance(value, PidGains):
                    raise InputError(f"ExpertConfig.speed_gains: expected PidGains, got {type(value).__name__}")
                continue
            if f.name == "label_waypoints":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise InputError(f"ExpertConfig.label_waypoints: expected an integer >= 1, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0:
                raise InputError(f"ExpertConfig.{f.name}: expected a finite number > 0, got {value!r}")
        if self.max_throttle > 1.0:
            raise InputError(f"ExpertConfig.max_throttle: expected a value in (0, 1], got {self.max_throttle!r}")
        if self.forecast_step_s > self.forecast_horizon_s:
            raise InputError(f"ExpertConfig.forecast_step_s: expected <= forecast_horizon_s "
                             f"({self.forecast_horizon_s}), got {self.forecast_step_s!r}")
