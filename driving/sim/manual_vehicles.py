"""Manually driven vehicles (ego, scenario cars): bicycle step, swept collisions, inelastic response.

Collision events follow CARLA's collision sensor: an event for every frame in which the vehicle
is in contact (not only when contact starts; the leaderboard criteria debounce them), reported on
both bodies (the other one, manual vehicle, NPC or walker, gets the mirrored event with the
opposite impulse). Contacts between bodies that are not manual vehicles (NPC with NPC or walker,
walker with walker) are `actor_contacts`' business. Contact is decided by sweeping the box
along its move in <= 0.1 m steps (`collisions.first_free_fraction`), so nothing is tunnelled
through at any speed. Response is perfectly inelastic: the vehicle stops
at the last free pose, and both bodies take the common velocity of their momenta along their
headings; a static prop (or the map edge) stops the vehicle. The event impulse is the exact
impulse of that inelastic collision: reduced mass x relative velocity (N s); against a prop
the reduced mass is the vehicle's mass.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import carla
import numpy as np

from driving.sim.collisions import (
    Contacts,
    StaticGrid,
    body_intervals,
    closest_point_in_box,
    first_free_fraction,
)
from driving.sim.scene import StaticObject
from driving.sim.vehicle_dynamics import BicycleControls, BicycleParams, RoadSurface, step_bicycle
from driving.sim.world_bodies import ActorRecord, Bodies
from driving.world import ActorKind, CollisionEvent

#: Ids reported for static props: STATIC_ID_BASE + index in the layout's solid props.
STATIC_ID_BASE = 10_000_000
MAP_BOUNDARY_ID = STATIC_ID_BASE - 1


class ManualVehicles:
    """Steps every vehicle not on autopilot and turns contacts into `CollisionEvent`s.

    `on_hit(row, new_speed_along_heading)` tells the owner of another body (NPC driver,
    pedestrians) that it was hit and how fast it moves on. Each vehicle's z and pitch follow
    the road under it (`RoadSurface`: the lane nearest in 3-D, so it stays on its level).
    """

    def __init__(self, bodies: Bodies, grid: StaticGrid, props: list[StaticObject],
                 bounds: tuple[float, float, float, float], road: RoadSurface):
        self.bodies = bodies
        self.grid = grid
        self.props = props
        self.bounds = bounds
        self.road = road
        self.rows: list[int] = []

    def add(self, row: int) -> None:
        """Drive body `row` manually; its z and pitch snap to the road under it now."""
        self.rows.append(row)
        self.road.forget(row)
        self._settle(row)

    def remove(self, row: int) -> None:
        if row in self.rows:
            self.rows.remove(row)
        self.road.forget(row)

    def _settle(self, row: int) -> None:
        b = self.bodies
        z, pitch = self.road.follow(row, float(b.x[row]), float(b.y[row]), float(b.z[row]), float(b.yaw[row]))
        b.set(row, z=z, pitch=pitch)

    def _heights(self, row: int, x1: float, y1: float) -> tuple[float, float]:
        # The height interval (metres) the box sweeps from its pose now to (x1, y1) on the road plane.
        b = self.bodies
        z0 = float(b.z[row])
        z1 = self.road.estimate(row, x1, y1, z0)
        return min(z0, z1), max(z0, z1) + 2.0 * float(b.hh[row])

    def step(self, dt_s: float, frame: int, by_row: dict[int, ActorRecord],
             on_hit: Callable[[int, float], None]) -> list[CollisionEvent]:
        """Advance all manual vehicles by `dt_s`; returns this frame's collision events."""
        if not self.rows:
            return []
        b = self.bodies
        r = np.array(self.rows)
        params = BicycleParams(b.wheelbase[r], b.max_steer[r], b.steer_rate[r], b.max_accel[r],
                               b.max_brake[r], b.top_speed[r], b.reverse_top_speed[r])
        ctl = BicycleControls(b.throttle[r], b.steer[r], b.brake[r], b.hand_brake[r], b.reverse[r])
        nx, ny, nyaw, nspeed, nwheel, yaw_rate = step_bicycle(b.x[r], b.y[r], b.yaw[r], b.speed[r],
                                                              b.wheel[r], ctl, params, dt_s, b.pitch[r])
        events: list[CollisionEvent] = []
        view = body_intervals(b.collision_view())  # heights computed once; rows below move in place
        for k, row in enumerate(self.rows):
            x0, y0, yaw0 = float(b.x[row]), float(b.y[row]), float(b.yaw[row])
            f, contacts = first_free_fraction(x0, y0, yaw0, float(nx[k]), float(ny[k]), float(nyaw[k]),
                                              float(b.hl[row]), float(b.hw[row]), row,
                                              view, self.grid, self.bounds,
                                              heights=self._heights(row, float(nx[k]), float(ny[k])))
            dyaw = (float(nyaw[k]) - yaw0 + math.pi) % (2 * math.pi) - math.pi
            yaw = yaw0 + f * dyaw
            b.set(row, x=x0 + f * (nx[k] - x0), y=y0 + f * (ny[k] - y0),
                  yaw=(yaw + math.pi) % (2 * math.pi) - math.pi, speed=nspeed[k], wheel=nwheel[k],
                  yaw_rate=yaw_rate[k] if f == 1.0 else 0.0)
            self._settle(row)
            view[5][row], view[6][row] = b.z[row], b.z[row] + 2.0 * b.hh[row]
            self._set_velocity(row)
            if contacts is not None:
                events.extend(self._respond(row, contacts, frame, by_row, on_hit))
        return events

    def _set_velocity(self, row: int) -> None:
        b = self.bodies
        b.set(row, vx=b.speed[row] * math.cos(b.yaw[row]), vy=b.speed[row] * math.sin(b.yaw[row]))

    def _respond(self, row: int, contacts: Contacts, frame: int, by_row: dict[int, ActorRecord],
                 on_hit: Callable[[int, float], None]) -> list[CollisionEvent]:
        b = self.bodies
        me = by_row[row]
        events = []
        x, y, z = float(b.x[row]), float(b.y[row]), float(b.z[row])
        for j in contacts.bodies.tolist():
            other = by_row.get(j)
            if other is None:
                continue
            ma, mb = float(b.mass[row]), float(b.mass[j])
            va = np.array([b.vx[row], b.vy[row]])
            vb = np.array([b.vx[j], b.vy[j]])
            impulse = ma * mb / (ma + mb) * (vb - va)
            common = (ma * va + mb * vb) / (ma + mb)
            ha = np.array([math.cos(b.yaw[row]), math.sin(b.yaw[row])])
            hb = np.array([math.cos(b.yaw[j]), math.sin(b.yaw[j])])
            b.set(row, speed=float(common @ ha))
            self._set_velocity(row)
            on_hit(j, float(common @ hb))
            px, py = closest_point_in_box(x, y, b.x[j], b.y[j], b.yaw[j], b.hl[j], b.hw[j])
            loc = carla.Location(px, py, z)
            events.append(CollisionEvent(frame, me.id, other.id, other.kind, other.type_id,
                                         carla.Vector3D(float(impulse[0]), float(impulse[1]), 0.0), loc))
            # the other body's sensor (car, NPC or walker) feels the opposite impulse
            events.append(CollisionEvent(frame, other.id, me.id, me.kind, me.type_id,
                                         carla.Vector3D(float(-impulse[0]), float(-impulse[1]), 0.0), loc))
        statics = [(STATIC_ID_BASE + p, self.props[p].kind, self.grid, p) for p in contacts.props.tolist()]
        if contacts.out_of_bounds:
            statics.append((MAP_BOUNDARY_ID, "map_boundary", None, -1))
        for other_id, kind, grid, p in statics:
            m = float(b.mass[row])
            impulse = (-m * float(b.vx[row]), -m * float(b.vy[row]))
            if grid is not None:
                px, py = closest_point_in_box(x, y, grid.x[p], grid.y[p], grid.yaw[p], grid.hl[p], grid.hw[p])
            else:
                px, py = x, y
            events.append(CollisionEvent(frame, me.id, other_id, ActorKind.STATIC, kind,
                                         carla.Vector3D(impulse[0], impulse[1], 0.0), carla.Location(px, py, z)))
        if statics:
            b.set(row, speed=0.0, vx=0.0, vy=0.0)
        return events
