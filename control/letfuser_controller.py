"""LeTFuser's controller: a PID that follows the predicted waypoints, the policy head, and the rule
that picks or blends the two (x13 `mlp_pid_control`, branch cvpr-w of pagand/e2etransfuser).

Why two controllers: the waypoint PID drives smoothly where the GRU's waypoints are good, the
policy head reacts directly to what the network sees (lights, obstacles); either one "is active"
when its throttle reaches `min_active_throttle` (x13's `min_act_thrt`, 0.2). The four modes:

- `one_of` (default): both active -> blended steer and throttle, no brake; only one active ->
  that one's steer and throttle; none active -> throttle 0 and a blended brake (the PID's brake
  counts as 1), steer still blended.
- `both_must`: either inactive -> throttle 0 and the blended brake as above; else blended.
- `pid_only`: the PID alone; brake 1 when its throttle is below the threshold.
- `mlp_only`: the policy alone; its brake when its throttle is below the threshold.

The policy's brake is rounded to 0/1 before any of this (x13's agent does so). Blend weights are
per control (steer, throttle, brake): w_pid and w_policy = 1 - w_pid. x13 derives w_pid from the
training task weights, w_pid = lw_wp / (lw_wp + lw_control) (its config.py `cw_pid`); with equal
weights that is 0.5.

Geometry is ours (x forward, y right, metres; x13 works in x right, y = -forward): the aim point
is the mean of the first two waypoints, the steering error is its bearing in degrees / 90
(positive to the right, as CARLA's steer), and the desired speed is |wp0 - wp1| / interval
(2 x the distance for waypoints 0.5 s apart). One deliberate difference: x13's bearing,
90 deg - atan2(forward, right), lies in (-90, 270] deg, so an aim point behind and to the LEFT
steers fully RIGHT there; ours, atan2(right, forward) in (-180, 180], turns towards it. The two
agree for every aim point ahead or to the right, which is where trained waypoints lie.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from control.pid import LETFUSER_SPEED_GAINS, LETFUSER_TURN_GAINS, PIDController, PidGains
from driving.errors import InputError

CONTROL_MODES = ("one_of", "both_must", "pid_only", "mlp_only")

#: Sources a decision can come from (shown in the debug overlay).
SOURCE_PID, SOURCE_POLICY, SOURCE_BLEND, SOURCE_STOP = "pid", "policy", "blend", "stop"

#: Task names (driving.training.losses.TASKS) whose weights set the blend, steer/throttle/brake order.
_CONTROL_TASKS = ("steer", "throttle", "brake")
_WAYPOINT_TASK = "waypoints"


@dataclass(frozen=True)
class ControllerConfig:
    """How LeTFuser's controls are made (x13 numbers by default; units in the names).

    `pid_weights`: weight of the PID per control (steer, throttle, brake); the policy gets
    1 - w. None takes them from the model's training task weights when it has them, else 0.5.
    """

    mode: str = "one_of"
    pid_weights: tuple[float, float, float] | None = None
    turn_gains: PidGains = LETFUSER_TURN_GAINS
    speed_gains: PidGains = LETFUSER_SPEED_GAINS
    min_active_throttle: float = 0.2
    max_speed_delta_mps: float = 0.25
    max_throttle: float = 0.75
    waypoint_interval_s: float = 0.5

    def __post_init__(self) -> None:
        if self.mode not in CONTROL_MODES:
            raise InputError(f"control.mode: expected one of {list(CONTROL_MODES)}, got {self.mode!r}")
        if self.pid_weights is not None and (len(self.pid_weights) != 3
                                             or not all(0.0 <= w <= 1.0 for w in self.pid_weights)):
            raise InputError(f"control.pid_weights: expected 3 weights in [0, 1] (steer, throttle, brake), "
                             f"got {self.pid_weights}")
        if not 0.0 <= self.min_active_throttle <= 1.0:
            raise InputError(f"control.min_active_throttle: expected [0, 1], got {self.min_active_throttle}")
        if self.max_speed_delta_mps <= 0.0:
            raise InputError(f"control.max_speed_delta_mps: expected > 0 m/s, got {self.max_speed_delta_mps}")
        if not 0.0 < self.max_throttle <= 1.0:
            raise InputError(f"control.max_throttle: expected (0, 1], got {self.max_throttle}")
        if self.waypoint_interval_s <= 0.0:
            raise InputError(f"control.waypoint_interval_s: expected > 0 s, got {self.waypoint_interval_s}")


def pid_weights_from_task_weights(task_weights: Mapping[str, float] | None) -> tuple[float, float, float]:
    """x13's `cw_pid`: lw_wp / (lw_wp + lw_steer|throttle|brake); 0.5 each without task weights."""
    if not task_weights or _WAYPOINT_TASK not in task_weights:
        return (0.5, 0.5, 0.5)
    wp = float(task_weights[_WAYPOINT_TASK])
    out = []
    for task in _CONTROL_TASKS:
        other = float(task_weights.get(task, wp))
        total = wp + other
        if not (math.isfinite(total) and total > 0.0 and wp >= 0.0 and other >= 0.0):
            raise InputError(f"task weights: expected non-negative finite weights for {_WAYPOINT_TASK!r} and "
                             f"{task!r}, got {wp} and {other}")
        out.append(wp / total)
    return (out[0], out[1], out[2])


