"""PyTorch Dataset over complete route folders, each read by its layout's `RouteReader`.

Route folders are ours (`driving.collect.layout`, with a manifest) or TransFuser 2022's
(`driving.collect.transfuser_layout`, no manifest); `driving.collect.route_reader` decides per
folder, so a root may mix both, and hands out frames in one set of conventions (CARLA world
positions, compass heading, BGR images, normalised depth, CARLA 0.9.10 tags).

Measurements are small, so they are all read and checked when the dataset is built (a corrupt
JSON fails at start-up, naming its file); images are read per sample. Labels come from the
measurements: the driven future positions one waypoint interval apart (the reader's
`future_positions`), converted here to the current ego frame (x forward, y right, metres), as
TransFuser converts future positions; frames with fewer future positions than the model
predicts (the end of a route) are not samples. When `DatasetConfig.waypoint_interval_s` is set,
a route whose frames are saved at another interval is refused (its labels would be spaced wrong).

Image pipeline, as the reference: the stitched 960 x 160 panorama is centre-cropped to 768 px
wide (the reference's 160 x 768 input; `crop_fraction` of the width) at the model's input size.
The whole strip is scaled first (`driving.collect.frame_cache.decode_frame`: area filter for RGB,
nearest for depth and tags so no depth or class is invented at edges) and cropped after, so the
augmentation works on model-size arrays and `prepare_cache` can keep the scaled frames on disk
for later epochs.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from driving.collect.augment import color_jitter, crop_shift_for_yaw, rotate_points_yaw, yaw_of_crop_shift
from driving.collect.frame_cache import ModelFrame, RouteFrameCache, cache_name, decode_frame
from driving.collect.layout import NUM_VIEWS, VIEW_FOV_DEG
from driving.collect.route_reader import (
    NUM_COMMANDS,
    RouteReader,
    check_frame_interval,
    discover_routes,
    open_route,
)
from driving.errors import InputError
from driving.geometry import world_to_ego
from driving.tags import NUM_TAGS
from perception.panorama import centre_crop


@dataclass(frozen=True)
class DatasetConfig:
    """How samples are cut from the panorama and labelled.

    `input_height`/`input_width`: the model's input (pixels); `crop_fraction`: the share of the
    stitched panorama's width kept by the centre crop (768 / 960 = 0.8 in the reference; the
    model's `input_width / (3 * camera_width_px)`); `max_yaw_deg`/`color_jitter`: augmentation
    strength when the dataset is built with augment=True; `waypoint_interval_s`: the model's
    waypoint spacing (seconds), routes saved at another frame interval are refused (None: no check).
    """

    input_height: int = 160
    input_width: int = 768
    crop_fraction: float = 0.8
    num_waypoints: int = 3
    num_classes: int = NUM_TAGS
    max_yaw_deg: float = 5.0
    color_jitter: float = 0.2
    waypoint_interval_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("input_height", "input_width", "num_waypoints", "num_classes"):
            if getattr(self, name) <= 0:
                raise InputError(f"dataset config: {name} must be > 0, got {getattr(self, name)}")
        if not 0 < self.crop_fraction <= 1:
            raise InputError(f"dataset config: crop_fraction must be in (0, 1], got {self.crop_fraction}")
        if self.max_yaw_deg < 0 or not 0 <= self.color_jitter < 1:
            raise InputError("dataset config: max_yaw_deg must be >= 0 and color_jitter in [0, 1)")
        if self.waypoint_interval_s is not None and self.waypoint_interval_s <= 0:
            raise InputError(f"dataset config: waypoint_interval_s must be > 0 s, got {self.waypoint_interval_s}")


@dataclass(frozen=True)
class _Labels:
    """Per-sample labels prepared at build time (ego frame), so __getitem__ only reads images."""

    reader: RouteReader
    index: int
    waypoints: np.ndarray  # [K, 2] ego frame
    target_point: np.ndarray  # [2] ego frame
    command: int  # 1..6
    speed: float
    control: tuple[float, float, float]
    red_light: float

    @property
    def route(self) -> Path:
        return self.reader.route


def _labels(reader: RouteReader, index: int, num_waypoints: int) -> _Labels | None:
    f = reader.frame(index)
    future = reader.future_positions(index, num_waypoints)
    if len(future) < num_waypoints:
        return None
    ego = np.array([f.x, f.y])
    return _Labels(reader, index, world_to_ego(future, ego, f.theta),
                   world_to_ego(np.array([f.target_x, f.target_y]), ego, f.theta), f.command, f.speed,
                   (f.steer, f.throttle, f.brake), f.red_light)


class LeTFuserDataset(Dataset):
    """Samples from the complete routes under `root` (or the given `routes`); see module docstring.

    Each sample is a dict of tensors: rgb [3,H,W] float 0..255 RGB, depth [1,H,W] in [0,1]
    (1 = 1000 m), semantic [H,W] long tags, seg_target [C,H,W] one-hot float, waypoints [K,2]
    and target_point [2] in metres (ego frame), command [6] one-hot, speed [1] m/s,
    control [3] (steer, throttle, brake as recorded), red_light [1].
    """

    def __init__(self, root: str | Path, config: DatasetConfig,
                 routes: Sequence[str | Path | RouteReader] | None = None, augment: bool = False,
                 include_failed: bool = False) -> None:
        """`include_failed`: also read routes whose manifest says the expert failed (`expert_failed`:
        an infraction, a timeout or a block), which are skipped by default unless the collector
        was told to keep them (`include_failed` in the manifest, `driving collect --include-failed`)."""
        self.root = Path(root)
        self.config = config
        self.augment = augment
        if routes is None:
            readers, incomplete = discover_routes(self.root)
            for r in incomplete:
                warnings.warn(f"{r}: no manifest, route incomplete; skipped", stacklevel=2)
        else:
            readers = [r if isinstance(r, RouteReader) else open_route(r if Path(r).is_absolute() else self.root / r)
                       for r in routes]
        self.skipped_failed = [r.route for r in readers if r.expert_failed and not include_failed]
        readers = [r for r in readers if include_failed or not r.expert_failed]
        if config.waypoint_interval_s is not None:
            check_frame_interval(readers, config.waypoint_interval_s)
        self.readers = readers
        self.routes = [r.route for r in readers]
        self._caches: dict[Path, RouteFrameCache] = {}
        self.samples: list[_Labels] = []
        for reader in readers:
            for index in reader.frame_indices():
                labels = _labels(reader, index, config.num_waypoints)
                if labels is not None:
                    self.samples.append(labels)
        if not self.samples:
            raise InputError(f"{self.root}: no usable frames (complete routes: {len(readers)}, "
                             f"{len(self.skipped_failed)} more skipped as expert_failed; a frame needs "
                             f"{config.num_waypoints} future waypoints)")

    def __len__(self) -> int:
        return len(self.samples)

    def prepare_cache(self, cache_root: str | Path, show_progress: bool = False) -> int:
        """Serve frames from a per-route cache of decoded, model-scale arrays under `cache_root`
        (`driving.collect.frame_cache`), building the missing ones now (each frame decoded once);
        returns how many routes are cached. Samples are identical with and without the cache."""
        from tqdm import tqdm

        routes = sorted({s.reader for s in self.samples}, key=lambda r: str(r.route))
        for reader in tqdm(routes, desc="frame cache", unit="route", disable=not show_progress, leave=False):
            cache = RouteFrameCache(cache_root, cache_name(reader.route, self.root), reader, self.config)
            if cache.build():
                self._caches[reader.route] = cache
        return len(self._caches)

    def frame(self, i: int) -> ModelFrame:
        """Sample `i`'s frame at the model's scale: from the cache when prepared, else decoded."""
        s = self.samples[i]
        cache = self._caches.get(s.route)
        return cache.frame(s.index) if cache is not None else decode_frame(s.reader, s.index, self.config)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        s = self.samples[i]
        c = self.config
        frame = self.frame(i)
        width = frame.rgb.shape[1]  # the scaled strip; its centre crop is the model input
        waypoints, target = s.waypoints, s.target_point
        shift = 0
        rng = None
        if self.augment:
            rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,)).item()))
            focal_px = (width / NUM_VIEWS) / (2.0 * math.tan(math.radians(VIEW_FOV_DEG) / 2.0))
            max_shift_px = (width - c.input_width) // 2  # the centre crop's margin: the window stays inside
            shift = crop_shift_for_yaw(rng.uniform(-c.max_yaw_deg, c.max_yaw_deg), focal_px, max_shift_px)
            yaw = yaw_of_crop_shift(shift, focal_px)
            waypoints, target = rotate_points_yaw(waypoints, yaw), rotate_points_yaw(target, yaw)
        # centre_crop: the agent's crop (perception.panorama), same columns; the copies leave the cache intact
        rgb_f = centre_crop(frame.rgb, c.input_width, shift).astype(np.float32)
        if rng is not None:
            rgb_f = color_jitter(rgb_f, c.color_jitter, rng)
        depth = np.array(centre_crop(frame.depth, c.input_width, shift), dtype=np.float32)
        tags = centre_crop(frame.tags, c.input_width, shift)

        semantic = torch.from_numpy(tags.astype(np.int64))
        command = torch.zeros(NUM_COMMANDS)
        command[s.command - 1] = 1.0
        return {
            "rgb": torch.from_numpy(np.ascontiguousarray(rgb_f.transpose(2, 0, 1))),
            "depth": torch.from_numpy(np.ascontiguousarray(depth))[None],
            "semantic": semantic,
            "seg_target": torch.zeros((c.num_classes, *semantic.shape)).scatter_(0, semantic[None], 1.0),
            "waypoints": torch.from_numpy(np.ascontiguousarray(waypoints, dtype=np.float32)),
            "target_point": torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32)),
            "command": command,
            "speed": torch.tensor([s.speed], dtype=torch.float32),
            "control": torch.tensor(s.control, dtype=torch.float32),
            "red_light": torch.tensor([s.red_light], dtype=torch.float32),
        }
