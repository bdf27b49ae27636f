"""Scenario1 ControlLoss: the ego's steering and throttle are perturbed over a stretch of lane.

scenario_runner's `ControlLoss` lays three dirt-debris props on the ego lane 12, 46 and 72 m past
the trigger (clamped to the next junction entry) and holds a control noise from debris 1 to 30 m
after debris 3. Two departures, both deliberate:
- no debris props: our World seam has no props to spawn (its static layout is fixed at map load),
  and in LB1.0 the debris is only visual (no physics), so the debris positions are kept as the
  event points where the noise starts and ends;
- the noise is applied (quirk: LB1.0 computes it but nothing ever calls `change_control`, so the
  official ego only sees debris). We apply it through `filter_control`, as the scenario intends.

Noise: one n = |N(0, 0.01)| from the route's scenario rng at event 1; steer offset
-max(0, n - 0.001) (a slight pull to the left), throttle offset min(n + 0.045, 1), both constant
until the reset; the sums are clipped to the control's ranges. Event 1 fires when the ego comes
within 2 m of debris 1 or has driven 30 m past the trigger; events 2 and 3 at debris 2 and 3. The
reset (and the end) is 30 m after event 3, but no later than the next junction entry (the
official jitter aborts near junctions; noise through a junction turn is not the scenario).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import carla

from scenarios.behaviour import ScenarioBehaviour, ScenarioContext, ScenarioStatus, parameter
from scenarios.lane_actors import (
    lane_distance_to_junction_m,
    reference_waypoint,
    trigger_on_route_m,
    trigger_reached,
)
from scenarios.route_geometry import RouteGeometry
from scenarios.scripted_vehicle import lane_point_ahead

DEBRIS_AHEAD_M = (12.0, 46.0, 72.0)
EVENT_RADIUS_M = 2.0
START_AFTER_DRIVEN_M = 30.0
RESET_AFTER_LAST_EVENT_M = 30.0
NOISE_STD = 0.01
STEER_NOISE_DEADBAND = 0.001
THROTTLE_NOISE_BIAS = 0.045


def noise_offsets(n: float, throttle_bias: float = THROTTLE_NOISE_BIAS) -> tuple[float, float]:
    """(steer offset, throttle offset) for one noise sample n >= 0 (official ChangeNoiseParameters)."""
    return -max(0.0, n - STEER_NOISE_DEADBAND), min(n + throttle_bias, 1.0)


@dataclass
class ControlLoss(ScenarioBehaviour):
    """WAITING until the trigger, RUNNING from the trigger to the reset, DONE after it; the noise
    is on from event 1 to the reset (`noise_on`)."""

    noise_std: float = parameter(NOISE_STD, 0.0, 0.1)
    throttle_noise_bias: float = parameter(THROTTLE_NOISE_BIAS, 0.0, 0.3)
    debris: list[carla.Location] = field(default_factory=list)
    debris_lane_m: list[float] = field(default_factory=list)  # along the lane from the trigger
    reset_lane_m: float = 0.0
    events_fired: int = 0
    steer_offset: float = 0.0
    throttle_offset: float = 0.0
    noise_on: bool = False
    _trigger_route_m: float = 0.0  # route distance of the trigger point itself

    def setup(self, ctx: ScenarioContext) -> None:
        """Where the debris would lie: lane points ahead of the trigger, stopping at a junction."""
        ref = reference_waypoint(ctx, self.trigger)
        self._trigger_route_m = trigger_on_route_m(self, ctx.route)
        for ahead_m in DEBRIS_AHEAD_M:
            wp, lane_m = lane_point_ahead(ref, ahead_m)
            self.debris.append(wp.transform.location)
            self.debris_lane_m.append(lane_m)
        to_junction_m = lane_distance_to_junction_m(ref)
        reset_m = self.debris_lane_m[-1] + RESET_AFTER_LAST_EVENT_M
        self.reset_lane_m = reset_m if to_junction_m is None else min(reset_m, to_junction_m)

    def tick(self, ctx: ScenarioContext) -> None:
        if self.status == ScenarioStatus.WAITING:
            if not trigger_reached(self, ctx):
                return
            self.status = ScenarioStatus.RUNNING
        driven_m = ctx.ego_route_m - self._trigger_route_m  # along the route from the trigger point
        while self.events_fired < len(self.debris) and self._at_event(ctx, self.events_fired, driven_m):
            if self.events_fired == 0:
                n = abs(float(ctx.rng.normal(0.0, self.noise_std)))
                self.steer_offset, self.throttle_offset = noise_offsets(n, self.throttle_noise_bias)
                self.noise_on = True
            self.events_fired += 1
        if self.events_fired == len(self.debris) and driven_m >= self.reset_lane_m:
            self.noise_on = False
            self.status = ScenarioStatus.DONE

    def _at_event(self, ctx: ScenarioContext, k: int, driven_m: float) -> bool:
        """Within 2 m of debris k, or driven past it (a lateral slip of > 2 m must not stall the
        sequence); event 1 also fires after 30 m driven."""
        loc = ctx.ego.transform.location
        near = math.hypot(loc.x - self.debris[k].x, loc.y - self.debris[k].y) < EVENT_RADIUS_M
        passed = driven_m >= self.debris_lane_m[k]
        return near or passed or (k == 0 and driven_m >= START_AFTER_DRIVEN_M)

    def filter_control(self, control: carla.VehicleControl, ctx: ScenarioContext) -> carla.VehicleControl:
        if not self.noise_on:
            return control
        return carla.VehicleControl(
            throttle=min(1.0, max(0.0, control.throttle + self.throttle_offset)),
            steer=min(1.0, max(-1.0, control.steer + self.steer_offset)),
            brake=control.brake, hand_brake=control.hand_brake, reverse=control.reverse)


def build(placed, route: RouteGeometry) -> ControlLoss:
    """The behaviour for one placed Scenario1 (`placed`: scenarios.lb1_placement.PlacedScenario)."""
    return ControlLoss(name=placed.family, label=placed.label, trigger_route_m=placed.route_distance_m,
                       trigger=placed.trigger)
