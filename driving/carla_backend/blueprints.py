"""Our actor type ids -> concrete CARLA blueprints, and CARLA type ids -> our actor kinds.

Code above the World seam names bodies generically ("vehicle.car", "vehicle.van",
"vehicle.truck", "vehicle.bicycle", "walker.pedestrian") or with a concrete CARLA id. On a server
a generic id becomes the first blueprint of its candidate list that the server's library has
(libraries differ between 0.9.10 and 0.9.16); a concrete id is used as is when the library has
it, otherwise it falls back to its generic class (the embedded simulator's keyword mapping, so
both backends agree on what a "vehicle.gazelle.omafiets" is). Functions take the library's ids
as plain strings so that they can be checked without a server.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from driving.errors import InputError
from driving.sim.blueprints import vehicle_type
from driving.world import ActorKind

#: Generic vehicle ids -> CARLA blueprints, most typical first (0.9.16 names, then older ones).
VEHICLE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "vehicle.car": (
        "vehicle.lincoln.mkz_2020",
        "vehicle.lincoln.mkz_2017",
        "vehicle.lincoln.mkz2017",
        "vehicle.tesla.model3",
        "vehicle.audi.a2",
    ),
    "vehicle.van": (
        "vehicle.mercedes.sprinter",
        "vehicle.volkswagen.t2",
        "vehicle.volkswagen.t2_2021",
        "vehicle.ford.ambulance",
    ),
    "vehicle.truck": (
        "vehicle.carlamotors.carlacola",
        "vehicle.carlamotors.european_hgv",
        "vehicle.mitsubishi.fusorosa",
        "vehicle.carlamotors.firetruck",
    ),
    "vehicle.bicycle": ("vehicle.diamondback.century", "vehicle.bh.crossbike", "vehicle.gazelle.omafiets"),
}
GENERIC_WALKER = "walker.pedestrian"
WALKER_PREFIX = "walker.pedestrian."
WALKER_CONTROLLER = "controller.ai.walker"


def resolve_vehicle_blueprint(type_id: str, library_ids: Collection[str]) -> str:
    """The CARLA blueprint id to spawn for vehicle `type_id`, given the server's blueprint ids.

    InputError when `type_id` is not a vehicle id or the library has no blueprint of its class.
    """
    if not isinstance(type_id, str) or not type_id.startswith("vehicle."):
        raise InputError(
            f"type_id: expected a vehicle id starting with 'vehicle.' (one of "
            f"{sorted(VEHICLE_CANDIDATES)} or a CARLA blueprint id), got {type_id!r}"
        )
    if type_id in library_ids and type_id not in VEHICLE_CANDIDATES:
        return type_id
    generic = type_id if type_id in VEHICLE_CANDIDATES else vehicle_type(type_id).type_id
    for candidate in VEHICLE_CANDIDATES[generic]:
        if candidate in library_ids:
            return candidate
    raise InputError(
        f"type_id {type_id!r}: the server's blueprint library has none of "
        f"{list(VEHICLE_CANDIDATES[generic])} for class {generic!r}"
    )


def resolve_walker_blueprint(type_id: str, library_ids: Collection[str], rng: np.random.Generator) -> str:
    """The CARLA walker blueprint for `type_id`: a concrete id as is, the generic one drawn by `rng`."""
    if not isinstance(type_id, str) or not type_id.startswith("walker."):
        raise InputError(
            f"type_id: expected a walker id starting with 'walker.' (e.g. {GENERIC_WALKER!r}), "
            f"got {type_id!r}"
        )
    if type_id in library_ids:
        return type_id
    walkers = sorted(i for i in library_ids if i.startswith(WALKER_PREFIX))
    if type_id == GENERIC_WALKER and walkers:
        return walkers[int(rng.integers(len(walkers)))]
    if not walkers:
        raise InputError(f"type_id {type_id!r}: the server's blueprint library has no walker blueprints")
    raise InputError(
        f"type_id {type_id!r}: not in the server's blueprint library; use {GENERIC_WALKER!r} "
        f"or one of {walkers[:5]}..."
    )


#: Walking speed (m/s) when a walker blueprint recommends none.
DEFAULT_WALKER_SPEED_MPS = 1.4


def configure_vehicle(blueprint: Any, role_name: str, rng: np.random.Generator) -> None:
    """Set a vehicle blueprint's role name and, except for the hero, a colour drawn by `rng`."""
    if blueprint.has_attribute("role_name"):
        blueprint.set_attribute("role_name", role_name)
    if blueprint.has_attribute("color") and role_name != "hero":
        colors = list(blueprint.get_attribute("color").recommended_values)
        if colors:
            blueprint.set_attribute("color", colors[int(rng.integers(len(colors)))])


def configure_walker(blueprint: Any, role_name: str) -> float:
    """Make a walker blueprint mortal (as the leaderboard does) and named; its walking speed in m/s."""
    for key, value in (("is_invincible", "false"), ("role_name", role_name)):
        if blueprint.has_attribute(key):
            blueprint.set_attribute(key, value)
    if blueprint.has_attribute("speed"):  # recommended values: idle, walk, run (m/s)
        values = list(blueprint.get_attribute("speed").recommended_values)
        if len(values) > 1:
            return float(values[1])
    return DEFAULT_WALKER_SPEED_MPS


def actor_kind(carla_type_id: str) -> ActorKind:
    """What a CARLA actor is, from its type id (as the official collision criteria tell them apart).

    Vehicles and walkers by prefix, sensors as sensors, everything else (static props, the map's
    buildings, traffic-light and sign poles) counts as static layout.
    """
    if carla_type_id.startswith("vehicle."):
        return ActorKind.VEHICLE
    if carla_type_id.startswith("walker."):
        return ActorKind.WALKER
    if carla_type_id.startswith("sensor."):
        return ActorKind.SENSOR
    return ActorKind.STATIC


def parse_color(value: str | None, default: tuple[int, int, int] = (128, 128, 128)) -> tuple[int, int, int]:
    """A blueprint 'color' attribute ("R,G,B", 0..255) as a tuple; `default` when absent or malformed."""
    if not value:
        return default
    try:
        parts = tuple(int(p) for p in value.split(","))
    except ValueError:
        return default
    if len(parts) != 3 or not all(0 <= p <= 255 for p in parts):
        return default
    return parts  # type: ignore[return-value]
