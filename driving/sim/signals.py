"""Traffic lights and stop signs of a map: read from its OpenDRIVE signals, or placed procedurally.

Why here and not in the map files: users pass any OpenDRIVE map (CARLA's Town exports carry
signals, many hand-made maps carry none), and OpenDRIVE has no notion of a stop waypoint or a
trigger volume, which CARLA's server computes itself. This module gives every map the same
`SignalSet`: one `TrafficLightInfo` per signal head with the lanes it governs, lights grouped per
junction (the junction the governed lanes enter), and stop signs.

Conventions (CARLA world frame, metres, degrees):
- stop line: vehicles stop `STOP_LINE_BACK_M` before the junction entry, behind the crosswalk
  that the layout paints between `CROSSWALK_NEAR_M` and `CROSSWALK_FAR_M` before the entry;
- a signal's `transform` is where its face is, its yaw the direction the face looks (towards
  the governed traffic); `trigger_extent` is in that frame (x along the lane, y across);
- ids: lights 1..N sorted by (junction, road, lane, OpenDRIVE id), stop signs from
  `STOP_SIGN_ID_BASE` + 1, so they are stable across runs for the same map.

Procedural rule (a map without any signal record), modelled on where CARLA's own towns have them
(Town01: three lights at each of its 12 T junctions, all roads one lane each way):
- only junctions where a movement from one approach crosses a movement from another towards a
  different exit get signals. Merges, diverges, right-in/right-out ramps and bends have no such
  crossing, and a light there would stop motorway traffic for nothing;
- an approach is *minor* when its road has a single driving lane in total at the junction (a
  one-way, one-lane ramp, slip lane or alley). A crossing junction with a minor approach gets a
  stop sign on each minor approach and nothing else: one lane of traffic joining a road is what
  a stop sign serves, and the major road keeps flowing;
- a crossing junction of >= 3 approaches without a minor one (T junctions included) gets one
  traffic light per approach, all in one group (the junction id). Two-approach crossings
  (roundabout ring segments, U-turn bays) get none: yielding handles them.
"""
from __future__ import annotations

import math
import warnings
from collections import defaultdict
from dataclasses import dataclass

import carla
import shapely

from driving.sim.layout_lanes import (
    LaneRef,
    entered_junction,
    junction_paths,
    lane_point,
    lane_start_point,
    left_junction,
    map_lanes,
    xodr_waypoint,
)
from driving.sim.maps import MapWarning
from driving.world import StopSignInfo, TrafficLightInfo

TRAFFIC_LIGHT_TYPE = "1000001"
STOP_SIGN_TYPE = "206"
#: Distance (metres) from the junction entry back to the stop line.
STOP_LINE_BACK_M = 5.0
#: Crosswalk span (metres before the junction entry) that the layout paints.
CROSSWALK_NEAR_M = 0.5
CROSSWALK_FAR_M = 4.5
#: Half length (metres, along the lane) and half height of trigger volumes.
TRIGGER_HALF_LENGTH_M = 1.5
TRIGGER_HALF_HEIGHT_M = 1.0
#: Height (metres above the lane) of a light head centre and of a stop-sign plate centre.
LIGHT_HEAD_HEIGHT_M = 3.2
STOP_SIGN_HEIGHT_M = 2.0
#: Clearance (metres) between the outer edge of the road (sidewalk included) and a signal post.
ROADSIDE_MARGIN_M = 0.6
#: Stop-sign ids start here so they never collide with traffic-light ids.
STOP_SIGN_ID_BASE = 100_000
#: A signal without lane validity this close (metres) to a road end governs the lanes ending there.
_NEAR_END_M = 30.0
#: Junction movements whose paths differ this much in mean height (metres) pass over each other.
_OVERPASS_M = 3.0
#: Group id base for lights that are not at a junction (group = base + road id).
NON_JUNCTION_GROUP_BASE = 1_000_000


