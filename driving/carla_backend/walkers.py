"""Who moves each walker on a server: CARLA's AI controller, or a straight walk to a target.

Autopilot walkers get a `controller.ai.walker`, which CARLA lets start only after the tick that
spawned it, so starts are queued until `after_tick`. A walker given a target (a scenario making
someone cross anywhere) loses its AI controller and is steered each tick with a
`carla.WalkerControl` pointing at the target, until it is within `WALKER_ARRIVED_M` metres.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import carla

from driving.carla_backend.actor_state import walker_control_towards
from driving.carla_backend.events import stop_and_destroy

#: A walker closer than this (metres) to its target stops.
WALKER_ARRIVED_M = 0.3


@dataclass
class _Pilot:
    actor: Any
    controller: Any = None  # carla.WalkerAIController
    start_speed_mps: float | None = None  # AI controller waiting for its first tick
    target: carla.Location | None = None
    target_speed_mps: float = 0.0


class WalkerPilots:
    """AI controllers and straight-line targets of the walkers of one world."""

    def __init__(self) -> None:
        self._pilots: dict[int, _Pilot] = {}

    def add_ai(self, actor: Any, controller: Any, speed_mps: float) -> None:
        """Hand `actor` to its AI `controller`; it starts walking at `speed_mps` after the next tick."""
        self._pilots[actor.id] = _Pilot(actor, controller, start_speed_mps=speed_mps)

    def set_target(self, actor: Any, target: carla.Location, speed_mps: float) -> None:
        """Walk `actor` straight to `target` at `speed_mps`, dropping its AI controller."""
        pilot = self._pilots.setdefault(actor.id, _Pilot(actor))
        if pilot.controller is not None:
            stop_and_destroy(pilot.controller)
            pilot.controller, pilot.start_speed_mps = None, None
        pilot.target, pilot.target_speed_mps = target, speed_mps

    def is_ai(self, actor_id: int) -> bool:
        pilot = self._pilots.get(actor_id)
        return pilot is not None and pilot.controller is not None

    def before_tick(self, location_of: Callable[[Any], carla.Location]) -> None:
        """Steer every walker that has a target (`location_of(actor)` gives its current place)."""
        for pilot in self._pilots.values():
            if pilot.target is None:
                continue
            control, arrived = walker_control_towards(
                location_of(pilot.actor), pilot.target, pilot.target_speed_mps, WALKER_ARRIVED_M
            )
            pilot.actor.apply_control(control)
            if arrived:
                pilot.target = None

    def after_tick(self, random_destination: Callable[[], carla.Location | None]) -> None:
        """Start the AI controllers spawned before this tick, each towards a random destination."""
        for pilot in self._pilots.values():
            if pilot.controller is None or pilot.start_speed_mps is None:
                continue
            pilot.controller.start()
            destination = random_destination()
            if destination is not None:
                pilot.controller.go_to_location(destination)
            pilot.controller.set_max_speed(pilot.start_speed_mps)
            pilot.start_speed_mps = None

    def remove(self, actor_id: int) -> None:
        """Stop and destroy the AI controller of a walker that is going away."""
        pilot = self._pilots.pop(actor_id, None)
        if pilot is not None and pilot.controller is not None:
            stop_and_destroy(pilot.controller)

    def clear(self) -> None:
        for actor_id in list(self._pilots):
            self.remove(actor_id)
