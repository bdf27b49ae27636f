"""Where the scenarios of one of our YAML files sit on a route, with their parameters drawn.

A trigger resolves to a route distance (see `scenarios.scenario_file`); the placed scenario
then looks exactly like an LB1.0 one (`PlacedScenario`), so the same behaviours run it. Types
whose behaviour depends on the route's next turn (Scenario4/7/8/9) take their subtype from that
turn as LB1.0 does; a turn the type cannot use, a trigger beyond the route's end or a junction
the route does not have makes the scenario skipped with the reason, never a crash.
"""
from __future__ import annotations

import typing
from collections.abc import Sequence
from types import MappingProxyType

import numpy as np

from planning.road_option import RoadOption
from scenarios.lb1_file import OtherActors
from scenarios.lb1_placement import PlacedScenario
from scenarios.lb1_types import LB1_TYPES
from scenarios.route_geometry import RouteGeometry
from scenarios.scenario_file import ScenarioSpec, Trigger

#: Route distance (m) -> True when the route's lane there is governed by a traffic light.
SignalizedAt = typing.Callable[[float], bool]
#: Scenarios in one file whose triggers are closer than this (m along the route) share a place:
#: the later one is skipped, as LB1.0 runs one scenario per trigger position.
SAME_PLACE_M = 2.0
_TURNS = {"left": RoadOption.LEFT, "right": RoadOption.RIGHT, "straight": RoadOption.STRAIGHT}


def resolve_trigger_m(trigger: Trigger, route: RouteGeometry, signalized_at: SignalizedAt) -> float | str:
    """The trigger's route distance (m), or the reason it has none on this route."""
    if trigger.route_distance_m is not None:
        d = trigger.route_distance_m
    elif trigger.route_fraction is not None:
        d = trigger.route_fraction * route.length_m
    else:
        want = _TURNS.get(trigger.junction or "any")
        found = 0
        for entry_m, _, turn in route.junction_runs():
            if entry_m < trigger.after_m or (want is not None and turn != want):
                continue
            if trigger.signalized is not None and signalized_at(entry_m) != trigger.signalized:
                continue
            found += 1
            if found == trigger.nth:
                return max(0.0, entry_m - trigger.before_m)
        kind = "signalized " if trigger.signalized else "unsignalized " if trigger.signalized is False else ""
        return f"the route has no {trigger.nth}. {kind}junction turning {trigger.junction} after {trigger.after_m:.0f} m"
    if d > route.length_m:
        return f"trigger at {d:.0f} m lies beyond the route's end ({route.length_m:.0f} m)"
    return d


def place_file_scenarios(route: RouteGeometry, specs: Sequence[ScenarioSpec], seed: int,
                         signalized_at: SignalizedAt) -> tuple[tuple[PlacedScenario, ...], tuple[str, ...]]:
    """(placed scenarios in route order, one reason per skipped scenario) for run `seed`."""
    placed: list[PlacedScenario] = []
    skipped: list[str] = []
    for k, spec in enumerate(specs):
        rng = np.random.default_rng([int(seed), 7, k])
        parameters = spec.sample_parameters(rng)
        d = resolve_trigger_m(spec.trigger, route, signalized_at)
        if isinstance(d, str):
            skipped.append(f"{spec.name}: {d}")
            continue
        index = route.index_at(d)
        kind = LB1_TYPES[spec.scenario_type]
        turn = route.next_turn(index)
        subtype = kind.turn_subtypes.get(turn) if kind.needs_turn else ""
        if subtype is None:
            skipped.append(f"{spec.name}: {spec.scenario_type} needs a route turn "
                           f"{sorted(o.name for o in kind.turn_subtypes)} at the next junction, the route "
                           f"{'has none' if turn is None else 'goes ' + turn.name}")
            continue
        if any(abs(p.route_distance_m - float(route.distance_m[index])) < SAME_PLACE_M for p in placed):
            skipped.append(f"{spec.name}: another scenario of the file already sits at {d:.0f} m")
            continue
        placed.append(PlacedScenario(spec.scenario_type, kind.family, subtype, turn, route.transform_at(d), index,
                                     float(route.distance_m[index]), OtherActors(), spec.where,
                                     MappingProxyType(parameters), spec.name))
    return tuple(sorted(placed, key=lambda p: p.route_index)), tuple(skipped)