@dataclass(frozen=True)
class SignalSet:
    """Every traffic light and stop sign of a map; `procedural` when the map carried none."""

    traffic_lights: tuple[TrafficLightInfo, ...]
    stop_signs: tuple[StopSignInfo, ...]
    procedural: bool = False

    def light(self, light_id: int) -> TrafficLightInfo:
        """The light with this id (KeyError names the known ids when absent)."""
        for tl in self.traffic_lights:
            if tl.id == light_id:
                return tl
        raise KeyError(f"traffic light {light_id} unknown; known ids {[t.id for t in self.traffic_lights]}")

    def groups(self) -> dict[int, tuple[TrafficLightInfo, ...]]:
        """Lights per group (junction), each tuple sorted by light id."""
        out: dict[int, list[TrafficLightInfo]] = defaultdict(list)
        for tl in self.traffic_lights:
            out[tl.group_id].append(tl)
        return {g: tuple(sorted(v, key=lambda t: t.id)) for g, v in sorted(out.items())}


@dataclass(frozen=True)
class Approach:
    """The driving lanes of one road that enter one junction (sorted from centre outwards)."""

    junction_id: int
    road_id: int
    lanes: tuple[LaneRef, ...]
    heading_deg: float  # direction of travel into the junction, carla yaw


def find_signals(carla_map: carla.Map) -> SignalSet:
    """Signals of `carla_map`: its own OpenDRIVE signals, or procedural ones if it has none."""
    lanes = map_lanes(carla_map)
    lights = _map_traffic_lights(carla_map, lanes)
    signs = _map_stop_signs(carla_map, lanes)
    if lights or signs:
        return SignalSet(lights, signs, procedural=False)
    return _procedural_signals(carla_map, lanes)


def junction_approaches(carla_map: carla.Map, lanes: tuple[LaneRef, ...] | None = None
                        ) -> dict[int, list[Approach]]:
    """Junction id -> its approaches (one per incoming road), sorted by road id."""
    lanes = map_lanes(carla_map) if lanes is None else lanes
    grouped: dict[tuple[int, int], list[LaneRef]] = defaultdict(list)
    for lane in lanes:
        if lane.lane_type != "driving" or lane.in_junction:
            continue
        jid = entered_junction(carla_map, lane)
        if jid is not None:
            grouped[(jid, lane.road_id)].append(lane)
    out: dict[int, list[Approach]] = defaultdict(list)
    for (jid, road_id), group in sorted(grouped.items()):
        group.sort(key=lambda ln: abs(ln.lane_id))
        end = lane_point(carla_map, group[0], 0.0)
        heading = end.transform.rotation.yaw if end is not None else 0.0
        out[jid].append(Approach(jid, road_id, tuple(group), heading))
    return dict(out)


def roadside_location(stop_wp: carla.Waypoint, height_m: float) -> carla.Location:
    """A point just beyond the outer edge of the road (sidewalk lanes included) right of `stop_wp`."""
    offset = stop_wp.lane_width / 2.0
    nxt = stop_wp.get_right_lane()
    for _ in range(12):  # a road rarely has more than a few lanes outside the driving ones
        if nxt is None or nxt.lane_type == carla.LaneType.Driving and nxt.lane_id * stop_wp.lane_id < 0:
            break
        offset += nxt.lane_width
        nxt = nxt.get_right_lane()
    offset += ROADSIDE_MARGIN_M
    loc = stop_wp.transform.location
    yaw = math.radians(stop_wp.transform.rotation.yaw)
    return carla.Location(x=loc.x - math.sin(yaw) * offset, y=loc.y + math.cos(yaw) * offset,
                          z=loc.z + height_m)


# ---- governed lanes -> stop waypoints and trigger volumes --------------------------------------
def _stop_geometry(carla_map: carla.Map, lanes: list[LaneRef]
                   ) -> tuple[tuple[carla.Waypoint, ...], carla.Location, carla.Vector3D] | None:
    """Stop waypoints (one per lane) and the trigger box (centre, half extents in the light frame).

    None when carla places none of the lanes (a broken map): the signal is then skipped."""
    wps = [w for w in (lane_point(carla_map, ln, STOP_LINE_BACK_M) for ln in lanes) if w is not None and _placed(w)]
    if not wps:
        return None
    ref = wps[0].transform
    yaw = math.radians(ref.rotation.yaw)
    rx, ry = -math.sin(yaw), math.cos(yaw)
    lo, hi = math.inf, -math.inf
    for w in wps:
        d = (w.transform.location.x - ref.location.x) * rx + (w.transform.location.y - ref.location.y) * ry
        lo, hi = min(lo, d - w.lane_width / 2), max(hi, d + w.lane_width / 2)
    mid = (lo + hi) / 2
    centre = carla.Location(x=ref.location.x + rx * mid, y=ref.location.y + ry * mid,
                            z=ref.location.z + TRIGGER_HALF_HEIGHT_M)
    extent = carla.Vector3D(x=TRIGGER_HALF_LENGTH_M, y=(hi - lo) / 2, z=TRIGGER_HALF_HEIGHT_M)
    return tuple(wps), centre, extent


