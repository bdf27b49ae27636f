"""Scenario10 NoSignalJunctionCrossingRoute: the ego crosses an unsignalized junction.

The official scenario spawns nothing and touches no light: the hazard is whatever background
traffic meets the ego in the junction. What it contributes on a route is a window: infractions
while the ego is between the trigger and 20 m past the junction are tagged with it. So the
behaviour is only a state machine on the ego's distance along the route:
WAITING until the ego reaches the trigger, RUNNING while it enters and leaves the next
junction, DONE `END_AFTER_JUNCTION_M` past the junction exit (official `WaitEndIntersection`
then `DriveDistance(20)`).

We measure "in the junction" on the route (the run of junction commands that
`RouteGeometry.turn_junction_m` returns) rather than from the map waypoint under the ego, so a
wide car that clips a junction corner or a route through a junction the ego does not turn in
cannot end it early; on a route both are the same junction.
"""
from __future__ import annotations

from dataclasses import dataclass

from scenarios.behaviour import ScenarioBehaviour, ScenarioContext, ScenarioStatus
from scenarios.route_geometry import RouteGeometry

#: Official `_ego_distance_to_drive`: metres driven after leaving the junction before the end.
END_AFTER_JUNCTION_M = 20.0


@dataclass
class JunctionWindow:
    """Where the ego is relative to the next junction, along the route (metres)."""

    entry_m: float
    exit_m: float
    entered: bool = False
    left: bool = False

    def update(self, ego_route_m: float) -> None:
        """Latch entering and leaving (leaving only counts after entering)."""
        if ego_route_m >= self.entry_m:
            self.entered = True
        if self.entered and ego_route_m > self.exit_m:
            self.left = True

    @classmethod
    def after(cls, behaviour: ScenarioBehaviour, ctx: ScenarioContext) -> JunctionWindow | None:
        """The route's next junction after `behaviour`'s trigger; None (and the behaviour skipped,
        with the reason) when the route has none."""
        found = ctx.route.turn_junction_m(behaviour.trigger_route_m)
        if found is None:
            behaviour.skip("no junction on the route after the trigger")
            return None
        return cls(*found)


@dataclass
class NoSignalJunctionCrossing(ScenarioBehaviour):
    """RUNNING from the trigger while the ego crosses the junction, DONE 20 m after it."""

    junction: JunctionWindow | None = None

    def setup(self, ctx: ScenarioContext) -> None:
        self.junction = JunctionWindow.after(self, ctx)

    def tick(self, ctx: ScenarioContext) -> None:
        if self.junction is None:
            return
        if self.status == ScenarioStatus.WAITING and ctx.ego_route_m >= self.trigger_route_m:
            self.status = ScenarioStatus.RUNNING
        if self.status != ScenarioStatus.RUNNING:
            return
        self.junction.update(ctx.ego_route_m)
        if self.junction.left and ctx.ego_route_m >= self.junction.exit_m + END_AFTER_JUNCTION_M:
            self.status = ScenarioStatus.DONE


def build(placed, route: RouteGeometry) -> NoSignalJunctionCrossing:
    """The behaviour for one placed Scenario10 (`placed`: `lb1_placement.PlacedScenario`)."""
    return NoSignalJunctionCrossing(name=placed.family, label=placed.label,
                                    trigger_route_m=placed.route_distance_m, trigger=placed.trigger)
