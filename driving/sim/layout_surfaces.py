"""Ground surfaces of a map derived from its lanes: roads, lane markings, sidewalks, crosswalks.

Every polygon comes from waypoints sampled every `STEP_M` along each lane (centre +- half the lane
width along the waypoint's right vector), so any OpenDRIVE map works, curves and lane-width
changes included. Maps without sidewalk lanes get a `SIDEWALK_BAND_M` band around the whole
driving area, so pedestrians always have somewhere to walk.

Elevation: a lane whose waypoints leave z = 0 (ramps, bridges, hills) gives its surfaces a
`profile` (its sampled centre line with z), so the renderer draws them at their real height;
flat maps produce exactly the flat surfaces they always did. Where lanes overlap in plan view
at different heights (a bridge over a road), a sidewalk is trimmed only by the carriageways
at its own level (`LEVEL_GAP_M`), so neither the deck's sidewalk nor the one below loses the
piece under or over the other road.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import carla
import numpy as np
import shapely
from shapely import ops

from driving.sim.layout_lanes import (
    PAVED_TYPES,
    LaneRef,
    entered_junction,
    lane_point,
    lane_start_point,
    left_junction,
    sample_lane,
    waypoint_arrays,
)
from driving.sim.scene import Surface, surface_heights
from driving.sim.signals import CROSSWALK_FAR_M, CROSSWALK_NEAR_M, SignalSet
from driving.tags import Tag

STEP_M = 1.5
MARKING_WIDTH_M = 0.15
DOUBLE_MARKING_GAP_M = 0.15  # centre-to-centre half distance of double lines
DASH_ON_M = 3.0
DASH_OFF_M = 6.0
STOP_LINE_DEPTH_M = 0.4
SIDEWALK_HEIGHT_M = 0.15
MARKING_HEIGHT_M = 0.01
SIDEWALK_BAND_M = 2.0
ZEBRA_STRIPE_M = 0.5
ZEBRA_GAP_M = 0.5
CROSSWALK_OVERLAP_M = 0.5  # crosswalk areas reach this far past the carriageway onto the kerb
MIN_CROSSWALK_ROAD_M = 12.0  # no crosswalk on a road shorter than this (metres)
ELEVATED_M = 0.01  # a lane whose centre leaves z = 0 by more than this carries a height profile
LEVEL_GAP_M = 2.0  # surfaces further apart than this vertically are on different levels

ROAD_RGB = (62, 62, 66)
JUNCTION_RGB = (66, 66, 70)
SHOULDER_RGB = (84, 82, 80)
SIDEWALK_RGB = (172, 166, 158)
WHITE_RGB = (235, 235, 230)
YELLOW_RGB = (235, 190, 40)

_BROKEN = {carla.LaneMarkingType.Broken, carla.LaneMarkingType.BottsDots}
_PATTERNS: dict[carla.LaneMarkingType, tuple[str, ...]] = {
    carla.LaneMarkingType.Solid: ("solid",),
    carla.LaneMarkingType.Broken: ("broken",),
    carla.LaneMarkingType.BottsDots: ("broken",),
    carla.LaneMarkingType.SolidSolid: ("solid", "solid"),
    carla.LaneMarkingType.SolidBroken: ("solid", "broken"),
    carla.LaneMarkingType.BrokenSolid: ("broken", "solid"),
    carla.LaneMarkingType.BrokenBroken: ("broken", "broken"),
}


@dataclass
class GroundSurfaces:
    """What `build_surfaces` derives; `paved` = drivable + sidewalks + shoulders (kept free of props)."""

    surfaces: list[Surface] = field(default_factory=list)
    drivable: shapely.Geometry = field(default_factory=shapely.Polygon)
    sidewalk: shapely.Geometry = field(default_factory=shapely.Polygon)
    paved: shapely.Geometry = field(default_factory=shapely.Polygon)
    sidewalk_paths: list[np.ndarray] = field(default_factory=list)
    sidewalk_path_z: list[np.ndarray] = field(default_factory=list)
    crosswalks: list[shapely.Polygon] = field(default_factory=list)


def _strip(centres: np.ndarray, rights: np.ndarray, half_widths: np.ndarray) -> shapely.Geometry:
    """Polygon between the left and right offsets of a sampled centre line (valid, maybe multi)."""
    left = centres - rights * half_widths[:, None]
    right = centres + rights * half_widths[:, None]
    poly = shapely.Polygon(np.vstack([left, right[::-1]]))
    return poly if poly.is_valid else shapely.make_valid(poly).buffer(0)


def _polygons(geom: shapely.Geometry, min_area_m2: float = 0.05) -> list[shapely.Polygon]:
    """The polygon parts of any geometry, dropping slivers."""
    parts = shapely.get_parts(geom)
    return [p for p in parts if isinstance(p, shapely.Polygon) and p.area >= min_area_m2]


def _dashes(line: shapely.LineString) -> list[shapely.LineString]:
    period = DASH_ON_M + DASH_OFF_M
    starts = np.arange(0.0, line.length, period)
    return [ops.substring(line, s, min(s + DASH_ON_M, line.length)) for s in starts
            if min(s + DASH_ON_M, line.length) - s > 0.3]


def _marking_runs(wps: list[carla.Waypoint], side: str) -> list[tuple[int, int, carla.LaneMarking]]:
    """Runs [i0, i1] of consecutive samples with the same marking type and colour on one side."""
    runs: list[tuple[int, int, carla.LaneMarking]] = []
    for i, w in enumerate(wps):
        mk = w.left_lane_marking if side == "left" else w.right_lane_marking
        if mk is None:  # a lane without <roadMark> records (legal OpenDRIVE): nothing painted here
            continue
        if runs and runs[-1][1] == i - 1 and (runs[-1][2].type, runs[-1][2].color) == (mk.type, mk.color):
            runs[-1] = (runs[-1][0], i, runs[-1][2])
        else:
            runs.append((i, i, mk))
    return runs


def _draws_left(wp: carla.Waypoint) -> bool:
    """Each boundary is painted once: right boundaries always, a left one only when no lane of
    the same direction shares it (the centre line is painted by the negative-id lane)."""
    left = wp.get_left_lane()
    if left is None or left.lane_type != carla.LaneType.Driving:
        return True
    return left.lane_id * wp.lane_id < 0 and wp.lane_id < 0


def _lane_markings(wps: list[carla.Waypoint], centres: np.ndarray, rights: np.ndarray,
                   widths: np.ndarray, profile: np.ndarray | None = None) -> list[Surface]:
    out: list[Surface] = []
    sides = ["right"] + (["left"] if _draws_left(wps[len(wps) // 2]) else [])
    for side in sides:
        sign = 1.0 if side == "right" else -1.0
        edge = centres + rights * (sign * widths / 2)[:, None]
        for i0, i1, mk in _marking_runs(wps, side):
            pattern = _PATTERNS.get(mk.type)
            if pattern is None or i1 - i0 < 1:
                continue
            rgb = YELLOW_RGB if mk.color == carla.LaneMarkingColor.Yellow else WHITE_RGB
            offsets = [0.0] if len(pattern) == 1 else [-DOUBLE_MARKING_GAP_M, DOUBLE_MARKING_GAP_M]
            for kind, off in zip(pattern, offsets):
                line = shapely.LineString(edge[i0:i1 + 1] + rights[i0:i1 + 1] * off)
                pieces = _dashes(line) if kind == "broken" else [line]
                for poly in shapely.buffer(pieces, MARKING_WIDTH_M / 2, cap_style="flat"):
                    out.extend(Surface("lane_marking", Tag.ROAD_LINE, p, MARKING_HEIGHT_M, rgb, profile)
                               for p in _polygons(poly, 0.01))
    return out


def _rect(origin: np.ndarray, along: np.ndarray, across: np.ndarray, a0: float, a1: float,
          c0: float, c1: float) -> shapely.Polygon:
    """Rectangle spanning [a0, a1] along `along` and [c0, c1] along `across` from `origin`."""
    pts = [origin + along * a + across * c for a, c in ((a0, c0), (a1, c0), (a1, c1), (a0, c1))]
    return shapely.Polygon(pts)


def _crosswalks(carla_map: carla.Map, lanes: tuple[LaneRef, ...]) -> tuple[list[shapely.Polygon], list[Surface]]:
    """A zebra crosswalk across every road end that meets a junction of >= 3 roads.

    Where the map has sidewalk lanes, only roads with a sidewalk get crosswalks (no zebra across
    a motorway); a map without any gets them everywhere, like its sidewalk band.
    """
    walkable = {ln.road_id for ln in lanes if ln.lane_type == "sidewalk"}
    ends: dict[tuple[int, int, bool], list[carla.Waypoint]] = defaultdict(list)
    for lane in lanes:
        if lane.lane_type != "driving" or lane.in_junction:
            continue
        jin, jout = entered_junction(carla_map, lane), left_junction(carla_map, lane)
        if jin is not None:
            wp = lane_point(carla_map, lane, 0.0)
            if wp is not None:
                ends[(jin, lane.road_id, wp.s > (lane.s0_m + lane.s1_m) / 2)].append(wp)
        if jout is not None:
            wp = lane_start_point(carla_map, lane, 0.0)
            if wp is not None:
                ends[(jout, lane.road_id, wp.s > (lane.s0_m + lane.s1_m) / 2)].append(wp)
    roads_per_junction: dict[int, set[int]] = defaultdict(set)
    road_length = defaultdict(float)
    for lane in lanes:
        road_length[lane.road_id] = max(road_length[lane.road_id], lane.s1_m)
    for jid, road_id, _ in ends:
        roads_per_junction[jid].add(road_id)
    areas, stripes = [], []
    for (jid, road_id, at_end), wps in sorted(ends.items()):
        if len(roads_per_junction[jid]) < 3 or road_length[road_id] < MIN_CROSSWALK_ROAD_M:
            continue
        if walkable and road_id not in walkable:
            continue
        ref = wps[0]
        yaw = math.radians(ref.transform.rotation.yaw)
        forward = np.array([math.cos(yaw), math.sin(yaw)])
        # towards the junction: along +s at the road end, against +s at its start
        toward = forward if (ref.lane_id < 0) == at_end else -forward
        across = np.array([-toward[1], toward[0]])
        origin = np.array([ref.transform.location.x, ref.transform.location.y])
        spans = []
        for w in wps:
            d = float((np.array([w.transform.location.x, w.transform.location.y]) - origin) @ across)
            spans += [d - w.lane_width / 2, d + w.lane_width / 2]
        lo, hi = min(spans), max(spans)
        areas.append(_rect(origin, toward, across, -CROSSWALK_FAR_M, -CROSSWALK_NEAR_M,
                           lo - CROSSWALK_OVERLAP_M, hi + CROSSWALK_OVERLAP_M))
        level = _point_profile(ref)
        c = lo + ZEBRA_GAP_M / 2
        while c + ZEBRA_STRIPE_M <= hi:
            stripes.append(Surface("crosswalk", Tag.ROAD_LINE,
                                   _rect(origin, toward, across, -CROSSWALK_FAR_M, -CROSSWALK_NEAR_M,
                                         c, c + ZEBRA_STRIPE_M), MARKING_HEIGHT_M, WHITE_RGB, level))
            c += ZEBRA_STRIPE_M + ZEBRA_GAP_M
    return areas, stripes


def _stop_lines(signals: SignalSet) -> list[Surface]:
    """A white bar across each governed lane at its stop waypoint."""
    out = []
    wps = [w for s in (*signals.traffic_lights, *signals.stop_signs) for w in s.stop_waypoints]
    for w in wps:
        yaw = math.radians(w.transform.rotation.yaw)
        fwd = np.array([math.cos(yaw), math.sin(yaw)])
        origin = np.array([w.transform.location.x, w.transform.location.y])
        poly = _rect(origin, fwd, np.array([-fwd[1], fwd[0]]), 0.0, STOP_LINE_DEPTH_M,
                     -w.lane_width / 2 + 0.1, w.lane_width / 2 - 0.1)
        out.append(Surface("lane_marking", Tag.ROAD_LINE, poly, MARKING_HEIGHT_M, WHITE_RGB, _point_profile(w)))
    return out


def _point_profile(wp: carla.Waypoint) -> np.ndarray | None:
    """A one-point profile at the waypoint's height (None at ground level: a flat surface)."""
    loc = wp.transform.location
    return None if abs(loc.z) <= ELEVATED_M else np.array([[loc.x, loc.y, loc.z]])


