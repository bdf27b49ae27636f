"""`CarlaServerWorld`: a CARLA 0.9.x server in synchronous mode behind the `World` seam.

A thin adapter: actor ids are the server's actor ids, transforms and controls are CARLA's own
types. It matches the embedded world's conventions: frames and game time count from the map
load; `apply_control` on an autopilot vehicle is ignored (the Traffic Manager drives it); only
vehicles an agent or a scenario drives carry event sensors; a walker given a target walks
straight to it (per-tick `carla.WalkerControl`), off the navigation mesh if need be. The
Traffic Manager seed is `traffic_manager_seed` (as the leaderboard); the `load_map` seed drives
our own choices (walker models, traffic spawn order, pedestrian navigation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import carla
import numpy as np

from driving.carla_backend import blueprints as bps
from driving.carla_backend.actor_state import actor_state
from driving.carla_backend.config import CarlaServerConfig, with_overrides
from driving.carla_backend.connection import ServerError, connect, load_server_world
from driving.carla_backend.conversions import parse_server_version, semantic_lut
from driving.carla_backend.events import EventSensors
from driving.carla_backend.sensors import SensorRig
from driving.carla_backend.signals import ServerSignals
from driving.carla_backend.traffic import spawn_background_traffic
from driving.carla_backend.walkers import WalkerPilots
from driving.errors import InputError, WorldError
from driving.world import ActorKind, ActorState, SensorSpec, StopSignInfo, TrafficLightInfo, World, WorldEvent
from driving.world_checks import check_control, check_location, check_seed, check_transform

#: Metres a spawn is lifted above the given point so the body does not start inside the ground.
SPAWN_LIFT_M = 0.2


@dataclass
class _Record:
    """What we know about an actor we spawned."""

    actor: Any
    kind: ActorKind
    type_id: str  # as requested ("vehicle.car" or a CARLA id)
    autopilot: bool
    spawn_transform: carla.Transform | None = None  # until the first tick after spawning


class CarlaServerWorld(World):
    """`CarlaServerWorld(host="localhost", port=2000)` connects at once; then `load_map` and go.

    Accepts a `CarlaServerConfig` and/or its fields as keyword overrides (the evaluator passes
    host, port, traffic_manager_port, traffic_manager_seed, timeout_s). InputError when no server
    answers within `timeout_s`.
    """

    def __init__(self, config: CarlaServerConfig | None = None, **overrides: Any) -> None:
        self.config = with_overrides(config, overrides)
        conn = connect(self.config)
        self._client = conn.client
        self.server_version = conn.server_version
        self._lut = semantic_lut(parse_server_version(conn.server_version))
        self._world = self._server(self._client.get_world, "get the world")
        self._original_settings = self._server(self._world.get_settings, "read the world settings")
        self._tm: Any = None
        self._map: carla.Map | None = None
        self._records: dict[int, _Record] = {}
        self._events = EventSensors()
        self._walkers = WalkerPilots()
        self._rig = SensorRig(self._lut, self.config.sensor_timeout_s, self.config.forced_sensor_attributes)
        self._xodr_text: str | None = None
        self._signals_: ServerSignals | None = None
        self._closed = False

    def _server(self, call: Any, what: str) -> Any:
        """Run a server call; a lost connection or server-side failure becomes one ServerError."""
        try:
            return call()
        except WorldError:
            raise
        except RuntimeError as exc:
            raise ServerError(f"CARLA server at {self.config.address}: could not {what} ({exc})") from None

    # ---- map -------------------------------------------------------------------------
    def load_map(self, town: str, seed: int = 0) -> carla.Map:
        check_seed(seed, "load_map")
        if self._closed:
            raise WorldError("load_map: this CarlaServerWorld is closed; create a new one")
        self._destroy_spawned()
        if self._map is not None:
            self._set_asynchronous()  # as the leaderboard does before loading the next town
        world = load_server_world(self._client, town, self.config)

        def prepare() -> None:
            settings = world.get_settings()
            settings.synchronous_mode = True
            settings.fixed_delta_seconds = self.fixed_delta_seconds
            world.apply_settings(settings)
            world.reset_all_traffic_lights()
            world.set_pedestrians_seed(int(seed))
            self._tm = self._client.get_trafficmanager(self.config.traffic_manager_port)
            self._tm.set_synchronous_mode(True)
            self._tm.set_random_device_seed(self.config.traffic_manager_seed)
            self._frame_offset = self._carla_frame = world.tick(self.config.timeout_s)
            self._elapsed_offset = world.get_snapshot().timestamp.elapsed_seconds
            self._map = world.get_map()
            self._library = world.get_blueprint_library()
            self._library_ids = {bp.id for bp in self._library}
            self._signals_ = ServerSignals(world, self._map)

        self._world = world
        self._server(prepare, f"prepare map {town!r}")
        self._elapsed = 0.0
        self._seed = int(seed)
        self._rng = np.random.default_rng([self._seed, 1])
        self._events.frame_offset = self._frame_offset
        self._xodr_text = None
        return self._map

    def _require_map(self) -> carla.Map:
        if self._map is None:
            raise WorldError("no map loaded: call load_map(town, seed) first")
        return self._map

    def get_map(self) -> carla.Map:
        return self._require_map()

    def get_spawn_points(self) -> list[carla.Transform]:
        """The map's recommended spawn points (`carla.Map.get_spawn_points`)."""
        return list(self._require_map().get_spawn_points())

    def _opendrive_text(self) -> str:
        if self._xodr_text is None:
            self._xodr_text = self._require_map().to_opendrive()
        return self._xodr_text

    # ---- actors ------------------------------------------------------------------------
    def _spawn(self, blueprint: Any, transform: carla.Transform, what: str) -> Any:
        loc, rot = transform.location, transform.rotation
        lifted = carla.Transform(
            carla.Location(loc.x, loc.y, loc.z + SPAWN_LIFT_M),
            carla.Rotation(pitch=rot.pitch, yaw=rot.yaw, roll=rot.roll),
        )
        actor = self._server(lambda: self._world.try_spawn_actor(blueprint, lifted), what)
        if actor is None:
            raise WorldError(f"{what}: spot ({loc.x:.2f}, {loc.y:.2f}) is occupied or blocked")
        return actor

    def spawn_vehicle(
        self,
        transform: carla.Transform,
        type_id: str = "vehicle.car",
        role_name: str = "hero",
        autopilot: bool = False,
        route: list[carla.Location] | None = None,
    ) -> int:
        carla_map = self._require_map()
        check_transform(transform, "spawn_vehicle")
        bp = self._library.find(bps.resolve_vehicle_blueprint(type_id, self._library_ids))
        loc = transform.location
        if carla_map.get_waypoint(loc, project_to_road=False, lane_type=carla.LaneType.Driving) is None:
            raise WorldError(f"spawn_vehicle: ({loc.x:.2f}, {loc.y:.2f}) is not on a driving lane")
        locations = [check_location(p, f"spawn_vehicle: route[{i}]") for i, p in enumerate(route or [])]
        bps.configure_vehicle(bp, str(role_name), self._rng)
        actor = self._spawn(bp, transform, "spawn_vehicle")
        self._records[actor.id] = _Record(
            actor, ActorKind.VEHICLE, type_id, bool(autopilot), spawn_transform=transform
        )
        if autopilot:
            self._server(lambda: actor.set_autopilot(True, self.config.traffic_manager_port), "set autopilot")
            if locations:
                self._server(lambda: self._tm.set_path(actor, locations), "set the autopilot path")
        if not autopilot or self.config.events_for_autopilot:
            self._server(
                lambda: self._events.attach(self._world, self._library, actor), "attach event sensors"
            )
        return actor.id

    def spawn_walker(
        self,
        transform: carla.Transform,
        type_id: str = "walker.pedestrian",
        role_name: str = "npc",
        autopilot: bool = True,
    ) -> int:
        self._require_map()
        check_transform(transform, "spawn_walker")
        bp = self._library.find(bps.resolve_walker_blueprint(type_id, self._library_ids, self._rng))
        speed = bps.configure_walker(bp, str(role_name))
        actor = self._spawn(bp, transform, "spawn_walker")
        self._records[actor.id] = _Record(actor, ActorKind.WALKER, type_id, bool(autopilot), transform)
        if autopilot:
            ai = self._library.find(bps.WALKER_CONTROLLER)
            controller = self._server(
                lambda: self._world.spawn_actor(ai, carla.Transform(), attach_to=actor),
                "spawn a walker controller",
            )
            self._walkers.add_ai(actor, controller, speed)
        return actor.id

    def spawn_traffic(self, n_vehicles: int, n_walkers: int, seed: int = 0) -> list[int]:
        carla_map = self._require_map()
        check_seed(seed, "spawn_traffic")
        return spawn_background_traffic(
            self,
            list(carla_map.get_spawn_points()),
            self._world.get_random_location_from_navigation,
            n_vehicles,
            n_walkers,
            np.random.default_rng([self._seed, int(seed), 4]),
        )

    def _actor(self, actor_id: int) -> Any:
        self._require_map()
        if isinstance(actor_id, bool) or not isinstance(actor_id, (int, np.integer)):
            raise WorldError(f"unknown actor id {actor_id!r}")
        record = self._records.get(int(actor_id))
        actor = record.actor if record is not None else self._world.get_actor(int(actor_id))
        if actor is None or bps.actor_kind(actor.type_id) not in (ActorKind.VEHICLE, ActorKind.WALKER):
            raise WorldError(f"unknown actor id {actor_id!r}")
        return actor

    def destroy_actor(self, actor_id: int) -> None:
        actor = self._actor(actor_id)
        self._events.detach(actor.id)
        self._rig.detach(actor.id)
        self._walkers.remove(actor.id)
        self._records.pop(actor.id, None)
        self._server(actor.destroy, f"destroy actor {actor_id}")

    def apply_control(self, actor_id: int, control: carla.VehicleControl) -> None:
        actor = self._actor(actor_id)
        if bps.actor_kind(actor.type_id) != ActorKind.VEHICLE:
            raise WorldError(f"apply_control: actor {actor_id} is a walker, not a vehicle")
        check_control(control)
        record = self._records.get(actor.id)
        if record is not None and record.autopilot:
            return  # the Traffic Manager drives it, as NPC drivers do in the embedded world
        copy = carla.VehicleControl(
            throttle=control.throttle,
            steer=control.steer,
            brake=control.brake,
            hand_brake=control.hand_brake,
            reverse=control.reverse,
        )
        self._server(lambda: actor.apply_control(copy), "apply a control")

    def set_target_velocity(self, actor_id: int, velocity: carla.Vector3D) -> None:
        """Set a manually driven vehicle's velocity (m/s, world), as `carla.Actor.set_target_velocity`."""
        actor = self._actor(actor_id)
        record = self._records.get(actor.id)
        if record is None or record.kind != ActorKind.VEHICLE or record.autopilot:
            raise WorldError(f"set_target_velocity: actor {actor_id} is not a manually driven vehicle")
        if not (math.isfinite(velocity.x) and math.isfinite(velocity.y) and math.isfinite(velocity.z)):
            raise InputError(
                f"set_target_velocity: velocity must be finite, got ({velocity.x}, {velocity.y})"
            )
        self._server(
            lambda: actor.set_target_velocity(carla.Vector3D(velocity.x, velocity.y, velocity.z)),
            "set a velocity",
        )

    def set_walker_target(self, actor_id: int, target: carla.Location, speed_mps: float) -> None:
        actor = self._actor(actor_id)
        if bps.actor_kind(actor.type_id) != ActorKind.WALKER:
            raise WorldError(f"set_walker_target: actor {actor_id} is a vehicle, not a walker")
        goal = check_location(target, "set_walker_target: target")
        if (
            not isinstance(speed_mps, (int, float))
            or not math.isfinite(speed_mps)
            or not 0.0 < speed_mps <= 10.0
        ):
            raise InputError(f"set_walker_target: speed_mps must be in (0, 10] m/s, got {speed_mps!r}")
        record = self._records.setdefault(actor.id, _Record(actor, ActorKind.WALKER, actor.type_id, False))
        record.autopilot = False
        self._walkers.set_target(actor, goal, float(speed_mps))

    # ---- time --------------------------------------------------------------------------
    def _location(self, actor: Any) -> carla.Location:
        record = self._records.get(actor.id)
        if record is not None and record.spawn_transform is not None:  # not simulated yet
            return record.spawn_transform.location
        return actor.get_location()

    def tick(self) -> int:
        carla_map = self._require_map()
        self._server(lambda: self._walkers.before_tick(self._location), "steer walkers")
        self._carla_frame = self._server(lambda: self._world.tick(self.config.timeout_s), "tick")
        self._elapsed = self._world.get_snapshot().timestamp.elapsed_seconds - self._elapsed_offset
        for record in self._records.values():
            record.spawn_transform = None
        self._server(
            lambda: self._walkers.after_tick(self._world.get_random_location_from_navigation),
            "start walker controllers",
        )
        frame = self.frame
        for actor_id in self._events.tracked_ids:
            record = self._records.get(actor_id)
            if record is not None:
                self._events.update_off_road(frame, actor_id, record.actor.get_location(), carla_map)
        return frame

    @property
    def frame(self) -> int:
        self._require_map()
        return self._carla_frame - self._frame_offset

    @property
    def elapsed_seconds(self) -> float:
        self._require_map()
        return self._elapsed

    # ---- reads -------------------------------------------------------------------------
    def _state(self, actor: Any) -> ActorState:
        record = self._records.get(actor.id)
        if record is None:
            return actor_state(actor)
        return actor_state(actor, record.type_id, record.spawn_transform)

    def get_actor_state(self, actor_id: int) -> ActorState:
        return self._server(lambda: self._state(self._actor(actor_id)), f"read actor {actor_id}")

    def get_actor_states(self) -> list[ActorState]:
        self._require_map()

        def read() -> list[ActorState]:
            actors = self._world.get_actors()
            return [self._state(a) for pattern in ("vehicle.*", "walker.*") for a in actors.filter(pattern)]

        return self._server(read, "read actor states")

    def _signals(self) -> ServerSignals:
        self._require_map()
        return self._signals_

    def get_traffic_lights(self) -> list[TrafficLightInfo]:
        return self._server(self._signals().traffic_lights, "read traffic lights")

    def get_traffic_light_state(self, light_id: int) -> carla.TrafficLightState:
        return self._server(self._signals().light(light_id).get_state, "read a traffic light")

    def set_traffic_light_state(
        self, light_id: int, state: carla.TrafficLightState, freeze: bool = False
    ) -> None:
        signals = self._signals()
        self._server(lambda: signals.set_state(light_id, state, freeze), "set a traffic light")

    def light_states(self) -> dict[int, carla.TrafficLightState]:
        """Every light's state (id -> carla.TrafficLightState)."""
        return self._server(self._signals().states, "read traffic lights")

    def get_stop_signs(self) -> list[StopSignInfo]:
        return self._server(self._signals().stop_signs, "read stop signs")

    def pop_events(self) -> list[WorldEvent]:
        self._require_map()
        return self._events.pop()

    # ---- sensors and weather ------------------------------------------------------------
    def attach_sensor(self, spec: SensorSpec, parent_id: int) -> None:
        parent = self._actor(parent_id)
        self._server(
            lambda: self._rig.attach(
                self._world, self._library, spec, parent, self.fixed_delta_seconds, self._carla_frame
            ),
            f"attach sensor {spec.id!r}",
        )

    def read_sensors(self) -> dict[str, tuple[int, Any]]:
        self._require_map()
        states = {}
        for parent_id in self._rig.parent_ids:
            actor = self._world.get_actor(parent_id)
            if actor is not None and actor.is_alive:
                states[parent_id] = self._state(actor)
        return self._rig.read(self._carla_frame, self._frame_offset, states, self._opendrive_text)

    def set_weather(self, weather: carla.WeatherParameters) -> None:
        if not isinstance(weather, carla.WeatherParameters):
            raise InputError(f"set_weather: expected a carla.WeatherParameters, got {type(weather).__name__}")
        self._server(lambda: self._world.set_weather(weather), "set the weather")

    def get_weather(self) -> carla.WeatherParameters:
        return self._server(self._world.get_weather, "read the weather")

    def start_recorder(self, path: str) -> None:
        """Record the simulation into a CARLA log at `path` on the server's host (`--record`)."""
        self._require_map()
        self._server(lambda: self._client.start_recorder(str(path)), "start the recorder")

    def stop_recorder(self) -> None:
        """Stop the server's recorder (the server ignores it when none is running)."""
        self._server(self._client.stop_recorder, "stop the recorder")

    # ---- teardown ------------------------------------------------------------------------
    def _destroy_spawned(self) -> None:
        """Destroy every sensor, controller and actor we spawned (sensors first)."""
        self._rig.clear()
        self._events.clear()
        self._walkers.clear()
        ids = [r.actor.id for r in self._records.values()]
        self._records = {}
        if ids:
            try:
                self._client.apply_batch_sync([carla.command.DestroyActor(i) for i in ids])
            except RuntimeError:
                pass  # the server is gone: nothing left to destroy

    def close(self) -> None:
        """Destroy what we spawned and give the server back in asynchronous mode; safe to repeat."""
        if self._closed:
            return
        self._closed = True
        self._destroy_spawned()
        self._set_asynchronous()
        self._map = None

    def _set_asynchronous(self) -> None:
        """Give the server back its free-running clock (and the Traffic Manager its own)."""
        try:
            settings = self._world.get_settings()
            settings.synchronous_mode = False
            settings.fixed_delta_seconds = self._original_settings.fixed_delta_seconds
            self._world.apply_settings(settings)
            if self._tm is not None:
                self._tm.set_synchronous_mode(False)
        except RuntimeError:
            pass  # the server is gone; it has no settings left to restore
