"""`town_arterial`: two 3+3-lane arterials crossing at a large signalised junction, in a 3 x 3-block grid.

Why this town: CARLA's towns (Town03-05 above all) have wide multi-lane junctions where dense
LB1.0 traffic jams; the other bundled towns have at most 2+2 lanes. Here NPC right of way is
exercised where many connectors cross. A 4 x 4-node grid (140 m spacing) whose row 1 and column 2
are 3+3-lane arterials; every other street has 1 lane each way (so lanes mix at junctions and
every lane reaches every other) and the outer streets form a closed ring. Junctions:
- (2, 1), the two arterials crossing: traffic lights, left turns from the inner lane against
  oncoming traffic across three lanes;
- (2, 2) and (1, 2): unsignalised 4-way junctions (a 3+3 arterial crossing a street, and two
  streets): right of way by arrival and the right-hand rule;
- (1, 1): an arterial crossing a street with stop signs on the street;
- the arterials' ends on the ring: unsignalised multi-lane T-junctions; the other T-junctions
  on the ring have a stop sign on the stem; the corners are plain bends.
Coordinates in metres, OpenDRIVE frame (x east, y north).
"""

from __future__ import annotations

from driving.sim.maps.network import (
    LANE_WIDTH_M,
    SIDEWALK_WIDTH_M,
    Leg,
    NetworkBuilder,
    SignalKind,
    grid_edges,
)
from driving.sim.maps.xodr_output import to_xodr_bytes

NAME = "town_arterial"
NODES_PER_SIDE = 4
SPACING_M = 140.0
ARTERIAL_ROW = 1
ARTERIAL_COLUMN = 2
ARTERIAL_LANES = 3
STREET_LANES = 1
ARTERIAL_KMH = 50.0
STREET_KMH = 30.0
MOUTH_CLEARANCE_M = 7.5
"""A road starts this far beyond the edge (sidewalk included) of the widest road at its node (m)."""
LIGHTS = {(2, 1)}
STOPS_ON_STREETS = {(1, 1)}
NO_SIGNS = {(2, 2), (1, 2), (2, 0), (2, 3), (0, 1), (3, 1)}
GEO_REFERENCE = "+proj=tmerc +lat_0=49.02 +lon_0=8.04 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"


def _junction_id(i: int, j: int) -> int:
    return 500 + j * NODES_PER_SIDE + i


def _is_arterial(horizontal: bool, i: int, j: int) -> bool:
    return j == ARTERIAL_ROW if horizontal else i == ARTERIAL_COLUMN


def _mouth_m(i: int, j: int) -> float:
    """Junction half-size at node (i, j): clear of the widest road crossing there."""
    lanes = ARTERIAL_LANES if (j == ARTERIAL_ROW or i == ARTERIAL_COLUMN) else STREET_LANES
    return lanes * LANE_WIDTH_M + SIDEWALK_WIDTH_M + MOUTH_CLEARANCE_M


def _signal(node: tuple[int, int], horizontal: bool, count: int) -> SignalKind | None:
    """Lights at the arterial crossing, stop signs on streets meeting an arterial at (1, 1) and on
    the stems of the street T-junctions of the ring; none elsewhere."""
    if node in LIGHTS:
        return "light"
    if node in STOPS_ON_STREETS:
        return None if _is_arterial(horizontal, *node) else "stop"
    if node in NO_SIGNS or count != 3:
        return None
    return "stop" if _is_stem(node, horizontal) else None


def _is_stem(node: tuple[int, int], horizontal: bool) -> bool:
    """Whether a leg of this direction is the stem of a T-junction on the ring."""
    i, _ = node
    on_side_edge = i in (0, NODES_PER_SIDE - 1)
    return horizontal == on_side_edge


def build() -> bytes:
    """Generate the map as OpenDRIVE bytes (deterministic)."""
    net = NetworkBuilder(NAME, GEO_REFERENCE)
    n = NODES_PER_SIDE
    legs: dict[tuple[int, int], list[tuple[int, str, bool]]] = {(i, j): [] for i in range(n) for j in range(n)}
    road_id = 1
    for horizontal, (i0, j0), (i1, j1), start, end in grid_edges(n, SPACING_M, lambda node: _mouth_m(*node)):
        arterial = _is_arterial(horizontal, i0, j0)
        lanes = ARTERIAL_LANES if arterial else STREET_LANES
        net.add_road(road_id, start, end, lanes, lanes, sidewalk=True,
                     speed_kmh=ARTERIAL_KMH if arterial else STREET_KMH)
        legs[(i0, j0)].append((road_id, "start", horizontal))
        legs[(i1, j1)].append((road_id, "end", horizontal))
        road_id += 1
    for j in range(n):
        for i in range(n):
            node_legs = legs[(i, j)]
            net.add_junction(_junction_id(i, j), [
                Leg(rid, contact, _signal((i, j), horizontal, len(node_legs)))
                for rid, contact, horizontal in node_legs])
    return to_xodr_bytes(net.build())
