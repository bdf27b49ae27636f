"""Driving lanes of a `carla.Map` as precomputed polylines, so per-tick code never calls carla.

Why: a `carla.Map` waypoint query costs microseconds and allocates Python objects; NPC drivers
need hundreds of path lookups per tick. The lane graph samples every topology segment (one
lane of one lane section, junction connectors included) once at load time into flat numpy
arrays: points every `ds_m` metres, headings (radians, carla yaw convention), cumulative arc
length, successor lists and a curvature speed cap (lateral acceleration limit). Segment
`k` owns points `off[k] : off[k] + n[k]`; `s` along a segment is arc length in metres.
"""
from __future__ import annotations

import math
import typing
from dataclasses import dataclass, field

import carla
import numpy as np

from driving.sim.layout_lanes import LaneRef, map_lanes

Key = typing.Tuple[int, int, int]  # (road id, section id, lane id)
MAX_SUCCESSORS = 8


def lane_key(wp: carla.Waypoint) -> Key:
    return (wp.road_id, wp.section_id, wp.lane_id)


@dataclass
class LaneGraph:
    """Flat arrays over all driving-lane segments of a map (see module docstring)."""

    keys: list[Key]
    index: dict[Key, int]
    pts: np.ndarray  # (P, 2) x, y metres
    yaw: np.ndarray  # (P,) radians
    z: np.ndarray  # (P,) metres
    cum: np.ndarray  # (P,) arc length from the segment start, metres
    off: np.ndarray  # (S,) first point of each segment
    n: np.ndarray  # (S,) points per segment
    length: np.ndarray  # (S,) metres
    succ: np.ndarray  # (S, MAX_SUCCESSORS) successor segments, -1 padded
    n_succ: np.ndarray  # (S,)
    junction: np.ndarray  # (S,) junction id or -1
    speed_cap: np.ndarray  # (S,) m/s from curvature (inf on straight lanes)
    width: np.ndarray  # (S,) lane width metres
    entry_wps: list[carla.Waypoint]
    _abs_cum: np.ndarray | None = field(default=None, init=False, repr=False)
    _seg_base: np.ndarray | None = field(default=None, init=False, repr=False)

    @property
    def n_segments(self) -> int:
        return len(self.keys)

    def locate(self, wp: carla.Waypoint, x: float, y: float) -> tuple[int, float]:
        """(segment, s metres) of the point (x, y) on the lane of `wp` (projected on its polyline)."""
        key = lane_key(wp)
        if key not in self.index:
            raise KeyError(f"lane {key} is not a driving lane of the graph")
        k = self.index[key]
        a, b = self.off[k], self.off[k] + self.n[k]
        pts = self.pts[a:b]
        seg = pts[1:] - pts[:-1]
        rel = np.array([x, y]) - pts[:-1]
        seg_len2 = np.maximum((seg * seg).sum(1), 1e-12)
        t = np.clip((rel * seg).sum(1) / seg_len2, 0.0, 1.0)
        proj = pts[:-1] + seg * t[:, None]
        i = int(np.argmin(((proj - [x, y]) ** 2).sum(1)))
        cum = self.cum[a:b]
        return k, float(cum[i] + t[i] * (cum[i + 1] - cum[i]))

    def pose(self, seg: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(x, y, yaw rad, z) at arc length `s` on segments `seg` (vectorised, s clipped to the lane).

        Exact for any point spacing: one binary search over the arc lengths of all segments laid
        end to end (each segment's base is the total length before it plus 1 m per segment, so
        no two segments share an absolute arc length). A guess from the first interval's length
        is wrong wherever the spacing changes inside a segment (CARLA's towns; joined lane
        sections), and froze NPCs on one point.
        """
        if self._abs_cum is None:
            self._seg_base = np.concatenate([[0.0], np.cumsum(self.length + 1.0)[:-1]])
            self._abs_cum = self.cum + np.repeat(self._seg_base, self.n)
        seg = np.asarray(seg, np.int64)
        s = np.clip(s, 0.0, self.length[seg])
        p0 = np.searchsorted(self._abs_cum, self._seg_base[seg] + s, side="right") - 1
        p0 = np.clip(p0, self.off[seg], self.off[seg] + self.n[seg] - 2)
        f = np.clip((s - self.cum[p0]) / np.maximum(self.cum[p0 + 1] - self.cum[p0], 1e-9), 0.0, 1.0)
        x = self.pts[p0, 0] + f * (self.pts[p0 + 1, 0] - self.pts[p0, 0])
        y = self.pts[p0, 1] + f * (self.pts[p0 + 1, 1] - self.pts[p0, 1])
        dyaw = (self.yaw[p0 + 1] - self.yaw[p0] + np.pi) % (2 * np.pi) - np.pi
        return x, y, self.yaw[p0] + f * dyaw, self.z[p0] + f * (self.z[p0 + 1] - self.z[p0])


def _sample_lane(wp: carla.Waypoint, ds_m: float, road_length_m: float) -> list[carla.Waypoint]:
    """Points after `wp` up to the end of its own lane section, plus the first point beyond it.

    `next_until_lane_end` runs on across the lane sections of one road, so on a road with several
    sections (CARLA's Town connectors have zero-length ones) every section's segment would span
    the rest of the road and an NPC would drive the same stretch twice, jumping back at each
    section change. Cut at the first point of another section; that point ends the segment, so
    consecutive segments join without a gap. Stepping uses `next()` only: carla's
    `next_until_lane_end` dereferences an empty list when a lane has no successor (a broken link
    in a user map) and kills the process. On the last section the final point lies just before
    the road end (`road_length_m`), as `next_until_lane_end` puts it.
    """
    key = lane_key(wp)
    out: list[carla.Waypoint] = []
    cur = wp
    for _ in range(int(min(road_length_m, 1e5) / ds_m) + 8):
        ahead = cur.next(ds_m)
        if len(ahead) != 1 or ahead[0].road_id != wp.road_id:
            break
        if lane_key(ahead[0]) != key:
            return out + [_first_beyond(cur, key, ds_m / 16.0, ahead[0])]
        cur = ahead[0]
        out.append(cur)
    remaining = (road_length_m - cur.s if cur.lane_id < 0 else cur.s) - 1e-6
    if 1e-4 < remaining < math.inf:
        last = [w for w in cur.next(remaining) if w.road_id == wp.road_id][:1]
        if last and lane_key(last[0]) != key:  # the road's last section starts within this step
            last = [_first_beyond(cur, key, ds_m / 16.0, last[0])]
        out.extend(last)
    return out


def _first_beyond(last: carla.Waypoint, key: Key, fine_m: float, coarse: carla.Waypoint) -> carla.Waypoint:
    """The first point past `last` (within `fine_m`) that is no longer on lane section `key`,
    so a section ends within a few centimetres of where the next one starts."""
    cur = last
    for _ in range(40):
        ahead = cur.next(fine_m)
        if len(ahead) != 1 or ahead[0].road_id != last.road_id:
            break
        if lane_key(ahead[0]) != key:
            return ahead[0]
        cur = ahead[0]
    return coarse


def _finite(wp: carla.Waypoint) -> bool:
    """carla 0.9.16 gives NaN positions inside constant-curvature spirals; such samples are dropped."""
    loc = wp.transform.location
    return math.isfinite(loc.x) and math.isfinite(loc.y) and math.isfinite(loc.z)


def _road_lengths(lanes: tuple[LaneRef, ...]) -> dict[int, float]:
    """Road id -> length (metres), from the map's OpenDRIVE (carla does not expose it)."""
    lengths: dict[int, float] = {}
    for lane in lanes:
        lengths[lane.road_id] = max(lengths.get(lane.road_id, 0.0), lane.s1_m)
    return lengths


def _add_unlinked_lanes(carla_map: carla.Map, lanes: tuple[LaneRef, ...], entries: dict[Key, carla.Waypoint],
                        links: dict[Key, list[Key]]) -> None:
    """Driving lanes that `get_topology` leaves out (a road linked to nothing: carla lists only
    lanes with a link), entered at the start of their driving direction."""
    for lane in lanes:
        key = (lane.road_id, lane.section_id, lane.lane_id)
        if lane.lane_type != "driving" or key in entries:
            continue
        s = lane.s0_m + 0.01 if lane.lane_id < 0 else lane.s1_m - 0.01
        wp = carla_map.get_waypoint_xodr(lane.road_id, lane.lane_id, s)
        if wp is not None and lane_key(wp) == key and _finite(wp):
            entries[key] = wp
            links.setdefault(key, [])


def build_lane_graph(carla_map: carla.Map, ds_m: float = 1.0, max_lateral_accel_mps2: float = 2.5
                     ) -> LaneGraph:
    """Sample every driving-lane segment of `carla_map` (see module docstring)."""
    topology = carla_map.get_topology()
    entries: dict[Key, carla.Waypoint] = {}
    links: dict[Key, list[Key]] = {}
    for a, b in topology:
        for wp in (a, b):
            entries.setdefault(lane_key(wp), wp)
        links.setdefault(lane_key(a), [])
        if lane_key(b) not in links[lane_key(a)]:
            links[lane_key(a)].append(lane_key(b))
    lanes = map_lanes(carla_map)  # parses the map's OpenDRIVE: once per graph
    _add_unlinked_lanes(carla_map, lanes, entries, links)
    keys = sorted(entries)
    road_length = _road_lengths(lanes)
    index = {k: i for i, k in enumerate(keys)}
    pts, yaws, zs, cums, offs, ns, lengths, junctions, widths, caps = [], [], [], [], [], [], [], [], [], []
    total = 0
    for key in keys:
        wp = entries[key]
        chain = [w for w in [wp] + _sample_lane(wp, ds_m, road_length.get(wp.road_id, math.inf)) if _finite(w)]
        chain = chain or [wp]
        xy = np.array([[w.transform.location.x, w.transform.location.y] for w in chain])
        keep = np.concatenate([[True], np.hypot(*np.diff(xy, axis=0).T) > 1e-3])
        chain = [w for w, k in zip(chain, keep) if k]
        xy = np.nan_to_num(xy[keep])
        if len(xy) < 2:  # a degenerate lane: give it a 1 cm stub so arrays stay well formed
            yaw0 = np.nan_to_num(math.radians(wp.transform.rotation.yaw))
            xy = np.vstack([xy[:1], xy[:1] + [0.01 * math.cos(yaw0), 0.01 * math.sin(yaw0)]])
            chain = [chain[0], chain[0]]
        yaw = np.unwrap(np.nan_to_num(np.radians([w.transform.rotation.yaw for w in chain])))
        step = np.hypot(*np.diff(xy, axis=0).T)
        cum = np.concatenate([[0.0], np.cumsum(step)])
        curvature = np.abs(np.diff(yaw)) / np.maximum(step, 1e-6)
        kmax = float(curvature.max()) if len(curvature) else 0.0
        caps.append(math.sqrt(max_lateral_accel_mps2 / kmax) if kmax > 1e-4 else math.inf)
        pts.append(xy)
        yaws.append(yaw)
        zs.append(np.nan_to_num([w.transform.location.z for w in chain]))
        cums.append(cum)
        offs.append(total)
        ns.append(len(xy))
        lengths.append(cum[-1])
        junctions.append(wp.junction_id if wp.is_junction else -1)
        widths.append(wp.lane_width)
        total += len(xy)
    succ = np.full((len(keys), MAX_SUCCESSORS), -1, np.int64)
    n_succ = np.zeros(len(keys), np.int64)
    for key, nexts in links.items():
        targets = [index[k] for k in nexts if k in index][:MAX_SUCCESSORS]
        succ[index[key], :len(targets)] = targets
        n_succ[index[key]] = len(targets)
    return LaneGraph(
        keys=keys, index=index, pts=np.concatenate(pts), yaw=np.concatenate(yaws),
        z=np.concatenate(zs).astype(np.float64), cum=np.concatenate(cums),
        off=np.array(offs, np.int64), n=np.array(ns, np.int64), length=np.array(lengths),
        succ=succ, n_succ=n_succ, junction=np.array(junctions, np.int64), speed_cap=np.array(caps),
        width=np.array(widths), entry_wps=[entries[k] for k in keys],
    )
