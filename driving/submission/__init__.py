"""`driving submission build`: the team-code folder the official CARLA leaderboard image runs.

Our `leaderboard/` package sits at the official module paths (`leaderboard.autoagents.
autonomous_agent`, `leaderboard.leaderboard_evaluator`, ...) so that agents move between the two
evaluators unchanged. In the image the official package is /workspace/leaderboard, on PYTHONPATH
before /workspace/team_code, and its evaluator also puts the agent file's folder first on
sys.path. Shipping our `leaderboard/` in the team code would therefore either be shadowed or
shadow the official evaluator's own modules. So the tree holds no `leaderboard/` at all:

    team_code/
      letfuser_agent.py      the agent file (TEAM_AGENT): a copy of leaderboard/autoagents/
                             letfuser_agent.py, which imports from `leaderboard` only
                             `autonomous_agent.AutonomousAgent` and `Track` -- the official ones
      letfuser_agent.yaml    its config (TEAM_CONFIG): `model: model` (relative to the YAML)
      model/                 the deployable model folder (model.safetensors + model.json)
      driving/ perception/ planning/ control/   our packages the agent imports
      requirements.txt  Dockerfile  README_SUBMISSION.md

Only a model that predicts depth is accepted: one fed camera depth needs depth cameras, which
the leaderboard's SENSORS track does not allow. The tree is written into a hidden temporary
folder beside `out` and renamed onto it at the end, so `out` appears complete or not at all.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from driving.atomic_io import atomic_write_text, current_umask
from driving.errors import InputError
from driving.submission import templates

#: Folder holding our top-level packages (the repository, or site-packages when installed).
SOURCE_ROOT = Path(__file__).resolve().parents[2]
#: Where the built config points the agent (relative to the config file's folder).
MODEL_DIR = "model"
TRACK = "SENSORS"


@dataclass(frozen=True)
class AgentSpec:
    """What one agent needs in the team code: its file (copied to the tree root) and our packages."""

    source: str  # agent file, relative to SOURCE_ROOT
    packages: tuple[str, ...]

    @property
    def file_name(self) -> str:
        return Path(self.source).name

    @property
    def config_name(self) -> str:
        return Path(self.source).stem + ".yaml"


AGENTS = {"letfuser": AgentSpec("leaderboard/autoagents/letfuser_agent.py",
                                ("driving", "perception", "planning", "control"))}
#: Agents we know but cannot submit, with the reason.
NOT_SUBMITTABLE = {"expert": "it reads the simulator's ground truth (PrivilegedAgent), which the official "
                             "leaderboard never hands to an agent"}


def agent_spec(name: str) -> AgentSpec:
    """The spec of agent `name`; InputError naming the field for an unknown or unsubmittable one."""
    if name in NOT_SUBMITTABLE:
        raise InputError(f"--agent {name}: not submittable: {NOT_SUBMITTABLE[name]}")
    if name not in AGENTS:
        raise InputError(f"--agent {name}: unknown agent; expected one of {sorted(AGENTS)}")
    return AGENTS[name]


def _ignore(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n == "__pycache__" or n.endswith((".pyc", ".pyo")) or n.startswith(".")}


def _write_model(checkpoint: Path, out_dir: Path) -> None:
    """The model of `checkpoint` (training .pt, model folder or run folder) as a model folder."""
    from perception.model_file import load_model, save_model_file

    if not checkpoint.exists():
        raise InputError(f"--checkpoint {checkpoint}: not found (expected a training checkpoint .pt or an "
                         f"exported model folder)")
    loaded = load_model(checkpoint)
    if not loaded.config.predict_depth:
        raise InputError(f"--checkpoint {checkpoint}: model.predict_depth is false: the model reads depth "
                         f"cameras, which the leaderboard's {TRACK} track does not allow; train with "
                         f"predict_depth: true")
    save_model_file(out_dir, loaded.model, loaded.config, loaded.task_weights,
                    {"submission_from": str(checkpoint)})


def _write_tree(spec: AgentSpec, agent: str, checkpoint: Path, root: Path) -> None:
    shutil.copy2(SOURCE_ROOT / spec.source, root / spec.file_name)
    for package in spec.packages:
        shutil.copytree(SOURCE_ROOT / package, root / package, ignore=_ignore)
    _write_model(checkpoint, root / MODEL_DIR)
    atomic_write_text(root / spec.config_name,
                      f"# {agent} agent config (planning.letfuser_agent_config); paths relative to this file\n"
                      f"model: {MODEL_DIR}\ncompile: \"off\"  # eager: no compiler at agent setup time\n")
    atomic_write_text(root / "requirements.txt", "\n".join(templates.REQUIREMENTS) + "\n")
    atomic_write_text(root / "Dockerfile", templates.DOCKERFILE.format(
        python=templates.IMAGE_PYTHON, env="python" + templates.IMAGE_PYTHON.replace(".", ""),
        agent_file=spec.file_name, config_file=spec.config_name, track=TRACK))
    atomic_write_text(root / "README_SUBMISSION.md", templates.README.format(
        agent=agent, checkpoint=checkpoint, agent_file=spec.file_name, config_file=spec.config_name,
        packages=", ".join(f"`{p}/`" for p in spec.packages), python=templates.IMAGE_PYTHON,
        track=TRACK, command=templates.EVALUATE_COMMAND))


def build_submission(agent: str, checkpoint: str | Path, out: str | Path) -> Path:
    """Write the team-code folder `out` for `agent` driving the model of `checkpoint`; returns `out`.

    `out` must not exist yet (a submission folder is never merged into an old one). Every bad
    input is one InputError naming the file or field; nothing is left behind on failure.
    """
    spec = agent_spec(agent)
    checkpoint, out = Path(checkpoint).expanduser(), Path(out).expanduser()
    if out.exists():
        raise InputError(f"--out {out}: already exists; name a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        _write_tree(spec, agent, checkpoint, tmp)
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700; the folder is for people and docker
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out

