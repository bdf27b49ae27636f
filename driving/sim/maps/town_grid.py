"""`town_grid`: a 4 x 4-junction Manhattan grid (3 x 3 blocks, 100 m spacing).

Layout: row 1 and column 2 are arterials (2 lanes each way), every other street has 1 lane each
way; all roads carry 2 m sidewalks. The outer streets form a closed ring, so every lane has an
exit. Junctions where an arterial meets another street are signalised (traffic lights on every
approach); the one crossing of two side streets is an all-way stop; the remaining T-junctions
have a stop sign on the minor (stem) approach; the four corners are plain bends. Coordinates in metres, OpenDRIVE frame (x east, y north).
"""

from __future__ import annotations

from driving.sim.maps.network import Leg, NetworkBuilder, grid_edges
from driving.sim.maps.xodr_output import to_xodr_bytes

NAME = "town_grid"
NODES_PER_SIDE = 4
SPACING_M = 100.0
MOUTH_M = 15.0
"""Distance from a node centre to where its roads start (junction half-size)."""
ARTERIAL_ROW = 1
ARTERIAL_COLUMN = 2
GEO_REFERENCE = "+proj=tmerc +lat_0=49.0 +lon_0=8.0 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"


def _junction_id(i: int, j: int) -> int:
    return 500 + j * NODES_PER_SIDE + i


def _is_arterial(horizontal: bool, i: int, j: int) -> bool:
    return j == ARTERIAL_ROW if horizontal else i == ARTERIAL_COLUMN


def build() -> bytes:
    """Generate the map as OpenDRIVE bytes (deterministic)."""
    net = NetworkBuilder(NAME, GEO_REFERENCE)
    n = NODES_PER_SIDE
    legs: dict[tuple[int, int], list[tuple[Leg, bool]]] = {(i, j): [] for i in range(n) for j in range(n)}
    road_id = 1
    for horizontal, (i0, j0), (i1, j1), start, end in grid_edges(n, SPACING_M, lambda node: MOUTH_M):
        arterial = _is_arterial(horizontal, i0, j0)
        lanes = 2 if arterial else 1
        net.add_road(road_id, start, end, lanes, lanes, sidewalk=True, speed_kmh=50.0 if arterial else 30.0)
        legs[(i0, j0)].append((Leg(road_id, "start"), arterial))
        legs[(i1, j1)].append((Leg(road_id, "end"), arterial))
        road_id += 1
    for j in range(n):
        for i in range(n):
            node_legs = legs[(i, j)]
            net.add_junction(_junction_id(i, j), _with_signals(node_legs, i, j))
    return to_xodr_bytes(net.build())


def _with_signals(node_legs: list[tuple[Leg, bool]], i: int, j: int) -> list[Leg]:
    """Lights where an arterial meets a street; all-way stop at other crossings; stop on T stems."""
    count = len(node_legs)
    if count >= 3 and any(arterial for _, arterial in node_legs):
        return [Leg(leg.road_id, leg.contact, "light") for leg, _ in node_legs]
    if count == 4:
        return [Leg(leg.road_id, leg.contact, "stop") for leg, _ in node_legs]
    if count == 3:
        stem = _stem_index(i, j)
        return [
            Leg(leg.road_id, leg.contact, "stop" if k == stem else None)
            for k, (leg, _) in enumerate(node_legs)
        ]
    return [leg for leg, _ in node_legs]


def _stem_index(i: int, j: int) -> int:
    """Index (in insertion order: horizontal legs first) of the leg pointing into the grid at a T."""
    # on the left/right edges the stem is horizontal (index 0); on bottom/top it is vertical (index 2)
    return 0 if i in (0, NODES_PER_SIDE - 1) else 2
