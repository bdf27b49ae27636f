"""The training loop: AdamW + ReduceLROnPlateau + GradNorm, AMP on CUDA, DDP under torchrun.

Works with any `nn.Module` whose forward is `(rgb, depth, target_point, speed, command) ->
LeTFuserOutput` and which offers `shared_parameters()` (for GradNorm). A run folder holds
`checkpoints/last.pt` (every epoch) and `checkpoints/best.pt` (lowest validation loss),
`metrics.json` (one entry per epoch, rewritten atomically), `tensorboard/`, `config.json` and
`model/`, the deployable model folder of the best epoch (`perception.model_file`).

DDP follows torchrun's protocol: when torchrun's WORLD_SIZE / LOCAL_RANK variables are present
the process group is initialised (NCCL on CUDA, Gloo on CPU), the train loader uses a
DistributedSampler and only rank 0 writes files.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from driving.collect.dataset import DatasetConfig, LeTFuserDataset
from driving.collect.route_reader import RouteReader, check_frame_interval, discover_routes
from driving.collect.writer import write_json_atomic
from driving.config import to_dict
from driving.errors import InputError
from driving.training.checkpoint import BEST_NAME, CHECKPOINT_DIR, LAST_NAME, load_checkpoint, save_checkpoint
from driving.training.config import ExperimentConfig
from driving.training.gradnorm import GradNorm
from driving.training.losses import PLANNING_TASKS, task_losses, tasks_for
from driving.training.metrics import MetricAccumulator
from perception.model_file import RUN_MODEL_DIR, save_model_file

METRICS_NAME = "metrics.json"


@dataclass(frozen=True)
class DistContext:
    """This process's place in a (possibly single-process) run."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return dist.is_available() and dist.is_initialized()


def setup_distributed() -> DistContext:
    """Initialise the process group when launched by torchrun; pick this rank's device."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    if "WORLD_SIZE" in os.environ and "LOCAL_RANK" in os.environ and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    if dist.is_available() and dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size(), device)
    return DistContext(device=device)


def dataset_config_for(model_config: Any, experiment: ExperimentConfig) -> DatasetConfig:
    """The dataset's crop and sizes follow the model's camera geometry (crop = input / 3 views);
    its routes must be saved at the model's waypoint interval."""
    width = int(getattr(model_config, "input_width", 768))
    camera_w = getattr(model_config, "camera_width_px", None)
    crop_fraction = width / (3 * camera_w) if camera_w else 0.8
    return DatasetConfig(input_height=int(getattr(model_config, "input_height", 160)), input_width=width,
                         crop_fraction=crop_fraction, num_waypoints=int(getattr(model_config, "num_waypoints", 3)),
                         num_classes=int(getattr(model_config, "num_classes", 23)),
                         max_yaw_deg=experiment.train.max_yaw_deg, color_jitter=experiment.train.color_jitter,
                         waypoint_interval_s=float(getattr(model_config, "waypoint_interval_s", 0.5)))


def split_routes(root: str | Path, val_towns: Sequence[str],
                 val_fraction: float) -> tuple[list[RouteReader], list[RouteReader]]:
    """(train, val) complete routes of any known layout: by town when both sides are non-empty, else the sorted tail."""
    complete, incomplete = discover_routes(root)
    for r in incomplete:
        warnings.warn(f"{r}: no manifest, route incomplete; skipped", stacklevel=2)
    if not complete:
        raise InputError(f"{root}: no complete route (a route folder needs measurements/ and manifest.json, or "
                         f"the TransFuser 2022 folder set)")
    val = [r for r in complete if r.town in set(val_towns)]
    train = [r for r in complete if r not in val]
    if val and train:
        return train, val
    n_val = round(len(complete) * val_fraction) if len(complete) > 1 else 0
    n_val = min(max(n_val, 1 if len(complete) > 1 else 0), len(complete) - 1)
    if n_val == 0:
        warnings.warn(f"{root}: only one complete route; validating on the training route", stacklevel=2)
        return complete, complete
    return complete[:-n_val], complete[-n_val:]


