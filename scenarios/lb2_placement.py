"""LB2.0 `<scenarios>` blocks of a route file: the types we have a behaviour for run, the rest
are reported as skipped (named and counted), never a crash.

LB2.0 names scenarios by class (`ControlLoss`, `DynamicObjectCrossing`, `VehicleTurningRoute`,
`Accident`, `ParkedObstacle`, ...) and gives each a `trigger_point` on the route. A block whose
type is one of our families' names (the LB1.0 classes, several of which LB2.0 kept) is placed
where its trigger point meets the route (the first dense route point within 2 m and 10 deg,
LB1.0's own trigger match, `lb1_placement.first_trigger_match`) and runs with the
family's default parameters; LB2.0's own per-scenario parameters (`other_parameters`) are
ignored, since the families implement LB1.0's behaviour.
"""
from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from scenarios.lb1_file import OtherActors, Pose
from scenarios.lb1_placement import PlacedScenario, first_trigger_match
from scenarios.lb1_types import LB1_TYPES
from scenarios.registry import READABLE_NAMES, builder
from scenarios.route_geometry import RouteGeometry, RoutePlan


def place_lb2_scenarios(plan: RoutePlan, blocks: Sequence) -> tuple[tuple[PlacedScenario, ...], tuple[str, ...]]:
    """(placed scenarios in route order, the type names of the blocks skipped) for the route's
    `blocks` (`leaderboard.routes.ScenarioConfig`)."""
    route = RouteGeometry(plan)
    placed: list[PlacedScenario] = []
    skipped: list[str] = []
    for block in blocks:
        type_name = READABLE_NAMES.get(block.type)
        if type_name is None or builder(type_name) is None or not block.trigger_points or not len(route):
            skipped.append(block.type)
            continue
        trigger = block.trigger_points[0]
        loc = trigger.location
        index = first_trigger_match(route, Pose(loc.x, loc.y, loc.z, trigger.rotation.yaw))
        if index is None:
            skipped.append(block.type)
            continue
        kind = LB1_TYPES[type_name]
        turn = route.next_turn(index)
        subtype = kind.turn_subtypes.get(turn) if kind.needs_turn else ""
        if subtype is None:
            skipped.append(block.type)
            continue
        placed.append(PlacedScenario(type_name, kind.family, subtype, turn, trigger, index,
                                     float(route.distance_m[index]), OtherActors(),
                                     f"route scenario {block.name!r} ({block.type})", MappingProxyType({}),
                                     block.name))
    return tuple(sorted(placed, key=lambda p: p.route_index)), tuple(skipped)
