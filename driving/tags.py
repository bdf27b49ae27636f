"""The one table of semantic tag numbers.

LeTFuser was trained on CARLA 0.9.10 tags (23 classes). CARLA 0.9.14+ servers use a 29-tag set
with other numbers. Everything in this project names tags through `Tag`; the CARLA backend maps
a server's tags to this set with `CARLA_0916_TO_0910`. Never write a tag number anywhere else.
"""
from __future__ import annotations

import enum

import numpy as np


class Tag(enum.IntEnum):
    """CARLA 0.9.10 semantic tags (the segmentation decoder's 23 classes)."""

    UNLABELED = 0
    BUILDING = 1
    FENCE = 2
    OTHER = 3
    PEDESTRIAN = 4
    POLE = 5
    ROAD_LINE = 6
    ROAD = 7
    SIDEWALK = 8
    VEGETATION = 9
    VEHICLES = 10
    WALL = 11
    TRAFFIC_SIGN = 12
    SKY = 13
    GROUND = 14
    BRIDGE = 15
    RAIL_TRACK = 16
    GUARD_RAIL = 17
    TRAFFIC_LIGHT = 18
    STATIC = 19
    DYNAMIC = 20
    WATER = 21
    TERRAIN = 22


NUM_TAGS = len(Tag)

#: CityScapes palette as CARLA 0.9.10 colours its semantic images (RGB).
PALETTE_RGB: dict[Tag, tuple[int, int, int]] = {
    Tag.UNLABELED: (0, 0, 0),
    Tag.BUILDING: (70, 70, 70),
    Tag.FENCE: (100, 40, 40),
    Tag.OTHER: (55, 90, 80),
    Tag.PEDESTRIAN: (220, 20, 60),
    Tag.POLE: (153, 153, 153),
    Tag.ROAD_LINE: (157, 234, 50),
    Tag.ROAD: (128, 64, 128),
    Tag.SIDEWALK: (244, 35, 232),
    Tag.VEGETATION: (107, 142, 35),
    Tag.VEHICLES: (0, 0, 142),
    Tag.WALL: (102, 102, 156),
    Tag.TRAFFIC_SIGN: (220, 220, 0),
    Tag.SKY: (70, 130, 180),
    Tag.GROUND: (81, 0, 81),
    Tag.BRIDGE: (150, 100, 100),
    Tag.RAIL_TRACK: (230, 150, 140),
    Tag.GUARD_RAIL: (180, 165, 180),
    Tag.TRAFFIC_LIGHT: (250, 170, 30),
    Tag.STATIC: (110, 190, 160),
    Tag.DYNAMIC: (170, 120, 50),
    Tag.WATER: (45, 60, 150),
    Tag.TERRAIN: (145, 170, 100),
}

#: Lookup array tag -> RGB colour, for vectorised colouring of tag images.
PALETTE_ARRAY = np.array([PALETTE_RGB[t] for t in Tag], dtype=np.uint8)

#: CARLA 0.9.14+ (29 tags, `carla.CityObjectLabel` in the 0.9.16 client) -> 0.9.10 tags.
CARLA_0916_TO_0910: dict[int, Tag] = {
    0: Tag.UNLABELED, 1: Tag.ROAD, 2: Tag.SIDEWALK, 3: Tag.BUILDING, 4: Tag.WALL, 5: Tag.FENCE,
    6: Tag.POLE, 7: Tag.TRAFFIC_LIGHT, 8: Tag.TRAFFIC_SIGN, 9: Tag.VEGETATION, 10: Tag.TERRAIN,
    11: Tag.SKY, 12: Tag.PEDESTRIAN, 13: Tag.PEDESTRIAN, 14: Tag.VEHICLES, 15: Tag.VEHICLES,
    16: Tag.VEHICLES, 17: Tag.VEHICLES, 18: Tag.VEHICLES, 19: Tag.VEHICLES, 20: Tag.STATIC,
    21: Tag.DYNAMIC, 22: Tag.OTHER, 23: Tag.WATER, 24: Tag.ROAD_LINE, 25: Tag.GROUND,
    26: Tag.BRIDGE, 27: Tag.RAIL_TRACK, 28: Tag.GUARD_RAIL,
}

#: TransFuser 2022's data agent (team_code_autopilot/data_agent.py `_change_seg_tl`) rewrites the
#: TrafficLight pixels (18) of the light the ego obeys to 23 when it is red and 24 when yellow
#: (green stays 18). Those are light *states*, not classes of the 23-class set: read them back as
#: the TrafficLight class they were, the exact inverse (the light state is a separate label,
#: `light_hazard`). e2etransfuser's LetFuser/data.py instead one-hots over range(23), which leaves
#: such pixels with no class at all; a long tag target cannot express that.
TRANSFUSER_2022_EXTRA_TAGS: dict[int, Tag] = {23: Tag.TRAFFIC_LIGHT, 24: Tag.TRAFFIC_LIGHT}
