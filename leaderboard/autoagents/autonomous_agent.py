"""The agent interface, at the same module path and with the same methods as the official one.

An agent file written for the official CARLA leaderboard (1.0 or 2.0) runs in our evaluator
unchanged, and an agent written against this module runs in the official evaluator: the class
name, `Track`, the constructor patterns, `setup`, `sensors`, `run_step`, `destroy`,
`set_global_plan` and `__call__` behave as there (see /work/shared/LEADERBOARD.md).

Privileged agents (the expert driver) additionally inherit `PrivilegedAgent`: the evaluator
hands them the World and the ego id through `set_world`. Official agents never see the World.

Two optional methods (ours, not the official API) feed the route viewer (`leaderboard.viewer`)
when an agent has them; the viewer asks at most every 2nd tick, so they cost nothing otherwise:
`debug_view()` -> a BGR picture of what the last step saw and decided, or None (the LeTFuser
agent's debug picture), and `debug_lines()` -> a few short status lines (the expert's brake reason).
"""
from __future__ import annotations

import enum
import time
from typing import TYPE_CHECKING, Any

import carla

if TYPE_CHECKING:
    from driving.world import World

#: Route points kept by `set_global_plan` (metres between kept points), as the official code.
PLAN_SAMPLE_DISTANCE_LB1_M = 50
PLAN_SAMPLE_DISTANCE_LB2_M = 200


class Track(enum.Enum):
    """Which sensors an agent may use. RESEARCH is ours: it also allows depth/semantic cameras."""

    SENSORS = "SENSORS"
    MAP = "MAP"
    SENSORS_QUALIFIER = "SENSORS_QUALIFIER"
    MAP_QUALIFIER = "MAP_QUALIFIER"
    RESEARCH = "RESEARCH"


class SensorReceivedNoData(RuntimeError):
    """A declared sensor delivered nothing for the current frame (a simulation fault, not the agent's)."""


class SensorInterface:
    """Holds the sensor data of the current frame; the evaluator fills it before each `__call__`.

    `get_data()` returns id -> (frame, data) as the official interface. `game_time_s` is the
    simulation time the data belongs to (the `timestamp` passed to `run_step`).
    """

    def __init__(self) -> None:
        self._data: dict[str, tuple[int, Any]] = {}
        self.game_time_s: float = 0.0

    def update(self, data: dict[str, tuple[int, Any]], game_time_s: float) -> None:
        self._data = dict(data)
        self.game_time_s = float(game_time_s)

    def get_data(self) -> dict[str, tuple[int, Any]]:
        return dict(self._data)


class AutonomousAgent:
    """Base class of every agent (official API).

    Construction supports both official patterns:
    - LB1.0: `Agent(path_to_conf_file)` sets the track to SENSORS and calls `setup(path)`;
    - LB2.0: `Agent(carla_host, carla_port, debug=False)`; the evaluator then calls `setup(conf)`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.track = Track.SENSORS
        self._global_plan: list[tuple[dict, Any]] | None = None
        self._global_plan_world_coord: list[tuple[carla.Transform, Any]] | None = None
        self.sensor_interface = SensorInterface()
        self.wallclock_t0: float | None = None
        lb2 = "carla_host" in kwargs or "carla_port" in kwargs or len(args) >= 2
        if lb2:
            self._plan_sample_distance_m = PLAN_SAMPLE_DISTANCE_LB2_M
            self.debug = bool(kwargs.get("debug", args[2] if len(args) > 2 else False))
            return
        self._plan_sample_distance_m = PLAN_SAMPLE_DISTANCE_LB1_M
        path = kwargs.get("path_to_conf_file", args[0] if args else "")
        self.setup(path)

    def setup(self, path_to_conf_file: str) -> None:
        """Initialise everything the agent needs (models, controllers); `track` may be set here."""

    def sensors(self) -> list[dict[str, Any]]:
        """The sensor rig: a list of spec dicts {type, id, x, y, z, roll, pitch, yaw, width, height, fov}."""
        return []

    def run_step(self, input_data: dict[str, tuple[int, Any]], timestamp: float) -> carla.VehicleControl:
        """One control for the current frame; the base agent stands still (full brake)."""
        control = carla.VehicleControl()
        control.steer = 0.0
        control.throttle = 0.0
        control.brake = 1.0
        control.hand_brake = False
        return control

    def destroy(self) -> None:
        """Release resources at the end of a route."""

    def __call__(self) -> carla.VehicleControl:
        """Pull the current frame's data and game time, run one step, forbid manual gears."""
        input_data = self.sensor_interface.get_data()
        timestamp = self.sensor_interface.game_time_s
        if self.wallclock_t0 is None:
            self.wallclock_t0 = time.time()
        control = self.run_step(input_data, timestamp)
        control.manual_gear_shift = False
        return control

    def set_global_plan(self, global_plan_gps: list, global_plan_world_coord: list) -> None:
        """Keep the downsampled route (every 50 m in LB1.0, 200 m in LB2.0, plus turns and the end)."""
        from planning.route_downsample import downsample_route

        ds_ids = downsample_route(global_plan_world_coord, self._plan_sample_distance_m)
        self._global_plan_world_coord = [(global_plan_world_coord[i][0], global_plan_world_coord[i][1])
                                         for i in ds_ids]
        self._global_plan = [global_plan_gps[i] for i in ds_ids]


class PrivilegedAgent:
    """Mixin for agents that read the ground-truth world (the expert driver, data collection).

    The evaluator calls `set_world(world, ego_id)` after the ego is spawned and before the first
    step; `set_dense_plan` hands over the full 1 m route (world plan, not downsampled).
    A sensor agent must not inherit this: its signature then proves it never sees the World.
    """

    world: World | None = None
    ego_id: int | None = None
    dense_plan: list[tuple[carla.Transform, Any]] | None = None

    def set_world(self, world: World, ego_id: int) -> None:
        self.world = world
        self.ego_id = ego_id

    def set_dense_plan(self, world_plan: list[tuple[carla.Transform, Any]]) -> None:
        self.dense_plan = list(world_plan)
