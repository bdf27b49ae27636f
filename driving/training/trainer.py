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
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from driving.collect.writer import write_json_atomic
from driving.config import to_dict
from driving.cpus import available_cpus
from driving.errors import InputError
from driving.training.budget import RunBudget, format_duration
from driving.training.checkpoint import BEST_NAME, CHECKPOINT_DIR, LAST_NAME, load_checkpoint, save_checkpoint
from driving.training.config import ExperimentConfig, TrainConfig
from driving.training.context import DistContext, setup_distributed
from driving.training.data import dataset_config_for, prepare_data, split_routes
from driving.training.gradnorm import GradNorm
from driving.training.losses import PLANNING_TASKS, task_losses, tasks_for
from driving.training.metrics import MetricAccumulator
from perception.model_file import RUN_MODEL_DIR, save_model_file

METRICS_NAME = "metrics.json"
#: The default frame cache folder inside a run folder (`driving.collect.frame_cache`).
FRAME_CACHE_DIR = "frame_cache"
#: Imported from here by callers that predate driving.training.data / .context.
__all__ = ["DistContext", "Trainer", "dataset_config_for", "gradnorm_layers", "prepare_data", "setup_distributed",
           "split_routes", "train"]


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
        self.channels_last = self.cfg.channels_last
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
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
        rgb, depth = batch["rgb"], batch["depth"]
        if self.channels_last:
            rgb, depth = (t.contiguous(memory_format=torch.channels_last) for t in (rgb, depth))
        with torch.autocast(device_type=self.ctx.device.type, dtype=torch.float16, enabled=self.amp):
            out = self.model(rgb, depth, batch["target_point"], batch["speed"], batch["command"])
            return out, task_losses(out, batch, self.tasks, self.cfg.red_light_loss)

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


def set_cpu_threads(cfg: TrainConfig) -> int:
    """Intra-op threads for this process: `cfg.num_threads`, or (0) the CPUs it may use minus the
    loader workers, at least 1. More threads than free cores makes every op wait for the slowest
    thread (on a busy 2-core machine a 2-thread step was measured several times slower than a
    1-thread one); workers run their own single-threaded torch. Returns the count set."""
    threads = cfg.num_threads or max(1, available_cpus() - cfg.num_workers)
    torch.set_num_threads(threads)
    return threads


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


def _stop_reason(trainer: Trainer, budget: RunBudget) -> str | None:
    """The spent limit, agreed by every rank (wall clocks differ between ranks: rank 0's decides)."""
    reason = budget.exhausted(trainer.global_step)
    if trainer.ctx.distributed and budget.max_hours:
        code = torch.tensor([("max_steps", "max_hours").index(reason) + 1 if reason else 0], device=trainer.ctx.device)
        dist.broadcast(code, src=0)
        reason = ("max_steps", "max_hours")[int(code) - 1] if int(code) else None
    return reason