def _placed(wp: carla.Waypoint) -> bool:
    loc = wp.transform.location
    return math.isfinite(loc.x) and math.isfinite(loc.y) and math.isfinite(loc.z)


def _outermost(wps: tuple[carla.Waypoint, ...]) -> carla.Waypoint:
    return max(wps, key=lambda w: (abs(w.lane_id), w.lane_id))


def _facing(wp: carla.Waypoint) -> float:
    """Yaw (degrees) of a signal face that looks at the traffic of `wp`'s lane.

    Every signal's `transform.rotation.yaw` is this facing direction (the governed traffic's
    heading + 180 deg); its trigger extent is in that frame (x along the lane, y across)."""
    return (wp.transform.rotation.yaw + 180.0 + 180.0) % 360.0 - 180.0


# ---- signals the map carries --------------------------------------------------------------------
def _governed_lanes(carla_map: carla.Map, lm: carla.Landmark, by_key: dict[tuple[int, int, int], LaneRef]
                    ) -> list[LaneRef]:
    """Non-junction driving lanes a landmark governs (a lane inside a junction maps to its entry)."""
    ids: set[int] = set()
    for lo, hi in lm.get_lane_validities():
        ids.update(i for i in range(min(lo, hi), max(lo, hi) + 1) if i != 0)
    if not ids:
        ids = _lanes_without_validity(lm, by_key)
    out: dict[tuple[int, int, int], LaneRef] = {}
    for lane_id in sorted(ids):
        wp = _waypoint_at(carla_map, by_key, lm.road_id, lane_id, lm.s)
        if wp is None or wp.lane_type != carla.LaneType.Driving:
            continue
        if wp.is_junction:  # signal placed on a connecting road: govern the lane entering it
            ref = by_key.get((wp.road_id, wp.section_id, wp.lane_id))
            start = lane_start_point(carla_map, ref, 0.0) if ref else wp
            prev = [p for p in start.previous(1.0) if not p.is_junction]
            if not prev:
                continue
            wp = prev[0]
        lane = by_key.get((wp.road_id, wp.section_id, wp.lane_id))
        if lane is not None and lane.lane_type == "driving":
            out[(lane.road_id, lane.section_id, lane.lane_id)] = lane
    return [out[k] for k in sorted(out, key=lambda k: (k[0], k[1], abs(k[2]), k[2]))]


def _lanes_without_validity(lm: carla.Landmark, by_key: dict[tuple[int, int, int], LaneRef]) -> set[int]:
    """Lane ids a signal without a usable <validity> governs.

    Exporters disagree on what `orientation` means (RoadRunner's Town maps write the opposite of
    the standard), so a signal within `_NEAR_END_M` of a road end governs the lanes that drive
    towards that end; elsewhere the standard reading applies ('+' = traffic along +s).
    """
    road_lanes = [ln for ln in by_key.values() if ln.road_id == lm.road_id and ln.lane_type == "driving"]
    if not road_lanes:
        return set()
    length = max(ln.s1_m for ln in road_lanes)
    to_end, to_start = length - lm.s, lm.s
    if min(to_end, to_start) <= _NEAR_END_M:
        forward = to_end <= to_start
    else:
        orient = str(lm.orientation)
        if orient not in ("Positive", "Negative"):
            return {ln.lane_id for ln in road_lanes}
        forward = orient == "Positive"
    return {ln.lane_id for ln in road_lanes if (ln.lane_id < 0) == forward}


