"""The World seam: everything above it (agents, evaluator, collector, scenarios) talks to a World.

Two backends implement it: the embedded CPU simulator (`driving.sim.embedded_world`) and, later,
a real CARLA server in synchronous mode (`driving.carla_backend`). Its vocabulary is CARLA's
own client types (`carla.Transform`, `carla.Location`, `carla.Rotation` in degrees,
`carla.VehicleControl`, `carla.Waypoint`, `carla.TrafficLightState`) so that the CARLA backend
is a thin adapter and code above the seam cannot tell which backend runs.

Coordinates are CARLA world coordinates: x forward/east, y right (OpenDRIVE y negated), z up,
metres; angles in `carla.Rotation` are degrees. Time advances only in `tick()`, by
`fixed_delta_seconds` (default 0.05 s = 20 Hz).
"""
from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

import carla

from driving.tags import Tag

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is 3.11+; annotation only

FIXED_DELTA_SECONDS = 0.05


class ActorKind(str, enum.Enum):
    """What an actor is; collision events and criteria tell these apart."""

    VEHICLE = "vehicle"
    WALKER = "walker"
    STATIC = "static"  # a prop of the static layout (building, pole, fence, ...)
    TRAFFIC_LIGHT = "traffic_light"
    SENSOR = "sensor"


@dataclass(frozen=True)
class ActorState:
    """A read-only snapshot of one actor after a tick.

    `extent` is the bounding box half-size in metres (as `carla.BoundingBox.extent`), centred on
    `transform.location` raised by `extent.z` (the box sits on the ground). `velocity` is world
    frame m/s; `angular_velocity` is deg/s around z. `speed_mps` is the forward speed, signed
    (negative when reversing).
    """

    id: int
    kind: ActorKind
    type_id: str  # blueprint-like id, e.g. "vehicle.car", "vehicle.truck", "walker.pedestrian"
    role_name: str  # "hero" for the ego vehicle, "npc", "scenario", ...
    transform: carla.Transform
    velocity: carla.Vector3D
    angular_velocity_dps: float
    speed_mps: float
    extent: carla.Vector3D
    tag: Tag
    color_rgb: tuple[int, int, int] = (128, 128, 128)
    control: carla.VehicleControl | None = None


@dataclass(frozen=True)
class TrafficLightInfo:
    """A traffic light (one signal head) and the lanes it governs.

    `stop_waypoints` are the lane points where a vehicle must stop (one per governed lane), as
    `carla.TrafficLight.get_stop_waypoints()`; `trigger_location`/`trigger_extent` is the
    trigger volume in world coordinates (as `carla.TrafficLight.trigger_volume`, half sizes).
    `group_id` collects the lights of one junction that cycle together (`get_group_traffic_lights`).
    """

    id: int
    transform: carla.Transform
    group_id: int
    stop_waypoints: tuple[carla.Waypoint, ...]
    trigger_location: carla.Location
    trigger_extent: carla.Vector3D
    opendrive_id: str = ""


@dataclass(frozen=True)
class StopSignInfo:
    """A stop sign and the lanes it governs; `stop_waypoints` as for traffic lights."""

    id: int
    transform: carla.Transform
    stop_waypoints: tuple[carla.Waypoint, ...]
    trigger_location: carla.Location
    trigger_extent: carla.Vector3D


@dataclass(frozen=True)
class CollisionEvent:
    """`actor_id` hit `other_id` during `frame`. `impulse` is N*s in the world frame.

    `other_kind` tells vehicle, walker or static layout (as the official criteria need);
    `other_type_id` is the blueprint-like id or the static prop kind ("building", "pole", ...).
    """

    frame: int
    actor_id: int
    other_id: int
    other_kind: ActorKind
    other_type_id: str
    impulse: carla.Vector3D
    location: carla.Location


