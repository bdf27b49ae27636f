"""Settings of the CARLA server backend, one frozen dataclass (read from YAML at the edge).

The connection fields mirror the leaderboard's command line (`--host --port --trafficManagerPort
--trafficManagerSeed --timeout`); the rest say how a bundled or .xodr map is turned into a
server world (`carla.OpendriveGenerationParameters`, metres) and how long a tick may wait for
sensor data (seconds). Units are in the names.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from driving.errors import InputError

#: Largest port number a TCP port can have.
MAX_PORT = 65535


@dataclass(frozen=True)
class CarlaServerConfig:
    """How to reach the server and how to drive it (synchronous mode, fixed 0.05 s step).

    `sensor_timeout_s` is how long `read_sensors` waits for a sensor's data of the current frame
    (the leaderboard gives up after 10 s). `events_for_autopilot` also attaches collision and
    lane-invasion sensors to autopilot vehicles; off by default, as in the embedded world, where
    only vehicles driven by an agent or a scenario produce events (and 2 sensors per background
    car would cost the server). `opendrive_*` are the mesh settings used when a map is given as
    OpenDRIVE text (bundled name or .xodr path): vertex spacing, road piece length, wall height
    and extra road width in metres.
    """

    host: str = "localhost"
    port: int = 2000
    traffic_manager_port: int = 8000
    traffic_manager_seed: int = 0
    timeout_s: float = 60.0
    sensor_timeout_s: float = 10.0
    events_for_autopilot: bool = False
    forced_sensor_attributes: bool = True
    opendrive_vertex_distance_m: float = 2.0
    opendrive_max_road_length_m: float = 50.0
    opendrive_wall_height_m: float = 1.0
    opendrive_additional_width_m: float = 0.6
    opendrive_smooth_junctions: bool = True
    opendrive_mesh_visibility: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host.strip():
            raise InputError(f"CarlaServerConfig.host: expected a host name or address, got {self.host!r}")
        for name in ("port", "traffic_manager_port"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PORT:
                raise InputError(
                    f"CarlaServerConfig.{name}: expected a TCP port 1..{MAX_PORT}, got {value!r}"
                )
        seed = self.traffic_manager_seed
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise InputError(
                f"CarlaServerConfig.traffic_manager_seed: expected an integer >= 0, got {seed!r}"
            )
        for name in (
            "timeout_s",
            "sensor_timeout_s",
            "opendrive_vertex_distance_m",
            "opendrive_max_road_length_m",
        ):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise InputError(f"CarlaServerConfig.{name}: expected a finite number > 0, got {value!r}")
        for name in ("opendrive_wall_height_m", "opendrive_additional_width_m"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise InputError(f"CarlaServerConfig.{name}: expected a finite number >= 0, got {value!r}")
        for name in (
            "events_for_autopilot",
            "forced_sensor_attributes",
            "opendrive_smooth_junctions",
            "opendrive_mesh_visibility",
        ):
            if not isinstance(getattr(self, name), bool):
                raise InputError(
                    f"CarlaServerConfig.{name}: expected true/false, got {getattr(self, name)!r}"
                )

    @property
    def address(self) -> str:
        """ "HOST:PORT", as error messages name the server."""
        return f"{self.host}:{self.port}"


def with_overrides(config: CarlaServerConfig | None, overrides: dict[str, Any]) -> CarlaServerConfig:
    """`config` (or the defaults) with some fields replaced, e.g. from the evaluator's command line.

    Unknown names raise InputError listing the known ones, so a typo in a backend option fails
    before any connection attempt.
    """
    base = config if config is not None else CarlaServerConfig()
    known = sorted(f.name for f in dataclasses.fields(CarlaServerConfig))
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise InputError(f"carla backend options: unknown option(s) {unknown}; known options: {known}")
    return dataclasses.replace(base, **overrides) if overrides else base
