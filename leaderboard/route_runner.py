"""Drive one route: load the town, spawn ego and traffic, set up the agent, tick until the criteria end it.

The loop follows the official ScenarioManager: each tick the agent gets the frame's sensor data and
game time and returns a control, the criteria are updated on the world's state, the control is
applied and the world ticks. Any failure is recorded with the official status and the route
returns a record instead of raising, so the evaluation goes on with the next route:
agent construction or plan hand-over failing -> "Agent couldn't be set up"; an invalid rig ->
"Agent's sensors were invalid"; an exception in run_step, or one slower than `timeout_s` wall
seconds -> "Agent crashed"; a world failure -> "Simulation crashed".
"""
from __future__ import annotations

import math
import time
import traceback
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import carla

from driving.errors import InputError
from driving.frozen_heap import frozen_heap
from driving.world import CollisionEvent, World
from leaderboard.agent_caller import AgentCaller
from leaderboard.autoagents.agent_wrapper import (
    AgentWrapper,
    SensorConfigurationInvalid,
    sensor_icons,
    validate_sensor_configuration,
)
from leaderboard.autoagents.autonomous_agent import PrivilegedAgent, SensorReceivedNoData
from leaderboard.criteria import CriteriaTick, RouteCriteria
from leaderboard.criteria.signals import DISTANCE_LIGHT_M
from leaderboard.routes import RouteConfig, weather_at
from leaderboard.statistics import (
    FAILURE_AGENT_CRASHED,
    FAILURE_SENSORS,
    FAILURE_SETUP,
    FAILURE_SIMULATION,
    RouteRecord,
    compute_route_record,
    failed_record,
)

#: Background traffic when a route gives no counts: official per-town vehicles, else these.
OFFICIAL_VEHICLES_PER_TOWN = {"Town01": 120, "Town02": 100, "Town03": 120, "Town04": 200, "Town05": 120,
                              "Town06": 150, "Town07": 110, "Town08": 180, "Town09": 300, "Town10": 120}
#: The backend that talks to a CARLA server: the only one with a recorder, a server address and towns of its own.
SERVER_BACKEND = "carla"
DEFAULT_VEHICLES = 40
DEFAULT_WALKERS = 20
SPAWN_LIFT_M = 0.2  # the ego is spawned slightly above the route's first point


@dataclass(frozen=True)
class RunOptions:
    """How to run routes (plain values, so a job crosses process boundaries).

    `timeout_s` bounds each agent call (setup and every run_step) in wall seconds, as the
    official `--timeout`. `seed` offsets the per-route seed (route index added). `record_dir`
    (official `--record`; a backend with a recorder only) gets one log per route x repetition.
    """

    agent: str
    agent_config: str = ""
    track: str = "SENSORS"
    timeout_s: float = 60.0
    backend: str = "embedded"
    #: Backend constructor options as key/value pairs (server address for `carla`).
    backend_options: tuple[tuple[str, Any], ...] = ()
    maps_dir: str | None = None
    seed: int = 0
    debug: int = 0
    video_dir: str | None = None
    record_dir: str | None = None
    #: LB1.0 scenario JSON (official --scenarios), already checked; its scenarios are placed per route.
    scenarios_file: str = ""
    #: Live view (leaderboard.viewer): "window" or "video", None for none; videos go to `viewer_dir`.
    viewer: str | None = None
    viewer_dir: str | None = None


@dataclass(frozen=True)
class RouteJob:
    """One route x repetition: where to read the route and its index in the results file."""

    routes_path: str
    routes_subset: str
    position: int  # in parse_routes_file's list
    repetition: int
    index: int  # position * repetitions + repetition, as the official RouteIndexer


@dataclass
class RouteOutcome:
    """A finished route: its record, the rig's icons (for the results file) and an error text."""

    record: RouteRecord
    sensors: list[str]
    error: str = ""


ProgressFn = typing.Callable[[int, float, float], None]  # (index, route completion %, game seconds)