@dataclass(frozen=True)
class LaneInvasionEvent:
    """`actor_id` crossed lane markings during `frame` (as `carla.LaneInvasionEvent`)."""

    frame: int
    actor_id: int
    crossed_lane_markings: tuple[carla.LaneMarkingType, ...]
    location: carla.Location


@dataclass(frozen=True)
class OffRoadEvent:
    """`actor_id`'s centre left every driving lane during `frame` (onto sidewalk or terrain)."""

    frame: int
    actor_id: int
    location: carla.Location


WorldEvent = Union[CollisionEvent, LaneInvasionEvent, OffRoadEvent]


@dataclass(frozen=True)
class SensorSpec:
    """One sensor as an agent declares it in `sensors()` (the CARLA/leaderboard spec dict).

    Positions in metres and angles in degrees, relative to the parent vehicle. `attributes`
    holds everything else the spec gave (range, channels, noise settings, ...).
    """

    type: str
    id: str
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    roll: float = 0.0
    pitch: float = 0.0
    yaw: float = 0.0
    width: int = 800
    height: int = 600
    fov: float = 90.0
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> SensorSpec:
        known = {"type", "id", "x", "y", "z", "roll", "pitch", "yaw", "width", "height", "fov"}
        missing = [k for k in ("type", "id") if k not in spec]
        if missing:
            raise ValueError(f"sensor spec {spec!r}: missing {missing}")
        kwargs = {k: spec[k] for k in known if k in spec}
        for k in ("width", "height"):
            if k in kwargs:
                kwargs[k] = int(kwargs[k])
        for k in ("x", "y", "z", "roll", "pitch", "yaw", "fov"):
            if k in kwargs:
                kwargs[k] = float(kwargs[k])
        extra = {k: v for k, v in spec.items() if k not in known}
        return cls(attributes=extra, **kwargs)