def _waypoint_at(carla_map: carla.Map, by_key: dict[tuple[int, int, int], LaneRef], road_id: int,
                 lane_id: int, s: float) -> carla.Waypoint | None:
    """Waypoint of (road, lane) at `s`, clamped into the nearest lane section holding that lane."""
    best: tuple[float, float] | None = None
    for (r, _sec, ln), ref in by_key.items():
        if r == road_id and ln == lane_id:
            clamped = min(max(s, ref.s0_m + 1e-3), ref.s1_m - 1e-3)
            if best is None or abs(clamped - s) < best[0]:
                best = (abs(clamped - s), clamped)
    return None if best is None else xodr_waypoint(carla_map, road_id, lane_id, best[1])


def _map_signals(carla_map: carla.Map, lanes: tuple[LaneRef, ...], lm_type: str
                 ) -> list[tuple[carla.Landmark, list[LaneRef], int]]:
    """(landmark, governed lanes, group id): one entry per OpenDRIVE signal id.

    CARLA reports a signal once per `<signalReference>` (Town maps reference each light from
    the connecting roads it controls), so the references of one id are merged: their governed
    lanes united, the first landmark (by road, s) kept for the position.
    """
    by_key = {(ln.road_id, ln.section_id, ln.lane_id): ln for ln in lanes}
    merged: dict[str, tuple[carla.Landmark, dict[tuple[int, int, int], LaneRef]]] = {}
    landmarks = sorted(carla_map.get_all_landmarks_of_type(lm_type), key=lambda lm: (lm.road_id, lm.s, str(lm.id)))
    for lm in landmarks:
        first, governed = merged.setdefault(str(lm.id), (lm, {}))
        for lane in _governed_lanes(carla_map, lm, by_key):
            governed[(lane.road_id, lane.section_id, lane.lane_id)] = lane
    out = []
    for first, governed in merged.values():
        if not governed:
            warnings.warn(f"map {carla_map.name!r}: signal {first.id} (type {lm_type}) on road {first.road_id} "
                          f"governs no driving lane that exists (validity {list(first.get_lane_validities())}); "
                          f"skipped", MapWarning, stacklevel=4)
            continue
        lanes_sorted = [governed[k] for k in sorted(governed, key=lambda k: (k[0], k[1], abs(k[2]), k[2]))]
        jid = entered_junction(carla_map, lanes_sorted[0])
        group = jid if jid is not None else NON_JUNCTION_GROUP_BASE + first.road_id
        out.append((first, lanes_sorted, group))
    out.sort(key=lambda item: (item[2], item[1][0].road_id, item[1][0].lane_id, str(item[0].id)))
    return out


def _landmark_location(lm: carla.Landmark, default_height_m: float) -> carla.Location:
    """Where the signal face is: the landmark's own point, raised to `default_height_m` when the
    map leaves the height (zOffset) near the ground."""
    loc = lm.transform.location
    z = loc.z if lm.z_offset >= 1.0 else loc.z - lm.z_offset + default_height_m
    return carla.Location(x=loc.x, y=loc.y, z=z)


def _map_traffic_lights(carla_map: carla.Map, lanes: tuple[LaneRef, ...]) -> tuple[TrafficLightInfo, ...]:
    lights: list[TrafficLightInfo] = []
    for lm, governed, group in _map_signals(carla_map, lanes, TRAFFIC_LIGHT_TYPE):
        if (geometry := _stop_geometry(carla_map, governed)) is None:
            continue
        stops, centre, extent = geometry
        tf = carla.Transform(_landmark_location(lm, LIGHT_HEAD_HEIGHT_M),
                             carla.Rotation(yaw=_facing(_outermost(stops))))
        lights.append(TrafficLightInfo(id=len(lights) + 1, transform=tf, group_id=group, stop_waypoints=stops,
                                       trigger_location=centre, trigger_extent=extent,
                                       opendrive_id=str(lm.id)))
    return tuple(lights)