@dataclass(frozen=True)
class ControlDecision:
    """The control to apply and what each controller proposed (steer [-1, 1], throttle, brake [0, 1])."""

    steer: float
    throttle: float
    brake: float
    source: str  # SOURCE_PID | SOURCE_POLICY | SOURCE_BLEND | SOURCE_STOP
    pid: tuple[float, float, float]
    policy: tuple[float, float, float]
    desired_speed_mps: float
    aim_angle: float  # bearing of the aim point in degrees / 90, positive to the right


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


class LeTFuserController:
    """Turns one frame's waypoints, speed and policy output into a control (see module docstring).

    Holds the two PIDs' error windows, so one instance follows one vehicle; `reset()` forgets them.
    """

    def __init__(self, config: ControllerConfig = ControllerConfig(),
                 task_weights: Mapping[str, float] | None = None) -> None:
        self.config = config
        self.pid_weights = config.pid_weights or pid_weights_from_task_weights(task_weights)
        self._turn = PIDController(config.turn_gains)
        self._speed = PIDController(config.speed_gains)

    def reset(self) -> None:
        self._turn.reset()
        self._speed.reset()

    def _pid(self, waypoints: np.ndarray, speed_mps: float) -> tuple[float, float, float, float]:
        """(steer, throttle, desired speed m/s, aim angle) of the waypoint-following PIDs."""
        cfg = self.config
        aim = (waypoints[0] + waypoints[1]) / 2.0
        angle = math.degrees(math.atan2(float(aim[1]), float(aim[0]))) / 90.0
        steer = _clip(self._turn.step(angle), -1.0, 1.0)
        desired = float(np.linalg.norm(waypoints[0] - waypoints[1])) / cfg.waypoint_interval_s
        delta = _clip(desired - speed_mps, 0.0, cfg.max_speed_delta_mps)
        throttle = _clip(self._speed.step(delta), 0.0, cfg.max_throttle)
        return steer, throttle, desired, angle

    def step(self, waypoints: np.ndarray, speed_mps: float, policy_control: Sequence[float]) -> ControlDecision:
        """waypoints [N >= 2, 2] metres (ego frame: x forward, y right); speed m/s; the policy
        head's decoded (steer, throttle, brake)."""
        wps = np.asarray(waypoints, dtype=np.float64)
        if wps.ndim != 2 or wps.shape[0] < 2 or wps.shape[1] != 2 or not np.isfinite(wps).all():
            raise InputError(f"LeTFuserController.step: waypoints must be finite [N >= 2, 2] metres, "
                             f"got shape {wps.shape}")
        if len(policy_control) != 3 or not all(math.isfinite(float(v)) for v in policy_control):
            raise InputError(f"LeTFuserController.step: policy_control must be 3 finite numbers, got {policy_control}")
        if not math.isfinite(speed_mps):
            raise InputError(f"LeTFuserController.step: speed must be finite m/s, got {speed_mps}")
        cfg = self.config
        pid_steer, pid_throttle, desired, angle = self._pid(wps, float(speed_mps))
        mlp_steer = _clip(float(policy_control[0]), -1.0, 1.0)
        mlp_throttle = _clip(float(policy_control[1]), 0.0, cfg.max_throttle)
        mlp_brake = float(round(_clip(float(policy_control[2]), 0.0, 1.0)))
        w_steer, w_throttle, w_brake = self.pid_weights

        def blend(pid_brake: float) -> tuple[float, float, float]:
            steer = _clip(w_steer * pid_steer + (1 - w_steer) * mlp_steer, -1.0, 1.0)
            throttle = _clip(w_throttle * pid_throttle + (1 - w_throttle) * mlp_throttle, 0.0, cfg.max_throttle)
            brake = _clip(w_brake * pid_brake + (1 - w_brake) * mlp_brake, 0.0, 1.0)
            return steer, throttle, brake

        pid_active = pid_throttle >= cfg.min_active_throttle
        mlp_active = mlp_throttle >= cfg.min_active_throttle
        pid_brake = 0.0 if pid_active else 1.0
        if cfg.mode == "pid_only":
            steer, throttle, brake = pid_steer, pid_throttle if pid_active else 0.0, pid_brake
            source = SOURCE_PID if pid_active else SOURCE_STOP
        elif cfg.mode == "mlp_only":
            steer, throttle, brake = mlp_steer, mlp_throttle if mlp_active else 0.0, 0.0 if mlp_active else mlp_brake
            source = SOURCE_POLICY if mlp_active else SOURCE_STOP
        elif pid_active and mlp_active:
            (steer, throttle, _), brake, source = blend(0.0), 0.0, SOURCE_BLEND
        elif cfg.mode == "one_of" and pid_active:
            steer, throttle, brake, source = pid_steer, pid_throttle, 0.0, SOURCE_PID
        elif cfg.mode == "one_of" and mlp_active:
            steer, throttle, brake, source = mlp_steer, mlp_throttle, 0.0, SOURCE_POLICY
        else:  # none active (one_of), or either inactive (both_must): stop with the blended brake
            steer, _, brake = blend(1.0)
            throttle, source = 0.0, SOURCE_STOP
        return ControlDecision(steer=steer, throttle=throttle, brake=brake, source=source,
                               pid=(pid_steer, pid_throttle, pid_brake), policy=(mlp_steer, mlp_throttle, mlp_brake),
                               desired_speed_mps=desired, aim_angle=angle)
