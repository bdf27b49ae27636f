"""Lane enumeration and sampling shared by the signal finder and the layout builder.

`carla.Map` answers point queries (`get_waypoint_xodr`) but does not list its lanes with their
s ranges, and `Waypoint.next_until_lane_end` raises when a step lands exactly on the lane end.
So the lanes are read once from the map's own OpenDRIVE text (road length, lane sections, lane
ids and types) and sampled with `get_waypoint_xodr`, which works for every lane type of any map
(ours, CARLA's Town exports, hand-written files).
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import carla
import numpy as np

#: Keep samples this far (metres) inside a lane section: `get_waypoint_xodr` returns None exactly
#: at the road end and may pick the next section exactly at a section start.
_S_EPS_M = 1e-3

#: OpenDRIVE lane types that are paved but not for cars: kept clear of props, drawn as road.
PAVED_TYPES = frozenset({"shoulder", "parking", "biking", "border", "median", "curb", "restricted",
                         "stop", "bidirectional"})


@dataclass(frozen=True)
class LaneRef:
    """One lane of one lane section: `s0_m` < `s1_m` along the road reference line (metres).

    `lane_type` is the OpenDRIVE type, lower case ("driving", "sidewalk", "shoulder", ...).
    Negative lane ids drive along +s, positive ones against it (right-hand traffic).
    """

    road_id: int
    section_id: int
    lane_id: int
    lane_type: str
    s0_m: float
    s1_m: float
    junction_id: int

    @property
    def length_m(self) -> float:
        return self.s1_m - self.s0_m

    @property
    def in_junction(self) -> bool:
        return self.junction_id >= 0


def map_lanes(carla_map: carla.Map) -> tuple[LaneRef, ...]:
    """Every non-centre lane of the map, sorted by (road, section, lane) so the order is stable."""
    root = ET.fromstring(carla_map.to_opendrive())
    lanes: list[LaneRef] = []
    for road in root.iter("road"):
        try:
            road_id = int(road.get("id", ""))
            length_m = float(road.get("length", "0"))
            junction_id = int(road.get("junction", "-1"))
        except ValueError:
            continue  # CARLA itself only accepts integer ids; skip what it could not load either
        lanes_el = road.find("lanes")
        if lanes_el is None:
            continue
        sections = lanes_el.findall("laneSection")
        starts = [float(sec.get("s", "0")) for sec in sections]
        for k, sec in enumerate(sections):
            s0 = starts[k]
            s1 = starts[k + 1] if k + 1 < len(sections) else length_m
            if s1 - s0 <= 2 * _S_EPS_M:
                continue
            for lane in sec.iter("lane"):
                lane_id = int(lane.get("id", "0"))
                lane_type = lane.get("type", "none").lower()
                if lane_id == 0 or lane_type == "none":
                    continue
                lanes.append(LaneRef(road_id, k, lane_id, lane_type, s0, s1, junction_id))
    lanes.sort(key=lambda r: (r.road_id, r.section_id, r.lane_id))
    return tuple(lanes)


def xodr_waypoint(carla_map: carla.Map, road_id: int, lane_id: int, s_m: float) -> carla.Waypoint | None:
    """`get_waypoint_xodr`, or None where carla does not know the lane there.

    carla raises IndexError ("map::at") instead of returning None for a lane id that a road's
    lane section lacks, which a broken user map can produce.
    """
    try:
        return carla_map.get_waypoint_xodr(road_id, lane_id, s_m)
    except (IndexError, RuntimeError):
        return None


def sample_lane(carla_map: carla.Map, lane: LaneRef, step_m: float) -> list[carla.Waypoint]:
    """Waypoints along the lane every <= `step_m` metres, in increasing s (both ends included)."""
    n = max(2, math.ceil(lane.length_m / step_m) + 1)
    s_values = np.linspace(lane.s0_m + _S_EPS_M, lane.s1_m - _S_EPS_M, n)
    wps = [xodr_waypoint(carla_map, lane.road_id, lane.lane_id, float(s)) for s in s_values]
    return [w for w in wps if w is not None and _finite(w)]


def _finite(wp: carla.Waypoint) -> bool:
    """carla 0.9.16 returns NaN positions on some geometries (a <spiral> of constant curvature)."""
    loc = wp.transform.location
    return math.isfinite(loc.x) and math.isfinite(loc.y) and math.isfinite(wp.lane_width)


def lane_point(carla_map: carla.Map, lane: LaneRef, from_end_m: float) -> carla.Waypoint | None:
    """The lane's waypoint `from_end_m` metres before its end in the driving direction.

    Clamped to the lane; for a lane against s (positive id) the end is at `s0_m`.
    """
    back = min(max(from_end_m, 0.0), lane.length_m)
    s = lane.s1_m - back if lane.lane_id < 0 else lane.s0_m + back
    s = min(max(s, lane.s0_m + _S_EPS_M), lane.s1_m - _S_EPS_M)
    return xodr_waypoint(carla_map, lane.road_id, lane.lane_id, s)


def lane_start_point(carla_map: carla.Map, lane: LaneRef, from_start_m: float) -> carla.Waypoint | None:
    """The lane's waypoint `from_start_m` metres after its start in the driving direction."""
    return lane_point(carla_map, lane, lane.length_m - from_start_m)


