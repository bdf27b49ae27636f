"""Per-map preparation for the embedded world: signal stop lines on lanes, junction boxes, spawn
points and route planning on the lane graph. Runs once per `load_map` (or per spawn with a route),
never per tick.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import carla
import networkx as nx
import numpy as np
import shapely
import shapely.geometry

from driving.errors import InputError
from driving.sim.lane_graph import LaneGraph, lane_key
from driving.sim.signals import SignalSet
from driving.sim.traffic import IdmParams, TrafficDrivers

#: Margin (metres) added around the lane points of a junction to form its bounding box.
JUNCTION_BOX_MARGIN_M = 1.0
#: Margin (metres) around the convex hull of a junction's connector centrelines: a vehicle not on
#: autopilot occupies the junction when its centre is inside. Small, so that a car waiting at a
#: stop line (centre a few metres before the junction) never counts as inside.
JUNCTION_HULL_MARGIN_M = 0.5
#: Spawn points: spacing along lanes and clearance from lane ends (metres).
SPAWN_SPACING_M = 12.0
SPAWN_END_CLEARANCE_M = 6.0


@dataclass(frozen=True)
class SignalStops:
    """Signals mapped onto the lane graph (see `TrafficDrivers`)."""

    light_seg: np.ndarray  # (K,) segment of each governed lane's stop line
    light_s: np.ndarray  # (K,) arc length of the stop line on it, metres
    light_index: np.ndarray  # (K,) row of the governing light in `SignalSet.traffic_lights`
    sign_s: np.ndarray  # (S,) stop-sign line arc length per segment (inf: none)
    junction_boxes: np.ndarray  # (J, 4) min x, min y, max x, max y per junction, metres
    junction_hull_pts: np.ndarray  # (H, 2) convex hull vertices of all junctions, counter-clockwise, metres
    junction_hull_off: np.ndarray  # (J + 1,) junction q owns hull vertices off[q] : off[q + 1]
    junction_signalized: np.ndarray  # (J,) bool
    seg_junction: np.ndarray  # (S,) junction index (into the boxes) or -1


def _locate(graph: LaneGraph, wp: carla.Waypoint) -> tuple[int, float] | None:
    if lane_key(wp) not in graph.index:
        return None
    loc = wp.transform.location
    return graph.locate(wp, loc.x, loc.y)


def signal_stops(graph: LaneGraph, carla_map: carla.Map, signals: SignalSet) -> SignalStops:
    """Stop lines of lights and stop signs as (segment, s), and junction occupancy boxes."""
    del carla_map  # stop waypoints already carry their lanes
    junction_ids = sorted({int(j) for j in graph.junction if j >= 0})
    j_index = {j: k for k, j in enumerate(junction_ids)}
    seg_junction = np.array([j_index.get(int(j), -1) for j in graph.junction], np.int64)
    boxes = np.zeros((len(junction_ids), 4))
    hulls = []
    for k in range(len(junction_ids)):
        segs = np.nonzero(seg_junction == k)[0]
        pts = np.concatenate([graph.pts[graph.off[s]:graph.off[s] + graph.n[s]] for s in segs])
        boxes[k] = (*(pts.min(0) - JUNCTION_BOX_MARGIN_M), *(pts.max(0) + JUNCTION_BOX_MARGIN_M))
        hulls.append(junction_hull(pts))
    hull_off = np.concatenate([[0], np.cumsum([len(h) for h in hulls])]).astype(np.int64)
    hull_pts = np.concatenate(hulls) if hulls else np.zeros((0, 2))
    signalized = np.zeros(len(junction_ids), np.bool_)
    light_rows = []
    for index, light in enumerate(signals.traffic_lights):
        if light.group_id in j_index:
            signalized[j_index[light.group_id]] = True
        for wp in light.stop_waypoints:
            where = _locate(graph, wp)
            if where is None:
                continue
            light_rows.append((where[0], where[1], index))
            for nxt in graph.succ[where[0], :graph.n_succ[where[0]]]:
                if seg_junction[nxt] >= 0:
                    signalized[seg_junction[nxt]] = True
    sign_s = np.full(graph.n_segments, np.inf)
    for sign in signals.stop_signs:
        for wp in sign.stop_waypoints:
            where = _locate(graph, wp)
            if where is not None:
                sign_s[where[0]] = min(sign_s[where[0]], where[1])
    rows = np.array(light_rows, np.float64).reshape(-1, 3)
    return SignalStops(rows[:, 0].astype(np.int64), rows[:, 1], rows[:, 2].astype(np.int64), sign_s,
                       boxes, hull_pts, hull_off, signalized, seg_junction)


def junction_hull(pts: np.ndarray) -> np.ndarray:
    """Counter-clockwise vertices (V, 2) of the convex hull of `pts` grown by `JUNCTION_HULL_MARGIN_M`.

    Why a hull and not the axis-aligned box: on diagonal junctions the box also covers the stop
    lines, so cars waiting there would count as inside and two of them would wait for each other.
    """
    hull = shapely.MultiPoint(np.asarray(pts, np.float64)).convex_hull.buffer(JUNCTION_HULL_MARGIN_M, quad_segs=2)
    ring = shapely.geometry.polygon.orient(hull, 1.0).exterior
    return np.asarray(ring.coords, np.float64)[:-1, :2]


_SPEED_UNITS = {"m/s": 1.0, "km/h": 1.0 / 3.6, "mph": 0.44704}


def road_speed_limits(xodr_text: str) -> dict[int, float]:
    """Road id -> speed limit in m/s from OpenDRIVE `<road><type><speed max unit>` (first entry).

    `carla.Map` does not expose these, so they are read from the XML once per map.
    """
    limits: dict[int, float] = {}
    for road in ET.fromstring(xodr_text).iter("road"):
        speed = road.find("type/speed")
        if speed is None:
            continue
        try:
            value = float(speed.get("max", "")) * _SPEED_UNITS.get(speed.get("unit", "m/s"), 1.0)
            limits[int(road.get("id", ""))] = value
        except ValueError:
            continue  # "no limit" / "undefined" in OpenDRIVE: fall back to the default
    return limits


def segment_speed_limits(graph: LaneGraph, xodr_text: str, default_mps: float) -> np.ndarray:
    """Per lane segment limit (m/s); segments of roads without one (junction connectors) take the
    limit of the road that leads into them, else `default_mps`."""
    by_road = road_speed_limits(xodr_text)
    limit = np.array([by_road.get(key[0], np.nan) for key in graph.keys])
    for _ in range(3):  # connectors inherit from their predecessors
        for k in range(graph.n_segments):
            if np.isnan(limit[k]):
                continue
            for j in graph.succ[k, :graph.n_succ[k]]:
                if np.isnan(limit[j]):
                    limit[j] = limit[k]
    return np.where(np.isnan(limit) | (limit <= 0.0), default_mps, limit)


def traffic_drivers_for(graph: LaneGraph, stops: SignalStops, speed_limit_mps: np.ndarray, idm: IdmParams,
                        rng: np.random.Generator) -> TrafficDrivers:
    """An empty NPC driver set wired to this map's signals, junctions and speed limits."""
    return TrafficDrivers(graph, stops.junction_boxes, stops.junction_hull_pts, stops.junction_hull_off,
                          stops.junction_signalized, stops.seg_junction,
                          stops.light_seg, stops.light_s, stops.light_index, stops.sign_s, speed_limit_mps,
                          idm, rng)