def _train_epoch(trainer: Trainer, loader: DataLoader, writer, desc: str, show_progress: bool,
                 budget: RunBudget, epochs_left: int) -> tuple[dict[str, float], str | None]:
    """One pass over the training loader, cut short when `budget` is spent; returns the mean of
    each logged figure and the spent limit (None after a full epoch). The progress bar counts
    samples, so it shows samples/s and the epoch's ETA; the postfix has the run's ETA
    (`epochs_left` full epochs after this one) and the share of time spent waiting for data."""
    from tqdm import tqdm

    sums: dict[str, float] = {}
    steps, reason = 0, None
    bar = tqdm(total=len(loader.sampler), desc=desc, disable=not show_progress, leave=False, unit="sample")
    batches = iter(loader)
    while (reason := _stop_reason(trainer, budget)) is None:
        t_data = time.perf_counter()
        batch = next(batches, None)
        if batch is None:
            break
        t_step = time.perf_counter()
        stats = trainer.train_step(_to_device(batch, trainer.ctx.device))
        size = int(batch["waypoints"].shape[0])
        budget.record(t_step - t_data, time.perf_counter() - t_step, size)
        steps += 1
        for k, v in stats.items():
            sums[k] = sums.get(k, 0.0) + v
        bar.update(size)
        steps_left = len(loader) - steps + epochs_left * len(loader)
        bar.set_postfix(loss=f"{stats['loss_total']:.3f}", data=f"{budget.data_share():.0%}",
                        run_eta=format_duration(budget.eta_s(steps_left, trainer.global_step)))
        if writer is not None and trainer.global_step % trainer.cfg.log_every_n_steps == 0:
            for k, v in stats.items():
                writer.add_scalar(f"train/{k}", v, trainer.global_step)
    bar.close()
    return {k: v / max(steps, 1) for k, v in sums.items()}, reason


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
          f"FDE {val['wp_fde_m']:.2f} m, light acc {val['light_accuracy']:.3f}, control L1 {val['control_l1']:.3f}, "
          f"{entry['train'].get('samples_per_s', 0.0):.1f} samples/s"
          + (f" (cut short: {entry['stopped']})" if entry.get("stopped") else ""), flush=True)


def train(experiment: ExperimentConfig, data_root: str | Path, out_dir: str | Path, resume: bool = False,
          epochs: int | None = None, model_factory: Callable[[ExperimentConfig], nn.Module] | None = None,
          show_progress: bool = True, cache_dir: str | Path | None = None, max_hours: float | None = None,
          max_steps: int | None = None) -> list[dict[str, Any]]:
    """Train until `epochs` (default: the config's) have finished, or the time/step budget
    (`max_hours`, `max_steps`; default: the config's, see `driving.training.budget`) is spent;
    returns the metrics history. With `cache_frames` (config) the decoded frames are kept in
    `cache_dir` (default `<out_dir>/frame_cache`) for the later epochs and runs."""
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
        set_cpu_threads(cfg)
        cache = (cache_dir or out_dir / FRAME_CACHE_DIR) if cfg.cache_frames else None
        train_loader, val_loader = prepare_data(experiment, data_root, ctx, cache, show_progress)
        budget = RunBudget(cfg.max_hours if max_hours is None else max_hours,
                           cfg.max_steps if max_steps is None else max_steps)
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
        stopped = None
        while trainer.epoch < total_epochs and not (stopped := _stop_reason(trainer, budget)):
            epoch = trainer.epoch + 1
            if isinstance(train_loader.sampler, DistributedSampler):
                train_loader.sampler.set_epoch(epoch)
            train_stats, stopped = _train_epoch(trainer, train_loader, writer, f"epoch {epoch}/{total_epochs}",
                                                show_progress and ctx.is_main, budget, total_epochs - epoch)
            train_stats.update(budget.summary())
            val = trainer.validate(val_loader)
            trainer.scheduler.step(val["loss_total"])
            trainer.epoch = epoch
            improved = val["loss_total"] < trainer.best_val
            trainer.best_val = min(trainer.best_val, val["loss_total"])
            history.append({"epoch": epoch, "global_step": trainer.global_step,
                            "lr": trainer.optimizer.param_groups[0]["lr"], "train": train_stats, "val": val,
                            "gradnorm_weights": trainer.gradnorm.weight_dict() if trainer.gradnorm else None,
                            "stopped": stopped})
            if ctx.is_main:
                _save_epoch(trainer, out_dir, history, improved, writer)
            if ctx.distributed:
                dist.barrier()
        if stopped and ctx.is_main:
            print(f"{out_dir}: stopped by {stopped} at step {trainer.global_step}, epoch {trainer.epoch}; "
                  f"best val loss {trainer.best_val:.4f} in {CHECKPOINT_DIR}/{BEST_NAME}", flush=True)
    finally:
        if writer is not None:
            writer.close()
        if ctx.distributed:
            dist.destroy_process_group()
    return history
