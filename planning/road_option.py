"""High-level driving commands attached to every route point.

The numbers and names match the official `agents.navigation.local_planner.RoadOption` so that
route plans, one-hot command vectors and datasets stay interchangeable with CARLA-trained models
(TransFuser/LeTFuser encode `command` as `RoadOption.value - 1` into a 6-way one-hot).
"""
from __future__ import annotations

import enum


class RoadOption(enum.IntEnum):
    """Topological command for a route point (official values, official names)."""

    VOID = -1
    LEFT = 1
    RIGHT = 2
    STRAIGHT = 3
    LANEFOLLOW = 4
    CHANGELANELEFT = 5
    CHANGELANERIGHT = 6


LANE_CHANGES = frozenset({RoadOption.CHANGELANELEFT, RoadOption.CHANGELANERIGHT})
