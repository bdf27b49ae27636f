"""Training configuration: the `train:` section of a model YAML (configs/letfuser*.yaml).

The same YAML file holds the `model:` section (perception's `LeTFuserConfig`, read by
`perception.config.load_model_config`); `load_experiment_config` reads both so a run is
described by one file, and each section rejects unknown keys and wrong types naming the file
and field (`driving.config`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driving.config import load_config_section

#: Losses of the traffic-light head (`driving.training.losses.task_losses`).
RED_LIGHT_LOSSES = ("l1", "bce")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and data settings. Defaults are LeTFuser's (AdamW 1e-4, wd 1e-3, batch 20, 20 epochs).

    - `plateau_factor`/`plateau_patience_epochs`: ReduceLROnPlateau on the validation loss.
    - `gradnorm_alpha`: GradNorm's restoring-force strength (Chen et al. 2018: 1.5);
      `gradnorm_lr`: step size of the task-weight optimiser; `gradnorm_every_n_steps`: how often
      the weights are updated (1 = every step as in the paper; the reference once per epoch).
    - `val_towns`: routes in these town folders form the validation split (LeTFuser: Town05);
      when none exists, the last `val_fraction` of the sorted routes is held out instead.
    - `max_yaw_deg`, `color_jitter`: augmentation, see `driving.collect.dataset.DatasetConfig`.
    - `max_hours`/`max_steps`: the training budget (0 = none), see `driving.training.budget`.
    - `cache_frames`: keep decoded model-size frames on disk after the first pass
      (`driving.collect.frame_cache`); samples are identical, later epochs skip the PNG decoding.
    - `channels_last`: NHWC memory format for the model's convolutions (faster on CPU and on GPUs
      with tensor cores; same results up to float rounding).
    - `num_threads`: intra-op CPU threads; 0 = the CPUs this process may use minus `num_workers`.
    - `red_light_loss`: "l1" (the reference) or "bce" for the traffic-light head
      (`driving.training.losses` says why L1 leaves it at the majority class).
    """

    epochs: int = 20
    batch_size: int = 20
    lr: float = 1e-4
    weight_decay: float = 1e-3
    plateau_factor: float = 0.5
    plateau_patience_epochs: int = 3
    min_lr: float = 1e-7
    grad_clip_norm: float = 0.0
    use_gradnorm: bool = True
    gradnorm_alpha: float = 1.5
    gradnorm_lr: float = 0.025
    gradnorm_every_n_steps: int = 1
    num_workers: int = 2
    seed: int = 0
    val_towns: tuple[str, ...] = ("Town05",)
    val_fraction: float = 0.1
    augment: bool = True
    max_yaw_deg: float = 5.0
    color_jitter: float = 0.2
    log_every_n_steps: int = 10
    max_hours: float = 0.0
    max_steps: int = 0
    cache_frames: bool = True
    channels_last: bool = True
    num_threads: int = 0
    red_light_loss: str = "l1"

    def __post_init__(self) -> None:
        positive = ("epochs", "batch_size", "lr", "plateau_patience_epochs", "gradnorm_every_n_steps",
                    "log_every_n_steps")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("weight_decay", "grad_clip_norm", "gradnorm_alpha", "gradnorm_lr", "num_workers",
                     "max_yaw_deg", "min_lr", "max_hours", "max_steps", "num_threads"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.red_light_loss not in RED_LIGHT_LOSSES:
            raise ValueError(f"red_light_loss must be one of {list(RED_LIGHT_LOSSES)}, got {self.red_light_loss!r}")
        if not 0 < self.plateau_factor < 1:
            raise ValueError(f"plateau_factor must be in (0, 1), got {self.plateau_factor}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if not 0 <= self.color_jitter < 1:
            raise ValueError(f"color_jitter must be in [0, 1), got {self.color_jitter}")


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole run: the model (perception's `LeTFuserConfig`) and how to train it."""

    model: Any
    train: TrainConfig = field(default_factory=TrainConfig)
    path: str = ""


def load_train_config(path: str | Path) -> TrainConfig:
    """The `train:` section of YAML file `path` (missing section -> defaults)."""
    return load_config_section(TrainConfig, path, "train", required=False)


def load_experiment_config(path: str | Path) -> ExperimentConfig:
    """Both sections of `path`: `model:` through perception's loader, `train:` through ours."""
    from perception.config import load_model_config

    return ExperimentConfig(model=load_model_config(path), train=load_train_config(path), path=str(path))