def spawn_points(graph: LaneGraph) -> list[carla.Transform]:
    """Lane-centre transforms every `SPAWN_SPACING_M` on lanes outside junctions (ground z)."""
    segs, ss = [], []
    for k in range(graph.n_segments):
        if graph.junction[k] >= 0:
            continue
        length = float(graph.length[k])
        for s in np.arange(SPAWN_END_CLEARANCE_M, length - SPAWN_END_CLEARANCE_M + 1e-9, SPAWN_SPACING_M):
            segs.append(k)
            ss.append(s)
    x, y, yaw, z = graph.pose(np.array(segs, np.int64), np.array(ss))
    return [carla.Transform(carla.Location(float(a), float(b), float(c)), carla.Rotation(yaw=math.degrees(d)))
            for a, b, c, d in zip(x, y, z, yaw)]


def _digraph(graph: LaneGraph) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(graph.n_segments))
    for k in range(graph.n_segments):
        for j in graph.succ[k, :graph.n_succ[k]]:
            g.add_edge(k, int(j), weight=float(graph.length[int(j)]))
    return g


def route_segments(graph: LaneGraph, carla_map: carla.Map, start_seg: int,
                   locations: list[carla.Location]) -> list[int]:
    """Lane segments after `start_seg` that pass every location in order (shortest by length)."""
    if not locations:
        return []
    g = _digraph(graph)
    plan: list[int] = []
    current = start_seg
    for i, loc in enumerate(locations):
        if not isinstance(loc, carla.Location) or not (math.isfinite(loc.x) and math.isfinite(loc.y)):
            raise InputError(f"route[{i}]: expected a finite carla.Location, got {loc!r}")
        wp = carla_map.get_waypoint(loc, project_to_road=True, lane_type=carla.LaneType.Driving)
        if wp is None or lane_key(wp) not in graph.index:
            raise InputError(f"route[{i}]: ({loc.x:.1f}, {loc.y:.1f}) is not near a driving lane")
        target = graph.index[lane_key(wp)]
        if target == current:
            continue
        try:
            path = nx.shortest_path(g, current, target, weight="weight")
        except nx.NetworkXNoPath:
            raise InputError(f"route[{i}]: ({loc.x:.1f}, {loc.y:.1f}) cannot be reached along the lanes "
                             f"from the previous route point") from None
        plan.extend(int(p) for p in path[1:])
        current = target
    return plan
