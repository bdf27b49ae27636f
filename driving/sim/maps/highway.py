"""`highway`: a curved 3+3-lane motorway with an off-ramp and an on-ramp, closed by a local ring.

Layout (x east, y north, metres): the motorway runs west -> east as an S-curve through a
straight middle section. East-bound traffic (the right lanes) leaves by an off-ramp at junction
`J_OFF` (lane 3 diverges) and re-enters by an on-ramp at `J_ON` (merges into lane 3). The ramps
end at T-junctions on a two-lane local ring road that encircles the motorway; the motorway's
ends meet that ring at T-junctions (traffic lights), where every motorway lane can turn off and
every lane can be entered, so every lane is reachable from every other without lane changes.
"""

from __future__ import annotations

import math

from scenariogeneration import xodr

from driving.sim.maps.network import Leg, NetworkBuilder, Pose
from driving.sim.maps.xodr_output import to_xodr_bytes

NAME = "highway"
GEO_REFERENCE = "+proj=tmerc +lat_0=48.99 +lon_0=8.05 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
LANES = 3
MOTORWAY_KMH = 100.0
RAMP_KMH = 60.0
LOCAL_KMH = 50.0
END_X_M = 800.0
"""The motorway ends meet the ring at x = -END_X_M and +END_X_M (y = 0)."""
RING_MOUTH_M = 22.0
"""Half-size of the T-junctions where the 3-lane motorway meets the ring."""
LOCAL_MOUTH_M = 14.0
RAMP_X_M = 300.0
"""The ramp junctions are centred at x = -RAMP_X_M (off) and +RAMP_X_M (on)."""
MIDDLE_Y_M = -60.0
"""y of the straight middle section; the motorway curves down to it from y = 0 at both ends."""
RAMP_JUNCTION_M = 40.0
"""Length of the diverge / merge junctions along the motorway."""
RAMP_OFFSET_M = 12.0
RAMP_ANGLE_RAD = math.radians(10.0)
SOUTH_Y_M = -360.0
NORTH_Y_M = 360.0
RAMP_NODE_X_M = 200.0
"""The ramps meet the southern ring at x = -RAMP_NODE_X_M (off) and +RAMP_NODE_X_M (on)."""

J_WEST, J_OFF, J_ON, J_EAST, J_SOUTH_OFF, J_SOUTH_ON = 500, 501, 502, 503, 504, 505


def build() -> bytes:
    """Generate the map as OpenDRIVE bytes (deterministic)."""
    net = NetworkBuilder(NAME, GEO_REFERENCE)
    half = RAMP_JUNCTION_M / 2
    east, north, south, west = 0.0, math.pi / 2, -math.pi / 2, math.pi

    def motorway(road_id: int, start: Pose, end: Pose) -> None:
        net.add_road(
            road_id,
            start,
            end,
            LANES,
            LANES,
            sidewalk=False,
            speed_kmh=MOTORWAY_KMH,
            road_type=xodr.RoadType.motorway,
        )

    def local(road_id: int, start: Pose, end: Pose) -> None:
        net.add_road(road_id, start, end, 1, 1, sidewalk=True, speed_kmh=LOCAL_KMH)

    def ramp(road_id: int, start: Pose, end: Pose) -> None:
        net.add_road(
            road_id, start, end, 1, 0, sidewalk=False, speed_kmh=RAMP_KMH, road_type=xodr.RoadType.motorway
        )

    # motorway: 1 (west S-curve), 2 (straight middle), 3 (east S-curve)
    motorway(1, (-END_X_M + RING_MOUTH_M, 0.0, east), (-RAMP_X_M - half, MIDDLE_Y_M, east))
    motorway(2, (-RAMP_X_M + half, MIDDLE_Y_M, east), (RAMP_X_M - half, MIDDLE_Y_M, east))
    motorway(3, (RAMP_X_M + half, MIDDLE_Y_M, east), (END_X_M - RING_MOUTH_M, 0.0, east))
    # ramps (one-way, one lane): 4 off-ramp to the southern ring, 5 on-ramp from it
    off_start: Pose = (-RAMP_X_M + half, MIDDLE_Y_M - RAMP_OFFSET_M, -RAMP_ANGLE_RAD)
    ramp(4, off_start, (-RAMP_NODE_X_M, SOUTH_Y_M + LOCAL_MOUTH_M, south))
    on_end: Pose = (RAMP_X_M - half, MIDDLE_Y_M - RAMP_OFFSET_M, RAMP_ANGLE_RAD)
    ramp(5, (RAMP_NODE_X_M, SOUTH_Y_M + LOCAL_MOUTH_M, north), on_end)
    # local ring, counter-clockwise: 6 west->south-off, 7 south-off->south-on, 8 south-on->east,
    # 9 east->north apex, 10 north apex->west (9 and 10 joined directly)
    local(6, (-END_X_M, -RING_MOUTH_M, south), (-RAMP_NODE_X_M - LOCAL_MOUTH_M, SOUTH_Y_M, east))
    local(
        7, (-RAMP_NODE_X_M + LOCAL_MOUTH_M, SOUTH_Y_M, east), (RAMP_NODE_X_M - LOCAL_MOUTH_M, SOUTH_Y_M, east)
    )
    local(8, (RAMP_NODE_X_M + LOCAL_MOUTH_M, SOUTH_Y_M, east), (END_X_M, -RING_MOUTH_M, north))
    local(9, (END_X_M, RING_MOUTH_M, north), (0.0, NORTH_Y_M, west))
    local(10, (0.0, NORTH_Y_M, west), (-END_X_M, RING_MOUTH_M, south))
    net.link(9, 10)

    net.add_junction(J_WEST, [Leg(1, "start", "light"), Leg(6, "start", "light"), Leg(10, "end", "light")])
    net.add_junction(J_OFF, [Leg(1, "end"), Leg(2, "start"), Leg(4, "start")])
    net.add_junction(J_ON, [Leg(2, "end"), Leg(3, "start"), Leg(5, "end")])
    net.add_junction(J_EAST, [Leg(3, "end", "light"), Leg(8, "end", "light"), Leg(9, "start", "light")])
    net.add_junction(J_SOUTH_OFF, [Leg(6, "end"), Leg(7, "start"), Leg(4, "end", "stop")])
    net.add_junction(J_SOUTH_ON, [Leg(7, "end"), Leg(8, "start"), Leg(5, "start")])
    return to_xodr_bytes(net.build())
