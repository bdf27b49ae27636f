"""Lane changes on the expert's route: where the path moves across, and whether the gap is free.

Why a rear check: the expert's hazard test looks along its own path ahead, which sees a car in
the target lane ahead but never one coming from behind in it. On CARLA's multi-lane towns the
official routes change lanes (often several at once, right after a junction), and the car
closing in at 15 m/s in the target lane ran into the expert moving across at 5 m/s. So before
the ego enters a lane-change zone it checks the lanes on that side for vehicles alongside or
behind that would close the gap within `CLOSING_TIME_S`; if there is one it waits (a speed limit
that stops it) before the zone's commit point, where its path has moved only `COMMIT_OFFSET_M`
across and its body is still in its own lane: checking on into the zone catches a fast car that
enters the target lanes after the ego began to move. A vehicle alongside holds it even when
standing: nosing in next to a standing queue deadlocks with the car that then waits for the ego
(Town03). Standing vehicles behind never hold it; after `MAX_WAIT_S` a crawling queue alongside
no longer does either, only a vehicle alongside at speed, standing, or within `MIN_REAR_GAP_M`.
A move over two or three lanes takes the ego 5-6 s to reach the far lane: a car closing in there
is checked against the time the ego needs to reach that lane (`enter_time_s`), not against
`CLOSING_TIME_S` alone (Town06 training route 45: a car at 16 m/s, 51 m back in the third lane,
hit the ego's nose as it arrived). Units: metres, seconds, m/s, radians; CARLA world frame
(x forward, y right, yaw clockwise seen from above).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from driving.world import ActorKind, ActorState

#: Vehicles up to this far behind the ego (metres) are checked: a car at 25 m/s closing on a
#: standing ego needs CLOSING_TIME_S x 25 + REACTION_S x 25 = 87.5 m of gap.
REAR_LOOK_M = 90.0
#: A vehicle behind must be at least this far back (bumper to bumper, metres) ...
MIN_REAR_GAP_M = 4.0
#: ... and far enough that closing in on the ego takes longer than this (seconds).
CLOSING_TIME_S = 3.0
#: Reaction margin (seconds at the other vehicle's speed) added to the rear gap.
REACTION_S = 0.5
#: Sideways band (metres) of the target lanes: from this far beside the ego ...
LATERAL_MIN_M = 1.2
#: ... to the zone's sideways move plus this (generous: offsets are measured across the ego's
#: heading, which on a curving road overstates how far over a car behind is).
LATERAL_MARGIN_M = 4.0
#: Only vehicles heading within this angle of the ego (radians) share its road direction.
SAME_DIRECTION_RAD = math.radians(40.0)
#: After waiting this long (seconds) only a vehicle alongside faster than PUSH_IN_MPS or one
#: closer behind than MIN_REAR_GAP_M still holds the ego (a crawling queue lets it in).
MAX_WAIT_S = 10.0
PUSH_IN_MPS = 3.0
#: A vehicle slower than this (m/s) is standing: it cannot close in on the ego.
STANDING_MPS = 1.0
#: The ego keeps checking the target lanes until its path has moved this far across (metres):
#: its body is still inside its own lane there (3.5 m lane, 2 m wide car), so waiting there
#: blocks nobody in the target lane.
COMMIT_OFFSET_M = 0.5
#: Past the commit point (the ego crawling up to it overshoots) a conflict still stops it until
#: its path has moved this far across (metres): its body edge is then 1.5 m from the target
#: lane's centre, outside the 1.2 m corridor an NPC there keeps clear (Town05 testing route 22:
#: the ego crept 0.3 m past the commit point, stopped checking and pulled out in front of a car
#: closing in at 15 m/s).
LAST_HOLD_OFFSET_M = 1.0
#: Half a lane (metres): the ego's body reaches a car's lane when its far edge is this close to
#: the car's centre line.
HALF_LANE_M = 1.75
#: How the ego is assumed to move through a zone when timing its arrival in a lane: it
#: accelerates at this rate (m/s^2, the expert's planning value) up to this speed (m/s, the
#: speed its lane-change paths are driven at after a junction; lower is the safe side).
ENTER_ACCEL_MPS2 = 2.0
ENTER_SPEED_MPS = 6.0
#: A car the ego pulls in front of brakes at this rate (m/s^2) to the ego's speed.
OTHER_BRAKE_MPS2 = 3.5
#: A zone's move across is taken from its end points, at most this far (metres: four lanes), when
#: that is more than the largest offset from the route (a run over several lanes jumps one lane
#: at a time, so the route's points are never the full move away from the path).
MAX_ACROSS_M = 14.0
#: ... on a zone whose path turns less than this (radians); on a bend the chord says nothing
#: about the move across, and the largest offset from the route is taken instead.
STRAIGHT_ZONE_RAD = math.radians(15.0)


@dataclass(frozen=True)
class LaneChangeZone:
    """A stretch of the expert's path that moves sideways: arc lengths (metres) and the side
    (+1 right, -1 left) and distance (metres) it moves. Up to `s_commit_m` the path has moved
    less than COMMIT_OFFSET_M across: the ego is still in its lane and may wait there."""

    s_start_m: float
    s_end_m: float
    side: int
    width_m: float
    s_commit_m: float = -1.0
    s_last_hold_m: float = -1.0
    across_m: float = -1.0

    def commit_s_m(self) -> float:
        """Where the ego commits (metres along the path): s_commit_m, or the start if unset."""
        return max(self.s_commit_m, self.s_start_m)

    def last_hold_s_m(self) -> float:
        """Up to where a conflict still stops the ego (metres along the path): s_last_hold_m,
        or the commit point if unset."""
        return max(self.s_last_hold_m, self.commit_s_m())

    def move_m(self) -> float:
        """How far across the path moves in all (metres): across_m, at least width_m."""
        return max(self.across_m, self.width_m)

    def enter_s_m(self, moved_m: float) -> float:
        """Where along the path (metres) the ego has moved `moved_m` across, taking the move as
        even from the commit point to the zone's end."""
        fraction = min(max(moved_m / self.move_m(), 0.0), 1.0)
        return self.commit_s_m() + fraction * (self.s_end_m - self.commit_s_m())


