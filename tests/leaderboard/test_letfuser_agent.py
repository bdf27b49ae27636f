"""The LeTFuser agent: loaded as the official evaluator loads it, its rigs, its config, one closed-loop route."""
from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import os
import sys
from pathlib import Path

import cv2
import pytest
import torch
from lb_fixtures import straight_waypoint, town_grid
from test_lb_results import check_results

from driving.cli import main as driving_main
from driving.errors import InputError
from driving.tags import Tag
from leaderboard.autoagents import letfuser_agent
from leaderboard.autoagents.agent_wrapper import SensorConfigurationInvalid, validate_sensor_configuration
from leaderboard.autoagents.autonomous_agent import AutonomousAgent, Track
from leaderboard.leaderboard_evaluator import main as evaluator_main
from leaderboard.statistics import FAILURE_AGENT_CRASHED, FAILURE_SENSORS, FAILURE_SETUP, FAILURE_SIMULATION
from perception.config import load_model_config
from perception.model import LeTFuser
from perception.model_file import MODEL_CONFIG_NAME, save_model_file
from planning.letfuser_agent_config import LeTFuserAgentConfig, load_agent_config

AGENT_FILE = Path(letfuser_agent.__file__)
TINY = load_model_config("configs/letfuser_tiny.yaml")


def _save_tiny(folder: Path, predict_depth: bool = False) -> Path:
    torch.manual_seed(0)
    config = dataclasses.replace(TINY, predict_depth=predict_depth)
    return save_model_file(folder, LeTFuser(config), config)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """A tiny random model with camera depth (research rig) and one predicting depth (RGB only)."""
    root = tmp_path_factory.mktemp("letfuser_models")
    return {"research": _save_tiny(root / "research"), "rgb_only": _save_tiny(root / "rgb_only", True)}


