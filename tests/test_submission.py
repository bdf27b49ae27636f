"""`driving submission build`: the team-code folder runs the agent from itself, the way the official
leaderboard image runs it, and every bad input is one InputError line naming the file or field.

The image-like run happens in a fresh virtual environment with PYTHONPATH set as the Dockerfile
sets it: a LEADERBOARD_ROOT stand-in (a copy of our `leaderboard/` package, which has the official
module paths and agent API) before the built tree, and the tree put first on sys.path as the
official evaluator does before importing the agent file. The venv sees site-packages (no network
at test time), hence our editable install too: the test asserts every module came from the tree.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from driving.cli import main
from driving.config import to_dict
from driving.errors import InputError
from driving.submission import build_submission
from driving.training.checkpoint import save_checkpoint
from perception.config import load_model_config
from perception.model import LeTFuser

REPO = Path(__file__).resolve().parents[1]
AGENT_RUN = """
import importlib, json, os, sys
sys.path.insert(0, os.environ["TEAM_CODE_ROOT"])  # leaderboard_evaluator.py does this before importing
agent_file = os.environ["TEAM_AGENT"]
module = importlib.import_module(os.path.basename(agent_file).split(".")[0])
agent = getattr(module, module.get_entry_point())("localhost", 2000, False)
agent.setup(os.environ["TEAM_CONFIG"])
names = ("driving", "perception", "planning", "control", "leaderboard", "leaderboard.autoagents.autonomous_agent")
print(json.dumps({"files": {n: sys.modules[n].__file__ for n in names}, "agent_file": module.__file__,
                  "sensors": agent.sensors(), "track": agent.track.value,
                  "has_our_evaluator": "leaderboard.route_runner" in sys.modules}))
"""


def _checkpoint(path: Path, predict_depth: bool = True) -> Path:
    """A training checkpoint of the tiny model, random weights (what `driving train` saves)."""
    config = dataclasses.replace(load_model_config(REPO / "configs" / "letfuser_tiny.yaml"),
                                 predict_depth=predict_depth)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LeTFuser(config).eval()
    save_checkpoint(path, {"epoch": 1, "global_step": 1, "model": model.state_dict(), "optimizer": {},
                           "scheduler": {}, "gradnorm": None, "metrics": {},
                           "config": {"model": to_dict(config), "train": {}}})
    return path


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("submission")
    out = base / "team_code"
    assert main(["submission", "build", "--agent", "letfuser", "--checkpoint",
                 str(_checkpoint(base / "best.pt")), "--out", str(out)]) == 0
    return out


def _dockerfile_env(dockerfile: str) -> dict[str, str]:
    env = {}
    for line in dockerfile.splitlines():
        if line.startswith("ENV "):
            name, _, value = line[4:].partition(" ")
            env[name] = value.strip().strip('"')
    return env


def test_tree_holds_agent_config_model_packages_and_no_leaderboard(tree):
    names = sorted(p.name for p in tree.iterdir())
    assert names == ["Dockerfile", "README_SUBMISSION.md", "control", "driving", "letfuser_agent.py",
                     "letfuser_agent.yaml", "model", "perception", "planning", "requirements.txt"]
    assert sorted(p.name for p in (tree / "model").iterdir()) == ["model.json", "model.safetensors"]
    assert not list(tree.rglob("__pycache__")) and not list(tree.parent.glob(".team_code*"))
    requirements = (tree / "requirements.txt").read_text().split()
    assert "carla==0.9.14" in requirements and all("==" in r for r in requirements)


def test_dockerfile_sets_the_official_roots_and_agent_variables(tree):
    text = (tree / "Dockerfile").read_text()
    env = _dockerfile_env(text)
    assert env["CARLA_ROOT"] == "/workspace/CARLA" and env["SCENARIO_RUNNER_ROOT"] == "/workspace/scenario_runner"
    assert env["LEADERBOARD_ROOT"] == "/workspace/leaderboard" and env["TEAM_CODE_ROOT"] == "/workspace/team_code"
    assert env["TEAM_AGENT"] == "${TEAM_CODE_ROOT}/letfuser_agent.py"
    assert env["TEAM_CONFIG"] == "${TEAM_CODE_ROOT}/letfuser_agent.yaml"
    assert env["CHALLENGE_TRACK_CODENAME"] == "SENSORS" and "ROUTES" in env and "CHECKPOINT_ENDPOINT" in env
    assert env["PYTHONPATH"].index("${LEADERBOARD_ROOT}") < env["PYTHONPATH"].index("${TEAM_CODE_ROOT}")
    assert "COPY team_code ${TEAM_CODE_ROOT}" in text and "pip3 install -r ${TEAM_CODE_ROOT}/requirements.txt" in text
    readme = (tree / "README_SUBMISSION.md").read_text()
    assert "make_docker.sh" in readme and "leaderboard_evaluator.py" in readme


def test_agent_runs_from_the_tree_as_in_the_image(tree, tmp_path):
    leaderboard_root = tmp_path / "leaderboard_root"
    shutil.copytree(REPO / "leaderboard", leaderboard_root / "leaderboard",
                    ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True, timeout=120)
    # the image's values, with the tree and the leaderboard stand-in for /workspace/...
    env = {**os.environ, "TEAM_CODE_ROOT": str(tree), "TEAM_AGENT": str(tree / "letfuser_agent.py"),
           "TEAM_CONFIG": str(tree / "letfuser_agent.yaml"),
           "PYTHONPATH": os.pathsep.join([str(leaderboard_root), str(tree)])}
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", AGENT_RUN], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(report["agent_file"]) == tree / "letfuser_agent.py"
    for name in ("driving", "perception", "planning", "control"):
        assert Path(report["files"][name]).is_relative_to(tree), (name, report["files"][name])
    assert Path(report["files"]["leaderboard"]).is_relative_to(leaderboard_root)
    assert not report["has_our_evaluator"]  # the agent needs nothing of ours from `leaderboard`
    assert report["track"] == "SENSORS"
    types = {s["type"] for s in report["sensors"]}
    assert types == {"sensor.camera.rgb", "sensor.other.gnss", "sensor.other.imu", "sensor.speedometer"}


@pytest.mark.parametrize("case", ["missing", "garbage", "depth_model", "unknown_agent", "expert", "out_exists"])
def test_bad_input_is_one_input_error_naming_it(tmp_path, case):
    checkpoint, agent, out = tmp_path / "missing.pt", "letfuser", tmp_path / "out"
    expected = "missing.pt: not found"
    if case == "garbage":
        checkpoint = tmp_path / "garbage.pt"
        checkpoint.write_bytes(b"not a checkpoint")
        expected = "garbage.pt"
    elif case == "depth_model":
        checkpoint, expected = _checkpoint(tmp_path / "depth.pt", predict_depth=False), "predict_depth is false"
    elif case in ("unknown_agent", "expert"):
        agent = {"unknown_agent": "tfpp", "expert": "expert"}[case]
        expected = "--agent tfpp: unknown agent" if case == "unknown_agent" else "--agent expert: not submittable"
    elif case == "out_exists":
        checkpoint, expected = _checkpoint(tmp_path / "ok.pt"), "already exists"
        out.mkdir()
    with pytest.raises(InputError, match=expected) as info:
        build_submission(agent, checkpoint, out)
    assert "\n" not in str(info.value)
    assert out.exists() == (case == "out_exists") and not list(tmp_path.glob(".out*"))