def entered_junction(carla_map: carla.Map, lane: LaneRef) -> int | None:
    """Id of the junction this (non-junction) lane leads into, or None."""
    end = lane_point(carla_map, lane, 0.0)
    if end is None:
        return None
    ids = sorted({n.junction_id for n in end.next(1.0) if n.is_junction})
    return ids[0] if ids else None


def left_junction(carla_map: carla.Map, lane: LaneRef) -> int | None:
    """Id of the junction this (non-junction) lane comes out of, or None."""
    start = lane_start_point(carla_map, lane, 0.0)
    if start is None:
        return None
    ids = sorted({p.junction_id for p in start.previous(1.0) if p.is_junction})
    return ids[0] if ids else None


def junction_paths(carla_map: carla.Map, lane: LaneRef, step_m: float = 1.0, max_length_m: float = 300.0
                   ) -> list[tuple[int | None, np.ndarray]]:
    """Paths through the junction this lane enters: (exit road id or None, N x 3 points, metres).

    One per connector branch, from the lane's end to the first point past the junction; `carla`
    lists connectors per lane section, so following `next()` is the only way to see a movement
    whole (where it comes from, where it goes, what it crosses).
    """
    end = lane_point(carla_map, lane, 0.0)
    if end is None:
        return []
    out = []
    for first in end.next(step_m):
        if not first.is_junction:
            continue
        pts = [_xyz(end), _xyz(first)]
        wp, exit_road = first, None
        for _ in range(int(max_length_m / step_m)):
            ahead = wp.next(step_m)
            if not ahead:
                break
            wp = ahead[0]
            pts.append(_xyz(wp))
            if not wp.is_junction:
                exit_road = wp.road_id
                break
        xyz = np.array(pts)
        xyz = xyz[np.isfinite(xyz).all(axis=1)]  # carla 0.9.16 gives NaN inside constant-curvature spirals
        if len(xyz) >= 2:
            out.append((exit_road, xyz))
    return out


def _xyz(wp: carla.Waypoint) -> tuple[float, float, float]:
    loc = wp.transform.location
    return loc.x, loc.y, loc.z


def waypoint_arrays(wps: list[carla.Waypoint]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centres N x 2, unit right vectors N x 2, lane widths N) of waypoints, CARLA x, y metres."""
    centres = np.empty((len(wps), 2))
    rights = np.empty((len(wps), 2))
    widths = np.empty(len(wps))
    for i, w in enumerate(wps):
        loc = w.transform.location
        yaw = math.radians(w.transform.rotation.yaw)
        centres[i] = (loc.x, loc.y)
        rights[i] = (-math.sin(yaw), math.cos(yaw))
        widths[i] = w.lane_width
    return centres, rights, widths
