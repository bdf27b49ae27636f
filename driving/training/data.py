"""The data side of a training run: the route split, the dataset geometry the model asks for, the
loaders, and the frame cache that spares later epochs the PNG decoding.

Kept apart from the optimisation loop (`driving.training.trainer`) so the benchmark
(benchmarks/bench_train.py) and `driving model-metrics` build exactly the data a run trains and
validates on.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from driving.collect.dataset import DatasetConfig, LeTFuserDataset
from driving.collect.route_reader import RouteReader, check_frame_interval, discover_routes
from driving.errors import InputError
from driving.training.config import ExperimentConfig, TrainConfig
from driving.training.context import DistContext


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


def make_loader(ds: LeTFuserDataset, cfg: TrainConfig, ctx: DistContext, shuffle: bool) -> DataLoader:
    """A loader over `ds`: a DistributedSampler under DDP, pinned memory only when batches go to a
    GPU (pinning is pure overhead on CPU), worker processes kept alive between epochs (restarting
    them each epoch would re-open every route and memory map)."""
    sampler = DistributedSampler(ds, shuffle=shuffle, seed=cfg.seed) if ctx.distributed else None
    return DataLoader(ds, batch_size=cfg.batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                      num_workers=cfg.num_workers, pin_memory=ctx.device.type == "cuda",
                      drop_last=False, persistent_workers=cfg.num_workers > 0)


def cache_frames(datasets: Sequence[LeTFuserDataset], cache_dir: str | Path, ctx: DistContext,
                 show_progress: bool = False) -> None:
    """Serve `datasets` from the frame cache in `cache_dir`: rank 0 builds what is missing (each frame
    decoded once), the other ranks wait for it and then only open the caches."""
    for turn in ("build", "open"):
        if (turn == "build") == ctx.is_main:
            for ds in datasets:
                ds.prepare_cache(cache_dir, show_progress=show_progress and ctx.is_main)
        if ctx.distributed and turn == "build":
            dist.barrier()


def prepare_data(experiment: ExperimentConfig, data_root: str | Path, ctx: DistContext | None = None,
                 cache_dir: str | Path | None = None, show_progress: bool = False) -> tuple[DataLoader, DataLoader]:
    """(train, val) loaders of a run: the route split, the frame-interval check before any frame is
    read, the datasets at the model's input size (augmented for training), served from the frame
    cache in `cache_dir` when given. Shared by `train` and benchmarks/bench_train.py so the
    benchmark times exactly the run's data path."""
    cfg, ctx = experiment.train, ctx or DistContext()
    train_routes, val_routes = split_routes(data_root, cfg.val_towns, cfg.val_fraction)
    ds_cfg = dataset_config_for(experiment.model, experiment)
    check_frame_interval(train_routes + val_routes, ds_cfg.waypoint_interval_s, experiment.path)  # before any frame
    train_ds = LeTFuserDataset(data_root, ds_cfg, train_routes, augment=cfg.augment)
    val_ds = LeTFuserDataset(data_root, ds_cfg, val_routes)
    if cache_dir is not None:
        cache_frames((train_ds, val_ds), cache_dir, ctx, show_progress)
    return make_loader(train_ds, cfg, ctx, shuffle=True), make_loader(val_ds, cfg, ctx, shuffle=False)


def evaluation_loader(experiment: ExperimentConfig, data_root: str | Path,
                      cache_dir: str | Path | None = None) -> DataLoader:
    """Every complete route under `data_root`, unaugmented, as a run validates (`driving model-metrics`)."""
    ds_cfg = dataset_config_for(experiment.model, experiment)
    routes, _ = discover_routes(data_root)
    check_frame_interval(routes, ds_cfg.waypoint_interval_s, experiment.path)
    ds = LeTFuserDataset(data_root, ds_cfg, routes)
    ctx = DistContext()
    if cache_dir is not None:
        cache_frames((ds,), cache_dir, ctx)
    return make_loader(ds, experiment.train, ctx, shuffle=False)
