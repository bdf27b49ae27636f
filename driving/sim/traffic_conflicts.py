"""Per-map junction movements and their conflict table for NPC right of way (`traffic_junctions`).

Why movements and not lane segments: in CARLA's towns a junction's connecting road often has
several lane sections, so one way through a junction is a chain of lane segments, and its first
section may look straight where the whole movement turns left. A movement is such a chain (from
a segment without a predecessor in the junction, along first successors); right of way is
decided per movement, with arc lengths along the whole chain, so both vehicles of a pair judge
the same areas and the same turn. Whether two movements cross or merge, and where, depends only
on the map: for every pair of movements of a junction whose centrelines come within
CONFLICT_WIDTH_M the table holds the arc lengths (metres) of that shared area on each; pairs from
the same entry lane (they diverge) are left to car following. Numpy, once per map.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

CONFLICT_WIDTH_M = 2.6
"""Two movement centrelines closer than this (m) share a conflict area (two half widths + margin)."""


class Movements(NamedTuple):
    """Junction movements: per lane segment its movement (-1 outside junctions) and the arc length
    of its start along it (m); per movement its turn (rad, < 0 left in CARLA's yaw) and entry
    heading (rad); conflicts CSR by movement (`conf_off`, other movement `conf_move`, shared area
    `s_in .. s_out` on the own movement and `s_in2 .. s_out2` on the other, metres)."""

    seg_move: np.ndarray
    seg_off: np.ndarray
    turn: np.ndarray
    entry_yaw: np.ndarray
    conf_off: np.ndarray
    conf_move: np.ndarray
    s_in: np.ndarray
    s_out: np.ndarray
    s_in2: np.ndarray
    s_out2: np.ndarray


def _chains(succ: np.ndarray, n_succ: np.ndarray, seg_junction: np.ndarray, length: np.ndarray,
            preds: list[set[int]]) -> tuple[list[list[int]], np.ndarray, np.ndarray]:
    """Movements as lists of segments, and per segment its movement and start arc length."""
    S = len(seg_junction)
    seg_move = np.full(S, -1, np.int64)
    seg_off = np.zeros(S)
    inside = np.nonzero(seg_junction >= 0)[0]
    starts = [k for k in inside if not any(seg_junction[p] == seg_junction[k] for p in preds[k])]
    chains: list[list[int]] = []
    for k in [*starts, *inside]:
        if seg_move[k] >= 0:
            continue
        chain, total, cur = [int(k)], 0.0, int(k)
        seg_move[cur] = len(chains)
        while True:
            total += float(length[cur])
            nxt = [int(j) for j in succ[cur, :n_succ[cur]] if seg_junction[j] == seg_junction[k] and seg_move[j] < 0]
            if not nxt:
                break
            cur = nxt[0]
            seg_move[cur], seg_off[cur] = len(chains), total
            chain.append(cur)
        chains.append(chain)
    return chains, seg_move, seg_off


def build_movements(pts: np.ndarray, yaw: np.ndarray, cum: np.ndarray, off: np.ndarray, n: np.ndarray,
                    length: np.ndarray, succ: np.ndarray, n_succ: np.ndarray, seg_junction: np.ndarray,
                    width_m: float = CONFLICT_WIDTH_M) -> Movements:
    """Movements of every junction and the conflict areas of every pair of them (see module doc)."""
    S = len(off)
    preds: list[set[int]] = [set() for _ in range(S)]
    for k in range(S):
        for j in succ[k, :n_succ[k]]:
            preds[int(j)].add(k)
    chains, seg_move, seg_off = _chains(succ, n_succ, seg_junction, length, preds)
    C = len(chains)
    turn = np.zeros(C)
    entry_yaw = np.zeros(C)
    entry: list[set[int]] = []
    for c, chain in enumerate(chains):
        first, last = chain[0], chain[-1]
        entry_yaw[c] = yaw[off[first]]
        turn[c] = (yaw[off[last] + n[last] - 1] - entry_yaw[c] + np.pi) % (2 * np.pi) - np.pi
        entry.append(preds[first])
    rows: list[tuple[int, int, float, float, float, float]] = []
    chain_junction = np.array([seg_junction[ch[0]] for ch in chains], np.int64)
    for q in np.unique(chain_junction):
        moves = np.nonzero(chain_junction == q)[0]
        if len(moves) < 2:
            continue
        idx = [np.concatenate([np.arange(off[s], off[s] + n[s]) for s in chains[c]]) for c in moves]
        arc = [np.concatenate([cum[off[s]:off[s] + n[s]] + seg_off[s] for s in chains[c]]) for c in moves]
        p = pts[np.concatenate(idx)].astype(np.float32)
        owner = np.concatenate([np.full(len(ix), a) for a, ix in enumerate(idx)])
        close = ((p[:, None, :] - p[None, :, :]) ** 2).sum(-1) < np.float32(width_m * width_m)
        starts = np.concatenate([[0], np.cumsum([len(ix) for ix in idx])])
        for a in range(len(moves)):
            block = close[starts[a]:starts[a + 1]]
            for b in np.unique(owner[block.any(axis=0)]):
                if b == a or entry[moves[a]] & entry[moves[b]]:
                    continue
                sub = block[:, starts[b]:starts[b + 1]]
                on_a = np.nonzero(sub.any(axis=1))[0]
                on_b = np.nonzero(sub.any(axis=0))[0]
                rows.append((int(moves[a]), int(moves[b]), float(arc[a][on_a[0]]), float(arc[a][on_a[-1]]),
                             float(arc[b][on_b[0]]), float(arc[b][on_b[-1]])))
    rows.sort()
    table = np.array(rows, np.float64).reshape(-1, 6)
    own = table[:, 0].astype(np.int64)
    conf_off = np.concatenate([[0], np.cumsum(np.bincount(own, minlength=C))]).astype(np.int64)
    return Movements(seg_move, seg_off, turn, entry_yaw, conf_off, table[:, 1].astype(np.int64),
                     table[:, 2].copy(), table[:, 3].copy(), table[:, 4].copy(), table[:, 5].copy())
