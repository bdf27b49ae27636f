"""Join the lane sections of one lane into one lane-graph segment where nothing branches.

Why: CARLA's Town maps split roads into many lane sections, half of them shorter than 5 m and
many of zero length (Town05: median 0.1 m). NPC drivers look ahead along a fixed number of
segments (`ROUTE_LEN`), so on such maps they saw only a few metres ahead, braked late and ran
into a car standing in their lane. A run of sections of the same road and lane where each links
only to the next and the next is reached only from it is one stretch of asphalt: one segment.
Every section key still maps to its (joined) segment in `LaneGraph.index`.
"""
from __future__ import annotations

import numpy as np

from driving.sim.lane_graph import LaneGraph

#: A joint point this close (metres) to the previous segment's last point is dropped.
JOINT_EPS_M = 1e-3


def _chains(graph: LaneGraph) -> list[list[int]]:
    """Runs of segments to join, in driving order (every segment in exactly one run)."""
    n = graph.n_segments
    preds = np.zeros(n, np.int64)
    for k in range(n):
        for j in graph.succ[k, :graph.n_succ[k]]:
            preds[j] += 1
    nxt = np.full(n, -1, np.int64)
    for k in range(n):
        if graph.n_succ[k] != 1:
            continue
        j = int(graph.succ[k, 0])
        same_lane = graph.keys[k][0] == graph.keys[j][0] and graph.keys[k][2] == graph.keys[j][2]
        if j != k and preds[j] == 1 and same_lane and graph.junction[k] == graph.junction[j]:
            nxt[k] = j
    has_prev = np.zeros(n, bool)
    has_prev[nxt[nxt >= 0]] = True
    seen = np.zeros(n, bool)
    runs = []
    for start in [k for k in range(n) if not has_prev[k]] + list(range(n)):  # heads first, then cycles
        if seen[start]:
            continue
        run, k = [], start
        while k >= 0 and not seen[k]:
            seen[k] = True
            run.append(k)
            k = int(nxt[k])
        runs.append(run)
    return runs


def join_lane_sections(graph: LaneGraph) -> LaneGraph:
    """The graph with each unbranched run of one lane's sections as one segment (see module doc)."""
    runs = _chains(graph)
    if len(runs) == graph.n_segments:
        return graph
    new_of = np.empty(graph.n_segments, np.int64)
    for r, run in enumerate(runs):
        new_of[run] = r
    pts, yaws, zs, cums, offs, ns = [], [], [], [], [], []
    total = 0
    for run in runs:
        p_parts, y_parts, z_parts = [], [], []
        for k in run:
            a, b = graph.off[k], graph.off[k] + graph.n[k]
            p, y, z = graph.pts[a:b], graph.yaw[a:b], graph.z[a:b]
            if p_parts and np.hypot(*(p[0] - p_parts[-1][-1])) < JOINT_EPS_M:
                p, y, z = p[1:], y[1:], z[1:]
            if len(p):
                p_parts.append(p)
                y_parts.append(y)
                z_parts.append(z)
        p = np.concatenate(p_parts)
        step = np.hypot(*np.diff(p, axis=0).T)
        pts.append(p)
        yaws.append(np.unwrap(np.concatenate(y_parts)))
        zs.append(np.concatenate(z_parts))
        cums.append(np.concatenate([[0.0], np.cumsum(step)]))
        offs.append(total)
        ns.append(len(p))
        total += len(p)
    succ = np.full_like(graph.succ, -1)
    n_succ = np.zeros(len(runs), np.int64)
    for r, run in enumerate(runs):
        last = run[-1]
        targets = sorted({int(new_of[j]) for j in graph.succ[last, :graph.n_succ[last]]})
        succ[r, :len(targets)] = targets
        n_succ[r] = len(targets)
    return LaneGraph(
        keys=[graph.keys[run[0]] for run in runs],
        index={key: int(new_of[k]) for key, k in graph.index.items()},
        pts=np.concatenate(pts), yaw=np.concatenate(yaws), z=np.concatenate(zs), cum=np.concatenate(cums),
        off=np.array(offs, np.int64), n=np.array(ns, np.int64), length=np.array([c[-1] for c in cums]),
        succ=succ, n_succ=n_succ, junction=np.array([graph.junction[run[0]] for run in runs], np.int64),
        speed_cap=np.array([float(np.min(graph.speed_cap[run])) for run in runs]),
        width=np.array([graph.width[run[0]] for run in runs]),
        entry_wps=[graph.entry_wps[run[0]] for run in runs],
    )
