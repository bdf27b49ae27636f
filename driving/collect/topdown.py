"""Top-down label image per saved frame (`topdown/NNNN.png`), drawn with the route video's renderer.

`leaderboard.video.RouteTopDown` draws the route's static layers (roads, sidewalks, lane markings,
crosswalks, props, the route band) once and, per call, the traffic lights in their state,
vehicles and pedestrians. The label is its window around the ego rotated ego-up (the ego at the
centre, heading to the top of the image) and cropped to `TOPDOWN_SIZE_PX` at `TOPDOWN_PX_PER_M`
(64 m x 64 m at 4 px/m). Nearest-neighbour rotation keeps the palette's colours exact.
"""
from __future__ import annotations

import math

import carla
import cv2
import numpy as np

from driving.collect.layout import TOPDOWN_PX_PER_M, TOPDOWN_SIZE_PX
from driving.world import ActorState, World

#: Largest background side (pixels); a longer route is drawn at a lower px/m (recorded in the manifest).
MAX_LABEL_BACKGROUND_PX = 8192


class TopDownLabeller:
    """Renders ego-up top-down labels for one route (static layers drawn once, at construction)."""

    def __init__(self, world: World, route: list[carla.Transform], size_px: int = TOPDOWN_SIZE_PX,
                 pixels_per_metre: float = TOPDOWN_PX_PER_M) -> None:
        from leaderboard.video import RouteTopDown

        self.size_px = size_px
        window = math.ceil(size_px * math.sqrt(2.0)) + 2  # any rotation of the label fits inside
        self._view = RouteTopDown(world, route, pixels_per_metre, window, MAX_LABEL_BACKGROUND_PX)
        self.ppm = self._view.ppm

    def render(self, ego: ActorState, actors: list[ActorState]) -> np.ndarray:
        """`size_px` square BGR uint8 label centred on `ego`, its heading pointing up."""
        img = self._view.render(ego, actors)
        centre = (img.shape[1] / 2.0, img.shape[0] / 2.0)
        # north-up image: y points down, so a heading of yaw degrees is drawn yaw degrees clockwise
        # from +x; turning it counter-clockwise by yaw + 90 points it up.
        rot = cv2.getRotationMatrix2D(centre, ego.transform.rotation.yaw + 90.0, 1.0)
        rot[:, 2] += (self.size_px - img.shape[1]) / 2.0, (self.size_px - img.shape[0]) / 2.0
        return cv2.warpAffine(img, rot, (self.size_px, self.size_px), flags=cv2.INTER_NEAREST,
                              borderMode=cv2.BORDER_REPLICATE)
