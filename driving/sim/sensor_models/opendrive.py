"""`sensor.opendrive_map` (a leaderboard pseudo-sensor): {'opendrive': the map's OpenDRIVE text}."""
from __future__ import annotations

from typing import ClassVar

from driving.sim.sensor_models.base import FrameInputs, SensorModel
from driving.world import ActorState


class OpenDriveModel(SensorModel):
    TYPES = ("sensor.opendrive_map",)
    USES_SCENE = False  # reads its parent only
    DEFAULTS: ClassVar[dict[str, float]] = {"reading_frequency": 1.0}

    def read(self, parent: ActorState, inputs: FrameInputs) -> dict[str, str]:
        return {"opendrive": self.ctx.xodr_text}
