"""Sensor rules of the official AgentWrapper, and the glue between an agent and a World.

`validate_sensor_configuration` enforces the official limits per track (allowed types and counts,
3 m mount radius, unique ids, no OpenDRIVE map on SENSORS). Our RESEARCH track also allows depth
and semantic cameras (LeTFuser's ground-truth rig); such a result is not submittable.
`AgentWrapper` attaches the agent's sensors to the ego vehicle and feeds each frame's data to the
agent before calling it, as the official wrapper does through its sensor interface.
"""
from __future__ import annotations

import math
from typing import Any, Protocol

import carla

from driving.world import SensorSpec, World
from leaderboard.autoagents.autonomous_agent import AutonomousAgent, SensorReceivedNoData, Track

MAX_ALLOWED_RADIUS_SENSOR_M = 3.0

SENSORS_LIMITS_LB1: dict[str, int] = {
    "sensor.camera.rgb": 4,
    "sensor.camera": 4,
    "sensor.lidar.ray_cast": 1,
    "sensor.other.radar": 2,
    "sensor.other.gnss": 1,
    "sensor.other.imu": 1,
    "sensor.opendrive_map": 1,
    "sensor.speedometer": 1,
}

SENSORS_LIMITS_LB2: dict[str, int] = {
    "sensor.camera.rgb": 8,
    "sensor.lidar.ray_cast": 2,
    "sensor.other.radar": 4,
    "sensor.other.gnss": 1,
    "sensor.other.imu": 1,
    "sensor.opendrive_map": 1,
    "sensor.speedometer": 1,
}

#: RESEARCH: LB2.0 counts plus ground-truth depth and semantic cameras.
SENSORS_LIMITS_RESEARCH: dict[str, int] = {
    **SENSORS_LIMITS_LB2,
    "sensor.camera.depth": 8,
    "sensor.camera.semantic_segmentation": 8,
}

LIMITS_BY_TRACK: dict[Track, dict[str, int]] = {
    Track.SENSORS: SENSORS_LIMITS_LB1,
    Track.MAP: SENSORS_LIMITS_LB1,
    Track.SENSORS_QUALIFIER: SENSORS_LIMITS_LB2,
    Track.MAP_QUALIFIER: SENSORS_LIMITS_LB2,
    Track.RESEARCH: SENSORS_LIMITS_RESEARCH,
}

#: Icons of the results file's top-level "sensors" list, as the official evaluator writes them.
SENSOR_ICONS: dict[str, str] = {
    "sensor.camera.rgb": "carla_camera",
    "sensor.camera": "carla_camera",
    "sensor.camera.depth": "carla_camera_depth",
    "sensor.camera.semantic_segmentation": "carla_camera_semantic",
    "sensor.lidar.ray_cast": "carla_lidar",
    "sensor.other.radar": "carla_radar",
    "sensor.other.gnss": "carla_gnss",
    "sensor.other.imu": "carla_imu",
    "sensor.opendrive_map": "carla_opendrive_map",
    "sensor.speedometer": "carla_speedometer",
}


class SensorConfigurationInvalid(Exception):
    """The agent's rig breaks the rules of the selected track (route status: sensors invalid)."""


def parse_track(name: str | Track) -> Track:
    """`--track` value -> Track; an unknown name lists the known ones."""
    if isinstance(name, Track):
        return name
    try:
        return Track(str(name).upper())
    except ValueError:
        from driving.errors import InputError

        raise InputError(f"--track: unknown track {name!r}; expected one of {[t.value for t in Track]}") from None


def _track_of(value: Any) -> Track:
    if isinstance(value, Track):
        return value
    try:
        return Track(getattr(value, "value", value))
    except ValueError:
        raise SensorConfigurationInvalid(f"agent declares an unknown track {value!r}") from None


