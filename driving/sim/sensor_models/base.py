"""The sensor-model seam: one class per CARLA sensor type, registered by its blueprint id.

A model parses its spec's attributes (CARLA blueprint names and defaults), optionally overridden
by the values the official leaderboard's AgentWrapper forces, and turns the parent actor's state
into the leaderboard's `input_data` format. Randomness (noise, drop-off) comes from a generator
seeded by (suite seed, sensor id), so a seed gives identical readings.
"""
from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from driving.errors import InputError
from driving.sim.render.geometry import pose_matrix, transform_matrix
from driving.world import ActorState, SensorSpec

#: Attributes every CARLA sensor blueprint accepts and that we accept (and ignore) for any type.
COMMON_ATTRIBUTES = ("sensor_tick", "role_name")


@dataclass
class SensorContext:
    """What models may need beyond their parent: the map, geo reference, seed, a renderer factory.

    `renderer` is a zero-argument callable returning the suite's shared `Renderer` (created on
    first use so that non-camera rigs never open a GL context). `lat0_deg`/`lon0_deg` come from the
    map's OpenDRIVE geoReference.
    """

    xodr_text: str
    lat0_deg: float
    lon0_deg: float
    seed: int
    renderer: Callable[[], Any]


@dataclass
class FrameInputs:
    """Everything a model may read for one frame (world state after the tick)."""

    frame: int
    elapsed_seconds: float
    delta_seconds: float
    actors: dict[int, ActorState]
    light_states: dict
    lighting: Any


REGISTRY: dict[str, type[SensorModel]] = {}


class SensorModel(ABC):
    """One attached sensor. Subclasses set TYPES, DEFAULTS (CARLA's) and LEADERBOARD (forced)."""

    TYPES: ClassVar[tuple[str, ...]] = ()
    DEFAULTS: ClassVar[dict[str, float]] = {}
    LEADERBOARD: ClassVar[dict[str, float]] = {}
    #: Whether `read` looks at other actors (`FrameInputs.actors` beyond the parent); when no attached
    #: sensor does and no camera is due, the world hands over the parents' states only (cheaper).
    USES_SCENE: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.TYPES:
            raise TypeError(f"{cls.__name__} must declare the sensor TYPES it implements")
        for t in cls.TYPES:
            REGISTRY[t] = cls

    def __init__(self, spec: SensorSpec, parent_id: int, ctx: SensorContext, forced: bool = True) -> None:
        self.spec = spec
        self.parent_id = parent_id
        self.ctx = ctx
        self.attrs = self._parse_attributes(spec, forced)
        self.mount = pose_matrix(spec.x, spec.y, spec.z, spec.roll, spec.pitch, spec.yaw)
        self.rng = np.random.default_rng([ctx.seed, zlib.crc32(spec.id.encode())])

    def _parse_attributes(self, spec: SensorSpec, forced: bool) -> dict[str, float]:
        attrs = dict(self.DEFAULTS)
        for key, value in spec.attributes.items():
            if key in COMMON_ATTRIBUTES:
                continue
            if key not in self.DEFAULTS:
                raise InputError(f"sensor '{spec.id}' ({spec.type}): unknown attribute '{key}'; "
                                 f"known: {sorted(self.DEFAULTS) + list(COMMON_ATTRIBUTES)}")
            try:
                attrs[key] = float(value)
            except (TypeError, ValueError):
                raise InputError(f"sensor '{spec.id}' ({spec.type}): attribute '{key}' must be a number, "
                                 f"got {value!r}") from None
        if forced:
            attrs.update(self.LEADERBOARD)
        return attrs

    def world_pose(self, parent: ActorState) -> np.ndarray:
        """4x4 sensor -> world matrix (parent transform composed with the mount)."""
        return transform_matrix(parent.transform) @ self.mount

    @abstractmethod
    def read(self, parent: ActorState, inputs: FrameInputs) -> Any:
        """The sensor's data for this frame, in the leaderboard's format."""
