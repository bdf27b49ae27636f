"""NPC vehicle drivers (the embedded simulator's traffic manager): lane following with IDM.

Why path-following kinematics and not the bicycle model: background traffic only has to look and
behave right (stay in lane, keep distance, obey lights, stop signs and junction right of way),
and moving each NPC by arc length along a precomputed lane polyline (`lane_graph`) is exact lane
keeping at a cost of a few microseconds per vehicle. The ego and every vehicle not on autopilot
use `vehicle_dynamics` instead.

This module owns the NPCs' state and routes (random successors, or a planned route) and hands
them to the jitted kernel once per tick as named structs (`traffic_arrays`): car following,
signals, junction right of way over per-map connector conflict areas (`traffic_junctions`) and
deadlock recovery are separate steps of `traffic_kernel.drive`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from driving.sim.lane_graph import LaneGraph
from driving.sim.traffic_arrays import (
    DEADLOCK_S,
    GHOST_S,
    ROUTE_LEN,
    BodyArrays,
    JunctionArrays,
    KernelParams,
    LaneArrays,
    NpcArrays,
)
from driving.sim.traffic_conflicts import build_movements
from driving.sim.traffic_kernel import drive

__all__ = ["DEADLOCK_S", "GHOST_S", "REROUTE_AFTER_S", "ROUTE_LEN", "IdmParams", "TrafficDrivers"]

#: An NPC that stood this long (s) waiting for room behind the exit of its next junction takes
#: another way through it (`TrafficDrivers._turn_elsewhere`).
REROUTE_AFTER_S = 8.0

_FLOAT_STATE = ("s", "v", "factor", "top", "a_max", "hl", "hw", "stop_timer", "blocked", "ghost", "no_yield",
                "accel", "stamp", "room_wait")
_INT_STATE = ("cleared", "leader", "yield_to", "stamp_q")


@dataclass(frozen=True)
class IdmParams:
    """IDM constants: time headway (s), jam distance (m), comfortable/maximum deceleration (m/s^2)."""

    time_headway_s: float = 1.2
    min_gap_m: float = 2.5
    comfortable_decel_mps2: float = 3.0
    max_decel_mps2: float = 8.0
    stop_line_gap_m: float = 1.0
    min_horizon_m: float = 20.0


class TrafficDrivers:
    """All autopilot vehicles of one world: their lane positions and IDM state (rows of arrays).

    `rows[i]` is the NPC's row in the world's body arrays; the world passes those arrays to
    `step` and receives the new poses back. The junction conflict table is built here, once
    per map.
    """

    def __init__(self, graph: LaneGraph, junction_boxes: np.ndarray, junction_hull_pts: np.ndarray,
                 junction_hull_off: np.ndarray, junction_signalized: np.ndarray,
                 seg_junction_index: np.ndarray, light_seg: np.ndarray, light_s: np.ndarray,
                 light_index: np.ndarray, sign_s: np.ndarray, speed_limit_mps: np.ndarray, idm: IdmParams,
                 rng: np.random.Generator):
        self.graph = graph
        self.idm = idm
        self.rng = rng
        seg_j = np.asarray(seg_junction_index, np.int64)
        mv = build_movements(graph.pts, graph.yaw, graph.cum, graph.off, graph.n, graph.length, graph.succ,
                             graph.n_succ, seg_j)
        self.junctions = JunctionArrays(
            np.ascontiguousarray(junction_boxes, np.float64).reshape(-1, 4),
            np.ascontiguousarray(junction_hull_pts, np.float64).reshape(-1, 2),
            np.asarray(junction_hull_off, np.int64), np.asarray(junction_signalized, np.bool_),
            mv.turn, mv.entry_yaw, mv.conf_off, mv.conf_move, mv.s_in, mv.s_out, mv.s_in2, mv.s_out2)
        self.light_seg, self.light_sl, self.light_index = light_seg, light_s, light_index
        self._lanes = LaneArrays(graph.pts, graph.yaw, graph.cum, graph.off, graph.n, graph.length, seg_j,
                                 mv.seg_move, mv.seg_off, graph.speed_cap, np.asarray(speed_limit_mps, np.float64),
                                 np.asarray(sign_s, np.float64), np.full(graph.n_segments, np.inf),
                                 np.zeros(graph.n_segments, np.bool_))
        self.clock_s = 0.0
        self.rows = np.zeros(0, np.int64)
        self.route = np.zeros((0, ROUTE_LEN), np.int64)
        for name in _FLOAT_STATE:
            setattr(self, name, np.zeros(0))
        for name in _INT_STATE:
            setattr(self, name, np.zeros(0, np.int64))
        self.planned: list[list[int]] = []  # given routes: segments still to follow
        self.given_route: list[bool] = []  # whether each NPC was given a route (never rerouted)

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, row: int, seg: int, s_m: float, speed_factor: float, top_speed_mps: float,
            a_max_mps2: float, hl_m: float, hw_m: float, planned: list[int] | None = None) -> None:
        """Hand body `row` (at arc length `s_m` on segment `seg`) to the autopilot.

        It drives at `speed_factor` x the lane's speed limit, never above `top_speed_mps`.
        """
        route = np.full((1, ROUTE_LEN), -1, np.int64)
        route[0, 0] = seg
        self.rows = np.append(self.rows, row)
        self.route = np.vstack([self.route, route])
        values = {"s": s_m, "factor": speed_factor, "top": top_speed_mps, "a_max": a_max_mps2, "hl": hl_m,
                  "hw": hw_m, "stamp": np.inf}
        for name in _FLOAT_STATE:
            setattr(self, name, np.append(getattr(self, name), values.get(name, 0.0)))
        for name in _INT_STATE:
            setattr(self, name, np.append(getattr(self, name), -1))
        self.planned.append(list(planned or []))
        self.given_route.append(bool(planned))
        self._fill(len(self.rows) - 1)

    def remove(self, row: int) -> None:
        """Release body `row` from the autopilot (destroyed, or switched to manual control)."""
        hit = np.nonzero(self.rows == row)[0]
        if not len(hit):
            return
        i = int(hit[0])
        for name in ("rows", "route", *_FLOAT_STATE, *_INT_STATE):
            setattr(self, name, np.delete(getattr(self, name), i, axis=0))
        del self.planned[i]
        del self.given_route[i]

    def index_of(self, row: int) -> int:
        hit = np.nonzero(self.rows == row)[0]
        return int(hit[0]) if len(hit) else -1

    def _fill(self, i: int) -> None:
        # Extend route i to ROUTE_LEN segments: planned ones first, then random successors.
        g = self.graph
        for j in range(1, ROUTE_LEN):
            if self.route[i, j] >= 0:
                continue
            prev = int(self.route[i, j - 1])
            if prev < 0 or g.n_succ[prev] == 0:
                return
            options = g.succ[prev, :g.n_succ[prev]]
            plan = self.planned[i]
            if plan and plan[0] in options:
                nxt = plan.pop(0)
            else:
                if plan:
                    plan.clear()  # the plan no longer fits the lane we are on: drive on freely
                nxt = int(options[int(self.rng.integers(len(options)))])
            self.route[i, j] = nxt

    def npc_arrays(self) -> NpcArrays:
        """The NPC state as the kernel's struct (views: the kernel writes through them)."""
        return NpcArrays(self.rows, self.route, self.s, self.v, self.factor, self.top, self.a_max, self.hl,
                         self.hw, self.cleared, self.stop_timer, self.blocked, self.ghost, self.no_yield,
                         self.accel, self.leader, self.yield_to, self.stamp, self.stamp_q, self.room_wait)

    def step(self, bodies: dict[str, np.ndarray], light_codes: np.ndarray, dt_s: float) -> None:
        """Advance every NPC by `dt_s` given all bodies and the light states (codes 0 G, 1 Y, 2 R).

        `bodies` is `Bodies.kernel_view()`; without "z"/"hh" every body counts as on one level.
        """
        if not len(self.rows):
            return
        lanes = self._lanes
        lanes.light_s[:] = np.inf
        lanes.light_yellow[:] = False
        if len(self.light_seg):
            codes = light_codes[self.light_index]
            active = codes != 0
            np.minimum.at(lanes.light_s, self.light_seg[active], self.light_sl[active])
            lanes.light_yellow[self.light_seg[codes == 1]] = True
        x = bodies["x"]
        flat = np.zeros(len(x))
        body = BodyArrays(x, bodies["y"], bodies.get("z", flat), bodies["yaw"], bodies["hl"], bodies["hw"],
                          bodies.get("hh", flat), bodies["vx"], bodies["vy"], bodies["active"], bodies["npc"],
                          bodies["vehicle"])
        p = self.idm
        drive(self.npc_arrays(), body, lanes, self.junctions,
              KernelParams(float(dt_s), self.clock_s, p.time_headway_s, p.min_gap_m, p.comfortable_decel_mps2,
                           p.max_decel_mps2, p.stop_line_gap_m, p.min_horizon_m))
        self.clock_s += dt_s
        for i in np.nonzero(self.room_wait > REROUTE_AFTER_S)[0]:
            self._turn_elsewhere(int(i))
        for i in np.nonzero(self.route[:, -1] < 0)[0]:
            self._fill(int(i))

    def _turn_elsewhere(self, i: int) -> None:
        """Take another way through the next junction (NPC i found no room behind its exit for
        REROUTE_AFTER_S). Why: queues around a block can fill it, each waiting for room in the
        next, and only a car that leaves the ring frees it; drivers do the same. NPCs on a given
        route keep it."""
        self.room_wait[i] = 0.0
        if self.given_route[i]:
            return
        g, route = self.graph, self.route[i]
        j0 = next((j for j in range(1, ROUTE_LEN) if route[j] >= 0 and self._lanes.junction[route[j]] >= 0), -1)
        if j0 < 0:
            return
        prev = int(route[j0 - 1])
        options = [int(s) for s in g.succ[prev, :g.n_succ[prev]] if s != route[j0]]
        if not options:
            return
        route[j0:] = -1
        route[j0] = options[int(self.rng.integers(len(options)))]
        self._fill(i)

    def poses(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(x, y, yaw rad, z) of every NPC on its lane, interpolated at its arc length."""
        return self.graph.pose(self.route[:, 0], self.s)