def validate_sensor_configuration(sensors: list[dict[str, Any]], agent_track: Any,
                                  selected_track: str | Track) -> None:
    """Raise SensorConfigurationInvalid when the rig breaks the selected track's rules.

    As the official wrapper: the agent's track must be the selected one, except that the RESEARCH
    track accepts SENSORS and MAP agents too (it is a superset of both).
    """
    selected = parse_track(selected_track)
    track = _track_of(agent_track)
    if selected == Track.RESEARCH:
        if track not in (Track.SENSORS, Track.MAP, Track.RESEARCH):
            raise SensorConfigurationInvalid(f"You are submitting to the wrong track [{selected}]!")
    elif track != selected:
        raise SensorConfigurationInvalid(f"You are submitting to the wrong track [{selected}]!")
    if not isinstance(sensors, (list, tuple)):
        raise SensorConfigurationInvalid(f"sensors() must return a list of dicts, got {type(sensors).__name__}")
    limits = LIMITS_BY_TRACK[selected]
    counts: dict[str, int] = {}
    ids: set[str] = set()
    for sensor in sensors:
        if not isinstance(sensor, dict) or "type" not in sensor or "id" not in sensor:
            raise SensorConfigurationInvalid(f"sensor spec {sensor!r} needs at least 'type' and 'id'")
        sensor_id, sensor_type = sensor["id"], sensor["type"]
        if sensor_id in ids:
            raise SensorConfigurationInvalid(f"Duplicated sensor tag [{sensor_id}]")
        ids.add(sensor_id)
        if track in (Track.SENSORS, Track.SENSORS_QUALIFIER) and sensor_type.startswith("sensor.opendrive_map"):
            raise SensorConfigurationInvalid(f"Illegal sensor used for Track [{track}]!")
        if sensor_type not in limits:
            raise SensorConfigurationInvalid(f"Illegal sensor used. {sensor_type} are not allowed!")
        if all(k in sensor for k in ("x", "y", "z")) and math.sqrt(
                sensor["x"] ** 2 + sensor["y"] ** 2 + sensor["z"] ** 2) > MAX_ALLOWED_RADIUS_SENSOR_M:
            raise SensorConfigurationInvalid(f"Illegal sensor extrinsics used for Track [{track}]!")
        counts[sensor_type] = counts.get(sensor_type, 0) + 1
    for sensor_type, allowed in limits.items():
        if counts.get(sensor_type, 0) > allowed:
            raise SensorConfigurationInvalid(
                f"Too many {sensor_type} used! Maximum number allowed is {allowed}, "
                f"but {counts[sensor_type]} were requested.")


def sensor_icons(sensors: list[dict[str, Any]]) -> list[str]:
    """The results file's "sensors" entry for a rig."""
    return [SENSOR_ICONS.get(s["type"], s["type"]) for s in sensors]


class SensorDataFilter(Protocol):
    """Changes what the agent's sensors deliver (e.g. `scenarios.sensor_fault_injector.SensorFaultInjector`)."""

    def bind(self, specs: list[SensorSpec]) -> None: ...

    def apply(self, input_data: dict[str, tuple[int, Any]], game_time_s: float) -> dict[str, tuple[int, Any]]: ...


class AgentWrapper:
    """Attaches an agent's rig to the ego vehicle and calls the agent with each frame's data.

    `injector` (optional) degrades the data on its way to the agent (sensor faults); the world's
    buffers, which the criteria and recorders read, are not touched. None: data as the world gives it.
    """

    def __init__(self, agent: AutonomousAgent, injector: SensorDataFilter | None = None) -> None:
        self._agent = agent
        self._injector = injector
        self._sensor_ids: list[str] = []

    def setup_sensors(self, world: World, ego_id: int) -> None:
        """Attach every declared sensor to the ego vehicle (specs already validated)."""
        specs = [SensorSpec.from_dict(spec) for spec in self._agent.sensors()]
        for spec in specs:
            world.attach_sensor(spec, ego_id)
            self._sensor_ids.append(spec.id)
        if self._injector is not None:
            self._injector.bind(specs)

    def feed(self, world: World) -> None:
        """Hand the current frame's sensor data and game time to the agent's sensor interface."""
        data = world.read_sensors() if self._sensor_ids else {}
        missing = [sid for sid in self._sensor_ids if sid not in data]
        if missing:
            raise SensorReceivedNoData(f"sensor(s) {missing} delivered no data at frame {world.frame}")
        agent_data = {sid: data[sid] for sid in self._sensor_ids}
        if self._injector is not None:
            agent_data = self._injector.apply(agent_data, world.elapsed_seconds)
        self._agent.sensor_interface.update(agent_data, world.elapsed_seconds)

    def __call__(self) -> carla.VehicleControl:
        return self._agent()
