"""Our YAML scenario files: loading with one-line errors, trigger resolution on a real route, and
parameter draws reproducible from (file, seed)."""
from __future__ import annotations

import textwrap

import carla
import pytest

from driving.errors import InputError
from planning.road_option import RoadOption
from scenarios.file_placement import place_file_scenarios
from scenarios.scenario_file import ScenarioSpec, Trigger, load_scenario_file
from scenarios.source import load_scenario_source
from tests.scenarios.scenario_runs import route_geometry

# town_grid: ~87 m, a left turn at a signalized junction entered at ~16 m.
KEYPOINTS = (carla.Location(198.25, -31.0, 0.0), carla.Location(258.096039, 1.75, 0.0))


def _write(tmp_path, text: str):
    path = tmp_path / "scen.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_valid_file_loads_with_triggers_names_and_conditions(tmp_path):
    path = _write(tmp_path, """
        scenarios:
          - name: lead_brakes
            family: FollowLeadingVehicle
            trigger: {route_distance_m: 40}
          - family: Scenario8
            trigger: {junction: left, signalized: true, before_m: 20, nth: 2}
          - family: ControlLoss
            trigger: {route_fraction: 0.5}
        conditions:
          weather: {preset: WetCloudyNoon, sun_altitude_deg: [-5, 10]}
        """)
    loaded = load_scenario_file(path)
    assert [s.name for s in loaded.scenarios] == ["lead_brakes", "Scenario8", "Scenario1"]
    assert [s.scenario_type for s in loaded.scenarios] == ["Scenario2", "Scenario8", "Scenario1"]
    assert loaded.scenarios[1].trigger == Trigger(junction="left", signalized=True, before_m=20.0, nth=2)
    assert loaded.scenarios[2].trigger.route_fraction == 0.5
    weather = loaded.conditions.weather_for(3)
    assert weather is not None and -5.0 <= weather.sun_altitude_angle <= 10.0
    assert loaded.conditions.weather_for(3).sun_altitude_angle == weather.sun_altitude_angle  # same seed, same draw
    assert load_scenario_source(path).conditions == loaded.conditions