def gradnorm_layers(model: nn.Module, tasks: Sequence[str]) -> dict[str, list[nn.Parameter]]:
    """The shared layer GradNorm measures each task at, as x13: the fusion layer
    (`shared_parameters()`) for the planning tasks, the backbone's last layer
    (`perception_shared_parameters()`, when the model has it) for the others."""
    planning = list(model.shared_parameters())
    perception = list(model.perception_shared_parameters()) if hasattr(model, "perception_shared_parameters") \
        else planning
    return {t: planning if t in PLANNING_TASKS else perception for t in tasks}


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


class Trainer:
    """Owns the model, optimiser, scheduler, GradNorm and AMP state of one run."""

    def __init__(self, model: nn.Module, experiment: ExperimentConfig, ctx: DistContext | None = None) -> None:
        self.experiment = experiment
        self.cfg = experiment.train
        self.ctx = ctx or DistContext()
        self.model = model.to(self.ctx.device)
        self.module = model  # the bare model (shared_parameters, state_dict) even under DDP
        if self.ctx.distributed:
            ids = [self.ctx.device.index] if self.ctx.device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, mode="min", factor=self.cfg.plateau_factor,
            patience=self.cfg.plateau_patience_epochs, min_lr=self.cfg.min_lr)
        self.amp = self.ctx.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda") if self.amp else None
        self.tasks = tasks_for(bool(getattr(experiment.model, "predict_depth", False)))
        self.gradnorm = (GradNorm(self.tasks, gradnorm_layers(model, self.tasks), alpha=self.cfg.gradnorm_alpha,
                                  lr=self.cfg.gradnorm_lr, device=self.ctx.device)
                         if self.cfg.use_gradnorm else None)
        self.global_step = 0
        self.epoch = 0  # last finished epoch
        self.best_val = math.inf

    def forward(self, batch: dict[str, torch.Tensor]):
        """Model output and task losses. Depth is always passed: with a depth head the model only
        uses it as that head's target."""
        with torch.autocast(device_type=self.ctx.device.type, dtype=torch.float16, enabled=self.amp):
            out = self.model(batch["rgb"], batch["depth"], batch["target_point"], batch["speed"], batch["command"])
            return out, task_losses(out, batch, self.tasks)

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One optimisation step on a batch already on the device; returns the logged figures."""
        self.model.train()
        _, losses = self.forward(batch)
        if self.gradnorm is not None:
            weights = self.gradnorm.weights.detach().clone()
            total = sum(weights[i] * losses[t] for i, t in enumerate(self.tasks))
        else:
            total = sum(losses.values())
        stats: dict[str, float] = {}
        if self.gradnorm is not None and self.global_step % self.cfg.gradnorm_every_n_steps == 0:
            stats.update(self.gradnorm.update(losses, self.scaler.get_scale() if self.scaler else 1.0))
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            total.backward()
        if self.cfg.grad_clip_norm > 0:
            nn.utils.clip_grad_norm_(self.module.parameters(), self.cfg.grad_clip_norm)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.global_step += 1
        stats.update({f"loss_{t}": v.item() for t, v in losses.items()})
        stats["loss_weighted"] = total.item()
        stats["loss_total"] = sum(stats[f"loss_{t}"] for t in self.tasks)
        return stats

    @torch.no_grad()
    def validate(self, loader: DataLoader) -> dict[str, float]:
        self.model.eval()
        acc = MetricAccumulator(int(getattr(self.experiment.model, "num_classes", 23)), self.tasks, self.ctx.device)
        for batch in loader:
            batch = _to_device(batch, self.ctx.device)
            out, losses = self.forward(batch)
            acc.update(out, batch, losses)
        acc.all_reduce()
        return acc.compute()

    def config_dict(self) -> dict[str, Any]:
        return {"model": to_dict(self.experiment.model), "train": to_dict(self.cfg)}

    def state(self, metrics: dict[str, Any]) -> dict[str, Any]:
        return {"epoch": self.epoch, "global_step": self.global_step, "model": self.module.state_dict(),
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler else None,
                "gradnorm": self.gradnorm.state_dict() if self.gradnorm else None,
                "best_val": self.best_val, "metrics": metrics, "config": self.config_dict(),
                "rng": self._rng_state()}

    def _rng_state(self) -> dict[str, torch.Tensor | None]:
        """This process's torch RNG states: the shuffle order and the augmentation draw from them,
        so a resumed run continues with the same random stream as an uninterrupted one."""
        cuda = self.ctx.device.type == "cuda"
        return {"torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state(self.ctx.device) if cuda else None}

    def _restore_rng(self, rng: dict[str, Any] | None) -> None:
        """Restore the RNG states saved by rank 0 (on rank 0 only: other ranks keep their own seed)."""
        if not rng or not self.ctx.is_main:
            return
        torch.set_rng_state(rng["torch"].cpu())
        if rng.get("cuda") is not None and self.ctx.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"].cpu(), self.ctx.device)

    def load_state(self, path: Path) -> None:
        """Continue from checkpoint `path`; its model section must match this run's model config."""
        ckpt = load_checkpoint(path, map_location=self.ctx.device)
        saved, current = ckpt["config"].get("model", {}), to_dict(self.experiment.model)
        differ = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
        if differ:
            raise InputError(f"{path}: checkpoint model config differs from the given config in {differ}")
        try:
            self.module.load_state_dict(ckpt["model"])
            self.optimizer.load_state_dict(ckpt["optimizer"])
            self.scheduler.load_state_dict(ckpt["scheduler"])
            if self.scaler is not None and ckpt.get("scaler"):
                self.scaler.load_state_dict(ckpt["scaler"])
            if self.gradnorm is not None and ckpt.get("gradnorm"):
                self.gradnorm.load_state_dict(ckpt["gradnorm"])
            self._restore_rng(ckpt.get("rng"))
        except (RuntimeError, ValueError, KeyError) as exc:
            raise InputError(f"{path}: checkpoint does not fit this model/trainer ({exc})") from None
        self.epoch, self.global_step = int(ckpt["epoch"]), int(ckpt["global_step"])
        self.best_val = float(ckpt.get("best_val", math.inf))


