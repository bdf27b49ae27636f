"""Passing standing vehicles that block the ego's lane through the oncoming lane (LB1.0 Scenario6).

Why: without it the expert waits forever behind a parked car or a barrier on a two-way road
(ManeuverOppositeDirection). The pass is a lateral shift of the path the expert drives
(`RouteTracker.shift_left`), so pure pursuit, the obstacle checks along the path (which then see
oncoming cars and no longer the blockers) and the curve speeds all follow it unchanged.

When: the vehicle obstacle ahead stands, the ego has stood behind it `overtake_after_s`, no signal
holds the ego or lies before the end of the pass, no junction lies on the route up to
JUNCTION_AFTER_M past it (a queue at a jammed junction is never passed), and the lane to the left
at the blockers is a driving lane of the opposite direction (a same-direction lane is a lane
change, not this). The blockers are every standing vehicle in the ego's lane from the first on,
chained while less than CHAIN_GAP_M apart. Gap acceptance: each vehicle ahead in the left lane,
coming towards the ego at v, must still be beyond the end of the pass (plus GAP_MARGIN_M) when
the ego gets there from where it is (PASS_ACCEL_MPS2 up to PASS_SPEED_MPS), and nothing stands
in the left lane along the pass. Until the ego's centre reaches the fully shifted part the pass
is aborted (path restored, ego stopped) when that stops holding.

Where it waits: a car cannot move a lane width sideways within the usual 2 m stop gap, so while a
pass may be made the ego stops where the ramp out would start (a "vehicle" limit, about 12 m
behind the first blocker; closer when it overshot, down to a MIN_RAMP_M ramp), and the
deadlock creeping towards a standing crossing vehicle (`driver`) stays off.

Units: metres, seconds, m/s; arc lengths `s` along the route; lateral offsets + to the left.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import carla
import numpy as np

from driving.world import ActorKind, ActorState, World
from planning.expert.hazards import Obstacle
from planning.expert.route_tracker import RouteTracker
from planning.expert.signals_ahead import SignalMonitor

#: Length (m) of each half-cosine ramp out to the shifted path and back.
RAMP_M = 10.0
#: The shifted path is fully out this far (m) before the first blocker's near end ...
START_CLEAR_M = 4.0
#: ... and until this far (m) past the last blocker's far end (arc length of the ego centre).
END_CLEAR_M = 6.0
#: A ramp shorter than this (m; the ego stopped late, closer than the full ramp) is refused.
MIN_RAMP_M = 6.0
#: The ego waits this far (m) before the ramp's start (braking overshoots a little).
HOLD_SLACK_M = 2.0
#: The hold plans with this share of the comfort deceleration (the speed controller lags behind).
HOLD_DECEL_SHARE = 0.6
#: Standing vehicles less than this (m) apart are passed in one go.
CHAIN_GAP_M = 8.0
#: Longest pass (m, both ramps included).
MAX_SPAN_M = 60.0
#: No junction on the route up to this far (m) past the end of the pass.
JUNCTION_AFTER_M = 15.0
#: Speed cap (m/s) while the path is shifted, and the acceleration (m/s^2) gap acceptance assumes.
PASS_SPEED_MPS = 6.0
PASS_ACCEL_MPS2 = 2.0
#: Oncoming vehicles must be this far (m) beyond the end of the pass when the ego gets there.
GAP_MARGIN_M = 10.0
#: Clearance (m) between the ego's side and the blockers' furthest reach into the left lane.
SIDE_MARGIN_M = 0.6
#: Least room (m) kept between the ego's left side and the left lane's outer edge.
EDGE_MARGIN_M = 0.1
#: Vehicles up to this far (m) ahead along the route are looked at.
LOOK_AHEAD_M = 150.0
#: Vehicles farther than this (m) from every route point ahead are not looked at.
ONROUTE_MAX_M = 8.0
#: A vehicle heading within ~60 deg of the route's opposite drives towards the ego.
OPPOSITE_COS = -0.5


class OvertakeState(str, Enum):
    IDLE = "idle"  # nothing to pass
    WAITING = "waiting"  # stopped behind blockers that may be passed, for the stand time or a gap
    PASSING = "passing"  # the path is shifted into the left lane


@dataclass(frozen=True)
class PassPlan:
    """Where the path is shifted (arc lengths, m): out from `ramp_from_m` to `s_start_m`, fully
    out to `s_end_m`, back by `ramp_to_m`; `offset_m` to the left; the blockers' actor ids."""

    ramp_from_m: float
    s_start_m: float
    s_end_m: float
    ramp_to_m: float
    offset_m: float
    blocker_ids: tuple[int, ...]