class World(ABC):
    """A simulated world behind one interface (embedded simulator or CARLA server).

    Lifecycle: `load_map` -> spawn actors / attach sensors -> loop {`apply_control`, `tick`,
    read states, sensors and events} -> `close`. All reads reflect the state after the last tick.
    """

    # ---- map -------------------------------------------------------------------------
    @abstractmethod
    def load_map(self, town: str, seed: int = 0) -> carla.Map:
        """Load a bundled map by name or an OpenDRIVE file by path; resets all actors."""

    @abstractmethod
    def get_map(self) -> carla.Map:
        """The current road network (a real `carla.Map`)."""

    # ---- actors ------------------------------------------------------------------------
    @abstractmethod
    def spawn_vehicle(self, transform: carla.Transform, type_id: str = "vehicle.car",
                      role_name: str = "hero", autopilot: bool = False,
                      route: list[carla.Location] | None = None) -> int:
        """Spawn a vehicle; raise WorldError if the spot is off-road or occupied.

        `autopilot=True` hands it to the backend's traffic driver (IDM + lights in the embedded
        simulator, the Traffic Manager on a server), optionally along `route`.
        """

    @abstractmethod
    def spawn_walker(self, transform: carla.Transform, type_id: str = "walker.pedestrian",
                     role_name: str = "npc", autopilot: bool = True) -> int:
        """Spawn a pedestrian; with `autopilot` it walks sidewalks and crosses at crosswalks."""

    @abstractmethod
    def spawn_traffic(self, n_vehicles: int, n_walkers: int, seed: int = 0) -> list[int]:
        """Populate the map with autopilot background traffic; returns the new actor ids."""

    @abstractmethod
    def destroy_actor(self, actor_id: int) -> None:
        """Remove an actor (and its sensors)."""

    @abstractmethod
    def apply_control(self, actor_id: int, control: carla.VehicleControl) -> None:
        """Control used by the next tick; raises InputError on NaN or out-of-range values."""

    @abstractmethod
    def set_target_velocity(self, actor_id: int, velocity: carla.Vector3D) -> None:
        """Set an actor's velocity (m/s, world frame) at once, as `carla.Actor.set_target_velocity`;
        scenarios use it to start actors at speed."""

    @abstractmethod
    def get_spawn_points(self) -> list[carla.Transform]:
        """Lane-centre spawn transforms on driving lanes (the map's own, or derived from lanes)."""

    @abstractmethod
    def set_walker_target(self, actor_id: int, target: carla.Location, speed_mps: float) -> None:
        """Make a walker head straight for `target` (a scenario can make one cross anywhere)."""

    # ---- time --------------------------------------------------------------------------
    @abstractmethod
    def tick(self) -> int:
        """Advance by `fixed_delta_seconds`; returns the new frame number."""

    @property
    @abstractmethod
    def frame(self) -> int:
        """Frames ticked since the map was loaded."""

    @property
    @abstractmethod
    def elapsed_seconds(self) -> float:
        """Game time in seconds since the map was loaded."""

    @property
    def fixed_delta_seconds(self) -> float:
        return FIXED_DELTA_SECONDS

    # ---- reads -------------------------------------------------------------------------
    @abstractmethod
    def get_actor_state(self, actor_id: int) -> ActorState:
        """State of one actor; raises WorldError for an unknown id."""

    @abstractmethod
    def get_actor_states(self) -> list[ActorState]:
        """States of every vehicle and walker."""

    @abstractmethod
    def get_traffic_lights(self) -> list[TrafficLightInfo]:
        """Every traffic light of the map."""

    @abstractmethod
    def get_traffic_light_state(self, light_id: int) -> carla.TrafficLightState:
        """Current state of one light (Red, Yellow, Green, Off)."""

    @abstractmethod
    def light_states(self) -> dict[int, carla.TrafficLightState]:
        """Every light's state, id -> `carla.TrafficLightState` (for criteria, previews, labels)."""

    def get_traffic_light_for_lane(self, waypoint: carla.Waypoint) -> TrafficLightInfo | None:
        """The light governing `waypoint`'s lane: one of its stop waypoints is on the same road and
        lane (as `carla.TrafficLight.get_affected_lane_waypoints()` read backwards), else None."""
        lane = (waypoint.road_id, waypoint.lane_id)
        for light in self.get_traffic_lights():
            if any((stop.road_id, stop.lane_id) == lane for stop in light.stop_waypoints):
                return light
        return None

    @abstractmethod
    def set_traffic_light_state(self, light_id: int, state: carla.TrafficLightState,
                                freeze: bool = False) -> None:
        """Force a light's state (scenarios); `freeze` stops its cycle."""

    @abstractmethod
    def get_stop_signs(self) -> list[StopSignInfo]:
        """Every stop sign of the map."""

    @abstractmethod
    def pop_events(self) -> list[WorldEvent]:
        """Collision, lane-invasion and off-road events since the last call, in frame order."""

    # ---- sensors and weather ------------------------------------------------------------
    @abstractmethod
    def attach_sensor(self, spec: SensorSpec, parent_id: int) -> None:
        """Attach a sensor (CARLA spec) to an actor; its data appears in `read_sensors()`."""

    @abstractmethod
    def read_sensors(self) -> dict[str, tuple[int, Any]]:
        """Sensor id -> (frame, data) for the current frame, in the leaderboard's formats."""

    @abstractmethod
    def set_weather(self, weather: carla.WeatherParameters) -> None:
        """Set the weather and sun (affects RGB images only, never depth or semantics)."""

    @abstractmethod
    def get_weather(self) -> carla.WeatherParameters:
        """The current weather."""

    # ---- recording -------------------------------------------------------------------------
    @abstractmethod
    def start_recorder(self, path: str) -> None:
        """Record the simulation into a replayable log at `path` (the evaluator's `--record`).

        Backends without a recorder raise NotImplementedError: callers check the backend first.
        """

    @abstractmethod
    def stop_recorder(self) -> None:
        """Stop the recording started by `start_recorder` (no-op when none is running)."""

    @abstractmethod
    def close(self) -> None:
        """Release everything (renderer contexts, server connections)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
