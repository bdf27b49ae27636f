"""A straight road with two lanes in one direction, generated as OpenDRIVE, for expert tests
that need a real map with a lane change (shared by the lane-change hold and standoff tests)."""
from __future__ import annotations

from pathlib import Path

import carla
from scenariogeneration import xodr

LANE_M = 3.5


def write_two_lane_road(folder: Path, length_m: float = 300.0) -> Path:
    """Write `two_lanes.xodr` (one straight road, two lanes along +x) into `folder`; its path."""
    road = xodr.create_road(xodr.Line(length_m), id=1, left_lanes=0, right_lanes=2, lane_width=LANE_M)
    return write_road(road, folder / "two_lanes.xodr")


def write_road(road: xodr.Road, path: Path) -> Path:
    """Write one generated road as an OpenDRIVE file at `path` (straight geometry written as
    <line/>, which carla.Map reads exactly); returns `path`."""
    odr = xodr.OpenDrive(path.stem)
    odr.add_road(road)
    odr.adjust_roads_and_lanes()
    odr.write_xml(str(path))
    path.write_text(path.read_text().replace('<spiral curvStart="0.0" curvEnd="0.0"/>', "<line/>"))
    return path


def lane_points(carla_map: carla.Map, x0: float, x1: float, right: bool) -> list[carla.Transform]:
    """Lane-centre transforms every metre from x0 to x1 (metres) on the left or the right lane."""
    wp = carla_map.get_waypoint(carla.Location(x0, 0.0, 0.0), lane_type=carla.LaneType.Driving)
    while wp.get_left_lane() is not None and wp.get_left_lane().lane_type == carla.LaneType.Driving:
        wp = wp.get_left_lane()
    if right:
        wp = wp.get_right_lane()
    out = []
    while wp.transform.location.x < x1:
        out.append(wp.transform)
        wp = wp.next(1.0)[0]
    return out


def write_two_way_road(folder: Path, length_m: float = 300.0) -> Path:
    """Write `two_way.xodr` (one straight road along +x, one lane each way) into `folder`; its path.
    The lane driving +x is the right one (lane -1), the oncoming lane (lane 1) lies to its left."""
    road = xodr.create_road(xodr.Line(length_m), id=1, left_lanes=1, right_lanes=1, lane_width=LANE_M)
    return write_road(road, folder / "two_way.xodr")


def write_one_way_road(folder: Path, length_m: float = 300.0) -> Path:
    """Write `one_way.xodr` (one straight road along +x, two lanes of the same direction)."""
    road = xodr.create_road(xodr.Line(length_m), id=1, left_lanes=0, right_lanes=2, lane_width=LANE_M)
    return write_road(road, folder / "one_way.xodr")


def forward_lane_points(carla_map: carla.Map, x0: float, x1: float, lane_y: float) -> list[carla.Transform]:
    """Lane-centre transforms every metre from x0 to x1 (metres) along +x, on the lane at `lane_y`."""
    wp = carla_map.get_waypoint(carla.Location(x0, lane_y, 0.0), lane_type=carla.LaneType.Driving)
    out = []
    while wp.transform.location.x < x1:
        out.append(wp.transform)
        wp = wp.next(1.0)[0]
    return out
