"""Scenario7/8/9 SignalJunctionCrossingRoute: two crossing approaches green at once.

Official (`TrafficLightManipulator`): at the route's next signalized junction the lights are
forced (and frozen) through a sequence that ends with the ego's light and one conflicting
approach green together, so that background cars on that approach are still crossing when the
ego gets its green:
1. trigger: ego green, every other approach red;
2. ego within `YELLOW_TRIGGER_M` of the junction entry: ego yellow;
3. `YELLOW_S` later: ego red, chosen approach green;
4. `RED_S` + `RED_S_PER_M` x (distance between the two lights' trigger volumes) later: ego and
   chosen approach green (the conflict);
5. once the ego has entered and left the junction: lights released (see
   `junction_lights.release_lights`: red and unfrozen, where the official code restores stale
   states); DONE `END_AFTER_JUNCTION_M` later.
The approach is picked per subtype (`junction_lights.APPROACH_PREFERENCE`).

Not official: LB1.0 relies on background traffic being there; we also spawn one scripted
crossing car (`crossing_car.CrossingCar`) on the chosen approach, launched at the ego's yellow
and timed to cross the ego's path, so the hazard happens on every run and tests can see it.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

import carla

from driving.errors import WorldError
from scenarios.behaviour import ScenarioBehaviour, ScenarioContext, ScenarioStatus, parameter
from scenarios.crossing_car import CrossingCar, plan_crossing
from scenarios.junction_lights import JunctionLights, release_lights, set_lights
from scenarios.no_signal_junction_crossing import END_AFTER_JUNCTION_M, JunctionWindow
from scenarios.route_geometry import RouteGeometry

GREEN, YELLOW, RED = carla.TrafficLightState.Green, carla.TrafficLightState.Yellow, carla.TrafficLightState.Red
#: Official TRIGGER_DISTANCE: ego this close (m, along the route) to the junction entry -> yellow.
YELLOW_TRIGGER_M = 10.0
#: Official YELLOW_TIME (s) and RED_TIME (s), DIST_TO_WAITING_TIME (s per m between the lights).
YELLOW_S = 2.0
RED_S = 1.5
RED_S_PER_M = 0.04
#: Route metres before the junction entry where the ego's lane (and its light) is read.
LANE_PROBE_BEFORE_ENTRY_M = 3.0


class LightPhase(str, enum.Enum):
    """Where the light sequence is (official TrafficLightManipulator steps)."""

    ARMED = "armed"  # set up, trigger not reached
    EGO_GREEN = "ego_green"  # ego green, others red
    EGO_YELLOW = "ego_yellow"
    CHOSEN_GREEN = "chosen_green"  # ego red, chosen approach green
    CONFLICT = "conflict"  # ego and chosen approach green
    RELEASED = "released"  # lights back to their cycle


@dataclass
class SignalJunctionCrossing(ScenarioBehaviour):
    """The light sequence of one S7/S8/S9 plus its crossing car."""

    subtype: str = "S7opposite"
    yellow_s: float = parameter(YELLOW_S, 0.5, 5.0)
    red_s: float = parameter(RED_S, 0.0, 4.0)
    phase: LightPhase = LightPhase.ARMED
    lights: JunctionLights | None = None
    approach: str = ""
    chosen_id: int = -1
    junction: JunctionWindow | None = None
    car: CrossingCar | None = None
    car_skip_reason: str = ""
    phase_log: list[tuple[float, LightPhase]] = field(default_factory=list)  # (game time s, phase entered)
    _phase_start_s: float = 0.0
    _conflict_start_s: float = 0.0
    _red_s: float = RED_S

    def setup(self, ctx: ScenarioContext) -> None:
        self.junction = JunctionWindow.after(self, ctx)
        if self.junction is None:
            return
        probe = ctx.route.transform_at(max(self.junction.entry_m - LANE_PROBE_BEFORE_ENTRY_M, 0.0))
        ego_light = ctx.world.get_traffic_light_for_lane(ctx.carla_map.get_waypoint(probe.location))
        if ego_light is None:
            self.skip("the ego's lane has no traffic light at the junction")
            return
        self.lights = JunctionLights.of(ego_light, ctx.world.get_traffic_lights())
        choice = self.lights.choose(self.subtype)
        if choice is None:
            self.skip(f"no approach of the junction fits {self.subtype} (none has a light)")
            return
        self.approach, chosen = choice
        self.chosen_id = chosen.id
        self._red_s = self.red_s + RED_S_PER_M * ego_light.trigger_location.distance(chosen.trigger_location)
        self._spawn_car(ctx, chosen)

    def _spawn_car(self, ctx: ScenarioContext, light) -> None:
        plan = plan_crossing(ctx.carla_map, light, ctx.route, self.junction.entry_m, self.junction.exit_m)
        if plan is None:
            self.car_skip_reason = f"no lane of the {self.approach} approach crosses the ego's route"
            return
        try:
            self.car = CrossingCar(ctx.world, plan)
        except WorldError as exc:
            self.car_skip_reason = f"crossing car not spawned: {exc}"
            return
        self.actor_ids.append(self.car.actor_id)

    def _enter(self, phase: LightPhase, ctx: ScenarioContext, states: dict[int, carla.TrafficLightState]) -> None:
        self.phase, self._phase_start_s = phase, ctx.time_s
        self.phase_log.append((ctx.time_s, phase))
        if phase == LightPhase.RELEASED:
            release_lights(ctx.world, [self.lights.ego.id, *(light.id for light in self.lights.others())])
        else:
            set_lights(ctx.world, states)

    def _states(self, ego: carla.TrafficLightState, chosen: carla.TrafficLightState) -> dict[int, carla.TrafficLightState]:
        out = {light.id: RED for light in self.lights.others()}
        out[self.chosen_id] = chosen
        out[self.lights.ego.id] = ego
        return out

    def tick(self, ctx: ScenarioContext) -> None:
        if self.lights is None:
            return
        elapsed_s = ctx.time_s - self._phase_start_s
        to_entry_m = self.junction.entry_m - ctx.ego_route_m
        if self.phase == LightPhase.ARMED and ctx.ego_route_m >= self.trigger_route_m:
            self.status = ScenarioStatus.RUNNING
            self._enter(LightPhase.EGO_GREEN, ctx, self._states(GREEN, RED))
        elif self.phase == LightPhase.EGO_GREEN and to_entry_m <= YELLOW_TRIGGER_M:
            self._enter(LightPhase.EGO_YELLOW, ctx, self._states(YELLOW, RED))
            self._conflict_start_s = ctx.time_s + self.yellow_s + self._red_s
            if self.car is not None:
                self.car.launch(ctx.world, ctx.time_s, self._conflict_start_s, *self._ego_to_conflict(ctx))
        elif self.phase == LightPhase.EGO_YELLOW and elapsed_s >= self.yellow_s:
            self._enter(LightPhase.CHOSEN_GREEN, ctx, self._states(RED, GREEN))
        elif self.phase == LightPhase.CHOSEN_GREEN and elapsed_s >= self._red_s:
            self._enter(LightPhase.CONFLICT, ctx, self._states(GREEN, GREEN))
        if self.phase != LightPhase.ARMED:
            self.junction.update(ctx.ego_route_m)
        if self.phase == LightPhase.CONFLICT and self.junction.left:
            self._enter(LightPhase.RELEASED, ctx, {})
        if self.phase == LightPhase.RELEASED and ctx.ego_route_m >= self.junction.exit_m + END_AFTER_JUNCTION_M:
            self.status = ScenarioStatus.DONE
        if self.car is not None:
            self.car.step(ctx.time_s, self._conflict_start_s, *self._ego_to_conflict(ctx))

    def _ego_to_conflict(self, ctx: ScenarioContext) -> tuple[float, float]:
        """The ego's speed (m/s) and its route distance to the car's crossing point (m)."""
        speed = ctx.ego.speed_mps if ctx.ego is not None else 0.0
        return speed, self.car.plan.conflict_route_m - ctx.ego_route_m

    def cleanup(self, ctx: ScenarioContext) -> None:
        """Remove the car; lights still held (route ended mid-sequence) go back to their cycle."""
        if self.lights is not None and self.phase not in (LightPhase.ARMED, LightPhase.RELEASED):
            self._enter(LightPhase.RELEASED, ctx, {})
        super().cleanup(ctx)


def build(placed, route: RouteGeometry) -> SignalJunctionCrossing:
    """The behaviour for one placed Scenario7/8/9 (`placed`: `lb1_placement.PlacedScenario`)."""
    return SignalJunctionCrossing(name=placed.family, label=placed.label, trigger_route_m=placed.route_distance_m,
                                  trigger=placed.trigger, subtype=placed.subtype)