def _make_loader(ds: LeTFuserDataset, cfg, ctx: DistContext, shuffle: bool) -> DataLoader:
    sampler = DistributedSampler(ds, shuffle=shuffle, seed=cfg.seed) if ctx.distributed else None
    return DataLoader(ds, batch_size=cfg.batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                      num_workers=cfg.num_workers, pin_memory=ctx.device.type == "cuda",
                      drop_last=False, persistent_workers=cfg.num_workers > 0)


def _default_model(experiment: ExperimentConfig) -> nn.Module:
    from perception.model import LeTFuser

    return LeTFuser(experiment.model)


def _load_history(metrics_path: Path, upto_epoch: int) -> list[dict[str, Any]]:
    if not metrics_path.is_file():
        return []
    try:
        return [e for e in json.loads(metrics_path.read_text())["epochs"] if e["epoch"] <= upto_epoch]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"{metrics_path}: unreadable metrics history ({exc})") from None


def _train_epoch(trainer: Trainer, loader: DataLoader, writer, desc: str, show_progress: bool) -> dict[str, float]:
    """One pass over the training loader; returns the mean of each logged figure."""
    from tqdm import tqdm

    sums: dict[str, float] = {}
    bar = tqdm(loader, desc=desc, disable=not show_progress, leave=False)
    for batch in bar:
        stats = trainer.train_step(_to_device(batch, trainer.ctx.device))
        for k, v in stats.items():
            sums[k] = sums.get(k, 0.0) + v
        bar.set_postfix(loss=f"{stats['loss_total']:.3f}")
        if writer is not None and trainer.global_step % trainer.cfg.log_every_n_steps == 0:
            for k, v in stats.items():
                writer.add_scalar(f"train/{k}", v, trainer.global_step)
    return {k: v / max(len(loader), 1) for k, v in sums.items()}