@dataclass(frozen=True)
class _OnRoute:
    """A vehicle seen from the route: arc length of its centre, its near and far ends along the
    route, its centre's offset to the left and its half width across the route (m), and its
    speed along the route (m/s, + the ego's way), heading cosine to the route."""

    state: ActorState
    s_m: float
    near_m: float
    far_m: float
    left_m: float
    half_across_m: float
    along_mps: float
    cos_heading: float


def time_to_cover_s(distance_m: float, speed_mps: float) -> float:
    """Time (s) to drive `distance_m` from `speed_mps`, accelerating at PASS_ACCEL_MPS2 up to PASS_SPEED_MPS."""
    v0 = min(max(speed_mps, 0.0), PASS_SPEED_MPS)
    d_acc = (PASS_SPEED_MPS ** 2 - v0 * v0) / (2.0 * PASS_ACCEL_MPS2)
    if distance_m <= d_acc:
        return (math.sqrt(v0 * v0 + 2.0 * PASS_ACCEL_MPS2 * max(distance_m, 0.0)) - v0) / PASS_ACCEL_MPS2
    return (PASS_SPEED_MPS - v0) / PASS_ACCEL_MPS2 + (distance_m - d_acc) / PASS_SPEED_MPS


class Overtaker:
    """Decides and drives passes for one route; `step` once per expert step after the vehicle check."""

    def __init__(self, world: World, route: RouteTracker, signals: SignalMonitor, after_s: float,
                 standing_mps: float, comfort_decel_mps2: float) -> None:
        self.world = world
        self.route = route
        self.signals = signals
        self.after_s = after_s
        self.standing_mps = standing_mps
        self.decel = comfort_decel_mps2
        self.state = OvertakeState.IDLE
        self.plan: PassPlan | None = None
        self._stood_s = 0.0
        #: Why the last plan was refused ("" when planned): for debugging and tests.
        self.refusal = ""

    # ---- geometry ------------------------------------------------------------------------
    def _on_route(self, actors: list[ActorState], ego_id: int) -> list[_OnRoute]:
        """Vehicles whose centre projects onto the route between the ego and LOOK_AHEAD_M ahead."""
        r = self.route
        xy, heading = r.lane_path()
        lo = r.index
        hi = int(np.searchsorted(r.s, r.s_ego + LOOK_AHEAD_M, side="right"))
        if hi - lo < 2:
            return []
        pts, hs, ss = xy[lo:hi], heading[lo:hi], r.s[lo:hi]
        out = []
        for a in actors:
            if a.kind != ActorKind.VEHICLE or a.id == ego_id:
                continue
            loc = a.transform.location
            d = np.hypot(pts[:, 0] - loc.x, pts[:, 1] - loc.y)
            k = int(np.argmin(d))
            if d[k] > ONROUTE_MAX_M:
                continue
            h = float(hs[k])
            ch, sh = math.cos(h), math.sin(h)
            dx, dy = loc.x - pts[k, 0], loc.y - pts[k, 1]
            s_c = float(ss[k] + dx * ch + dy * sh)
            left = float(dx * sh - dy * ch)
            diff = math.radians(a.transform.rotation.yaw) - h
            cd, sd = abs(math.cos(diff)), abs(math.sin(diff))
            half_along = a.extent.x * cd + a.extent.y * sd
            half_across = a.extent.x * sd + a.extent.y * cd
            along = float(a.velocity.x * ch + a.velocity.y * sh)
            out.append(_OnRoute(a, s_c, s_c - half_along, s_c + half_along, left, half_across, along,
                                math.cos(diff)))
        return out

    def _lanes_at(self, s_m: float) -> tuple[carla.Waypoint, carla.Waypoint] | None:
        """(ego lane, oncoming lane to its left) at route arc length `s_m`; None when the lane to the
        left is no driving lane of the other direction or the spot is in a junction."""
        r = self.route
        k = min(int(np.searchsorted(r.s, s_m)), len(r) - 1)
        x, y = r.lane_path()[0][k]
        wp = self.world.get_map().get_waypoint(carla.Location(float(x), float(y), float(r.z[k])),
                                               project_to_road=True, lane_type=carla.LaneType.Driving)
        if wp is None or wp.is_junction:
            return None
        left = wp.get_left_lane()
        if left is None or left.lane_type != carla.LaneType.Driving or (left.lane_id > 0) == (wp.lane_id > 0):
            return None
        return wp, left

    def _plan(self, ego: ActorState, seen: list[_OnRoute], first_id: int, limits: dict[str, float]) -> PassPlan | None:
        """The pass around the standing blockers from `first_id` on, or None (`refusal` says why)."""
        plan, self.refusal = self._try_plan(ego, seen, first_id, limits)
        return plan

    def _try_plan(self, ego: ActorState, seen: list[_OnRoute], first_id: int,
                  limits: dict[str, float]) -> tuple[PassPlan | None, str]:
        r = self.route
        if "signal" in limits:
            return None, "signal limit"
        first = next((o for o in seen if o.state.id == first_id), None)
        if first is None or abs(first.state.speed_mps) > self.standing_mps:
            return None, "not standing"
        lanes = self._lanes_at(first.s_m)
        if lanes is None:
            return None, "no oncoming lane"
        wp, left = lanes
        half_lane = 0.5 * wp.lane_width

        def in_lane(o: _OnRoute) -> bool:  # reaches into the ego's lane
            return o.left_m - o.half_across_m < half_lane and o.left_m + o.half_across_m > -half_lane

        if not in_lane(first):
            return None, "not in lane"
        chain = [first]
        far = first.far_m
        for o in sorted(seen, key=lambda o: o.near_m):
            if o.state.id == first.state.id or o.far_m <= first.far_m or not in_lane(o) \
                    or abs(o.state.speed_mps) > self.standing_mps:
                continue
            if o.near_m - far >= CHAIN_GAP_M:
                break
            chain.append(o)
            far = max(far, o.far_m)
        s_start = first.near_m - START_CLEAR_M
        s_end = far + END_CLEAR_M
        ramp_to = s_end + RAMP_M
        if r.junction[r.ahead(ramp_to + JUNCTION_AFTER_M - r.s_ego)].any():
            return None, "junction"
        if any(r.s_ego - ego.extent.x < line.s_m < ramp_to + JUNCTION_AFTER_M for line in self.signals.lines):
            return None, "signal ahead"
        if any(z.s_start_m < ramp_to and z.s_end_m > s_start - RAMP_M for z in r.lane_changes):
            return None, "lane change"
        if any(self._lanes_at(s) is None for s in (s_start, s_end)):
            return None, "lane ends"
        ramp_from = max(s_start - RAMP_M, r.s_ego)  # stopped late: a shorter ramp from where the ego is
        if s_start - ramp_from < MIN_RAMP_M:
            return None, "too close"
        if ramp_to - ramp_from > MAX_SPAN_M or ramp_to + 1.0 > r.length_m:
            return None, "too long"
        lane_offset = wp.transform.location.distance(left.transform.location)
        reach = max(o.left_m + o.half_across_m for o in chain)
        offset = max(lane_offset, reach + ego.extent.y + SIDE_MARGIN_M)
        if offset > lane_offset + 0.5 * left.lane_width - ego.extent.y - EDGE_MARGIN_M:
            return None, "too wide"
        return PassPlan(ramp_from, s_start, s_end, ramp_to, offset, tuple(o.state.id for o in chain)), ""

    def _gap_free(self, plan: PassPlan, seen: list[_OnRoute], ego: ActorState) -> bool:
        """Whether no vehicle in the left lane stops the pass: nothing stands there along it, and
        every vehicle coming towards the ego is still beyond its end when the ego gets there."""
        r = self.route
        t = time_to_cover_s(plan.ramp_to_m - r.s_ego, abs(ego.speed_mps))
        for o in seen:
            if o.state.id in plan.blocker_ids or abs(o.left_m - plan.offset_m) > o.half_across_m + ego.extent.y + 1.0:
                continue
            if abs(o.state.speed_mps) <= self.standing_mps:
                if o.near_m < plan.ramp_to_m + GAP_MARGIN_M and o.far_m > r.s_ego - ego.extent.x:
                    return False
                continue
            if o.cos_heading < OPPOSITE_COS and o.far_m > r.s_ego - ego.extent.x:
                towards = max(-o.along_mps, 0.0)
                if o.near_m - towards * t <= plan.ramp_to_m + ego.extent.x + GAP_MARGIN_M:
                    return False
        return True

    # ---- one step ------------------------------------------------------------------------
    def step(self, ego: ActorState, actors: list[ActorState], obstacle: Obstacle | None,
             limits: dict[str, float], dt_s: float) -> tuple[float | None, float | None]:
        """(hold, cap): a stop-point speed limit that keeps the ego where a pass can start (None: no
        hold) and the speed cap of a pass under way (None: none)."""
        r = self.route
        if self.state == OvertakeState.PASSING and self.plan is not None:
            plan = self.plan
            if r.s_ego >= plan.ramp_to_m:
                self._reset()
                return None, None
            if r.s_ego < plan.s_start_m and ("signal" in limits or not self._gap_free(
                    plan, self._on_route(actors, ego.id), ego)):
                self._reset()  # not committed yet: back into the lane and wait
                self.state = OvertakeState.WAITING
                return 0.0, None
            return None, PASS_SPEED_MPS
        # the blockers of a pass being waited for stay the blockers while an oncoming car's
        # forecast is the nearest obstacle for a moment
        first_ids = [] if obstacle is None or obstacle.kind != ActorKind.VEHICLE else [obstacle.actor_id]
        if self.plan is not None and self.plan.blocker_ids[0] not in first_ids:
            first_ids.append(self.plan.blocker_ids[0])
        seen = self._on_route(actors, ego.id) if first_ids else []
        plan = None
        for first_id in first_ids:
            plan = self._plan(ego, seen, first_id, limits)
            if plan is not None:
                break
        if plan is None:
            self._reset()
            return None, None
        self.plan = plan
        self.state = OvertakeState.WAITING
        if abs(ego.speed_mps) <= self.standing_mps:
            self._stood_s += dt_s
        if self._stood_s >= self.after_s and self._gap_free(plan, seen, ego):
            r.shift_left(plan.s_start_m, plan.s_end_m, plan.offset_m, plan.s_start_m - plan.ramp_from_m,
                         plan.ramp_to_m - plan.s_end_m)
            self.state = OvertakeState.PASSING
            self._stood_s = 0.0
            return None, PASS_SPEED_MPS
        return math.sqrt(2.0 * HOLD_DECEL_SHARE * self.decel * max(self._hold_s(plan) - r.s_ego, 0.0)), None

    def _hold_s(self, plan: PassPlan) -> float:
        """Where the ego's centre stops to wait: HOLD_SLACK_M before the full ramp's start while
        that lies ahead, else as late as the shortest ramp allows (it stopped late)."""
        nominal = plan.s_start_m - RAMP_M - HOLD_SLACK_M
        return nominal if self.route.s_ego <= nominal else plan.s_start_m - MIN_RAMP_M - HOLD_SLACK_M

    def _reset(self) -> None:
        self.route.restore_path()
        self.state = OvertakeState.IDLE
        self.plan = None
        self._stood_s = 0.0
