"""Decoded frames at the model's scale, and a per-route disk cache of them.

Decoding the three PNGs of a frame (960 x 160 RGB, CARLA depth, semantic tags) and scaling them
costs tens of milliseconds per sample on a CPU, every epoch; the model only sees the frame at
its own, much smaller, resolution. So a frame is decoded once into a `ModelFrame`: the whole
stitched strip scaled so that the model's crop of it is exactly the model's input (area filter
for RGB, nearest for depth and tags so no depth or class is invented at edges). The strip keeps
its full width so the yaw augmentation can still move the crop window sideways.

`RouteFrameCache` stores a route's `ModelFrame`s as three .npy arrays (rgb uint8 [N, H, W, 3] in
RGB order, depth float32 [N, H, W] in [0, 1], tags uint8 [N, H, W]) that later epochs and later
runs memory-map instead of decoding PNGs. Depth stays float32: 8 bits would quantise 1000 m to
~4 m steps. The cache folder is keyed by the dataset geometry (input size, crop) and a hash of
the route's files (names, sizes, modification times), so a changed or re-collected route, or
another model input size, never reads stale arrays. A cache is written in a temporary folder and
renamed into place when complete (a crashed build leaves no half cache behind).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from driving.collect.route_reader import RouteReader
from driving.errors import InputError

if TYPE_CHECKING:
    from driving.collect.dataset import DatasetConfig

#: Bump when what a cache holds changes, so old caches are not read.
CACHE_FORMAT = 1
_ARRAYS = ("rgb", "depth", "tags")


@dataclass(frozen=True)
class ModelFrame:
    """One frame at the model's scale: rgb [H, W, 3] uint8 RGB, depth [H, W] float32 in [0, 1],
    tags [H, W] uint8; W is the scaled strip's full width (>= the model's input width)."""

    rgb: np.ndarray
    depth: np.ndarray
    tags: np.ndarray


def strip_width_px(source_width_px: int, config: DatasetConfig) -> int:
    """Width of the stitched strip scaled so its centre crop (`crop_fraction`) is `input_width` px."""
    crop_px = round(source_width_px * config.crop_fraction)
    return max(config.input_width, round(source_width_px * config.input_width / crop_px))


def decode_frame(reader: RouteReader, index: int, config: DatasetConfig) -> ModelFrame:
    """Read frame `index` of `reader` and scale it to the model (see module docstring)."""
    rgb, depth, tags = reader.read_rgb(index), reader.read_depth(index), reader.read_tags(index)
    height, width = rgb.shape[:2]
    where = f"{reader.route} frame {index}"
    if depth.shape[:2] != (height, width) or tags.shape[:2] != (height, width):
        raise InputError(f"{where}: rgb, depth and semantics sizes differ "
                         f"({rgb.shape[:2]}, {depth.shape[:2]}, {tags.shape[:2]})")
    if int(tags.max()) >= config.num_classes:
        raise InputError(f"{where}: semantic tag {int(tags.max())} >= {config.num_classes} classes")
    size = (strip_width_px(width, config), config.input_height)
    if size != (width, height):
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        depth = cv2.resize(depth, size, interpolation=cv2.INTER_NEAREST)
        tags = cv2.resize(tags, size, interpolation=cv2.INTER_NEAREST)
    return ModelFrame(np.ascontiguousarray(rgb[..., ::-1]), depth.astype(np.float32, copy=False),
                      tags.astype(np.uint8, copy=False))


def _files_hash(reader: RouteReader) -> str | None:
    """Hash of the route's files (name, size, mtime); None when one is missing (no cache then: the
    uncached path names the missing file)."""
    digest = hashlib.sha256()
    for path in reader.files():
        try:
            st = path.stat()
        except OSError:
            return None
        digest.update(f"{path.relative_to(reader.route)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def cache_name(route: Path, root: Path) -> str:
    """The cache folder name of `route`: its path under the dataset `root`, else its folder name
    made unique by a hash of its absolute path."""
    route, root = route.resolve(), root.resolve()
    try:
        return str(route.relative_to(root))
    except ValueError:
        return f"{route.name}-{hashlib.sha256(str(route).encode()).hexdigest()[:8]}"


class RouteFrameCache:
    """The cached `ModelFrame`s of one route under `cache_root/<name>/<geometry>-<files hash>/`.

    `name` is the route's folder relative to the dataset root (so one cache root serves one
    dataset); frames are stored in `reader.frame_indices()` order.
    """

    def __init__(self, cache_root: str | Path, name: str, reader: RouteReader, config: DatasetConfig) -> None:
        self.reader = reader
        self.config = config
        self.geometry = (f"v{CACHE_FORMAT}-{config.input_height}x{config.input_width}"
                         f"-crop{config.crop_fraction:.6f}-c{config.num_classes}")
        files = _files_hash(reader)
        self.folder = None if files is None else Path(cache_root) / name / f"{self.geometry}-{files}"
        self.positions = {index: i for i, index in enumerate(reader.frame_indices())}
        self._arrays: dict[str, np.ndarray] | None = None

    def __getstate__(self) -> dict:
        """Loader workers re-open the memory maps themselves (a pickled map would copy the arrays)."""
        return {**self.__dict__, "_arrays": None}

    @property
    def ready(self) -> bool:
        return self.folder is not None and all((self.folder / f"{a}.npy").is_file() for a in _ARRAYS)

    def build(self) -> bool:
        """Decode every frame of the route into the cache unless it is there; True when usable."""
        if self.folder is None:
            return False
        if self.ready:
            return True
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=self.folder.parent, prefix=f".{self.geometry}.", suffix=".tmp"))
        except OSError as exc:
            raise InputError(f"{self.folder.parent}: cannot write the frame cache ({exc.strerror or exc}); "
                             f"give another cache folder") from None
        try:
            self._write(tmp)
            try:
                os.rename(tmp, self.folder)
            except OSError:  # another process finished the same cache first: keep theirs
                if not self.ready:
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for stale in self.folder.parent.glob(f"{self.geometry}-*"):  # same geometry, older files: invalid
            if stale != self.folder:
                shutil.rmtree(stale, ignore_errors=True)
        return self.ready

    def _write(self, folder: Path) -> None:
        indices = self.reader.frame_indices()
        arrays: dict[str, np.ndarray] = {}
        for i, index in enumerate(indices):
            frame = decode_frame(self.reader, index, self.config)
            for name in _ARRAYS:
                value = getattr(frame, name)
                if name not in arrays:
                    arrays[name] = np.lib.format.open_memmap(folder / f"{name}.npy", mode="w+", dtype=value.dtype,
                                                             shape=(len(indices), *value.shape))
                arrays[name][i] = value
        for array in arrays.values():
            array.flush()

    def frame(self, index: int) -> ModelFrame:
        """Frame `index` from the memory-mapped arrays (views; callers copy what they modify)."""
        if self._arrays is None:
            self._arrays = {a: np.load(self.folder / f"{a}.npy", mmap_mode="r") for a in _ARRAYS}
        i = self.positions[index]
        return ModelFrame(*(self._arrays[a][i] for a in _ARRAYS))
