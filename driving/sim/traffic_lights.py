"""Traffic-light cycling per junction group, computed from game time (no per-light state machine).

Why from time: a light's state is a pure function of (elapsed seconds, its group's phase offset),
so it is deterministic for a seed, costs one vectorised expression per tick and cannot drift.
Within a junction group the lights are split into phases by approach axis: lights whose lanes
run along the same axis (opposite approaches) are green together, the others wait; at a T
junction each light has its own phase (see `_phases_of_group`). One phase is
green `green_s`, then yellow `yellow_s`, then all-red `all_red_s`, then the next phase starts.
Each group starts at a random offset in its cycle drawn from the seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import carla
import numpy as np

from driving.errors import InputError, WorldError
from driving.world import TrafficLightInfo

GREEN, YELLOW, RED = 0, 1, 2
_CARLA_STATES = (carla.TrafficLightState.Green, carla.TrafficLightState.Yellow,
                 carla.TrafficLightState.Red)
#: Approaches whose lane axes differ by less than this share a phase (degrees).
SAME_AXIS_DEG = 30.0


@dataclass(frozen=True)
class LightTiming:
    """Phase durations in seconds (green, yellow, all-red)."""

    green_s: float = 10.0
    yellow_s: float = 3.0
    all_red_s: float = 1.0

    def __post_init__(self) -> None:
        for name in ("green_s", "yellow_s", "all_red_s"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0.0:
                raise InputError(f"LightTiming.{name}: expected a finite number >= 0 s, got {value!r}")
        if self.green_s <= 0.0:
            raise InputError(f"LightTiming.green_s: expected > 0 s, got {self.green_s!r}")


def _axis_deg(light: TrafficLightInfo) -> float:
    yaw = light.stop_waypoints[0].transform.rotation.yaw if light.stop_waypoints \
        else light.transform.rotation.yaw
    return float(yaw) % 180.0


def _phases_of_group(lights: list[TrafficLightInfo]) -> list[int]:
    """Phase index per light: opposite approaches (same axis) share a phase at junctions of four or
    more lights; at a T junction (fewer lights on more than one axis) each light is green alone,
    as CARLA cycles its groups, so the through road's left turn never meets oncoming traffic on
    green (NPC drivers do not yield on green, and a T has no protected turn)."""
    axes: list[float] = []
    phases = []
    for light in lights:
        a = _axis_deg(light)
        for k, ref in enumerate(axes):
            d = abs(a - ref) % 180.0
            if min(d, 180.0 - d) < SAME_AXIS_DEG:
                phases.append(k)
                break
        else:
            axes.append(a)
            phases.append(len(axes) - 1)
    if len(lights) < 4 and len(axes) > 1:
        return list(range(len(lights)))
    return phases


class TrafficLightCycler:
    """States of every light as a function of game time, plus scenario overrides.

    `set_state(..., freeze=True)` pins a light until `set_state` is called again;
    without `freeze` the forced state lasts until the light's own cycle changes state (as a
    CARLA light keeps cycling after `set_state`).
    """

    def __init__(self, lights: list[TrafficLightInfo], seed: int, timing: LightTiming | None = None):
        self.timing = timing or LightTiming()
        self.ids = np.array([light.id for light in lights], dtype=np.int64)
        self._index = {int(i): k for k, i in enumerate(self.ids)}
        groups = sorted({light.group_id for light in lights})
        rng = np.random.default_rng([seed, 7])
        phase = np.zeros(len(lights), np.int64)
        n_phases = np.ones(len(lights), np.int64)
        offset = np.zeros(len(lights))
        for g in groups:
            members = [k for k, light in enumerate(lights) if light.group_id == g]
            phases = _phases_of_group([lights[k] for k in members])
            cycle = max(phases) + 1
            start = float(rng.uniform(0.0, cycle * self._slot_s()))
            for k, p in zip(members, phases):
                phase[k], n_phases[k], offset[k] = p, cycle, start
        self._phase, self._n_phases, self._offset = phase, n_phases, offset
        self._forced: dict[int, tuple[int, bool, int]] = {}  # index -> (state, frozen, cycle state)
        self.states = self.cycle_states(0.0)

    def _slot_s(self) -> float:
        t = self.timing
        return t.green_s + t.yellow_s + t.all_red_s

    def cycle_states(self, elapsed_s: float) -> np.ndarray:
        """Cycle state code (GREEN/YELLOW/RED) of every light at `elapsed_s`, ignoring overrides."""
        t = self.timing
        slot = self._slot_s()
        pos = (elapsed_s + self._offset) % (self._n_phases * slot)
        local = pos - self._phase * slot
        states = np.full(len(self.ids), RED, np.int64)
        states[(local >= 0.0) & (local < t.green_s)] = GREEN
        states[(local >= t.green_s) & (local < t.green_s + t.yellow_s)] = YELLOW
        return states

    def update(self, elapsed_s: float) -> np.ndarray:
        """Recompute `states` (codes) at `elapsed_s` with overrides applied; returns them."""
        states = self.cycle_states(elapsed_s)
        for k, (forced, frozen, cycle_at_force) in list(self._forced.items()):
            if not frozen and states[k] != cycle_at_force:
                del self._forced[k]
                continue
            states[k] = forced
        self.states = states
        return states

    def index(self, light_id: int) -> int:
        """Row of `light_id` in the state arrays; WorldError for an unknown id."""
        try:
            return self._index[int(light_id)]
        except (KeyError, TypeError, ValueError):
            raise WorldError(f"unknown traffic light id {light_id!r}; known ids: "
                             f"{sorted(self._index)[:20]}{' ...' if len(self._index) > 20 else ''}") from None

    def get_state(self, light_id: int) -> carla.TrafficLightState:
        return _CARLA_STATES[int(self.states[self.index(light_id)])]

    def set_state(self, light_id: int, state: carla.TrafficLightState, freeze: bool, elapsed_s: float) -> None:
        k = self.index(light_id)
        codes = {carla.TrafficLightState.Green: GREEN, carla.TrafficLightState.Yellow: YELLOW,
                 carla.TrafficLightState.Red: RED}
        if state not in codes:
            raise InputError(f"set_traffic_light_state: state must be Red, Yellow or Green, got {state!r}")
        self._forced[k] = (codes[state], bool(freeze), int(self.cycle_states(elapsed_s)[k]))
        self.states = self.states.copy()
        self.states[k] = codes[state]

    def carla_states(self) -> dict[int, carla.TrafficLightState]:
        """Light id -> carla.TrafficLightState, for sensors and previews."""
        return {int(i): _CARLA_STATES[int(s)] for i, s in zip(self.ids, self.states)}
