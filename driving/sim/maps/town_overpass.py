"""`town_overpass`: a ring road crossed by two streets, one passing over the other on a bridge.

Layout (OpenDRIVE frame, x east, y north, metres): a curved ring of radius `RING_RADIUS_M` with
four T-junctions (west, south, east, north; stop signs on the cross-street approaches). The
west-east street climbs on ramps to a deck `DECK_HEIGHT_M` above the ground and crosses the
south-north street at the centre without a junction, as the bridges and ramps of CARLA's
Town03/Town04/Town05 do (decks 8-11 m above the roads below). All streets have 1 lane each way
and 2 m sidewalks; the network is closed (every lane reaches every other).

Why a bundled bridge: elevation (actors' z and pitch, 3-D collisions, lane lookups at the
actor's height, rendering of the deck above and the road below) must be testable without
CARLA's own towns. The ramp profile is a cubic smoothstep, z = H (3u^2 - 2u^3) over
`RAMP_LENGTH_M`, so grade and z are continuous and the steepest grade is 1.5 H / L
(`MAX_GRADE`, 6.7%, below the 8% of a steep urban ramp).
"""

from __future__ import annotations

import math

from driving.sim.maps.network import Leg, NetworkBuilder, Pose
from driving.sim.maps.xodr_output import to_xodr_bytes

NAME = "town_overpass"
GEO_REFERENCE = "+proj=tmerc +lat_0=49.02 +lon_0=8.03 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
RING_RADIUS_M = 250.0
MOUTH_M = 12.0
"""Half-size of the T-junctions (junction centre to the start of its roads)."""
DECK_HEIGHT_M = 8.0
"""Road surface of the deck above the lower street's surface (z = 0)."""
DECK_HALF_LENGTH_M = 20.0
"""The deck is flat within this distance of the crossing (the lower street is 11 m wide)."""
RAMP_LENGTH_M = 180.0
MAX_GRADE = 1.5 * DECK_HEIGHT_M / RAMP_LENGTH_M
SPEED_KMH = 40.0
BRIDGE_ROAD = 1
LOWER_ROAD = 2
J_WEST, J_SOUTH, J_EAST, J_NORTH = 500, 501, 502, 503


def _at(angle_rad: float, radius_m: float) -> tuple[float, float]:
    return radius_m * math.cos(angle_rad), radius_m * math.sin(angle_rad)


def _offset(point: tuple[float, float], heading_rad: float, dist_m: float) -> tuple[float, float]:
    return point[0] + dist_m * math.cos(heading_rad), point[1] + dist_m * math.sin(heading_rad)


def bridge_profile(length_m: float) -> list[tuple[float, float, float, float, float]]:
    """OpenDRIVE <elevation> records (s, a, b, c, d) of the bridge road, `length_m` long.

    Flat at 0, smoothstep up to `DECK_HEIGHT_M`, flat deck centred on the road, smoothstep down.
    """
    h, ramp = DECK_HEIGHT_M, RAMP_LENGTH_M
    centre = length_m / 2
    up = centre - DECK_HALF_LENGTH_M - ramp
    if up <= 0:
        raise ValueError(f"bridge road of {length_m:.1f} m is too short for its ramps")
    return [
        (0.0, 0.0, 0.0, 0.0, 0.0),
        (up, 0.0, 0.0, 3 * h / ramp**2, -2 * h / ramp**3),
        (centre - DECK_HALF_LENGTH_M, h, 0.0, 0.0, 0.0),
        (centre + DECK_HALF_LENGTH_M, h, 0.0, -3 * h / ramp**2, 2 * h / ramp**3),
        (centre + DECK_HALF_LENGTH_M + ramp, 0.0, 0.0, 0.0, 0.0),
    ]


def build() -> bytes:
    """Generate the map as OpenDRIVE bytes (deterministic)."""
    net = NetworkBuilder(NAME, GEO_REFERENCE)
    angles = [math.pi, -math.pi / 2, 0.0, math.pi / 2]  # west, south, east, north
    nodes = [_at(a, RING_RADIUS_M) for a in angles]
    junctions = [J_WEST, J_SOUTH, J_EAST, J_NORTH]
    legs: list[list[Leg]] = [[] for _ in angles]
    r = RING_RADIUS_M - MOUTH_M
    bridge = net.add_road(BRIDGE_ROAD, (-r, 0.0, 0.0), (r, 0.0, 0.0), 1, 1, speed_kmh=SPEED_KMH)
    for record in bridge_profile(bridge.length_m):
        bridge.road.add_elevation(*record)
    legs[0].append(Leg(BRIDGE_ROAD, "start", "stop"))
    legs[2].append(Leg(BRIDGE_ROAD, "end", "stop"))
    net.add_road(LOWER_ROAD, (0.0, -r, math.pi / 2), (0.0, r, math.pi / 2), 1, 1, speed_kmh=SPEED_KMH)
    legs[1].append(Leg(LOWER_ROAD, "start", "stop"))
    legs[3].append(Leg(LOWER_ROAD, "end", "stop"))
    # ring pieces, counter-clockwise from west (tangent to the circle at each junction)
    order = [0, 1, 2, 3]  # west -> south -> east -> north -> west is counter-clockwise
    for k, here in enumerate(order):
        there = order[(k + 1) % len(order)]
        tangent_a = angles[here] + math.pi / 2
        tangent_b = angles[there] + math.pi / 2
        start: Pose = (*_offset(nodes[here], tangent_a, MOUTH_M), tangent_a)
        end: Pose = (*_offset(nodes[there], tangent_b, -MOUTH_M), tangent_b)
        road_id = 3 + k
        net.add_road(road_id, start, end, 1, 1, speed_kmh=SPEED_KMH)
        legs[here].append(Leg(road_id, "start"))
        legs[there].append(Leg(road_id, "end"))
    for jid, junction_legs in zip(junctions, legs):
        net.add_junction(jid, junction_legs)
    return to_xodr_bytes(net.build())