def _lane_profile(centres: np.ndarray, wps: list[carla.Waypoint]) -> np.ndarray | None:
    """The lane's centre line with heights (N x 3), or None when it lies at z = 0."""
    z = np.array([w.transform.location.z for w in wps])
    return None if float(np.abs(z).max()) <= ELEVATED_M else np.c_[centres, z]


def _joined_profile(points: list[np.ndarray]) -> np.ndarray | None:
    """The centre lines of a junction's lanes as one profile, or None when all lie at z = 0."""
    joined = np.concatenate(points)
    return joined if float(np.abs(joined[:, 2]).max()) > ELEVATED_M else None


def _height_at(profile: np.ndarray | None, point: shapely.Point) -> float:
    return 0.0 if profile is None else float(surface_heights(np.array([[point.x, point.y]]), profile)[0])


def _same_level_difference(poly: shapely.Geometry, profile: np.ndarray | None,
                           drivable: list[tuple[shapely.Geometry, np.ndarray | None]],
                           tree: shapely.STRtree) -> shapely.Geometry:
    """`poly` minus the carriageways that overlap it at its own level (not a deck above or below)."""
    cut = []
    for k in tree.query(poly, predicate="intersects"):
        other, other_profile = drivable[int(k)]
        overlap = shapely.intersection(poly, other)
        if overlap.is_empty or overlap.area < 1e-6:
            continue
        probe = overlap.representative_point()
        if abs(_height_at(profile, probe) - _height_at(other_profile, probe)) < LEVEL_GAP_M:
            cut.append(other)
    return shapely.difference(poly, shapely.union_all(cut)) if cut else poly