def lane_change_zones(planned: np.ndarray, path: np.ndarray, s: np.ndarray) -> list[LaneChangeZone]:
    """The zones where `path` (the smoothed route) differs from `planned` (the route on its lanes)."""
    moved = np.linalg.norm(path - planned, axis=1) > 1e-6
    zones: list[LaneChangeZone] = []
    i, n = 0, len(path)
    while i < n:
        if not moved[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and moved[j + 1]:
            j += 1
        a, b = max(i - 1, 0), min(j + 1, n - 1)
        # how far across: the largest offset from the route's points (the move's start and end
        # differ by more than that on a curve)
        offset = np.linalg.norm(path[i:j + 1] - planned[i:j + 1], axis=1)
        width = float(offset.max())
        side = _side(path, planned, i, offset)
        h0, h1 = path[min(a + 1, n - 1)] - path[a], path[b] - path[max(b - 1, 0)]
        turn = abs(math.atan2(h0[0] * h1[1] - h0[1] * h1[0], h0[0] * h1[0] + h0[1] * h1[1]))
        d = path[b] - path[a]
        lateral = abs(float(h0[0] * d[1] - h0[1] * d[0])) / (float(np.hypot(*h0)) or 1.0)
        if side != 0 and width > 0.5:
            zones.append(LaneChangeZone(float(s[a]), float(s[b]), side, width,
                                        float(s[i + _moved_index(offset, COMMIT_OFFSET_M)]),
                                        float(s[i + _moved_index(offset, LAST_HOLD_OFFSET_M)]),
                                        min(lateral, MAX_ACROSS_M) if turn < STRAIGHT_ZONE_RAD else width))
        i = j + 1
    return zones


def _side(path: np.ndarray, planned: np.ndarray, i: int, offset: np.ndarray) -> int:
    """+1 (right) or -1 (left): which way the zone starting at index i moves, 0 if neither.

    Taken where the path is farthest from the route's points, across the path's own heading
    there: before the route's jump (peak in the second half, the path already moving over) the
    path lies on the side it moves to, after it (a move from a junction exit) on the side it
    comes from. Why not from the zone's end points: on a curve their chord leans towards the
    inside of the curve, and a move to the right on a left-hand bend read as a move to the left,
    so the ego checked the wrong lanes and pulled in front of a car (Town06 training 47)."""
    peak = int(np.argmax(offset))
    k, n = i + peak, len(path)
    h = path[min(k + 1, n - 1)] - path[max(k - 1, 0)]
    rel = path[k] - planned[k]
    cross = float(h[0] * rel[1] - h[1] * rel[0]) / (float(np.hypot(*h)) or 1.0)  # + right of the heading
    if abs(cross) < 0.25:
        return 0
    away = 1 if cross > 0 else -1
    return away if peak >= len(offset) // 2 else -away


def _moved_index(offset_m: np.ndarray, across_m: float) -> int:
    """First index of a zone where the path has moved `across_m` across, from the offsets
    between the path and the route's points. Before the route's jump (the usual move) the offset
    grows from 0 to the full width; after it (a move that starts at a junction exit, the route
    already on the new lane) it shrinks from the full width: there the progress is width - offset,
    and none up to the largest offset. Why: in a run over several lanes the planner lands each
    change some metres further on; the path stays on the old lane there while the route's points
    sit on the lanes in between (offsets below the full width read as a move begun: the ego
    stopped checking the target lanes 18 m before it left its lane, Town04 devtest route 2)."""
    peak = int(np.argmax(offset_m))
    if peak >= len(offset_m) // 2:
        progress = offset_m
    else:
        progress = float(offset_m[peak]) - offset_m
        progress[:peak] = 0.0
    return int(np.argmax(progress >= min(across_m, float(offset_m.max()))))


def enter_time_s(distance_m: float, speed_mps: float) -> float:
    """Seconds the ego needs to drive `distance_m` from `speed_mps`, accelerating at
    ENTER_ACCEL_MPS2 up to ENTER_SPEED_MPS (at its speed if already faster)."""
    top = max(speed_mps, ENTER_SPEED_MPS)
    ramp_m = (top * top - speed_mps * speed_mps) / (2.0 * ENTER_ACCEL_MPS2)
    if distance_m <= ramp_m:
        return (math.sqrt(speed_mps * speed_mps + 2.0 * ENTER_ACCEL_MPS2 * distance_m) - speed_mps) / ENTER_ACCEL_MPS2
    return (top - speed_mps) / ENTER_ACCEL_MPS2 + (distance_m - ramp_m) / top


def gap_to_enter_m(zone: LaneChangeZone, ego: ActorState, front_s_m: float, beside_m: float,
                   v_other_mps: float) -> float:
    """Bumper-to-bumper gap (metres) a car `beside_m` across and closing in at `v_other_mps`
    must have now so that, when the ego's body reaches its lane, it is still a reaction time
    back and can brake to the ego's speed."""
    v_ego = abs(ego.speed_mps)
    travel = max(zone.enter_s_m(beside_m - HALF_LANE_M - ego.extent.y) - front_s_m, 0.0)
    t = enter_time_s(travel, v_ego)
    v_enter = min(math.sqrt(v_ego * v_ego + 2.0 * ENTER_ACCEL_MPS2 * travel), max(v_ego, ENTER_SPEED_MPS))
    brake = max(v_other_mps - v_enter, 0.0) ** 2 / (2.0 * OTHER_BRAKE_MPS2)
    return v_other_mps * t - travel + v_other_mps * REACTION_S + brake


def rear_conflict(zone: LaneChangeZone, ego: ActorState, actors: list[ActorState],
                  waited_s: float = 0.0, front_s_m: float | None = None) -> ActorState | None:
    """A vehicle in the target lanes alongside or closing in from behind, or None (gap free).
    With `front_s_m` (the ego's front, metres along its path) a car behind must also leave room
    for the time the ego needs to reach that car's lane (`gap_to_enter_m`)."""
    loc = ego.transform.location
    yaw = math.radians(ego.transform.rotation.yaw)
    hx, hy = math.cos(yaw), math.sin(yaw)
    v_ego = abs(ego.speed_mps)
    for other in actors:
        if other.id == ego.id or other.kind != ActorKind.VEHICLE:
            continue
        other_yaw = math.radians(other.transform.rotation.yaw)
        diff = other_yaw - yaw
        if abs(math.atan2(math.sin(diff), math.cos(diff))) > SAME_DIRECTION_RAD:
            continue
        o = other.transform.location
        dx, dy = o.x - loc.x, o.y - loc.y
        along = dx * hx + dy * hy
        # across the other car's heading (its lane's direction): across the ego's, a car 70 m
        # back drifts 3 m sideways for every 2.5 deg the ego turns into its move, and left the
        # band just as the ego pulled out in front of it (Town06 training 45)
        beside = (-dx * math.sin(other_yaw) + dy * math.cos(other_yaw)) * zone.side
        if not (LATERAL_MIN_M <= beside <= zone.move_m() + LATERAL_MARGIN_M and -REAR_LOOK_M <= along):
            continue
        reach = ego.extent.x + other.extent.x
        if along > reach:  # ahead of the ego: the path check sees it
            continue
        v_other = max(float(other.velocity.x * hx + other.velocity.y * hy), 0.0)
        patient = waited_s >= MAX_WAIT_S
        if along > -reach:  # alongside: it takes the space the ego would move into
            if v_other >= STANDING_MPS and patient and v_other < PUSH_IN_MPS:
                continue
            return other
        if v_other < STANDING_MPS:  # behind and standing: the ego moves forward, away from it
            continue
        gap = -along - reach
        needed = MIN_REAR_GAP_M if patient else max(
            MIN_REAR_GAP_M, (v_other - v_ego) * CLOSING_TIME_S + v_other * REACTION_S,
            -math.inf if front_s_m is None else gap_to_enter_m(zone, ego, front_s_m, beside, v_other))
        if gap < needed:
            return other
    return None