@pytest.mark.parametrize(("body", "expected"), [
    ("scenarios: []", "scenarios: expected a non-empty list"),
    ("scenarios:\n  - family: Nope\n    trigger: {route_distance_m: 1}", "family: unknown scenario family 'Nope'"),
    ("scenarios:\n  - family: Scenario2", "scenarios[0] (Scenario2): trigger: missing"),
    ("scenarios:\n  - family: Scenario2\n    trigger: {route_distance_m: 1, route_fraction: 0.2}",
     "trigger: give exactly one of"),
    ("scenarios:\n  - family: Scenario2\n    trigger: {route_fraction: 1.5}", "trigger.route_fraction: expected a number in"),
    ("scenarios:\n  - family: Scenario7\n    trigger: {junction: sideways}", "trigger.junction: expected one of"),
    ("scenarios:\n  - family: Scenario7\n    trigger: {junction: left, nth: 0}", "trigger.nth: expected an integer >= 1"),
    ("scenarios:\n  - family: Scenario2\n    trigger: {route_distance_m: 5}\n    parameters: {warp_speed: 3}",
     "parameters.warp_speed: not a parameter of Scenario2"),
    ("scenarios:\n  - family: Scenario2\n    trigger: {route_distance_m: 5}\n    colour: red", "unknown key(s) ['colour']"),
    ("scenarios:\n  - family: Scenario2\n    trigger: {route_distance_m: 5}\nconditions: {weather: Sunny}",
     "unknown weather preset 'Sunny'"),
    ("scenarios:\n  - family: [Scenario2\n", "line"),
])
def test_malformed_file_gives_one_line_naming_file_and_field(tmp_path, body, expected):
    path = _write(tmp_path, body)
    with pytest.raises(InputError) as err:
        load_scenario_source(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and expected in message, message


def test_unknown_suffix_is_refused(tmp_path):
    path = tmp_path / "scen.txt"
    path.write_text("{}")
    with pytest.raises(InputError, match="unknown format"):
        load_scenario_source(path)


def _spec(type_name: str, trigger: Trigger, name: str = "", **parameters) -> ScenarioSpec:
    return ScenarioSpec(name or type_name, type_name, trigger, parameters, where="test")


def test_triggers_resolve_on_the_route_with_turn_subtypes_and_reasons_for_skips():
    route = route_geometry("town_grid", KEYPOINTS)
    (entry_m, _, turn), = route.junction_runs()
    assert turn == RoadOption.LEFT and 10.0 < entry_m < 25.0
    specs = [
        _spec("Scenario2", Trigger(route_distance_m=40.0)),
        _spec("Scenario4", Trigger(junction="left", before_m=10.0)),  # the route turns left: S4left
        _spec("Scenario1", Trigger(route_fraction=0.9)),
        _spec("Scenario9", Trigger(junction="any", before_m=5.0)),  # S9 needs a right turn
        _spec("Scenario7", Trigger(junction="right")),  # no right turn on this route
        _spec("Scenario3", Trigger(route_distance_m=500.0)),  # beyond the end
        _spec("Scenario5", Trigger(route_distance_m=40.5), name="twin"),  # same place as the first
        _spec("Scenario10", Trigger(junction="left", signalized=False)),  # the junction has lights
    ]
    placed, skipped = place_file_scenarios(route, specs, seed=0, signalized_at=lambda m: True)
    by_type = {p.scenario_type: p for p in placed}
    assert sorted(by_type) == ["Scenario1", "Scenario2", "Scenario4"]
    assert by_type["Scenario2"].route_distance_m == pytest.approx(40.0, abs=1.0)
    assert by_type["Scenario4"].subtype == "S4left"
    assert by_type["Scenario4"].route_distance_m == pytest.approx(entry_m - 10.0, abs=1.0)
    assert by_type["Scenario1"].route_distance_m == pytest.approx(0.9 * route.length_m, abs=1.0)
    assert by_type["Scenario4"].trigger.location.distance(route.transform_at(entry_m - 10.0).location) < 1.0
    assert [p.route_index for p in placed] == sorted(p.route_index for p in placed)
    assert len(skipped) == 5
    assert "needs a route turn ['RIGHT'] at the next junction, the route goes LEFT" in skipped[0]
    assert "no 1. junction turning right" in skipped[1]
    assert "beyond the route's end" in skipped[2]
    assert skipped[3].startswith("twin: another scenario")
    assert "no 1. unsignalized junction turning left" in skipped[4]


def test_parameter_ranges_are_drawn_reproducibly_from_the_seed():
    spec = _spec("Scenario2", Trigger(route_distance_m=10.0), speed=(5.0, 15.0), fixed=2.0)
    route = route_geometry("town_grid", KEYPOINTS)

    def draw(seed: int) -> dict:
        placed, _ = place_file_scenarios(route, [spec], seed=seed, signalized_at=lambda m: False)
        return dict(placed[0].parameters)

    first = draw(4)
    assert first == draw(4)
    assert 5.0 <= first["speed"] <= 15.0 and first["fixed"] == 2.0
    assert {draw(s)["speed"] for s in range(5)} != {first["speed"]}


def test_evaluator_runs_a_yaml_file_with_its_weather_and_sensor_faults(tmp_path, monkeypatch):
    from driving.sim.embedded_world import EmbeddedWorld
    from leaderboard.autoagents import agent_wrapper
    from tests.scenarios.scenario_runs import run_with_scenarios

    weathers, injectors = [], []
    set_weather, wrapper_init = EmbeddedWorld.set_weather, agent_wrapper.AgentWrapper.__init__

    def record_weather(self, weather):
        weathers.append(weather)
        return set_weather(self, weather)

    def record_injector(self, agent, injector=None):
        injectors.append(injector)
        return wrapper_init(self, agent, injector)

    monkeypatch.setattr(EmbeddedWorld, "set_weather", record_weather)
    monkeypatch.setattr(agent_wrapper.AgentWrapper, "__init__", record_injector)
    path = _write(tmp_path, """
        scenarios:
          - name: noisy_start
            family: ControlLoss
            trigger: {route_distance_m: 5}
        conditions:
          weather: {preset: HardRainNoon, sun_altitude_deg: -10}
          sensor_faults: [{kind: gnss_noise_burst, noise_m: 5, burst_ticks: 10, period_ticks: 60}]
        """)
    record = run_with_scenarios("town_grid", KEYPOINTS, path, "expert")
    assert record.status == "Completed"
    assert [s["scenario"] for s in record.meta["scenarios"]] == ["noisy_start"]
    assert weathers[-1].precipitation == carla.WeatherParameters.HardRainNoon.precipitation
    assert weathers[-1].sun_altitude_angle == -10.0
    assert injectors[-1] is not None and [type(f).__name__ for f in injectors[-1].faults] == ["GnssNoiseBurst"]