def _elevated_surfaces(out: GroundSurfaces, sidewalk_lanes: list, shoulder_lanes: list,
                       drivable: list[tuple[shapely.Geometry, np.ndarray | None]]) -> None:
    """Sidewalk and shoulder surfaces, one per lane with its profile, trimmed level by level."""
    tree = shapely.STRtree([g for g, _ in drivable])
    for polys, kind, tag, z_m, rgb in ((sidewalk_lanes, "sidewalk", Tag.SIDEWALK, SIDEWALK_HEIGHT_M, SIDEWALK_RGB),
                                       (shoulder_lanes, "shoulder", Tag.ROAD, 0.0, SHOULDER_RGB)):
        for poly, profile in polys:
            trimmed = _same_level_difference(poly, profile, drivable, tree)
            out.surfaces += [Surface(kind, tag, p, z_m, rgb, profile) for p in _polygons(trimmed)]


def _paths_of(geom: shapely.Geometry, min_length_m: float) -> list[np.ndarray]:
    lines = [ln for ln in shapely.get_parts(shapely.line_merge(shapely.boundary(geom)))
             if ln.length >= min_length_m]
    return [np.asarray(shapely.get_coordinates(ln.simplify(0.2))) for ln in lines]


def build_surfaces(carla_map: carla.Map, lanes: tuple[LaneRef, ...], signals: SignalSet) -> GroundSurfaces:
    """Road, junction, shoulder, sidewalk, marking and crosswalk surfaces plus their unions.

    The unions (`drivable`, `sidewalk`, `paved`) are plan-view areas; the render surfaces keep
    each lane's height profile on maps with elevation (module docstring).
    """
    out = GroundSurfaces()
    road_polys: list[tuple[shapely.Geometry, np.ndarray | None]] = []
    junction_polys: dict[int, list[shapely.Geometry]] = defaultdict(list)
    junction_points: dict[int, list[np.ndarray]] = defaultdict(list)
    other_paved: list[tuple[shapely.Geometry, np.ndarray | None]] = []
    sidewalk_polys: list[tuple[shapely.Geometry, np.ndarray | None]] = []
    markings: list[Surface] = []
    for lane in lanes:
        if lane.lane_type not in PAVED_TYPES and lane.lane_type not in ("driving", "sidewalk"):
            continue
        wps = sample_lane(carla_map, lane, STEP_M)
        if len(wps) < 2:
            continue
        centres, rights, widths = waypoint_arrays(wps)
        if float(widths.max()) < 0.05:
            continue
        poly = _strip(centres, rights, widths / 2)
        profile = _lane_profile(centres, wps)
        if lane.lane_type == "driving":
            if lane.in_junction:
                junction_polys[lane.junction_id].append(poly)
                junction_points[lane.junction_id].append(
                    np.c_[centres, np.zeros(len(centres))] if profile is None else profile)
            else:
                road_polys.append((poly, profile))
                markings += _lane_markings(wps, centres, rights, widths, profile)
        elif lane.lane_type == "sidewalk":
            sidewalk_polys.append((poly, profile))
            if lane.length_m >= 2.0:
                out.sidewalk_paths.append(centres.copy())
                base = np.zeros(len(centres)) if profile is None else profile[:, 2]
                out.sidewalk_path_z.append(base + SIDEWALK_HEIGHT_M)
        else:
            other_paved.append((poly, profile))
    elevated = any(p is not None for _, p in road_polys + sidewalk_polys + other_paved) or any(
        float(np.abs(pts[:, 2]).max()) > ELEVATED_M for pts_list in junction_points.values() for pts in pts_list)
    junctions = {jid: shapely.union_all(polys) for jid, polys in junction_polys.items()}
    junction_profiles = {jid: _joined_profile(junction_points[jid]) for jid in junctions}
    drivable = shapely.union_all([g for g, _ in road_polys] + list(junctions.values()))
    if sidewalk_polys:
        sidewalk = shapely.difference(shapely.union_all([g for g, _ in sidewalk_polys]), drivable)
    else:  # no sidewalk lanes anywhere: a band around the carriageways, paths along its middle
        grown = drivable.buffer(SIDEWALK_BAND_M, quad_segs=4)
        sidewalk = shapely.difference(grown, shapely.union_all([drivable, *(g for g, _ in other_paved)]))
        out.sidewalk_paths = _paths_of(drivable.buffer(SIDEWALK_BAND_M / 2, quad_segs=4), 10.0)
        out.sidewalk_path_z = [np.full(len(p), SIDEWALK_HEIGHT_M) for p in out.sidewalk_paths]
    shoulders = (shapely.difference(shapely.union_all([g for g, _ in other_paved]), drivable)
                 if other_paved else shapely.Polygon())
    out.drivable, out.sidewalk = drivable, sidewalk
    out.paved = shapely.union_all([drivable, sidewalk, shoulders])
    out.crosswalks, stripes = _crosswalks(carla_map, lanes)
    for poly, profile in road_polys:
        out.surfaces += [Surface("road", Tag.ROAD, p, 0.0, ROAD_RGB, profile) for p in _polygons(poly)]
    for jid, geom in sorted(junctions.items()):
        out.surfaces += [Surface("junction", Tag.ROAD, p, 0.0, JUNCTION_RGB, junction_profiles[jid])
                         for p in _polygons(geom)]
    if elevated and (sidewalk_polys or other_paved):
        level_drivable = road_polys + [(g, junction_profiles[jid]) for jid, g in sorted(junctions.items())]
        _elevated_surfaces(out, sidewalk_polys, other_paved, level_drivable)
        if not sidewalk_polys:
            out.surfaces += [Surface("sidewalk", Tag.SIDEWALK, p, SIDEWALK_HEIGHT_M, SIDEWALK_RGB)
                             for p in _polygons(sidewalk)]
    else:
        out.surfaces += [Surface("shoulder", Tag.ROAD, p, 0.0, SHOULDER_RGB) for p in _polygons(shoulders)]
        out.surfaces += [Surface("sidewalk", Tag.SIDEWALK, p, SIDEWALK_HEIGHT_M, SIDEWALK_RGB)
                         for p in _polygons(sidewalk)]
    out.surfaces += markings + stripes + _stop_lines(signals)
    return out
