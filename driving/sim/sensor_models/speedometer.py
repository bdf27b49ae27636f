"""`sensor.speedometer` (a leaderboard pseudo-sensor): {'speed': forward speed in m/s}."""
from __future__ import annotations

from typing import ClassVar

from driving.sim.sensor_models.base import FrameInputs, SensorModel
from driving.world import ActorState


class SpeedometerModel(SensorModel):
    TYPES = ("sensor.speedometer",)
    USES_SCENE = False  # reads its parent only
    DEFAULTS: ClassVar[dict[str, float]] = {"reading_frequency": 20.0}

    def read(self, parent: ActorState, inputs: FrameInputs) -> dict[str, float]:
        # The leaderboard projects velocity on the vehicle's forward vector: signed, m/s.
        return {"speed": float(parent.speed_mps)}
