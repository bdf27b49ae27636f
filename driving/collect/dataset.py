"""PyTorch Dataset over complete route folders (layout and conventions in `driving.collect.layout`).

Measurements are small, so they are all read and checked when the dataset is built (a corrupt
JSON fails at start-up, naming its file); images are read per sample. Labels come from each
frame's own measurements: the `waypoints` field holds the future positions 0.5 s apart in
world coordinates, converted here to the current ego frame (x forward, y right, metres), as
TransFuser converts future positions; frames with fewer future waypoints than the model
predicts (the end of a route) are not samples.

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
from driving.collect.layout import (
    DEPTH_DIR,
    MEASUREMENTS_DIR,
    NUM_VIEWS,
    RGB_DIR,
    SEMANTICS_DIR,
    VIEW_FOV_DEG,
    expert_failed,
    find_route_dirs,
    frame_paths,
    read_json,
    read_manifest,
)
from driving.errors import InputError
from driving.image_codecs import decode_depth_normalized, tags_from_semantic
from driving.tags import NUM_TAGS
from perception.panorama import centre_crop

NUM_COMMANDS = 6
_LANEFOLLOW = 4


@dataclass(frozen=True)
class DatasetConfig:
    """How samples are cut from the panorama and labelled.

    `input_height`/`input_width`: the model's input (pixels); `crop_fraction`: the share of the
    stitched panorama's width kept by the centre crop (768 / 960 = 0.8 in the reference; the
    model's `input_width / (3 * camera_width_px)`); `max_yaw_deg`/`color_jitter`: augmentation
    strength when the dataset is built with augment=True.
    """

    input_height: int = 160
    input_width: int = 768
    crop_fraction: float = 0.8
    num_waypoints: int = 3
    num_classes: int = NUM_TAGS
    max_yaw_deg: float = 5.0
    color_jitter: float = 0.2

    def __post_init__(self) -> None:
        for name in ("input_height", "input_width", "num_waypoints", "num_classes"):
            if getattr(self, name) <= 0:
                raise InputError(f"dataset config: {name} must be > 0, got {getattr(self, name)}")
        if not 0 < self.crop_fraction <= 1:
            raise InputError(f"dataset config: crop_fraction must be in (0, 1], got {self.crop_fraction}")
        if self.max_yaw_deg < 0 or not 0 <= self.color_jitter < 1:
            raise InputError("dataset config: max_yaw_deg must be >= 0 and color_jitter in [0, 1)")


def world_to_ego(points_xy: np.ndarray, ego_xy: np.ndarray, theta_rad: float) -> np.ndarray:
    """World points (metres) -> ego frame (x forward, y right) of a vehicle at `ego_xy`, compass `theta_rad`.

    CARLA's compass is yaw + pi/2; forward is (cos yaw, sin yaw) and right (-sin yaw, cos yaw).
    """
    yaw = (0.0 if math.isnan(theta_rad) else theta_rad) - math.pi / 2
    d = np.asarray(points_xy, dtype=np.float64) - np.asarray(ego_xy, dtype=np.float64)
    c, s = math.cos(yaw), math.sin(yaw)
    return np.stack([c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1]], axis=-1).astype(np.float32)


@dataclass(frozen=True)
class _Labels:
    """Per-sample labels prepared at build time (ego frame), so __getitem__ only reads images."""

    route: Path
    index: int
    waypoints: np.ndarray  # [K, 2] ego frame
    target_point: np.ndarray  # [2] ego frame
    command: int  # 1..6
    speed: float
    control: tuple[float, float, float]
    red_light: float


def _read_labels(route: Path, index: int, num_waypoints: int) -> _Labels | None:
    path = frame_paths(route, index)[MEASUREMENTS_DIR]
    m = read_json(path, "measurements")
    try:
        ego = np.array([float(m["x"]), float(m["y"])])
        theta = float(m["theta"])
        wps = np.asarray(m["waypoints"], dtype=np.float64).reshape(-1, 2)
        target = np.array([float(m["x_command"]), float(m["y_command"])])
        command = int(m["command"])
        control = (float(m["steer"]), float(m["throttle"]), float(m["brake"]))
        speed = float(m["speed"])
        red = float(m["light_hazard"])
    except KeyError as exc:
        raise InputError(f"{path}: measurements miss field {exc}") from None
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: malformed measurements ({exc})") from None
    if command == -1:
        command = _LANEFOLLOW
    if not 1 <= command <= NUM_COMMANDS:
        raise InputError(f"{path}: field 'command' must be 1..6, got {command}")
    if len(wps) < num_waypoints:
        return None
    return _Labels(route, index, world_to_ego(wps[:num_waypoints], ego, theta),
                   world_to_ego(target, ego, theta), command, speed,
                   (0.0 if math.isnan(control[0]) else control[0], control[1], control[2]), red)


def _imread(path: Path, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    img = cv2.imread(str(path), flags)
    if img is None:
        raise InputError(f"{path}: missing or not a decodable image")
    return img


class LeTFuserDataset(Dataset):
    """Samples from the complete routes under `root` (or the given `routes`); see module docstring.

    Each sample is a dict of tensors: rgb [3,H,W] float 0..255 RGB, depth [1,H,W] in [0,1]
    (1 = 1000 m), semantic [H,W] long tags, seg_target [C,H,W] one-hot float, waypoints [K,2]
    and target_point [2] in metres (ego frame), command [6] one-hot, speed [1] m/s,
    control [3] (steer, throttle, brake as recorded), red_light [1].
    """

    def __init__(self, root: str | Path, config: DatasetConfig, routes: Sequence[str | Path] | None = None,
                 augment: bool = False, include_failed: bool = False) -> None:
        """`include_failed`: also read routes whose manifest says the expert failed (`expert_failed`:
        an infraction, a timeout or a block), which are skipped by default unless the collector
        was told to keep them (`include_failed` in the manifest, `driving collect --include-failed`)."""
        self.root = Path(root)
        self.config = config
        self.augment = augment
        if routes is None:
            complete, incomplete = find_route_dirs(self.root)
            for r in incomplete:
                warnings.warn(f"{r}: no manifest, route incomplete; skipped", stacklevel=2)
        else:
            complete = [Path(r) if Path(r).is_absolute() else self.root / r for r in routes]
        self.routes: list[Path] = []
        self.skipped_failed: list[Path] = []
        self.samples: list[_Labels] = []
        for route in complete:
            manifest = read_manifest(route)
            if expert_failed(manifest) and not (include_failed or manifest.get("include_failed", False)):
                self.skipped_failed.append(route)
                continue
            self.routes.append(route)
            for index in range(manifest["frame_count"]):
                labels = _read_labels(route, index, config.num_waypoints)
                if labels is not None:
                    self.samples.append(labels)
        if not self.samples:
            raise InputError(f"{self.root}: no usable frames (complete routes: {len(complete)}, of which "
                             f"{len(self.skipped_failed)} skipped as expert_failed; a frame needs "
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
        paths = frame_paths(s.route, s.index)
        rgb = _imread(paths[RGB_DIR], cv2.IMREAD_COLOR)
        depth_img = _imread(paths[DEPTH_DIR])
        sem_img = _imread(paths[SEMANTICS_DIR])
        height, width = rgb.shape[:2]
        if depth_img.shape[:2] != (height, width) or sem_img.shape[:2] != (height, width):
            raise InputError(f"{paths[RGB_DIR]}: rgb, depth and semantics sizes differ "
                             f"({rgb.shape[:2]}, {depth_img.shape[:2]}, {sem_img.shape[:2]})")
        crop_px = round(width * c.crop_fraction)
        try:
            depth = decode_depth_normalized(depth_img)
        except ValueError as exc:
            raise InputError(f"{paths[DEPTH_DIR]}: {exc}") from None
        tags = tags_from_semantic(sem_img)
        if int(tags.max()) >= c.num_classes:
            raise InputError(f"{paths[SEMANTICS_DIR]}: tag {int(tags.max())} >= {c.num_classes} classes")

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