def _save_epoch(trainer: Trainer, out_dir: Path, history: list[dict[str, Any]], improved: bool, writer) -> None:
    """Rank 0's writes after an epoch: TensorBoard, checkpoints (last, best), the best epoch's model
    folder, metrics.json, one line."""
    entry = history[-1]
    val = entry["val"]
    for k, v in val.items():
        writer.add_scalar(f"val/{k}", v, entry["epoch"])
    for k, v in (entry["gradnorm_weights"] or {}).items():
        writer.add_scalar(f"gradnorm/{k}", v, entry["epoch"])
    state = trainer.state(val)
    save_checkpoint(out_dir / CHECKPOINT_DIR / LAST_NAME, state)
    if improved:
        save_checkpoint(out_dir / CHECKPOINT_DIR / BEST_NAME, state)
        save_model_file(out_dir / RUN_MODEL_DIR, trainer.module, trainer.experiment.model,
                        task_weights=entry["gradnorm_weights"],
                        source={"epoch": entry["epoch"], "global_step": entry["global_step"], "val": val})
    write_json_atomic(out_dir / METRICS_NAME, {"epochs": history})
    print(f"epoch {entry['epoch']}: train loss {entry['train'].get('loss_total', float('nan')):.4f}, "
          f"val loss {val['loss_total']:.4f}, mIoU {val['seg_miou']:.3f}, ADE {val['wp_ade_m']:.2f} m, "
          f"FDE {val['wp_fde_m']:.2f} m, light acc {val['light_accuracy']:.3f}, control L1 {val['control_l1']:.3f}",
          flush=True)


def train(experiment: ExperimentConfig, data_root: str | Path, out_dir: str | Path, resume: bool = False,
          epochs: int | None = None, model_factory: Callable[[ExperimentConfig], nn.Module] | None = None,
          show_progress: bool = True) -> list[dict[str, Any]]:
    """Train until `epochs` (default: the config's) have finished; returns the metrics history."""
    from torch.utils.tensorboard import SummaryWriter

    cfg = experiment.train
    total_epochs = epochs if epochs is not None else cfg.epochs
    if total_epochs <= 0:
        raise InputError(f"--epochs: expected a positive number of epochs, got {total_epochs}")
    out_dir = Path(out_dir)
    last = out_dir / CHECKPOINT_DIR / LAST_NAME
    if not resume and last.exists():
        raise InputError(f"{out_dir}: holds a run already ({last}); pass --resume or another --out")
    ctx = setup_distributed()
    writer = None
    try:
        torch.manual_seed(cfg.seed + ctx.rank)
        train_routes, val_routes = split_routes(data_root, cfg.val_towns, cfg.val_fraction)
        ds_cfg = dataset_config_for(experiment.model, experiment)
        check_frame_interval(train_routes + val_routes, ds_cfg.waypoint_interval_s, experiment.path)  # before any frame
        train_loader = _make_loader(LeTFuserDataset(data_root, ds_cfg, train_routes, augment=cfg.augment), cfg,
                                    ctx, shuffle=True)
        val_loader = _make_loader(LeTFuserDataset(data_root, ds_cfg, val_routes), cfg, ctx, shuffle=False)
        trainer = Trainer((model_factory or _default_model)(experiment), experiment, ctx)
        history: list[dict[str, Any]] = []
        if resume:
            trainer.load_state(last)
            history = _load_history(out_dir / METRICS_NAME, trainer.epoch)
        if ctx.is_main:
            if trainer.epoch >= total_epochs:
                print(f"{out_dir}: already trained for {trainer.epoch} epochs (asked for {total_epochs})")
            writer = SummaryWriter(str(out_dir / "tensorboard"))
            write_json_atomic(out_dir / "config.json", trainer.config_dict())
        while trainer.epoch < total_epochs:
            epoch = trainer.epoch + 1
            if isinstance(train_loader.sampler, DistributedSampler):
                train_loader.sampler.set_epoch(epoch)
            train_stats = _train_epoch(trainer, train_loader, writer, f"epoch {epoch}/{total_epochs}",
                                       show_progress and ctx.is_main)
            val = trainer.validate(val_loader)
            trainer.scheduler.step(val["loss_total"])
            trainer.epoch = epoch
            improved = val["loss_total"] < trainer.best_val
            trainer.best_val = min(trainer.best_val, val["loss_total"])
            history.append({"epoch": epoch, "global_step": trainer.global_step,
                            "lr": trainer.optimizer.param_groups[0]["lr"], "train": train_stats, "val": val,
                            "gradnorm_weights": trainer.gradnorm.weight_dict() if trainer.gradnorm else None})
            if ctx.is_main:
                _save_epoch(trainer, out_dir, history, improved, writer)
            if ctx.distributed:
                dist.barrier()
    finally:
        if writer is not None:
            writer.close()
        if ctx.distributed:
            dist.destroy_process_group()
    return history