def _map_stop_signs(carla_map: carla.Map, lanes: tuple[LaneRef, ...]) -> tuple[StopSignInfo, ...]:
    signs: list[StopSignInfo] = []
    for lm, governed, _group in _map_signals(carla_map, lanes, STOP_SIGN_TYPE):
        if (geometry := _stop_geometry(carla_map, governed)) is None:
            continue
        stops, centre, extent = geometry
        tf = carla.Transform(_landmark_location(lm, STOP_SIGN_HEIGHT_M),
                             carla.Rotation(yaw=_facing(_outermost(stops))))
        signs.append(StopSignInfo(id=STOP_SIGN_ID_BASE + len(signs) + 1, transform=tf, stop_waypoints=stops,
                                  trigger_location=centre, trigger_extent=extent))
    return tuple(signs)


# ---- procedural placement -----------------------------------------------------------------------
def _crossing_movements(carla_map: carla.Map, approaches: list[Approach]) -> bool:
    """True when a movement from one approach crosses one from another (different exits too).

    Merges (two movements into one exit road), diverges (one approach) and right-in/right-out
    ramps have no such crossing; paths more than `_OVERPASS_M` apart in height pass over each other.
    """
    moves = []
    for app in approaches:
        for lane in app.lanes:
            for exit_road, xyz in junction_paths(carla_map, lane):
                moves.append((app.road_id, exit_road, shapely.LineString(xyz[:, :2]), float(xyz[:, 2].mean())))
    for i, (road_a, exit_a, line_a, z_a) in enumerate(moves):
        for road_b, exit_b, line_b, z_b in moves[i + 1:]:
            if road_a == road_b or (exit_a is not None and exit_a == exit_b) or abs(z_a - z_b) > _OVERPASS_M:
                continue
            if line_a.intersects(line_b):
                return True
    return False


def _exit_lane_counts(carla_map: carla.Map, lanes: tuple[LaneRef, ...]) -> dict[tuple[int, int], int]:
    """(junction id, road id) -> driving lanes of that road leaving the junction."""
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for lane in lanes:
        if lane.lane_type == "driving" and not lane.in_junction:
            jid = left_junction(carla_map, lane)
            if jid is not None:
                counts[(jid, lane.road_id)] += 1
    return counts


def procedural_control(carla_map: carla.Map, lanes: tuple[LaneRef, ...] | None = None
                       ) -> dict[int, tuple[str, list[Approach]]]:
    """Junction id -> ("lights" | "stop", the approaches that get a signal); see the module rule."""
    lanes = map_lanes(carla_map) if lanes is None else lanes
    exits = _exit_lane_counts(carla_map, lanes)
    out: dict[int, tuple[str, list[Approach]]] = {}
    for jid, approaches in sorted(junction_approaches(carla_map, lanes).items()):
        if len(approaches) < 2 or not _crossing_movements(carla_map, approaches):
            continue
        minor = [a for a in approaches if len(a.lanes) + exits.get((jid, a.road_id), 0) <= 1]
        if minor:
            out[jid] = ("stop", minor)
        elif len(approaches) >= 3:
            out[jid] = ("lights", approaches)
    return out


def _procedural_signals(carla_map: carla.Map, lanes: tuple[LaneRef, ...]) -> SignalSet:
    lights: list[TrafficLightInfo] = []
    signs: list[StopSignInfo] = []
    for jid, (kind, approaches) in procedural_control(carla_map, lanes).items():
        for app in approaches:
            if (geometry := _stop_geometry(carla_map, list(app.lanes))) is None:
                continue
            stops, centre, extent = geometry
            outer = _outermost(stops)
            height = LIGHT_HEAD_HEIGHT_M if kind == "lights" else STOP_SIGN_HEIGHT_M
            tf = carla.Transform(roadside_location(outer, height), carla.Rotation(yaw=_facing(outer)))
            if kind == "lights":
                lights.append(TrafficLightInfo(id=len(lights) + 1, transform=tf, group_id=jid,
                                               stop_waypoints=stops, trigger_location=centre,
                                               trigger_extent=extent))
            else:
                signs.append(StopSignInfo(id=STOP_SIGN_ID_BASE + len(signs) + 1, transform=tf,
                                          stop_waypoints=stops, trigger_location=centre, trigger_extent=extent))
    return SignalSet(tuple(lights), tuple(signs), procedural=True)