def _agent_yaml(path: Path, model: str | Path, **fields: object) -> Path:
    lines = [f"model: {model}", "compile: off", *(f"{k}: {v}" for k, v in fields.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_route(path: Path, length_m: float = 10.0) -> Path:
    wp = straight_waypoint(town_grid(), 50.0)
    a, b = wp.transform.location, wp.next(length_m)[0].transform.location
    path.write_text(f'<routes><route id="0" town="town_grid" n_vehicles="2" n_walkers="0">'
                    f'<waypoint x="{a.x}" y="{a.y}" z="0"/><waypoint x="{b.x}" y="{b.y}" z="0"/></route></routes>')
    return path


def test_loads_as_the_official_evaluator_loads_it(models, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(AGENT_FILE.parent))
    module_name = AGENT_FILE.stem
    monkeypatch.delitem(sys.modules, module_name, raising=False)
    try:
        module = importlib.import_module(module_name)
        agent = getattr(module, module.get_entry_point())(str(_agent_yaml(tmp_path / "a.yaml", models["research"])))
    finally:
        sys.modules.pop(module_name, None)
    assert isinstance(agent, AutonomousAgent) and agent.track == Track.RESEARCH


def test_imports_from_the_leaderboard_package_only_its_agent_base():
    """The official leaderboard package is theirs: anything else of ours under leaderboard/ is absent there."""
    tree = ast.parse(AGENT_FILE.read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {m for m in imported if m.split(".")[0] == "leaderboard"} == {"leaderboard.autoagents.autonomous_agent"}


def test_research_rig_needs_the_research_track_and_the_rgb_variant_passes_sensors(models, tmp_path):
    research = letfuser_agent.LeTFuserAgent(str(_agent_yaml(tmp_path / "r.yaml", models["research"])))
    rig = research.sensors()
    assert sorted(s["type"] for s in rig).count("sensor.camera.depth") == 3
    assert {"gps", "imu", "speed"} <= {s["id"] for s in rig}
    validate_sensor_configuration(rig, research.track, Track.RESEARCH)
    with pytest.raises(SensorConfigurationInvalid):
        validate_sensor_configuration(rig, research.track, Track.SENSORS)
    rgb_only = letfuser_agent.LeTFuserAgent(str(_agent_yaml(tmp_path / "s.yaml", models["rgb_only"])))
    assert rgb_only.track == Track.SENSORS
    rig = rgb_only.sensors()
    assert sorted(s["type"] for s in rig).count("sensor.camera.rgb") == 3
    assert not any("depth" in s["type"] for s in rig)
    validate_sensor_configuration(rig, rgb_only.track, Track.SENSORS)


def test_agent_config_yaml_model_path_and_errors(models, tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    config = load_agent_config(_agent_yaml(tmp_path / "cfg" / "agent.yaml", "../m", debug_video="videos",
                                           control="{mode: pid_only}"))
    assert config.model == str(tmp_path / "m") and config.debug_video == str(tmp_path / "cfg" / "videos")
    assert config.control.mode == "pid_only" and config.compile == "off"  # bare YAML off is false: accepted
    direct = load_agent_config(str(models["research"]))
    assert direct == LeTFuserAgentConfig(model=str(models["research"]))
    from planning import letfuser_agent_config

    monkeypatch.setattr(letfuser_agent_config, "SHIPPED_MODEL_DIR", tmp_path / "no_shipped_model")
    with pytest.raises(InputError, match="needs a model"):  # no --agent-config and no shipped model
        load_agent_config("")
    bad = _agent_yaml(tmp_path / "bad.yaml", "m", speed_limit=3)
    with pytest.raises(InputError, match=r"bad\.yaml.*unknown key.*speed_limit"):
        load_agent_config(bad)
    with pytest.raises(InputError, match=r"mode\.yaml: control\.mode"):
        load_agent_config(_agent_yaml(tmp_path / "mode.yaml", "m", control="{mode: fastest}"))
    with pytest.raises(InputError, match=r"nomodel\.yaml: model: required"):
        load_agent_config(_agent_yaml(tmp_path / "nomodel.yaml", "''"))


def test_the_loaded_model_is_cached_until_its_files_change(models, tmp_path):
    model = tmp_path / "model"
    _save_tiny(model)
    conf = str(_agent_yaml(tmp_path / "a.yaml", model))
    first, second = letfuser_agent.LeTFuserAgent(conf), letfuser_agent.LeTFuserAgent(conf)
    assert first.runner is second.runner and not first.runner.compiled
    stat = (model / MODEL_CONFIG_NAME).stat()
    os.utime(model / MODEL_CONFIG_NAME, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert letfuser_agent.LeTFuserAgent(conf).runner is not first.runner


def test_compile_auto_falls_back_to_eager_and_on_refuses(models, monkeypatch):
    """A machine without a C++ compiler (inductor pointed at one that does not exist)."""
    from torch._inductor import config as inductor_config

    # inductor's own patch restores its config; monkeypatching the config proxy left `cpp.cxx`
    # hidden afterwards and broke every later compile in the same process
    monkeypatch.setattr(letfuser_agent, "_RUNNERS", {})
    torch._dynamo.reset()
    try:
        with inductor_config.patch({"cpp.cxx": (None, "no-such-c++-compiler")}), \
                pytest.warns(RuntimeWarning, match="eager model"):
            runner = letfuser_agent.model_runner(LeTFuserAgentConfig(model=str(models["research"])))
        assert not runner.compiled
        with inductor_config.patch({"cpp.cxx": (None, "no-such-c++-compiler")}), \
                pytest.raises(InputError, match="compile: on.*C.. compiler"):
            letfuser_agent.model_runner(LeTFuserAgentConfig(model=str(models["research"]), compile="on"))
    finally:
        torch._dynamo.reset()


def test_stuck_recovery_creeps_after_the_standstill_unless_the_box_is_occupied():
    config = LeTFuserAgentConfig(model="unused", stuck_recovery=True, stuck_after_s=1.0, creep_duration_s=0.5)
    stuck = letfuser_agent.StuckRecovery(config, TINY)
    sdc = torch.zeros(TINY.num_classes, TINY.input_height, TINY.input_width)
    front = (TINY.input_height - 1, TINY.input_width // 2)  # 0..0.5 m ahead of the cameras, centre line
    assert [stuck.step(0.0, 0.25, sdc) for _ in range(4)] == [None] * 4  # 1.0 s: not more than 1.0 s yet
    assert stuck.step(0.0, 0.25, sdc) == "creep"
    sdc[Tag.VEHICLES, front[0], front[1]] = 1.0
    assert stuck.step(0.0, 0.25, sdc) == "blocked"
    sdc[Tag.VEHICLES, front[0], front[1]] = 0.0
    sdc[Tag.PEDESTRIAN, front[0] - 10, front[1]] = 1.0  # 5 m ahead: beyond creep_clear_m (4 m)
    sdc[Tag.VEHICLES, front[0], front[1] + 4] = 1.0  # 2 m to the right: beside the box
    sdc[Tag.ROAD, front[0], front[1]] = 1.0  # road under the car blocks nothing
    assert stuck.step(0.0, 0.25, sdc) == "creep"
    # moving: the creep armed on the last standstill frame (0.5 s, 0.25 s of it used there) runs out
    moving = [stuck.step(1.0, 0.25, sdc) for _ in range(3)]
    assert moving == ["creep", None, None] and stuck.standstill_s == 0.0


def test_closed_loop_route_with_debug_video(models, tmp_path):
    routes = _write_route(tmp_path / "routes.xml")
    conf = _agent_yaml(tmp_path / "agent.yaml", models["research"], debug_video="videos", stuck_recovery="true")
    out = tmp_path / "results.json"
    rc = evaluator_main(["--routes", str(routes), "--agent", "letfuser", "--agent-config", str(conf),
                         "--track", "RESEARCH", "--checkpoint", str(out)])
    assert rc == 0
    doc = json.loads(out.read_text())
    (record,) = doc["_checkpoint"]["records"]
    assert record["status"] not in (FAILURE_AGENT_CRASHED, FAILURE_SETUP, FAILURE_SENSORS, FAILURE_SIMULATION), record
    assert record["meta"]["duration_game"] > 0.0
    assert doc["sensors"].count("carla_camera_depth") == 3
    assert check_results(out).returncode == 0
    (video,) = (tmp_path / "videos").glob("*.mp4")
    capture = cv2.VideoCapture(str(video))
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    assert frames >= 10  # one per agent step


def test_viewer_shows_the_agents_debug_view_beside_the_top_down_and_status(models, tmp_path):
    routes = _write_route(tmp_path / "routes.xml")
    conf = _agent_yaml(tmp_path / "agent.yaml", models["research"])  # no debug_video: drawn for the viewer only
    out = tmp_path / "out"
    assert driving_main(["evaluate", "--routes", str(routes), "--agent", "letfuser", "--agent-config", str(conf),
                         "--track", "RESEARCH", "--out", str(out), "--viewer", "video"]) == 0
    (video,) = (out / "viewer").iterdir()
    capture = cv2.VideoCapture(str(video))
    ok, first = capture.read()
    frames = 1 + sum(1 for _ in iter(lambda: capture.read()[0], False))
    capture.release()
    assert ok and first.shape == (672, 960 + 384, 3)  # the tiny model's debug picture | top-down over status
    (record,) = json.loads((out / "results.json").read_text())["_checkpoint"]["records"]
    assert abs(frames - record["meta"]["duration_game"] / 0.05 / 2) <= 1


@pytest.mark.parametrize("case", ["missing_model", "unknown_key", "mismatched_model"])
def test_bad_agent_config_is_one_error_line_before_any_route(models, tmp_path, capsys, case):
    if case == "missing_model":
        conf = str(tmp_path / "no_such_model")
    elif case == "unknown_key":
        conf = str(_agent_yaml(tmp_path / "agent.yaml", models["research"], speed_limit=3))
    else:
        model = _save_tiny(tmp_path / "mismatched")
        doc = json.loads((model / MODEL_CONFIG_NAME).read_text())
        doc["model"]["fusion_out"] = 48
        (model / MODEL_CONFIG_NAME).write_text(json.dumps(doc))
        conf = str(model)
    capsys.readouterr()
    rc = driving_main(["evaluate", "--routes", str(_write_route(tmp_path / "routes.xml")), "--agent", "letfuser",
                       "--agent-config", conf, "--track", "RESEARCH", "--out", str(tmp_path / "out")])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 2 and len(err) == 1 and err[0].startswith("error:"), err
    assert {"missing_model": "no_such_model", "unknown_key": "speed_limit",
            "mismatched_model": "disagree"}[case] in err[0]
    assert not (tmp_path / "out" / "results.json").exists()


def test_driving_evaluate_without_track_runs_the_track_the_model_needs(models, tmp_path, capsys):
    """A depth-camera model runs in RESEARCH, an RGB-only one in SENSORS, with no --track given."""
    for name, track in (("research", "RESEARCH"), ("rgb_only", "SENSORS")):
        conf = _agent_yaml(tmp_path / f"{name}.yaml", models[name])
        assert letfuser_agent.LeTFuserAgent.track_for_config(str(conf)) == track
        routes = _write_route(tmp_path / f"{name}.xml", length_m=4.0)
        capsys.readouterr()
        assert driving_main(["evaluate", "--routes", str(routes), "--agent", "letfuser", "--agent-config",
                             str(conf), "--out", str(tmp_path / name)]) == 0
        out = " ".join(capsys.readouterr().out.split())
        assert f"track {track}" in out
        (record,) = json.loads((tmp_path / name / "results.json").read_text())["_checkpoint"]["records"]
        assert record["status"] not in (FAILURE_SENSORS, FAILURE_SETUP), record


def test_the_shipped_model_is_the_agents_default_and_fits_the_size_limit():
    """`--agent letfuser` without --agent-config drives the model in perception/weights/letfuser_tiny:
    the tiny architecture, at most 50 MB, shipped with its recipe, data summary and metrics."""
    from planning.letfuser_agent_config import SHIPPED_MODEL_DIR, load_agent_config

    config = load_agent_config("")
    assert Path(config.model) == SHIPPED_MODEL_DIR
    files = {p.name: p.stat().st_size for p in SHIPPED_MODEL_DIR.iterdir()}
    assert {"model.safetensors", "model.json", "recipe.yaml", "dataset_summary.json",
            "training_metrics.json", "heldout_metrics.json", "README.md"} <= set(files)
    assert sum(files.values()) <= 50 * 2**20
    loaded = letfuser_agent.model_runner(dataclasses.replace(config, compile="off")).loaded
    assert loaded.config == load_model_config(SHIPPED_MODEL_DIR / "recipe.yaml")
    assert letfuser_agent.LeTFuserAgent.track_for_config("") == "RESEARCH"
