"""Watch a scenario run from the inside: what was spawned where, each tick's scenario statuses,
and the ego's control before and after the scenarios filtered it.

`probe(monkeypatch)` wraps `ScenarioManager.before_tick` / `filter_control` and the embedded
world's `spawn_vehicle` for one test, so `scenario_runs.run_with_scenarios` stays the real
evaluator path.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import carla

from driving.sim.embedded_world import EmbeddedWorld
from scenarios.manager import ScenarioManager


@dataclass
class Spawn:
    actor_id: int
    transform: carla.Transform
    role_name: str
    ego_route_m: float  # where the ego was on its route when the actor appeared


@dataclass
class Tick:
    ego_route_m: float
    time_s: float
    ego_speed_mps: float
    statuses: dict[str, str]  # label -> status after the behaviours ticked


@dataclass
class ControlStep:
    ego_route_m: float
    agent: carla.VehicleControl
    applied: carla.VehicleControl
    active: tuple[str, ...]


@dataclass
class Probe:
    spawns: list[Spawn] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    controls: list[ControlStep] = field(default_factory=list)
    managers: list[ScenarioManager] = field(default_factory=list)

    def scenario_spawns(self) -> list[Spawn]:
        return [s for s in self.spawns if s.role_name == "scenario"]

    def first_tick_with(self, label: str, status: str) -> Tick | None:
        return next((t for t in self.ticks if t.statuses.get(label) == status), None)


def _copy(c: carla.VehicleControl) -> carla.VehicleControl:
    return carla.VehicleControl(throttle=c.throttle, steer=c.steer, brake=c.brake)


def probe(monkeypatch) -> Probe:
    """Start recording (undone by pytest's monkeypatch at the end of the test)."""
    p = Probe()
    before_tick, filter_control = ScenarioManager.before_tick, ScenarioManager.filter_control
    spawn_vehicle = EmbeddedWorld.spawn_vehicle

    def _before_tick(self, time_s):
        if self not in p.managers:
            p.managers.append(self)
        before_tick(self, time_s)
        p.ticks.append(Tick(self.ctx.ego_route_m, time_s, self.ctx.ego.speed_mps,
                            {b.label: b.status.value for b in self.behaviours}))

    def _filter_control(self, control):
        agent = _copy(control)
        applied = filter_control(self, control)
        p.controls.append(ControlStep(self.ctx.ego_route_m, agent, _copy(applied), self.active_labels()))
        return applied

    def _spawn_vehicle(self, transform, type_id="vehicle.car", role_name="hero", autopilot=False, route=None):
        actor_id = spawn_vehicle(self, transform, type_id, role_name, autopilot, route)
        route_m = p.managers[-1].ctx.ego_route_m if p.managers else 0.0
        p.spawns.append(Spawn(actor_id, transform, role_name, route_m))
        return actor_id

    monkeypatch.setattr(ScenarioManager, "before_tick", _before_tick)
    monkeypatch.setattr(ScenarioManager, "filter_control", _filter_control)
    monkeypatch.setattr(EmbeddedWorld, "spawn_vehicle", _spawn_vehicle)
    return p
