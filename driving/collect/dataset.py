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
wide (the reference's 160 x 768 input; `crop_fraction` of the width), then resized to the
model's input size when that differs (area filter for RGB, nearest for depth and tags so no
depth or class is invented at edges).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from driving.collect.augment import color_jitter, crop_shift_for_yaw, rotate_points_yaw, yaw_of_crop_shift
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

    def _crop_and_resize(self, img: np.ndarray, crop_px: int, shift_px: int, interpolation: int) -> np.ndarray:
        c = self.config
        crop = centre_crop(img, crop_px, shift_px)  # the agent's crop (perception.panorama), same columns
        if crop.shape[:2] != (c.input_height, c.input_width):
            crop = cv2.resize(crop, (c.input_width, c.input_height), interpolation=interpolation)
        return crop

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        s = self.samples[i]
        c = self.config
        rgb = s.reader.read_rgb(s.index)
        depth = s.reader.read_depth(s.index)
        tags = s.reader.read_tags(s.index)
        height, width = rgb.shape[:2]
        where = f"{s.route} frame {s.index}"
        if depth.shape[:2] != (height, width) or tags.shape[:2] != (height, width):
            raise InputError(f"{where}: rgb, depth and semantics sizes differ "
                             f"({rgb.shape[:2]}, {depth.shape[:2]}, {tags.shape[:2]})")
        crop_px = round(width * c.crop_fraction)
        if int(tags.max()) >= c.num_classes:
            raise InputError(f"{where}: semantic tag {int(tags.max())} >= {c.num_classes} classes")

        waypoints, target = s.waypoints, s.target_point
        shift = 0
        rgb_f = rgb[..., ::-1].astype(np.float32)
        if self.augment:
            rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,)).item()))
            focal_px = (width / NUM_VIEWS) / (2.0 * math.tan(math.radians(VIEW_FOV_DEG) / 2.0))
            max_shift_px = (width - crop_px) // 2  # the centre crop's margin: the window stays inside
            shift = crop_shift_for_yaw(rng.uniform(-c.max_yaw_deg, c.max_yaw_deg), focal_px, max_shift_px)
            yaw = yaw_of_crop_shift(shift, focal_px)
            waypoints, target = rotate_points_yaw(waypoints, yaw), rotate_points_yaw(target, yaw)
            rgb_f = color_jitter(rgb_f, c.color_jitter, rng)
        rgb_f = self._crop_and_resize(rgb_f, crop_px, shift, cv2.INTER_AREA)
        depth = self._crop_and_resize(depth, crop_px, shift, cv2.INTER_NEAREST)
        tags = self._crop_and_resize(tags, crop_px, shift, cv2.INTER_NEAREST)

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
