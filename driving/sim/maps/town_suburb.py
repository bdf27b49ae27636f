"""`town_suburb`: curved residential streets around a signalised 5-leg junction.

Layout: five curved spokes leave a central 5-leg junction (traffic lights on every approach)
and meet a curved outer ring at five T-junctions (stop sign on the spoke approach). A curved
inner ring crosses every spoke at a 4-way junction (stop signs on the ring approaches), so the
network has many faces and no dead ends. All streets have 1 lane each way and 2 m sidewalks; the roads are
clothoid (spiral) fits between junction mouths, so almost every road is curved.
Coordinates in metres, OpenDRIVE frame (x east, y north), headings in radians.
"""

from __future__ import annotations

import math

from driving.sim.maps.network import Leg, NetworkBuilder, Pose, SignalKind
from driving.sim.maps.xodr_output import to_xodr_bytes

NAME = "town_suburb"
LEGS = 5
CENTRE_MOUTH_M = 15.0
"""Distance from the 5-leg junction centre to the start of its spokes."""
MOUTH_M = 12.0
"""Junction half-size of the T-junctions."""
INNER_RADIUS_M = 120.0
OUTER_RADIUS_M = 240.0
TWIST_RAD = math.radians(14.0)
"""Outer T-junctions sit this far round from the spoke's start direction, so spokes curve."""
GEO_REFERENCE = "+proj=tmerc +lat_0=49.01 +lon_0=8.02 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
CENTRE_JUNCTION = 500
SPEED_KMH = 30.0


def _at(angle_rad: float, radius_m: float) -> tuple[float, float]:
    return radius_m * math.cos(angle_rad), radius_m * math.sin(angle_rad)


def _offset(point: tuple[float, float], heading_rad: float, dist_m: float) -> tuple[float, float]:
    return point[0] + dist_m * math.cos(heading_rad), point[1] + dist_m * math.sin(heading_rad)


def _ring(
    net: NetworkBuilder,
    road_id: int,
    centres: list,
    angles: list[float],
    legs: list[list[Leg]],
    signal: SignalKind | None,
) -> int:
    """Curved ring road pieces, counter-clockwise and tangent to the circle at each junction."""
    count = len(centres)
    for k in range(count):
        nxt = (k + 1) % count
        tangent_a = angles[k] + math.pi / 2
        tangent_b = angles[nxt] + math.pi / 2
        start: Pose = (*_offset(centres[k], tangent_a, MOUTH_M), tangent_a)
        end: Pose = (*_offset(centres[nxt], tangent_b, -MOUTH_M), tangent_b)
        net.add_road(road_id, start, end, 1, 1, speed_kmh=SPEED_KMH)
        legs[k].append(Leg(road_id, "start", signal))
        legs[nxt].append(Leg(road_id, "end", signal))
        road_id += 1
    return road_id


def _spoke(net: NetworkBuilder, road_id: int, start: Pose, node: tuple[float, float], heading: float) -> None:
    """Road from `start` to the mouth of the junction at `node`, arriving with `heading`."""
    end: Pose = (*_offset(node, heading + math.pi, MOUTH_M), heading)
    net.add_road(road_id, start, end, 1, 1, speed_kmh=SPEED_KMH)


def build() -> bytes:
    """Generate the map as OpenDRIVE bytes (deterministic)."""
    net = NetworkBuilder(NAME, GEO_REFERENCE)
    centre_legs: list[Leg] = []
    inner_legs: list[list[Leg]] = [[] for _ in range(LEGS)]
    outer_legs: list[list[Leg]] = [[] for _ in range(LEGS)]
    spoke_angles = [math.pi / 2 + 2 * math.pi * k / LEGS for k in range(LEGS)]
    inner_angles = [a + TWIST_RAD / 2 for a in spoke_angles]
    outer_angles = [a + TWIST_RAD for a in spoke_angles]
    inner_nodes = [_at(a, INNER_RADIUS_M) for a in inner_angles]
    outer_nodes = [_at(a, OUTER_RADIUS_M) for a in outer_angles]
    road_id = 1
    for k in range(LEGS):
        # spokes: centre (radial) -> inner 4-way -> outer T, each piece arriving radially (S-curves)
        _spoke(
            net,
            road_id,
            (*_at(spoke_angles[k], CENTRE_MOUTH_M), spoke_angles[k]),
            inner_nodes[k],
            inner_angles[k],
        )
        centre_legs.append(Leg(road_id, "start", "light"))
        inner_legs[k].append(Leg(road_id, "end"))
        start: Pose = (*_offset(inner_nodes[k], inner_angles[k], MOUTH_M), inner_angles[k])
        _spoke(net, road_id + 1, start, outer_nodes[k], outer_angles[k])
        inner_legs[k].append(Leg(road_id + 1, "start"))
        outer_legs[k].append(Leg(road_id + 1, "end", "stop"))
        road_id += 2
    road_id = _ring(net, road_id, inner_nodes, inner_angles, inner_legs, "stop")
    _ring(net, road_id, outer_nodes, outer_angles, outer_legs, None)
    net.add_junction(CENTRE_JUNCTION, centre_legs)
    for k in range(LEGS):
        net.add_junction(CENTRE_JUNCTION + 1 + k, inner_legs[k])
        net.add_junction(CENTRE_JUNCTION + 1 + LEGS + k, outer_legs[k])
    return to_xodr_bytes(net.build())
