"""The embedded CPU simulator behind the `World` seam.

Roads are a real `carla.Map` (OpenDRIVE); signals, props and sidewalks come from
`signals.find_signals` and `layout.build_layout`; bodies live in one numpy table
(`world_bodies.Bodies`). A tick (0.05 s) runs, in order: NPC drivers (`traffic`), pedestrians,
manually driven vehicles with swept collisions (`manual_vehicles`), contacts among the other
bodies (`actor_contacts`), lane/off-road events (`events`), then traffic lights
(`traffic_lights`, a function of game time). Everything random
draws from generators seeded by the map seed, so a seed reproduces a run bit for bit.

Heights: every body's z is the surface under it (manual vehicles: the lane nearest in 3-D,
`vehicle_dynamics.RoadSurface`; NPCs: their lane's z from the lane graph; walkers: their
sidewalk path) and vehicles pitch with the road, so bridges and the roads under them are two
levels that never touch (collisions, lane checks and sensors all use z).

Conventions: `apply_control` on an autopilot vehicle is stored but ignored (its driver
drives, as with CARLA's traffic manager). Collision events are produced for every actor, as a
collision sensor on each would report them: a manual vehicle's contacts every frame they last,
on both bodies (`manual_vehicles`); contacts between two other bodies (NPCs, walkers) once when
they start, on both (`actor_contacts`; NPCs and walkers do not react to them). Lane-invasion and
off-road events are produced for vehicles not on autopilot (those an agent or scenario drives),
as CARLA produces them only for actors with the sensors attached.
"""
from __future__ import annotations

import math
from typing import Any

import carla
import numpy as np

from driving.errors import InputError, WorldError
from driving.sim import blueprints
from driving.sim.actor_contacts import ActorContacts
from driving.sim.collisions import box_contacts, build_static_grid
from driving.sim.events import LaneEventTracker
from driving.sim.lane_chains import join_lane_sections
from driving.sim.lane_graph import build_lane_graph
from driving.sim.layout_surfaces import SIDEWALK_HEIGHT_M
from driving.sim.manual_vehicles import ManualVehicles
from driving.sim.pedestrians import Pedestrians
from driving.sim.traffic import IdmParams, TrafficDrivers
from driving.sim.traffic_lights import LightTiming, TrafficLightCycler
from driving.sim.vehicle_dynamics import RoadSurface, lane_pitch, slope_along
from driving.sim.world_bodies import ActorRecord, Bodies, actor_state, actor_states
from driving.sim.world_config import EmbeddedWorldConfig
from driving.sim.world_setup import (
    route_segments,
    segment_speed_limits,
    signal_stops,
    spawn_points,
    traffic_drivers_for,
)
from driving.world import (
    ActorKind,
    ActorState,
    SensorSpec,
    StopSignInfo,
    TrafficLightInfo,
    World,
    WorldEvent,
)
from driving.world_checks import check_control, check_seed, check_transform

#: Props whose bottom is this far (metres) above the highest road under the map cannot touch a
#: vehicle (lamp heads, crowns); every other prop is tested with its height range, so a pole on
#: a bridge deck is hit by cars on the deck and not by cars below.
PROP_REACH_M = 2.0


