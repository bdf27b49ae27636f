"""Road-network builder on top of scenariogeneration: roads between fixed poses, junctions per node.

Why a builder: scenariogeneration's automatic junction mode links every lane to every lane and
turns sidewalks into driving lanes, and its free-floating road placement drifts. This module
applies the recipe that gives CARLA-loadable maps (see DESIGN.md "Building the bundled towns"):
every road gets a fixed start point, one `CommonJunctionCreator` per node with cartesian legs,
explicit per-lane connections (straight k->k or nearest lane, left innermost->innermost, right
outermost->outermost), sidewalk corner pieces between neighbouring legs, and signals with a
validity range. Ids: roads 1..499, junctions 500..999 chosen by the caller, connecting roads
1000 + 100 * junction index, so the three id spaces never overlap (CARLA treats them as one).

Units: metres and radians (OpenDRIVE frame, y to the left; CARLA negates y when loading).
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import pyclothoids as pcloth
from scenariogeneration import xodr

Pose = typing.Tuple[float, float, float]
"""x (m), y (m), heading (rad) in the OpenDRIVE frame."""

Contact = Literal["start", "end"]
SignalKind = Literal["light", "stop"]

LANE_WIDTH_M = 3.5
SIDEWALK_WIDTH_M = 2.0
STRAIGHT_LIMIT_RAD = math.radians(35.0)
"""A movement turning less than this is 'straight' (lanes keep their index)."""
UTURN_LIMIT_RAD = math.radians(150.0)
"""Movements turning more than this (U-turns, crossings onto the opposite carriageway) are omitted."""
SIDEWALK_CORNER_MAX_RAD = math.radians(200.0)
"""Sidewalk pieces join neighbouring legs only across a gap smaller than this (not round the back)."""
CONNECTING_ID_BASE = 1000
CONNECTING_IDS_PER_JUNCTION = 100


Node = typing.Tuple[int, int]


def grid_edges(nodes_per_side: int, spacing_m: float, mouth_m: Callable[[Node], float]
               ) -> Iterator[tuple[bool, Node, Node, Pose, Pose]]:
    """Every street of a square grid of junction nodes: (horizontal, start node, end node, start
    pose, end pose). Node (i, j) sits at (i, j) x `spacing_m`; a street runs east (horizontal)
    or north between neighbouring nodes and starts/ends `mouth_m(node)` metres from each node
    centre (the junction's half size). Horizontal streets first, row by row, so road ids given
    in this order are stable."""
    n = nodes_per_side
    for horizontal in (True, False):
        heading = 0.0 if horizontal else math.pi / 2
        ux, uy = math.cos(heading), math.sin(heading)
        for a in range(n):
            for b in range(n - 1):
                (i0, j0), (i1, j1) = ((b, a), (b + 1, a)) if horizontal else ((a, b), (a, b + 1))
                m0, m1 = mouth_m((i0, j0)), mouth_m((i1, j1))
                start: Pose = (i0 * spacing_m + m0 * ux, j0 * spacing_m + m0 * uy, heading)
                end: Pose = (i1 * spacing_m - m1 * ux, j1 * spacing_m - m1 * uy, heading)
                yield horizontal, (i0, j0), (i1, j1), start, end


def wrap_angle(angle_rad: float) -> float:
    """Wrap an angle to (-pi, pi]."""
    wrapped = math.fmod(angle_rad + math.pi, 2.0 * math.pi)
    if wrapped <= 0.0:
        wrapped += 2.0 * math.pi
    return wrapped - math.pi


def _right_unit(heading_rad: float) -> tuple[float, float]:
    """Unit vector pointing to the right of travel direction `heading_rad`."""
    return math.sin(heading_rad), -math.cos(heading_rad)


@dataclass
class RoadPlan:
    """One road: geometry from `start` to `end` plus its lane layout (right lanes follow s)."""

    road_id: int
    start: Pose
    end: Pose
    right_lanes: int
    left_lanes: int
    sidewalk: bool
    road: xodr.Road
    length_m: float


@dataclass(frozen=True)
class Leg:
    """A road end touching a junction, and the signal that governs traffic entering there."""

    road_id: int
    contact: Contact
    signal: SignalKind | None = None


@dataclass
class _LegInfo:
    plan: RoadPlan
    contact: Contact
    mouth: tuple[float, float]
    heading_in: float
    n_in: int
    n_out: int
    in_sign: int
    signal: SignalKind | None

    @property
    def heading_out(self) -> float:
        return wrap_angle(self.heading_in + math.pi)


def road_geometries(start: Pose, end: Pose) -> list:
    """Line when `end` lies straight ahead of `start`, else a G2 clothoid fit (spirals)."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    dist = math.hypot(dx, dy)
    same_heading = abs(wrap_angle(end[2] - start[2])) < 1e-9
    along = abs(wrap_angle(math.atan2(dy, dx) - start[2])) < 1e-9
    if same_heading and along:
        return [xodr.Line(dist)]
    eps = 1e-9
    clothoids = pcloth.SolveG2(start[0], start[1], start[2], eps, end[0], end[1], end[2], eps)
    return [xodr.Spiral(c.KappaStart, c.KappaEnd, length=c.length) for c in clothoids]


@dataclass
class NetworkBuilder:
    """Collects roads and junctions and writes them into one `xodr.OpenDrive`."""

    name: str
    geo_reference: str
    roads: dict[int, RoadPlan] = field(default_factory=dict)
    junctions: list[tuple[int, list[Leg]]] = field(default_factory=list)

    def add_road(
        self,
        road_id: int,
        start: Pose,
        end: Pose,
        right_lanes: int,
        left_lanes: int,
        sidewalk: bool = True,
        speed_kmh: float | None = None,
        road_type: xodr.RoadType = xodr.RoadType.town,
    ) -> RoadPlan:
        """Add a road from `start` to `end`; lanes 3.5 m wide, optional 2 m sidewalks each side."""
        if road_id in self.roads or not 0 < road_id < 500:
            raise ValueError(f"road id {road_id} reused or outside 1..499")
        geoms = road_geometries(start, end)
        road = xodr.create_road(
            geoms, road_id, left_lanes=left_lanes, right_lanes=right_lanes, lane_width=LANE_WIDTH_M
        )
        road.planview.set_start_point(*start)
        if sidewalk:
            section = road.lanes.lanesections[0]
            if right_lanes:
                section.add_right_lane(xodr.Lane(xodr.LaneType.sidewalk, a=SIDEWALK_WIDTH_M))
            if left_lanes:
                section.add_left_lane(xodr.Lane(xodr.LaneType.sidewalk, a=SIDEWALK_WIDTH_M))
        if speed_kmh is not None:
            road.add_type(road_type, 0, speed=speed_kmh, speed_unit="km/h")
        plan = RoadPlan(
            road_id, start, end, right_lanes, left_lanes, sidewalk, road, sum(g.length for g in geoms)
        )
        self.roads[road_id] = plan
        return plan

    def link(self, first_id: int, second_id: int) -> None:
        """Join the end of road `first_id` directly to the start of `second_id` (same lane layout)."""
        first, second = self.roads[first_id], self.roads[second_id]
        if (first.right_lanes, first.left_lanes, first.sidewalk) != (
            second.right_lanes,
            second.left_lanes,
            second.sidewalk,
        ):
            raise ValueError(f"roads {first_id} and {second_id} have different lane layouts")
        first.road.add_successor(xodr.ElementType.road, second_id, xodr.ContactPoint.start)
        second.road.add_predecessor(xodr.ElementType.road, first_id, xodr.ContactPoint.end)

    def add_junction(self, junction_id: int, legs: list[Leg]) -> None:
        """Register a junction joining `legs`; connections are made in `build`."""
        if not 500 <= junction_id < 1000:
            raise ValueError(f"junction id {junction_id} outside 500..999")
        self.junctions.append((junction_id, legs))

    # ----------------------------------------------------------------------------------- build

    def build(self) -> xodr.OpenDrive:
        """Create the OpenDrive with all connecting roads, lane links and signals."""
        odr = xodr.OpenDrive(self.name, geo_reference=self.geo_reference)
        for plan in self.roads.values():
            odr.add_road(plan.road)
        for index, (junction_id, legs) in enumerate(self.junctions):
            startnum = CONNECTING_ID_BASE + CONNECTING_IDS_PER_JUNCTION * index
            creator = xodr.CommonJunctionCreator(junction_id, f"junction_{junction_id}", startnum=startnum)
            infos = [self._leg_info(leg) for leg in legs]
            cx = sum(i.mouth[0] for i in infos) / len(infos)
            cy = sum(i.mouth[1] for i in infos) / len(infos)
            for info in infos:
                creator.add_incoming_road_cartesian_geometry(
                    info.plan.road,
                    info.mouth[0] - cx,
                    info.mouth[1] - cy,
                    info.heading_in,
                    "successor" if info.contact == "end" else "predecessor",
                )
            for a, b, lane_a, lane_b in _driving_connections(infos):
                creator.add_connection(
                    a.plan.road_id, b.plan.road_id, a.in_sign * lane_a, -b.in_sign * lane_b
                )
            for a, b in _sidewalk_corners(infos, (cx, cy)):
                side_a = a.in_sign * (a.n_in + 1)
                side_b = -b.in_sign * (b.n_out + 1)
                creator.add_connection(a.plan.road_id, b.plan.road_id, side_a, side_b)
                section = creator.junction_roads[-1].lanes.lanesections[0]
                for lane in section.leftlanes + section.rightlanes:
                    lane.lane_type = xodr.LaneType.sidewalk
            if len(creator.junction_roads) > CONNECTING_IDS_PER_JUNCTION:
                raise ValueError(
                    f"junction {junction_id} needs more than {CONNECTING_IDS_PER_JUNCTION} roads"
                )
            odr.add_junction_creator(creator)
            for info in infos:
                _add_leg_signal(info)
        odr.adjust_roads_and_lanes()
        return odr

    def _leg_info(self, leg: Leg) -> _LegInfo:
        plan = self.roads[leg.road_id]
        if leg.contact == "end":
            x, y, h = plan.end
            return _LegInfo(plan, "end", (x, y), h, plan.right_lanes, plan.left_lanes, -1, leg.signal)
        x, y, h = plan.start
        return _LegInfo(
            plan, "start", (x, y), wrap_angle(h + math.pi), plan.left_lanes, plan.right_lanes, 1, leg.signal
        )


def _lane_lateral(leg: _LegInfo, lane: int, incoming: bool, frame: _LegInfo) -> float:
    """Lateral offset (m, right positive) of a lane's centre at the mouth, in `frame`'s exit frame."""
    heading = leg.heading_in if incoming else leg.heading_out
    rx, ry = _right_unit(heading)
    px = leg.mouth[0] + (lane - 0.5) * LANE_WIDTH_M * rx
    py = leg.mouth[1] + (lane - 0.5) * LANE_WIDTH_M * ry
    fx, fy = _right_unit(frame.heading_out)
    return (px - frame.mouth[0]) * fx + (py - frame.mouth[1]) * fy


def _straight_pairs(a: _LegInfo, b: _LegInfo) -> list[tuple[int, int]]:
    """Lane pairs for a straight movement: k->k, or each lane of the narrower side to its nearest."""
    if a.n_in == b.n_out:
        return [(k, k) for k in range(1, a.n_in + 1)]
    out_pos = {k: _lane_lateral(b, k, False, b) for k in range(1, b.n_out + 1)}
    in_pos = {k: _lane_lateral(a, k, True, b) for k in range(1, a.n_in + 1)}
    if a.n_in < b.n_out:
        return [(k, min(out_pos, key=lambda m: abs(out_pos[m] - p))) for k, p in in_pos.items()]
    return [(min(in_pos, key=lambda m: abs(in_pos[m] - p)), k) for k, p in out_pos.items()]


def _driving_connections(infos: list[_LegInfo]) -> list[tuple[_LegInfo, _LegInfo, int, int]]:
    """Per-lane movements (incoming leg, outgoing leg, lane index in, lane index out; 1 = innermost).

    Every incoming lane gets at least one exit and every outgoing lane at least one entry, so no
    lane of the network is a dead end even where lane counts change at the junction.
    """
    pairs: dict[tuple[int, int, int, int], None] = {}
    turns: dict[tuple[int, int], float] = {}
    for ia, a in enumerate(infos):
        if not a.n_in:
            continue
        options = []
        for ib, b in enumerate(infos):
            if ib == ia or not b.n_out:
                continue
            turn = wrap_angle(b.heading_out - a.heading_in)
            if abs(turn) <= UTURN_LIMIT_RAD:
                options.append((abs(turn), ib, turn))
                turns[(ia, ib)] = turn
        options.sort()
        for rank, (abs_turn, ib, turn) in enumerate(options):
            b = infos[ib]
            if rank == 0 and abs_turn < STRAIGHT_LIMIT_RAD:
                lane_pairs = _straight_pairs(a, b)
            elif turn > 0:
                lane_pairs = [(1, 1)]
            else:
                lane_pairs = [(a.n_in, b.n_out)]
            for la, lb in lane_pairs:
                pairs[(ia, ib, la, lb)] = None
    # fix-ups: lanes left without an exit or an entry go to / come from the most straight option
    for ia, a in enumerate(infos):
        for la in range(1, a.n_in + 1):
            if any(k[0] == ia and k[2] == la for k in pairs):
                continue
            cands = [(abs(t), ib) for (i, ib), t in turns.items() if i == ia]
            if cands:
                ib = min(cands)[1]
                pairs[(ia, ib, la, min(la, infos[ib].n_out))] = None
    for ib, b in enumerate(infos):
        for lb in range(1, b.n_out + 1):
            if any(k[1] == ib and k[3] == lb for k in pairs):
                continue
            cands = [(abs(t), ia) for (ia, j), t in turns.items() if j == ib]
            if cands:
                ia = min(cands)[1]
                pairs[(ia, ib, min(lb, infos[ia].n_in), lb)] = None
    return [(infos[ia], infos[ib], la, lb) for ia, ib, la, lb in pairs]


def _sidewalk_corners(infos: list[_LegInfo], centre: tuple[float, float]) -> list[tuple[_LegInfo, _LegInfo]]:
    """Neighbouring legs (counter-clockwise, no leg between them) whose corner gets a sidewalk piece.

    The incoming-side sidewalk of a leg lies on its counter-clockwise side, so it joins the
    outgoing-side sidewalk of the next leg counter-clockwise. Corners next to a leg without
    sidewalks (highway, ramp) get none, so no sidewalk crosses a carriageway.
    """
    if len(infos) < 2:
        return []

    def angle(info: _LegInfo) -> float:
        return math.atan2(info.mouth[1] - centre[1], info.mouth[0] - centre[0])

    ordered = sorted(infos, key=angle)
    corners = []
    for k, a in enumerate(ordered):
        b = ordered[(k + 1) % len(ordered)]
        if not all(i.plan.sidewalk and i.n_in and i.n_out for i in (a, b)):
            continue
        gap = (angle(b) - angle(a)) % (2.0 * math.pi)
        if 0.0 < gap < SIDEWALK_CORNER_MAX_RAD:
            corners.append((a, b))
    return corners


def _add_leg_signal(info: _LegInfo) -> None:
    """Traffic light or stop sign at the mouth, on the right of the approach, valid for its lanes."""
    if info.signal is None or not info.n_in:
        return
    plan = info.plan
    offset = info.n_in * LANE_WIDTH_M + (SIDEWALK_WIDTH_M / 2 if plan.sidewalk else 0.5)
    if info.contact == "end":
        s, t, orientation = max(plan.length_m - 1.0, 0.0), -offset, xodr.Orientation.positive
    else:
        s, t, orientation = min(1.0, plan.length_m), offset, xodr.Orientation.negative
    if info.signal == "light":
        signal = xodr.Signal(
            s,
            t,
            "OpenDRIVE",
            "1000001",
            subtype="-1",
            name="TrafficLight",
            dynamic=xodr.Dynamic.yes,
            orientation=orientation,
            zOffset=0.0,
            height=3.0,
            width=0.5,
        )
    else:
        signal = xodr.Signal(
            s,
            t,
            "OpenDRIVE",
            "206",
            subtype="-1",
            name="StopSign",
            dynamic=xodr.Dynamic.no,
            orientation=orientation,
            zOffset=2.0,
            height=0.8,
            width=0.8,
        )
    lanes = sorted(info.in_sign * k for k in range(1, info.n_in + 1))
    signal.add_validity(lanes[0], lanes[-1])
    plan.road.add_signal(signal)