def recorder_path(record_dir: str, route_name: str, repetition: int) -> str:
    """The official recorder log name: `<record_dir>/<route name>_rep<repetition>.log`.

    The path is handed to the server as is (CARLA writes it on the server's host, relative paths
    under its own folder), so it is not resolved here.
    """
    return f"{record_dir}/{route_name}_rep{repetition}.log"


def resolve_town(town: str, maps_dir: str | None, server_towns: bool = False) -> str:
    """A route's town -> what `World.load_map` takes: `<town>.xodr` in maps_dir, else a bundled map.

    With `server_towns` (the carla backend) any other name is passed on as one of the server's own
    towns ("Town01" with its 3D assets); the backend checks it against the server's map list.
    """
    from driving.sim.maps import available_maps

    if maps_dir:
        candidate = Path(maps_dir) / f"{town}.xodr"
        if candidate.is_file():
            return str(candidate)
    if town in available_maps() or server_towns:
        return town
    where = f" or {Path(maps_dir) / (town + '.xodr')}" if maps_dir else " (pass --maps DIR for other towns)"
    raise InputError(f"route town {town!r}: not a bundled map{where}; bundled maps: {available_maps()}")


def _traffic_counts(config: RouteConfig) -> tuple[int, int]:
    vehicles = config.n_vehicles
    if vehicles is None:
        vehicles = OFFICIAL_VEHICLES_PER_TOWN.get(config.town, DEFAULT_VEHICLES)
    walkers = config.n_walkers if config.n_walkers is not None else DEFAULT_WALKERS
    return vehicles, walkers


def _check_control(control: Any) -> carla.VehicleControl:
    if not isinstance(control, carla.VehicleControl):
        raise TypeError(f"run_step returned {type(control).__name__}, expected carla.VehicleControl")
    for name in ("steer", "throttle", "brake"):
        if not math.isfinite(getattr(control, name)):
            raise ValueError(f"run_step returned a control with {name}={getattr(control, name)}")
    # the server clamps controls; do the same so out-of-range values are not a world error
    control.steer = min(max(control.steer, -1.0), 1.0)
    control.throttle = min(max(control.throttle, 0.0), 1.0)
    control.brake = min(max(control.brake, 0.0), 1.0)
    return control


