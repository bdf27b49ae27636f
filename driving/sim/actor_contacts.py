"""Contacts between bodies that are not manually driven: NPC with NPC, NPC with walker.

Why a separate pass: manually driven vehicles (`manual_vehicles`) sweep their moves and report
their contacts (on both bodies) themselves, but NPCs follow their lanes and walkers their paths
with no collision response, so two of them can drive or walk into each other unseen. This pass
only reports; it never changes how anything moves.

Each tick every overlapping pair among the non-manual bodies is found (`collisions.overlapping_pairs`:
sort-and-sweep broad phase, oriented boxes and height intervals on the candidates). A pair that
was not touching the tick before starts a contact: one `CollisionEvent` for each body (as
CARLA's collision sensor on each would report), once per contact start; a pair that stays
overlapped reports nothing more until it has separated for a tick. The impulse is that of a
perfectly inelastic collision, as `manual_vehicles`: reduced mass x relative velocity (N s) of
the velocities the bodies had this tick (NPCs: lane speed along their heading; walkers: their
step), the opposite impulse on the other body. Both events carry one location: the point of
the pair's second body's box nearest to the first body's centre (rows in order), at the higher
of the two base heights. Walker with walker is not reported: our pedestrians share sidewalk
paths and pass through each other by design (CARLA's steer around each other), so such an
overlap is no crash.
"""
from __future__ import annotations

import carla

from driving.sim.collisions import closest_point_in_box, overlapping_pairs
from driving.sim.world_bodies import ActorRecord, Bodies
from driving.world import ActorKind, CollisionEvent


class ActorContacts:
    """Remembers which pairs of rows (a < b) touched at the last step and reports new contacts."""

    def __init__(self) -> None:
        self.touching: set[tuple[int, int]] = set()

    def forget(self, row: int) -> None:
        """Drop every pair with `row` (its actor is destroyed; the row may be reused)."""
        self.touching = {p for p in self.touching if row not in p}

    def step(self, bodies: Bodies, manual_rows: list[int], frame: int,
             by_row: dict[int, ActorRecord]) -> list[CollisionEvent]:
        """Events of the contacts that start this frame among active bodies not in `manual_rows`."""
        take = bodies.active.copy()
        take[manual_rows] = False
        a, b = overlapping_pairs(bodies.collision_view(), take)
        now = set(zip(a.tolist(), b.tolist()))
        started = now - self.touching
        self.touching = now
        events: list[CollisionEvent] = []
        for i, j in sorted(started):
            ri, rj = by_row.get(i), by_row.get(j)
            if ri is None or rj is None or ri.kind == rj.kind == ActorKind.WALKER:
                continue
            events.extend(_pair_events(bodies, i, j, ri, rj, frame))
        return events


def _pair_events(b: Bodies, i: int, j: int, ri: ActorRecord, rj: ActorRecord,
                 frame: int) -> tuple[CollisionEvent, CollisionEvent]:
    mi, mj = float(b.mass[i]), float(b.mass[j])
    reduced = mi * mj / (mi + mj) if mi + mj > 0.0 else 0.0
    # impulse on i (N s): what a perfectly inelastic collision would transfer
    ix, iy = reduced * float(b.vx[j] - b.vx[i]), reduced * float(b.vy[j] - b.vy[i])
    px, py = closest_point_in_box(float(b.x[i]), float(b.y[i]), float(b.x[j]), float(b.y[j]), float(b.yaw[j]),
                                  float(b.hl[j]), float(b.hw[j]))
    loc = carla.Location(px, py, float(max(b.z[i], b.z[j])))
    return (CollisionEvent(frame, ri.id, rj.id, rj.kind, rj.type_id, carla.Vector3D(ix, iy, 0.0), loc),
            CollisionEvent(frame, rj.id, ri.id, ri.kind, ri.type_id, carla.Vector3D(-ix, -iy, 0.0), loc))
