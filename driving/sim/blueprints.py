"""Vehicle and walker types of the embedded simulator: sizes, masses, dynamics limits, colours.

The embedded world offers a handful of generic body types instead of CARLA's ~40 blueprints;
CARLA blueprint ids are accepted and mapped onto the closest type (a Lincoln MKZ is a car, a
Carla Cola truck a truck, a Gazelle a bicycle) so that agent and scenario code written for a
CARLA server runs unchanged. Extents are half sizes in metres, as `carla.BoundingBox.extent`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from driving.errors import InputError
from driving.tags import Tag


@dataclass(frozen=True)
class VehicleType:
    """One vehicle body. Dynamics numbers are what the bicycle model and the NPC driver use.

    `max_steer_deg` is the front-wheel angle at steer = 1 (a real car turns its wheels ~35 deg;
    CARLA's physics default of 70 deg is a game value we do not copy); `steer_rate_dps` limits
    how fast the wheels turn (deg/s); `max_accel_mps2` is full-throttle acceleration from rest,
    falling quadratically to zero at `top_speed_mps`; `max_brake_mps2` is full-brake deceleration.
    """

    type_id: str
    extent_m: tuple[float, float, float]
    wheelbase_m: float
    mass_kg: float
    max_steer_deg: float
    steer_rate_dps: float
    max_accel_mps2: float
    max_brake_mps2: float
    top_speed_mps: float
    reverse_top_speed_mps: float
    tag: Tag = Tag.VEHICLES


@dataclass(frozen=True)
class WalkerType:
    """A pedestrian body; `preferred_speed_mps` is its usual walking speed."""

    type_id: str
    extent_m: tuple[float, float, float]
    mass_kg: float
    preferred_speed_mps: float
    tag: Tag = Tag.PEDESTRIAN


VEHICLE_TYPES: dict[str, VehicleType] = {
    "vehicle.car": VehicleType("vehicle.car", (2.40, 0.95, 0.75), 2.85, 1500.0, 37.0, 80.0,
                               3.8, 8.0, 50.0, 8.0),
    "vehicle.van": VehicleType("vehicle.van", (2.65, 1.05, 1.15), 3.25, 2500.0, 35.0, 70.0,
                               3.0, 7.5, 40.0, 7.0),
    "vehicle.truck": VehicleType("vehicle.truck", (4.00, 1.25, 1.65), 4.60, 9000.0, 33.0, 60.0,
                                 1.8, 6.5, 30.0, 5.0),
    "vehicle.bicycle": VehicleType("vehicle.bicycle", (0.90, 0.35, 0.85), 1.10, 90.0, 40.0, 120.0,
                                   1.5, 4.0, 8.0, 1.0),
}

WALKER_TYPES: dict[str, WalkerType] = {
    "walker.pedestrian": WalkerType("walker.pedestrian", (0.25, 0.25, 0.90), 80.0, 1.4),
}

#: Body colours NPC vehicles draw from (RGB); chosen per actor from the world seed.
CAR_COLORS_RGB: tuple[tuple[int, int, int], ...] = (
    (200, 200, 200), (30, 30, 30), (160, 20, 20), (20, 50, 140), (240, 240, 240),
    (90, 90, 95), (20, 110, 60), (230, 170, 20), (120, 70, 40), (70, 130, 180),
)

#: Substrings of CARLA blueprint ids mapped onto our body types (checked in this order).
_CARLA_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("truck", "vehicle.truck"), ("carlacola", "vehicle.truck"), ("firetruck", "vehicle.truck"),
    ("fusorosa", "vehicle.truck"), ("bus", "vehicle.truck"),
    ("van", "vehicle.van"), ("sprinter", "vehicle.van"), ("ambulance", "vehicle.van"),
    ("t2", "vehicle.van"), ("carlamotors.european_hgv", "vehicle.truck"),
    ("bicycle", "vehicle.bicycle"), ("crossbike", "vehicle.bicycle"), ("century", "vehicle.bicycle"),
    ("omafiets", "vehicle.bicycle"), ("gazelle", "vehicle.bicycle"), ("diamondback", "vehicle.bicycle"),
)


def vehicle_type(type_id: str) -> VehicleType:
    """Our body type for `type_id` (ours or a CARLA blueprint id such as "vehicle.lincoln.mkz_2017")."""
    if type_id in VEHICLE_TYPES:
        return VEHICLE_TYPES[type_id]
    if not isinstance(type_id, str) or not type_id.startswith("vehicle."):
        raise InputError(f"type_id: expected a vehicle blueprint id starting with 'vehicle.' "
                         f"(one of {sorted(VEHICLE_TYPES)} or a CARLA id), got {type_id!r}")
    rest = type_id[len("vehicle."):].lower()
    for word, ours in _CARLA_KEYWORDS:
        if word in rest.split(".")[-1] or rest.startswith(word):
            return VEHICLE_TYPES[ours]
    return VEHICLE_TYPES["vehicle.car"]


def walker_type(type_id: str) -> WalkerType:
    """Our walker body for `type_id` ("walker.pedestrian" or any CARLA "walker.pedestrian.00xx")."""
    if type_id in WALKER_TYPES:
        return WALKER_TYPES[type_id]
    if isinstance(type_id, str) and type_id.startswith("walker."):
        return WALKER_TYPES["walker.pedestrian"]
    raise InputError(f"type_id: expected a walker blueprint id starting with 'walker.' "
                     f"(e.g. 'walker.pedestrian'), got {type_id!r}")


def pick_color(rng: np.random.Generator) -> tuple[int, int, int]:
    """A body colour drawn from `rng` (the world's seeded generator keeps it deterministic)."""
    return CAR_COLORS_RGB[int(rng.integers(len(CAR_COLORS_RGB)))]


def pick_traffic_type(rng: np.random.Generator) -> str:
    """A background-traffic body type: mostly cars, some vans and trucks (no bicycles on autopilot)."""
    r = float(rng.random())
    if r < 0.75:
        return "vehicle.car"
    if r < 0.92:
        return "vehicle.van"
    return "vehicle.truck"