class EmbeddedWorld(World):
    """Deterministic CPU world: `EmbeddedWorld().load_map("town_grid", seed=0)` then spawn and tick."""

    def __init__(self, config: EmbeddedWorldConfig | None = None):
        self.config = config or EmbeddedWorldConfig()
        self.loaded_map = None
        self.layout = None
        self.signals = None
        self._sensors = None
        self._weather = carla.WeatherParameters.ClearNoon

    # ---- map -------------------------------------------------------------------------
    def load_map(self, town: str, seed: int = 0) -> carla.Map:
        from driving.sim.layout import build_layout
        from driving.sim.maps import load_map
        from driving.sim.signals import find_signals

        check_seed(seed, "load_map")
        self.close()
        cfg = self.config
        self.loaded_map = load_map(town)
        carla_map = self.loaded_map.carla_map
        self.signals = find_signals(carla_map)
        self.layout = build_layout(carla_map, self.loaded_map.name, int(seed), self.signals)
        self._seed = int(seed)
        self._rng = np.random.default_rng([self._seed, 1])
        self.graph = join_lane_sections(build_lane_graph(carla_map,
                                                         max_lateral_accel_mps2=cfg.npc_max_lateral_accel_mps2))
        top_road_z = float(self.graph.z.max()) if len(self.graph.z) else 0.0
        self._props = [o for o in self.layout.solid_objects()
                       if o.center[2] - o.half_extent[2] < top_road_z + PROP_REACH_M]
        arr = np.array([[o.center[0], o.center[1], math.radians(o.yaw_deg), o.half_extent[0],
                         o.half_extent[1], o.center[2] - o.half_extent[2], o.center[2] + o.half_extent[2]]
                        for o in self._props]).reshape(-1, 7)
        self._bounds = tuple(float(v) for v in self.layout.bounds)
        self._grid = build_static_grid(*arr[:, :5].T, self._bounds, z0=arr[:, 5], z1=arr[:, 6])
        self._bodies = Bodies()
        self._actors: dict[int, ActorRecord] = {}
        self._by_row: dict[int, ActorRecord] = {}
        self._next_id = 1
        self._frame = 0
        self._elapsed = 0.0
        self._events: list[WorldEvent] = []
        self._states: dict[int, ActorState] = {}  # built on read, dropped by anything that moves bodies
        self._spawn_points: list[carla.Transform] | None = None
        idm = IdmParams(time_headway_s=cfg.npc_time_headway_s, min_gap_m=cfg.npc_min_gap_m,
                        comfortable_decel_mps2=cfg.npc_comfortable_decel_mps2)
        stops = signal_stops(self.graph, carla_map, self.signals)
        limits = segment_speed_limits(self.graph, self.loaded_map.xodr_text, cfg.npc_speed_limit_mps)
        self._traffic: TrafficDrivers = traffic_drivers_for(self.graph, stops, limits, idm,
                                                            np.random.default_rng([self._seed, 2]))
        self._walkers = Pedestrians(self.layout.sidewalk_paths, self.layout.crosswalks,
                                    np.random.default_rng([self._seed, 3]), cfg.walker_cross_probability,
                                    self.layout.sidewalk_path_z)
        self._manual = ManualVehicles(self._bodies, self._grid, self._props, self._bounds,
                                      RoadSurface(carla_map))
        self._lights = TrafficLightCycler(list(self.signals.traffic_lights), self._seed,
                                          LightTiming(cfg.green_s, cfg.yellow_s, cfg.all_red_s))
        self._lane_events = LaneEventTracker(carla_map, self.layout.drivable)
        self._contacts = ActorContacts()
        return carla_map

    def _require_map(self) -> None:
        if self.loaded_map is None:
            raise WorldError("no map loaded: call load_map(town, seed) first")

    def get_map(self) -> carla.Map:
        self._require_map()
        return self.loaded_map.carla_map

    def get_spawn_points(self) -> list[carla.Transform]:
        """Lane-centre transforms every ~12 m on driving lanes outside junctions (deterministic)."""
        self._require_map()
        if self._spawn_points is None:
            self._spawn_points = spawn_points(self.graph)
        return list(self._spawn_points)

    # ---- actors ------------------------------------------------------------------------
    def _new_actor(self, kind: ActorKind, type_id: str, role_name: str, color: tuple[int, int, int],
                   autopilot: bool, **row_values: Any) -> ActorRecord:
        self._states.clear()
        row = self._bodies.allocate()
        self._bodies.set(row, active=True, **row_values)
        record = ActorRecord(self._next_id, row, kind, type_id, role_name, color, autopilot)
        self._next_id += 1
        self._actors[record.id] = record
        self._by_row[row] = record
        return record

    def _occupied(self, x: float, y: float, yaw: float, hl: float, hw: float, z: float,
                  hh: float) -> str | None:
        hit = box_contacts((x, y, yaw, hl, hw, z, z + 2.0 * hh), -1, self._bodies.collision_view(), self._grid,
                           self._bounds, first_only=True)
        if len(hit.bodies):
            return f"actor {self._by_row[int(hit.bodies[0])].id}"
        if len(hit.props):
            return f"a {self._props[int(hit.props[0])].kind} prop"
        return "the map boundary" if hit.out_of_bounds else None

    def spawn_vehicle(self, transform: carla.Transform, type_id: str = "vehicle.car",
                      role_name: str = "hero", autopilot: bool = False,
                      route: list[carla.Location] | None = None) -> int:
        self._require_map()
        check_transform(transform, "spawn_vehicle")
        vt = blueprints.vehicle_type(type_id)
        loc = transform.location
        wp = self.loaded_map.carla_map.get_waypoint(loc, project_to_road=False, lane_type=carla.LaneType.Driving)
        if wp is None:
            raise WorldError(f"spawn_vehicle: ({loc.x:.2f}, {loc.y:.2f}) is not on a driving lane")
        yaw = math.radians(transform.rotation.yaw)
        x, y = loc.x, loc.y
        z = wp.transform.location.z
        planned = None
        if autopilot:
            seg, s = self.graph.locate(wp, x, y)
            px, py, pyaw, pz = self.graph.pose(np.array([seg]), np.array([s]))
            x, y, yaw, z = float(px[0]), float(py[0]), float(pyaw[0]), float(pz[0])
            planned = route_segments(self.graph, self.loaded_map.carla_map, seg, route or [])
        hl, hw, hh = vt.extent_m
        blocker = self._occupied(x, y, yaw, hl, hw, z, hh)
        if blocker is not None:
            raise WorldError(f"spawn_vehicle: spot ({x:.2f}, {y:.2f}) overlaps {blocker}")
        color = blueprints.pick_color(self._rng)
        rec = self._new_actor(
            ActorKind.VEHICLE, vt.type_id if type_id in blueprints.VEHICLE_TYPES else type_id, role_name,
            color, autopilot, x=x, y=y, z=z, yaw=yaw, pitch=slope_along(wp, yaw), hl=hl, hw=hw, hh=hh,
            mass=vt.mass_kg, vehicle=True, npc=autopilot, wheelbase=vt.wheelbase_m,
            max_steer=math.radians(vt.max_steer_deg), steer_rate=math.radians(vt.steer_rate_dps),
            max_accel=vt.max_accel_mps2, max_brake=vt.max_brake_mps2, top_speed=vt.top_speed_mps,
            reverse_top_speed=vt.reverse_top_speed_mps)
        if autopilot:
            factor = float(self._rng.uniform(self.config.npc_speed_min_fraction, 1.0))
            self._traffic.add(rec.row, seg, s, factor, vt.top_speed_mps, 0.6 * vt.max_accel_mps2, hl, hw, planned)
        else:
            self._manual.add(rec.row)
        return rec.id

    def spawn_walker(self, transform: carla.Transform, type_id: str = "walker.pedestrian",
                     role_name: str = "npc", autopilot: bool = True) -> int:
        self._require_map()
        check_transform(transform, "spawn_walker")
        wt = blueprints.walker_type(type_id)
        loc = transform.location
        hl, hw, hh = wt.extent_m
        yaw = math.radians(transform.rotation.yaw)
        blocker = self._occupied(loc.x, loc.y, yaw, hl, hw, loc.z, hh)
        if blocker is not None:
            raise WorldError(f"spawn_walker: spot ({loc.x:.2f}, {loc.y:.2f}) overlaps {blocker}")
        cfg = self.config
        speed = float(self._rng.uniform(cfg.walker_speed_min_mps, cfg.walker_speed_max_mps))
        rec = self._new_actor(ActorKind.WALKER, type_id, role_name, (200, 160, 120), autopilot,
                              x=loc.x, y=loc.y, z=loc.z, yaw=yaw, hl=hl, hw=hw, hh=hh, mass=wt.mass_kg)
        self._walkers.add(rec.row, loc.x, loc.y, speed, autopilot, loc.z)
        on_path = self._walkers.position(rec.row)
        if on_path is not None:  # an autopilot walker stands on its path from the first frame
            self._bodies.set(rec.row, x=on_path[0], y=on_path[1], z=loc.z if on_path[2] is None else on_path[2])
        return rec.id

    def spawn_traffic(self, n_vehicles: int, n_walkers: int, seed: int = 0) -> list[int]:
        self._require_map()
        for name, value in (("n_vehicles", n_vehicles), ("n_walkers", n_walkers)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise InputError(f"spawn_traffic: {name} must be an integer >= 0, got {value!r}")
        check_seed(seed, "spawn_traffic")
        rng = np.random.default_rng([self._seed, int(seed), 4])
        ids: list[int] = []
        points = self.get_spawn_points()
        for k in rng.permutation(len(points)):
            if sum(self._actors[i].kind == ActorKind.VEHICLE for i in ids) >= n_vehicles:
                break
            try:
                ids.append(self.spawn_vehicle(points[int(k)], blueprints.pick_traffic_type(rng), "npc", True))
            except WorldError:
                continue
        paths, heights = self.layout.sidewalk_paths, self.layout.sidewalk_path_z
        walker_pts = np.concatenate(paths) if paths else np.zeros((0, 2))
        walker_z = (np.concatenate(heights) if heights and len(heights) == len(paths)
                    else np.full(len(walker_pts), SIDEWALK_HEIGHT_M))
        placed, attempts = 0, 0
        while placed < n_walkers and attempts < 20 * max(n_walkers, 1) and len(walker_pts):
            attempts += 1
            k = int(rng.integers(len(walker_pts)))
            x, y, z = walker_pts[k, 0], walker_pts[k, 1], walker_z[k]
            try:
                ids.append(self.spawn_walker(carla.Transform(carla.Location(float(x), float(y), float(z)))))
                placed += 1
            except WorldError:
                continue
        return ids

    def _record(self, actor_id: int) -> ActorRecord:
        self._require_map()
        try:
            return self._actors[actor_id]
        except (KeyError, TypeError):
            raise WorldError(f"unknown actor id {actor_id!r}") from None

    def destroy_actor(self, actor_id: int) -> None:
        rec = self._record(actor_id)
        self._states.clear()
        self._traffic.remove(rec.row)
        self._walkers.remove(rec.row)
        self._manual.remove(rec.row)
        self._contacts.forget(rec.row)
        self._lane_events.forget(actor_id)
        if self._sensors is not None:
            self._sensors.detach(actor_id)
        self._bodies.release(rec.row)
        del self._actors[actor_id]
        del self._by_row[rec.row]

    def apply_control(self, actor_id: int, control: carla.VehicleControl) -> None:
        rec = self._record(actor_id)
        if rec.kind != ActorKind.VEHICLE:
            raise WorldError(f"apply_control: actor {actor_id} is a {rec.kind.value}, not a vehicle")
        check_control(control, "apply_control")
        self._states.pop(actor_id, None)
        rec.control = carla.VehicleControl(throttle=control.throttle, steer=control.steer, brake=control.brake,
                                           hand_brake=control.hand_brake, reverse=control.reverse)
        self._bodies.set(rec.row, throttle=control.throttle, steer=control.steer, brake=control.brake,
                         hand_brake=bool(control.hand_brake), reverse=bool(control.reverse))

    def set_target_velocity(self, actor_id: int, velocity: carla.Vector3D) -> None:
        """Set a manual vehicle's speed to the component of `velocity` (m/s) along its heading.

        As `carla.Actor.set_target_velocity`: scenarios start actors at speed with it.
        """
        rec = self._record(actor_id)
        if rec.kind != ActorKind.VEHICLE or rec.autopilot:
            raise WorldError(f"set_target_velocity: actor {actor_id} is not a manually driven vehicle")
        if not (math.isfinite(velocity.x) and math.isfinite(velocity.y)):
            raise InputError(f"set_target_velocity: velocity must be finite, got ({velocity.x}, {velocity.y})")
        self._states.clear()
        yaw = float(self._bodies.yaw[rec.row])
        speed = velocity.x * math.cos(yaw) + velocity.y * math.sin(yaw)
        self._bodies.set(rec.row, speed=speed, vx=speed * math.cos(yaw), vy=speed * math.sin(yaw))

    def set_walker_target(self, actor_id: int, target: carla.Location, speed_mps: float) -> None:
        rec = self._record(actor_id)
        if rec.kind != ActorKind.WALKER:
            raise WorldError(f"set_walker_target: actor {actor_id} is a {rec.kind.value}, not a walker")
        if not (math.isfinite(target.x) and math.isfinite(target.y)):
            raise InputError(f"set_walker_target: target must be finite, got ({target.x}, {target.y})")
        if not math.isfinite(speed_mps) or not 0.0 < speed_mps <= 10.0:
            raise InputError(f"set_walker_target: speed_mps must be in (0, 10] m/s, got {speed_mps!r}")
        rec.autopilot = False
        self._walkers.set_target(rec.row, target.x, target.y, speed_mps)

    # ---- time --------------------------------------------------------------------------
    def tick(self) -> int:
        self._require_map()
        dt = self.fixed_delta_seconds
        self._states.clear()
        b = self._bodies
        t = self._traffic
        if len(t):
            old_yaw = b.yaw[t.rows]
            old_x, old_y, old_z = b.x[t.rows], b.y[t.rows], b.z[t.rows]
            t.step(b.kernel_view(), self._lights.states, dt)
            x, y, yaw, z = t.poses()
            b.pitch[t.rows] = lane_pitch(x - old_x, y - old_y, z - old_z, b.pitch[t.rows])
            b.x[t.rows], b.y[t.rows], b.yaw[t.rows], b.z[t.rows] = x, y, yaw, z
            b.speed[t.rows], b.vx[t.rows], b.vy[t.rows] = t.v, t.v * np.cos(yaw), t.v * np.sin(yaw)
            b.yaw_rate[t.rows] = ((yaw - old_yaw + np.pi) % (2 * np.pi) - np.pi) / dt
        w = self._walkers
        if len(w.rows):
            veh = b.vehicle & b.active
            nx, ny, nyaw, vx, vy = w.step(b.x[w.rows], b.y[w.rows], np.stack([b.x[veh], b.y[veh]], 1),
                                          np.abs(b.speed[veh]), dt, b.yaw[veh], np.stack([b.hl[veh], b.hw[veh]], 1))
            b.z[w.rows] = w.heights(b.z[w.rows])
            moving = (vx != 0.0) | (vy != 0.0)
            b.yaw[w.rows] = np.where(moving, nyaw, b.yaw[w.rows])
            b.x[w.rows], b.y[w.rows], b.vx[w.rows], b.vy[w.rows] = nx, ny, vx, vy
            b.speed[w.rows] = np.hypot(vx, vy)
        self._frame += 1
        self._elapsed = self._frame * dt
        self._events.extend(self._manual.step(dt, self._frame, self._by_row, self._on_hit))
        self._events.extend(self._contacts.step(b, self._manual.rows, self._frame, self._by_row))
        for row in self._manual.rows:
            rec = self._by_row[row]
            self._events.extend(self._lane_events.update(self._frame, rec.id, float(b.x[row]), float(b.y[row]),
                                                         float(b.z[row]), float(b.yaw[row]),
                                                         float(b.hl[row]), float(b.hw[row])))
        self._lights.update(self._elapsed)
        return self._frame

    def _on_hit(self, row: int, speed_mps: float) -> None:
        # Another body was hit by a manual vehicle: NPCs slow to the common speed, walkers stop.
        i = self._traffic.index_of(row)
        if i >= 0:
            self._traffic.v[i] = max(0.0, speed_mps)
        elif self._walkers.index_of(row) >= 0:
            self._walkers.stop(row)
        else:
            self._bodies.set(row, speed=speed_mps)

    @property
    def frame(self) -> int:
        self._require_map()
        return self._frame

    @property
    def elapsed_seconds(self) -> float:
        self._require_map()
        return self._elapsed

    # ---- reads -------------------------------------------------------------------------
    def get_actor_state(self, actor_id: int) -> ActorState:
        rec = self._record(actor_id)
        state = self._states.get(actor_id)
        if state is None:
            i = self._traffic.index_of(rec.row) if rec.autopilot else -1
            accel = float(self._traffic.accel[i]) if i >= 0 else 0.0
            state = self._states[actor_id] = actor_state(self._bodies, rec, accel)
        return state

    def get_actor_states(self) -> list[ActorState]:
        self._require_map()
        missing = [rec for i, rec in self._actors.items() if i not in self._states]
        if missing:
            t = self._traffic
            accel = dict(zip(t.rows.tolist(), t.accel.tolist())) if len(t) else {}
            for rec, state in zip(missing, actor_states(self._bodies, missing, accel)):
                self._states[rec.id] = state
        return [self._states[i] for i in self._actors]

    def get_traffic_lights(self) -> list[TrafficLightInfo]:
        self._require_map()
        return list(self.signals.traffic_lights)

    def get_traffic_light_state(self, light_id: int) -> carla.TrafficLightState:
        self._require_map()
        return self._lights.get_state(light_id)

    def set_traffic_light_state(self, light_id: int, state: carla.TrafficLightState,
                                freeze: bool = False) -> None:
        self._require_map()
        self._lights.set_state(light_id, state, freeze, self._elapsed)

    def get_stop_signs(self) -> list[StopSignInfo]:
        self._require_map()
        return list(self.signals.stop_signs)

    def pop_events(self) -> list[WorldEvent]:
        self._require_map()
        events, self._events = self._events, []
        return events

    # ---- sensors and weather ------------------------------------------------------------
    def attach_sensor(self, spec: SensorSpec, parent_id: int) -> None:
        self._record(parent_id)
        if self._sensors is None:
            from driving.sim.sensors import SensorSuite

            self._sensors = SensorSuite(self.loaded_map, self.layout, self.signals, self._seed)
        self._sensors.attach(spec, parent_id)

    def read_sensors(self) -> dict[str, tuple[int, Any]]:
        self._require_map()
        if self._sensors is None:
            return {}
        if self._sensors.needs_scene(self._elapsed):
            actors = {a.id: a for a in self.get_actor_states()}
        else:  # only the parents' own sensors read this frame
            actors = {i: self.get_actor_state(i) for i in self._sensors.parent_ids() if i in self._actors}
        return self._sensors.read(self._frame, self._elapsed, actors, self._lights.carla_states(), self._weather)

    def set_weather(self, weather: carla.WeatherParameters) -> None:
        if not isinstance(weather, carla.WeatherParameters):
            raise InputError(f"set_weather: expected a carla.WeatherParameters, got {type(weather).__name__}")
        self._weather = weather

    def get_weather(self) -> carla.WeatherParameters:
        return self._weather

    def start_recorder(self, path: str) -> None:
        raise NotImplementedError(f"start_recorder({path!r}): the embedded backend has no recorder; "
                                  f"record with --backend carla")

    def stop_recorder(self) -> None:
        """Nothing to stop: a recording can never have started."""

    def light_states(self) -> dict[int, carla.TrafficLightState]:
        """Every light's state (id -> carla.TrafficLightState), e.g. for `preview.render_preview`."""
        self._require_map()
        return self._lights.carla_states()

    def close(self) -> None:
        if self._sensors is not None:
            self._sensors.close()
            self._sensors = None
