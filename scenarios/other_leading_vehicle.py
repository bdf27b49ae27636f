"""Scenario5 OtherLeadingVehicle: a lead car on the ego lane and another in the lane to its left.

As LB1.0 (scenario_runner `OtherLeadingVehicle`, "VehicleDeceleratingInMultiLaneSetUp"): when
the ego nears the trigger, a car is placed 35 m ahead of the trigger on the ego lane and another
36 m ahead in the lane to its left; both stand until the ego reaches the trigger. Then the lead
follows its lane at 55/3.2 ~ 17.2 m/s and the left car as fast as it can (target 45 m/s), both
braking fully whenever a vehicle overlaps a box 3 car lengths long centred one car length ahead
of them (the official `avoid_collision`); they ignore everything else. The scenario ends when
the ego has driven 140 m past the trigger; both cars are removed then.

Quirk followed: the official speeds are 55 and 55/3.2 "m/s" (the lead drops to the second as soon
as the ego is within 55 m, i.e. at once) - constants that read like km/h (a 15 m/s lead slowing
to 4.8 m/s would be the "decelerating" car the ego has to pass on the left). We keep LB1.0's
numbers: on an empty road the lead drives away from the ego; the hazard comes when traffic ahead
makes the lead brake fully in front of the ego (it cannot always stop in its short box either).

Needs a same-direction driving lane left of the ego lane 36 m ahead; without one the scenario is
skipped with that reason (LB1.0 would spawn the car in the oncoming lane or fail).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from driving.errors import WorldError
from scenarios.behaviour import ScenarioBehaviour, ScenarioContext, ScenarioStatus, parameter
from scenarios.lane_actors import (
    reference_waypoint,
    same_direction,
    spawn_on_lane,
    trigger_on_route_m,
    trigger_reached,
    vehicle_in_front_box,
)
from scenarios.route_geometry import RouteGeometry
from scenarios.scripted_vehicle import ScriptedVehicle, lane_path, waypoint_ahead

LEAD_AHEAD_M = 35.0
LEFT_AHEAD_M = 36.0
LEAD_SPEED_MPS = 55.0 / 3.2  # quirk: see the module docstring
LEFT_SPEED_MPS = 45.0  # above any car's top speed: "as fast as it can"
#: The cars' paths along their lanes (straight on at forks); they stop at the end.
PATH_M = 400.0
#: End: the ego has driven this far past the trigger (official: 4 x the lead's distance).
END_DRIVEN_M = 4 * LEAD_AHEAD_M
#: Obstacle box: this many car lengths long, centred (this - 1) half-lengths ahead.
BOX_LENGTH_CARS = 3.0


@dataclass
class OtherLeadingVehicle(ScenarioBehaviour):
    """WAITING with both cars standing until the trigger, RUNNING while they drive, DONE (cars
    removed) once the ego has driven `END_DRIVEN_M` past the trigger."""

    lead_ahead_m: float = parameter(LEAD_AHEAD_M, 15.0, 60.0)
    lead_speed_mps: float = parameter(LEAD_SPEED_MPS, 6.0, 20.0)
    box_length_cars: float = parameter(BOX_LENGTH_CARS, 1.0, 5.0)
    cars: list[ScriptedVehicle] = field(default_factory=list)  # [lead, left]
    _trigger_route_m: float = 0.0

    def setup(self, ctx: ScenarioContext) -> None:
        ref = reference_waypoint(ctx, self.trigger)
        lead_wp = waypoint_ahead(ref, self.lead_ahead_m)
        left_wp = waypoint_ahead(ref, self.lead_ahead_m + LEFT_AHEAD_M - LEAD_AHEAD_M).get_left_lane()
        if not same_direction(ref, left_wp):
            self.skip(f"no same-direction driving lane left of the ego lane {LEFT_AHEAD_M:.0f} m ahead")
            return
        self._trigger_route_m = trigger_on_route_m(self, ctx.route)
        for wp, speed_mps in ((lead_wp, self.lead_speed_mps), (left_wp, LEFT_SPEED_MPS)):
            try:
                actor_id, at = spawn_on_lane(ctx, wp)
            except WorldError as exc:
                self.cleanup(ctx)
                self.cars.clear()
                self.skip(f"no room for a car {self.lead_ahead_m:.0f} m ahead or beside it: {exc}")
                return
            self.actor_ids.append(actor_id)
            car = ScriptedVehicle(ctx.world, actor_id, lane_path(at, PATH_M), speed_mps)
            car.full_brake = True  # stand until the trigger
            self.cars.append(car)

    def tick(self, ctx: ScenarioContext) -> None:
        if self.status == ScenarioStatus.WAITING and trigger_reached(self, ctx):
            self.status = ScenarioStatus.RUNNING
        running = self.status == ScenarioStatus.RUNNING
        for car in self.cars:
            car.full_brake = not running or vehicle_in_front_box(ctx, car.actor_id, self.box_length_cars)
            car.step()
        if running and ctx.ego_route_m - self._trigger_route_m >= END_DRIVEN_M:
            self.status = ScenarioStatus.DONE
            self.cleanup(ctx)
            self.cars.clear()


def build(placed, route: RouteGeometry) -> OtherLeadingVehicle:
    """The behaviour for one placed Scenario5 (`placed`: scenarios.lb1_placement.PlacedScenario)."""
    return OtherLeadingVehicle(name=placed.family, label=placed.label, trigger_route_m=placed.route_distance_m,
                               trigger=placed.trigger)
