"""Agent API (both constructor patterns, __call__, plan downsampling), sensor rules, agent registry."""
from __future__ import annotations

import carla
import pytest
from lb_fixtures import town_grid

from driving.errors import InputError
from leaderboard.agents_registry import load_agent_class, resolve_agent
from leaderboard.autoagents.agent_wrapper import SensorConfigurationInvalid, validate_sensor_configuration
from leaderboard.autoagents.autonomous_agent import AutonomousAgent, Track


class _Recorder(AutonomousAgent):
    def setup(self, path_to_conf_file):
        self.conf = path_to_conf_file
        self.track = Track.MAP

    def run_step(self, input_data, timestamp):
        self.seen = (input_data, timestamp)
        return carla.VehicleControl(throttle=0.5, manual_gear_shift=True)


def test_lb1_and_lb2_constructor_patterns():
    lb1 = _Recorder("conf.yaml")
    assert lb1.conf == "conf.yaml" and lb1.track == Track.MAP and lb1._global_plan is None
    lb2 = _Recorder("localhost", 2000, debug=True)
    assert not hasattr(lb2, "conf") and lb2.track == Track.SENSORS
    lb2.setup("other.yaml")
    assert lb2.conf == "other.yaml"


def test_call_passes_data_and_game_time_and_forbids_manual_gears():
    agent = _Recorder("")
    agent.sensor_interface.update({"speed": (12, {"speed": 3.0})}, 0.6)
    control = agent()
    assert agent.seen == ({"speed": (12, {"speed": 3.0})}, 0.6)
    assert control.manual_gear_shift is False and control.throttle == pytest.approx(0.5)


def test_set_global_plan_downsamples_every_50_m():
    from planning.route_planner import interpolate_trajectory

    cmap = town_grid()
    wps = [w for w in cmap.generate_waypoints(2.0) if not w.is_junction]
    start = wps[0].transform.location
    end = max(wps, key=lambda w: w.transform.location.distance(start)).transform.location
    plan = interpolate_trajectory(cmap, [start, end])
    agent = _Recorder("")
    agent.set_global_plan(plan.gps, plan.world)
    assert 3 <= len(agent._global_plan) < len(plan.world) / 20
    assert len(agent._global_plan) == len(agent._global_plan_world_coord)
    assert agent._global_plan_world_coord[-1][0].location.distance(plan.world[-1][0].location) < 1e-6
    assert set(agent._global_plan[0][0]) == {"lat", "lon", "z"}


def _cam(i, kind="sensor.camera.rgb", **kw):
    return {"type": kind, "id": f"cam{i}", "x": 1.3, "y": 0.0, "z": 2.3, "roll": 0, "pitch": 0, "yaw": 0,
            "width": 320, "height": 160, "fov": 60, **kw}


LETFUSER_RIG = ([_cam(i) for i in range(3)] + [_cam(i + 3, "sensor.camera.depth") for i in range(3)]
                + [{"type": "sensor.other.gnss", "id": "gps", "x": 0, "y": 0, "z": 0},
                   {"type": "sensor.speedometer", "id": "speed"}])


@pytest.mark.parametrize("rig, track, message", [
    ([_cam(0), _cam(0)], "SENSORS", "Duplicated sensor tag"),
    ([_cam(i) for i in range(5)], "SENSORS", "Too many sensor.camera.rgb"),
    ([_cam(0, x=3.0, z=1.0)], "SENSORS", "Illegal sensor extrinsics"),
    ([{"type": "sensor.opendrive_map", "id": "map"}], "SENSORS", "Illegal sensor used for Track"),
    (LETFUSER_RIG, "SENSORS", "sensor.camera.depth are not allowed"),
    ([_cam(0, kind="sensor.camera.semantic_segmentation")], "SENSORS", "are not allowed"),
    ([_cam(0)], "MAP", "wrong track"),
])
def test_invalid_rigs(rig, track, message):
    with pytest.raises(SensorConfigurationInvalid, match=message):
        validate_sensor_configuration(rig, Track.SENSORS, track)


def test_valid_rigs():
    validate_sensor_configuration([_cam(i) for i in range(4)] + [{"type": "sensor.lidar.ray_cast", "id": "l"}],
                                  Track.SENSORS, "SENSORS")
    validate_sensor_configuration([{"type": "sensor.opendrive_map", "id": "map"}], Track.MAP, "MAP")
    validate_sensor_configuration(LETFUSER_RIG, Track.SENSORS, "RESEARCH")
    with pytest.raises(InputError, match="--track: unknown track 'FOO'"):
        validate_sensor_configuration([], Track.SENSORS, "FOO")


def test_agent_registry_errors(tmp_path):
    with pytest.raises(InputError, match="no such agent file"):
        resolve_agent(str(tmp_path / "nope.py"))
    no_entry = tmp_path / "no_entry.py"
    no_entry.write_text("x = 1\n")
    with pytest.raises(InputError, match="no_entry.py: no get_entry_point"):
        load_agent_class(str(no_entry))
    wrong = tmp_path / "wrong_entry.py"
    wrong.write_text("def get_entry_point():\n    return 'Missing'\n")
    with pytest.raises(InputError, match="'Missing', which is not an AutonomousAgent"):
        load_agent_class(str(wrong))
    broken = tmp_path / "broken_agent.py"
    broken.write_text("import not_a_module_anywhere\n")
    with pytest.raises(InputError, match="broken_agent.py: import failed"):
        load_agent_class(str(broken))
    good = tmp_path / "good_agent.py"
    good.write_text("from leaderboard.autoagents import autonomous_agent\n\n"
                    "def get_entry_point():\n    return 'Good'\n\n"
                    "class Good(autonomous_agent.AutonomousAgent):\n    pass\n")
    cls = load_agent_class(str(good))
    assert cls.__name__ == "Good" and issubclass(cls, AutonomousAgent)


def test_lb2_weather_interpolates_along_the_route():
    from leaderboard.routes import weather_at

    dry = carla.WeatherParameters(cloudiness=0.0, precipitation=0.0, sun_altitude_angle=70.0)
    wet = carla.WeatherParameters(cloudiness=100.0, precipitation=80.0, sun_altitude_angle=10.0)
    keys = ((0.0, dry), (50.0, wet), (100.0, dry))
    assert weather_at(keys, 0.0).cloudiness == 0.0
    mid = weather_at(keys, 25.0)
    assert mid.cloudiness == pytest.approx(50.0) and mid.precipitation == pytest.approx(40.0)
    assert mid.sun_altitude_angle == pytest.approx(40.0)
    assert weather_at(keys, 75.0).cloudiness == pytest.approx(50.0)
    assert weather_at(((0.0, wet),), 60.0).precipitation == pytest.approx(80.0)
