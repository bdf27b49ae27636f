"""Configuration of the LeTFuser driving agent (`--agent letfuser --agent-config ...`).

`--agent-config` takes an agent YAML (`configs/letfuser_agent.yaml` documents every field) or a
model path directly (model folder, training run folder or checkpoint .pt: then every other
field keeps its default). The control mode lives here, not in an environment variable as in x13,
so that a results file's agent config says how it drove.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from control.letfuser_controller import ControllerConfig
from driving.config import load_config
from driving.errors import InputError

COMPILE_MODES = ("auto", "off", "on")
AGENT_YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LeTFuserAgentConfig:
    """Everything the agent needs besides the model's own config (units in the names).

    Stuck recovery follows TransFuser++ (autonomousvision/carla_garage, team_code/config.py and
    sensor_agent.py): after `stuck_threshold` = 1100 frames (55 s at 20 Hz, longer than a red
    light) below 0.1 m/s, it forces `creep_throttle` = 0.4 for `creep_duration` = 20 frames
    (1.0 s), unless its safety box (LiDAR points 2.45..4.95 m ahead of the vehicle centre, i.e.
    2.5 m past the bumper, within +-0.85 m) is occupied: then it brakes and restarts the creep.
    We have no LiDAR; the box is read from the model's SDC (predicted vehicle and pedestrian
    cells up to `creep_clear_m` ahead of the cameras, 1.3 m ahead of the centre, and within
    `creep_half_width_m` sideways), which costs nothing extra.
    """

    model: str = ""  # model folder, training run folder or checkpoint .pt; relative to the YAML's folder
    control: ControllerConfig = field(default_factory=ControllerConfig)
    # auto: compile if it works, else eager with a warning; off; on: must compile. YAML 1.1 reads a
    # bare on/off as true/false, so booleans are accepted and stored as "on"/"off".
    compile: str | bool = "auto"
    debug_video: str | None = None  # folder; one mp4 per agent instance (route)
    stuck_recovery: bool = False
    stuck_after_s: float = 55.0
    creep_duration_s: float = 1.0
    creep_throttle: float = 0.4
    creep_clear_m: float = 4.0
    creep_half_width_m: float = 1.5
    gnss_max_jump_m: float = 10.0
    route_pop_distance_m: float = 4.0
    route_lookahead_m: float = 50.0

    def __post_init__(self) -> None:
        if not self.model:
            raise InputError("model: required (a model folder, a training run folder or a checkpoint .pt)")
        if isinstance(self.compile, bool):
            object.__setattr__(self, "compile", "on" if self.compile else "off")
        if self.compile not in COMPILE_MODES:
            raise InputError(f"compile: expected one of {list(COMPILE_MODES)}, got {self.compile!r}")
        for name in ("stuck_after_s", "creep_duration_s", "creep_clear_m", "creep_half_width_m",
                     "gnss_max_jump_m", "route_pop_distance_m", "route_lookahead_m"):
            if not getattr(self, name) > 0.0:
                raise InputError(f"{name}: expected a positive number, got {getattr(self, name)}")
        if not 0.0 < self.creep_throttle <= 1.0:
            raise InputError(f"creep_throttle: expected (0, 1], got {self.creep_throttle}")


#: The model trained by scripts/reproduce_letfuser_tiny.sh and shipped in the package: the agent's
#: model when no --agent-config is given (a user runs it the moment the package is installed).
SHIPPED_MODEL_DIR = Path(__file__).resolve().parents[1] / "perception" / "weights" / "letfuser_tiny"


def load_agent_config(path_to_conf_file: str | Path) -> LeTFuserAgentConfig:
    """`--agent-config` -> config: an agent YAML (paths resolved against its folder) or a model path.

    Every error is one InputError naming the file and the field.
    """
    text = str(path_to_conf_file)
    if not text and (SHIPPED_MODEL_DIR / "model.json").is_file():
        return LeTFuserAgentConfig(model=str(SHIPPED_MODEL_DIR))
    if not text:
        raise InputError("--agent-config: the letfuser agent needs a model: pass a model folder, a training run "
                         "folder, a checkpoint .pt or an agent YAML (see configs/letfuser_agent.yaml)")
    path = Path(text).expanduser()
    if path.suffix.lower() not in AGENT_YAML_SUFFIXES:
        return LeTFuserAgentConfig(model=str(path.resolve()))
    if not path.is_file():
        raise InputError(f"--agent-config {path}: no such agent YAML")
    config = load_config(LeTFuserAgentConfig, path)
    base = path.resolve().parent
    debug_video = config.debug_video and str((base / Path(config.debug_video).expanduser()).resolve())
    return dataclasses.replace(config, model=str((base / Path(config.model).expanduser()).resolve()),
                               debug_video=debug_video or None)