class RouteRun:
    """State of one route being driven (kept in one object so failures can clean up in one place)."""

    def __init__(self, world: World, config: RouteConfig, job: RouteJob, opts: RunOptions,
                 agent_cls: type, progress: ProgressFn | None = None) -> None:
        self.world, self.config, self.job, self.opts = world, config, job, opts
        self.agent_cls = agent_cls
        self.progress = progress
        self.agent: Any = None
        self.sensors: list[str] = []
        self.route_length_m = 0.0
        self.placed_scenarios: tuple = ()  # scenarios.lb1_placement.PlacedScenario, in route order
        self.scenarios: Any = None  # scenarios.manager.ScenarioManager when the route has scenarios
        self.conditions: Any = None  # scenarios.perception_conditions.PerceptionConditions of the file
        self.route_geometry: Any = None  # scenarios.route_geometry.RouteGeometry when the route has scenarios
        self.caller = AgentCaller()
        self.video: Any = None
        self.viewer: Any = None  # leaderboard.viewer.feed.ViewerFeed when opts.viewer is set
        self._game_time = 0.0
        #: Set once the route is set up (for subclasses' hooks): the map, the dense plan, the ego.
        self.carla_map: carla.Map | None = None
        self.plan: Any = None  # planning.route_planner.InterpolatedRoute
        self.ego_id: int | None = None

    def log(self, message: str) -> None:
        if self.opts.debug:
            print(f"[{self.config.name} #{self.job.index}] {message}", flush=True)

    def run(self) -> RouteOutcome:
        t0 = time.time()
        try:
            return self._run(t0)
        finally:
            self.caller.close()
            for output in (self.video, self.viewer):
                if output is not None:
                    output.close()

    def _fail(self, failure: str, t0: float, error: str) -> RouteOutcome:
        self.log(f"{failure}: {error}")
        record = failed_record(self.config.name, self.job.index, failure, self.route_length_m, time.time() - t0)
        return RouteOutcome(record, self.sensors, error)

    def _run(self, t0: float) -> RouteOutcome:
        world, config, opts = self.world, self.config, self.opts
        from planning.route_planner import interpolate_trajectory

        try:
            town = resolve_town(config.town, opts.maps_dir, server_towns=opts.backend == SERVER_BACKEND)
            carla_map = world.load_map(town, opts.seed + self.job.index)
            plan = interpolate_trajectory(carla_map, list(config.keypoints))
            self.carla_map, self.plan = carla_map, plan
            self.route_length_m = sum(a[0].location.distance(b[0].location)
                                      for a, b in zip(plan.world[:-1], plan.world[1:]))
            self._place_scenarios(plan.world, carla_map)
            start = plan.world[0][0]
            spawn = carla.Transform(carla.Location(start.location.x, start.location.y,
                                                   start.location.z + SPAWN_LIFT_M), start.rotation)
            ego_id = self.ego_id = world.spawn_vehicle(spawn, role_name="hero")
            vehicles, walkers = _traffic_counts(config)
            world.spawn_traffic(vehicles, walkers, seed=opts.seed + self.job.index)
            world.set_weather(weather_at(config.weathers, 0.0))
            condition_weather = self.conditions.weather_for(opts.seed + self.job.index) if self.conditions else None
            if condition_weather is not None:  # the scenario file's weather holds for the whole run
                world.set_weather(condition_weather)
            self._start_scenarios(carla_map, ego_id)
        except Exception as exc:  # noqa: BLE001 - any world failure is recorded, the run goes on
            return self._fail(FAILURE_SIMULATION, t0, f"{type(exc).__name__}: {exc}")

        try:
            self.agent = self.caller.call(lambda: self.agent_cls(opts.agent_config), opts.timeout_s)
            rig = self.caller.call(self.agent.sensors, opts.timeout_s)
            self.sensors = sensor_icons(rig) if isinstance(rig, list) and all(
                isinstance(s, dict) and "type" in s for s in rig) else []
            validate_sensor_configuration(rig, getattr(self.agent, "track", None), opts.track)
            self.agent.set_global_plan(plan.gps, plan.world)
            if isinstance(self.agent, PrivilegedAgent):
                self.agent.set_world(world, ego_id)
                self.agent.set_dense_plan(plan.world)
        except SensorConfigurationInvalid as exc:
            self._destroy_agent()
            return self._fail(FAILURE_SENSORS, t0, str(exc))
        except Exception as exc:  # noqa: BLE001
            self._destroy_agent()
            return self._fail(FAILURE_SETUP, t0, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")

        injector = self.conditions.injector_for(opts.seed + self.job.index) if self.conditions else None
        wrapper = AgentWrapper(self.agent, injector)
        try:
            wrapper.setup_sensors(world, ego_id)
            criteria = RouteCriteria([t for t, _ in plan.world], carla_map, world.get_traffic_lights(),
                                     world.get_stop_signs())
            if opts.video_dir:
                from leaderboard.video import RouteVideo, video_file_name

                path = Path(opts.video_dir) / video_file_name(config.name, self.job.index)
                self.video = RouteVideo(path, world, [t for t, _ in plan.world], ego_id)
            if opts.viewer:
                from leaderboard.viewer.feed import ViewerFeed

                self.viewer = ViewerFeed.for_run(self, rig)
            self.on_start()
            if opts.record_dir:  # last: nothing after it can fail before the loop stops it
                world.start_recorder(recorder_path(opts.record_dir, config.name, self.job.repetition))
        except Exception as exc:  # noqa: BLE001
            self._destroy_agent()
            return self._fail(FAILURE_SIMULATION, t0, f"{type(exc).__name__}: {exc}")

        try:
            with frozen_heap():
                failure, error = self._loop(world, wrapper, criteria, ego_id)
        finally:
            recorder_error = self._stop_recorder() if opts.record_dir else ""
            if self.scenarios is not None:
                self.scenarios.close()
        error = error or recorder_error
        criteria.terminate()
        self._destroy_agent()
        record = compute_route_record(config.name, self.job.index, criteria.events(), failure,
                                      self.route_length_m, time.time() - t0, self._game_time)
        if self.scenarios is not None:
            record.meta["scenarios"] = self.scenarios.summary()
            record.meta["scenario_infractions"] = [
                {"type": t.kind, "message": t.message, "scenarios": list(t.scenarios)} for t in self.scenarios.tagged]
        self.log(f"{record.status}: score {record.scores['score_composed']:.2f} {error}")
        return RouteOutcome(record, self.sensors, error)

    # ---- hooks for subclasses (data collection); the evaluator's own run leaves them as they are ----
    def on_start(self) -> None:
        """Called once the agent's sensors are attached, before the first tick (`carla_map`, `plan`
        and `ego_id` are set). A failure is recorded as a simulation failure."""

    def on_tick(self, ticks: int, control: carla.VehicleControl, criteria: RouteCriteria) -> carla.VehicleControl:
        """Called every tick after the agent decided and the criteria were updated, before the control
        is applied; returns the control to apply (the evaluator applies the agent's unchanged)."""
        return control

    def _place_scenarios(self, plan_world: list[tuple[carla.Transform, Any]], carla_map: carla.Map) -> None:
        """Place the route's scenarios (`--scenarios` file and the route's LB2.0 blocks) and log them."""
        if not (self.opts.scenarios_file or self.config.scenarios):
            return
        from scenarios.route_geometry import RouteGeometry

        self.route_geometry = RouteGeometry(plan_world)  # one per route: placement, then the behaviours
        if self.opts.scenarios_file:
            from scenarios.lb1_placement import describe_placed
            from scenarios.source import load_scenario_source_cached

            source = load_scenario_source_cached(self.opts.scenarios_file)
            self.conditions = source.conditions
            placed, skipped = source.place(plan_world, self.config.town, self.opts.seed + self.job.index,
                                           self._signalized_at(self.route_geometry, carla_map))
            self.placed_scenarios = placed
            self.log(f"placed {len(placed)} scenario{'' if len(placed) == 1 else 's'} "
                     f"from {Path(source.path).name}: {describe_placed(placed)}")
            for reason in skipped:
                self.log(f"scenario skipped: {reason}")
        if self.config.scenarios:  # LB2.0 blocks: the types with a behaviour run, the others are named
            from scenarios.lb2_placement import place_lb2_scenarios
            from scenarios.skipped import skipped_scenarios

            placed, skipped = place_lb2_scenarios(plan_world, self.config.scenarios)
            self.placed_scenarios = tuple(sorted((*self.placed_scenarios, *placed), key=lambda p: p.route_index))
            self.log(f"LB2.0 route scenarios: {len(placed)} run, {skipped_scenarios(skipped, ())}")

    def _signalized_at(self, route: Any, carla_map: carla.Map):
        """Route distance (m) along `route` (a RouteGeometry) -> whether the route's lane just
        before it has a traffic light."""

        def signalized(route_m: float) -> bool:
            loc = route.transform_at(max(0.0, route_m - 2.0)).location
            wp = carla_map.get_waypoint(loc)
            return wp is not None and self.world.get_traffic_light_for_lane(wp) is not None

        return signalized

    def _start_scenarios(self, carla_map: carla.Map, ego_id: int) -> None:
        """Behaviours for the placed scenarios (those without one are logged as skipped)."""
        if not self.placed_scenarios:
            return
        from scenarios.manager import ScenarioManager
        from scenarios.skipped import skipped_scenarios

        self.scenarios, skipped = ScenarioManager.from_placed(
            self.placed_scenarios, self.world, carla_map, ego_id, self.route_geometry,
            self.opts.seed + self.job.index)
        if skipped:
            self.log(str(skipped_scenarios(skipped, ())))

    def _loop(self, world: World, wrapper: AgentWrapper, criteria: RouteCriteria,
              ego_id: int) -> tuple[str, str]:
        """Tick until the criteria end the route; returns (crash failure or '', error text)."""
        t_start = world.elapsed_seconds
        lights = world.get_traffic_lights()
        self._game_time = 0.0
        world.pop_events()  # spawn-time contacts are not the agent's
        ticks = 0
        last_pct = 0.0
        while True:
            try:
                wrapper.feed(world)
            except SensorReceivedNoData as exc:
                return FAILURE_SIMULATION, str(exc)
            try:
                control = _check_control(self.caller.call(wrapper, self.opts.timeout_s))
            except Exception as exc:  # noqa: BLE001 - includes AgentTimeout
                return FAILURE_AGENT_CRASHED, f"{type(exc).__name__}: {exc}"
            try:
                ego = world.get_actor_state(ego_id)
                self._game_time = world.elapsed_seconds - t_start
                collisions = tuple(e for e in world.pop_events()
                                   if isinstance(e, CollisionEvent) and e.actor_id == ego_id)
                loc = ego.transform.location
                near = {lt.id: world.get_traffic_light_state(lt.id) for lt in lights
                        if lt.trigger_location.distance(loc) <= DISTANCE_LIGHT_M}
                criteria.update(CriteriaTick(ego, self._game_time, collisions, near))
                if self.scenarios is not None:
                    self.scenarios.tag_new_events(criteria.infractions())
                if (len(self.config.weathers) > 1 and criteria.completion.percentage != last_pct
                        and not (self.conditions and self.conditions.weather)):
                    last_pct = criteria.completion.percentage
                    world.set_weather(weather_at(self.config.weathers, last_pct))
                if self.video is not None:
                    self.video.add_frame(ticks, progress_pct=criteria.completion.percentage,
                                         infractions=criteria.infraction_count())
                if criteria.done:
                    return "", ""
                if self.scenarios is not None:
                    self.scenarios.before_tick(self._game_time)
                    control = self.scenarios.filter_control(control)
                control = self.on_tick(ticks, control, criteria)
                if self.viewer is not None:
                    self.viewer.tick(ticks, self._game_time, control, criteria)
                world.apply_control(ego_id, control)
                world.tick()
            except Exception as exc:  # noqa: BLE001
                return FAILURE_SIMULATION, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            ticks += 1
            if self.progress is not None and ticks % 20 == 0:
                self.progress(self.job.index, criteria.completion.percentage, self._game_time)

    def _stop_recorder(self) -> str:
        """Stop the route's recording; a failure is returned as error text, never losing the record."""
        try:
            self.world.stop_recorder()
        except Exception as exc:  # noqa: BLE001 - the recording is a by-product of the route
            self.log(f"stopping the recorder failed: {type(exc).__name__}: {exc}")
            return f"stopping the recorder failed: {type(exc).__name__}: {exc}"
        return ""

    def _destroy_agent(self) -> None:
        if self.agent is None:
            return
        if self.caller.stuck:  # the agent thread is still inside a timed-out call
            self.log("agent destroy skipped: the agent is still busy in a timed-out call")
            self.agent = None
            return
        try:
            self.caller.call(self.agent.destroy, self.opts.timeout_s)
        except Exception as exc:  # noqa: BLE001 - a failing destroy must not lose the record
            self.log(f"agent destroy failed: {exc}")
        self.agent = None


def run_route(world: World, config: RouteConfig, job: RouteJob, opts: RunOptions, agent_cls: type,
              progress: ProgressFn | None = None) -> RouteOutcome:
    """Drive `config` once on `world` with a fresh instance of `agent_cls`; never raises for failures."""
    return RouteRun(world, config, job, opts, agent_cls, progress).run()
