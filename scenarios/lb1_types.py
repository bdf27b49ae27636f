"""The ten Leaderboard 1.0 scenario types: official names, family names and route-turn rules.

LB1.0 scenario files name a type only by number (`"scenario_type": "Scenario4"`); the behaviour
it stands for and whether it depends on the route's next turn are fixed by the official
`route_scenario.py` (NUMBER_CLASS_TRANSLATION) and `route_parser.py` (get_scenario_type). This
table is that knowledge as data, so the file loader can reject unknown types and the placement
can derive subtypes without an if/elif chain per type.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from planning.road_option import RoadOption


@dataclass(frozen=True)
class Lb1Type:
    """One official scenario type.

    `turn_subtypes` maps the route's command at the next junction after the trigger to the
    official subtype tag (e.g. LEFT -> "S4left"); a command not in it means the scenario is not
    placed on that route. Empty mapping: the type does not depend on the route's turns.
    """

    name: str  # official type name, "Scenario1" ... "Scenario10"
    number: int  # 1..10; at a shared trigger position the highest number is chosen first
    family: str  # scenario_runner class the official evaluator instantiates
    turn_subtypes: Mapping[RoadOption, str] = field(default_factory=dict)

    @property
    def needs_turn(self) -> bool:
        """True when placement depends on the route's next junction command."""
        return bool(self.turn_subtypes)


def _type(number: int, family: str, turns: dict[RoadOption, str] | None = None) -> Lb1Type:
    return Lb1Type(f"Scenario{number}", number, family, MappingProxyType(dict(turns or {})))


_LEFT, _RIGHT, _STRAIGHT = RoadOption.LEFT, RoadOption.RIGHT, RoadOption.STRAIGHT

#: Official type name -> type, in number order.
LB1_TYPES: Mapping[str, Lb1Type] = MappingProxyType({t.name: t for t in (
    _type(1, "ControlLoss"),
    _type(2, "FollowLeadingVehicle"),
    _type(3, "DynamicObjectCrossing"),
    _type(4, "VehicleTurningRoute", {_LEFT: "S4left", _RIGHT: "S4right"}),
    _type(5, "OtherLeadingVehicle"),
    _type(6, "ManeuverOppositeDirection"),
    _type(7, "SignalJunctionCrossingRoute", {_LEFT: "S7left", _RIGHT: "S7right", _STRAIGHT: "S7opposite"}),
    _type(8, "SignalJunctionCrossingRoute", {_LEFT: "S8left"}),
    _type(9, "SignalJunctionCrossingRoute", {_RIGHT: "S9right"}),
    _type(10, "NoSignalJunctionCrossingRoute"),
)})
