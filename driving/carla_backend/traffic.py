"""Background traffic on a server: autopilot vehicles at the map's spawn points, AI walkers.

Vehicles go to the map's recommended spawn points in an order drawn from the world seed (a spot
that is taken is skipped); body classes are drawn as in the embedded world (mostly cars, some
vans and trucks). Walkers start at random points of the server's pedestrian navigation mesh
(seeded by `world.set_pedestrians_seed` at map load).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import carla
import numpy as np

from driving.carla_backend.connection import ServerError
from driving.errors import InputError, WorldError
from driving.sim.blueprints import pick_traffic_type

#: Spawn attempts per requested walker before giving up (navigation points may be occupied).
WALKER_ATTEMPTS = 20


def spawn_background_traffic(
    world: Any,
    spawn_points: list[carla.Transform],
    random_walker_location: Callable[[], carla.Location | None],
    n_vehicles: int,
    n_walkers: int,
    rng: np.random.Generator,
) -> list[int]:
    """Spawn up to `n_vehicles` autopilot vehicles and `n_walkers` walkers on `world` (a World).

    Returns the new actor ids, vehicles first; fewer than asked when the map runs out of room.
    """
    for name, value in (("n_vehicles", n_vehicles), ("n_walkers", n_walkers)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise InputError(f"spawn_traffic: {name} must be an integer >= 0, got {value!r}")
    vehicles: list[int] = []
    for k in rng.permutation(len(spawn_points)):
        if len(vehicles) >= n_vehicles:
            break
        try:
            vehicles.append(world.spawn_vehicle(spawn_points[int(k)], pick_traffic_type(rng), "npc", True))
        except ServerError:
            raise
        except WorldError:  # spot taken: try the next one
            continue
    walkers: list[int] = []
    for _ in range(WALKER_ATTEMPTS * n_walkers):
        if len(walkers) >= n_walkers:
            break
        location = random_walker_location()
        if location is None:
            continue
        try:
            walkers.append(world.spawn_walker(carla.Transform(location)))
        except ServerError:
            raise
        except WorldError:  # spot taken: try the next one
            continue
    return vehicles + walkers
