"""The lights of one junction as the signalized-junction scenarios (S7/S8/S9) see them.

Other approaches are named by where they come from relative to the ego, from the yaw of their
lane at the light minus the ego lane's yaw, modulo 360 (official
`annotate_trafficlight_in_group`): (30, 135] left, (135, 225] opposite, (225, 330] right; lights
within 30 deg of the ego's own heading (another lane of the ego's approach) are not touched.
The subtype then picks the approach that gets the conflicting green, the first one in its
preference list that has a light (official `SUBTYPE_CONFIG_TRANSLATION`).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import MappingProxyType

import carla

from driving.errors import WorldError
from driving.world import TrafficLightInfo, World

#: Yaw-difference bands (degrees, lower bound exclusive, upper inclusive) of each approach.
APPROACH_BANDS_DEG = MappingProxyType({"left": (30.0, 135.0), "opposite": (135.0, 225.0),
                                       "right": (225.0, 330.0)})

#: Subtype -> approaches that may get the conflicting green, most preferred first.
APPROACH_PREFERENCE = MappingProxyType({
    "S7left": ("left", "opposite", "right"),
    "S7right": ("left", "opposite"),
    "S7opposite": ("right", "left", "opposite"),
    "S8left": ("opposite",),
    "S9right": ("left", "opposite"),
})


def lane_yaw_deg(light: TrafficLightInfo) -> float:
    """Heading of the lane a light governs, at its stop line (the light's own yaw if it has none)."""
    if light.stop_waypoints:
        return float(light.stop_waypoints[0].transform.rotation.yaw)
    return float(light.transform.rotation.yaw)


def classify(ego_yaw_deg: float, other_yaw_deg: float) -> str | None:
    """'left', 'opposite', 'right' or None (same heading as the ego) for one other approach."""
    diff = (other_yaw_deg - ego_yaw_deg) % 360.0
    for name, (lo, hi) in APPROACH_BANDS_DEG.items():
        if lo < diff <= hi:
            return name
    return None


@dataclass
class JunctionLights:
    """The ego's light and the other lights of its group, by approach (in group order)."""

    ego: TrafficLightInfo
    approaches: dict[str, list[TrafficLightInfo]] = field(default_factory=dict)

    @classmethod
    def of(cls, ego: TrafficLightInfo, all_lights: Iterable[TrafficLightInfo]) -> JunctionLights:
        out = cls(ego, {name: [] for name in APPROACH_BANDS_DEG})
        ego_yaw = lane_yaw_deg(ego)
        for light in all_lights:
            if light.group_id != ego.group_id or light.id == ego.id:
                continue
            name = classify(ego_yaw, lane_yaw_deg(light))
            if name is not None:
                out.approaches[name].append(light)
        return out

    def choose(self, subtype: str) -> tuple[str, TrafficLightInfo] | None:
        """The approach (and its first light) given the conflicting green for `subtype`."""
        for name in APPROACH_PREFERENCE.get(subtype, ()):
            if self.approaches.get(name):
                return name, self.approaches[name][0]
        return None

    def others(self) -> list[TrafficLightInfo]:
        """Every classified light other than the ego's (the ones turned red on the trigger)."""
        return [light for lights in self.approaches.values() for light in lights]


def set_lights(world: World, states: dict[int, carla.TrafficLightState]) -> None:
    """Force and freeze each light (id -> state), as the official manipulator does every step."""
    for light_id, state in states.items():
        world.set_traffic_light_state(light_id, state, freeze=True)


def release_lights(world: World, light_ids: Iterable[int]) -> None:
    """Hand the lights back to their own cycle: Red, unfrozen.

    Official `reset_lights` puts back the states read at the trigger, which are stale by then
    (10-20 s later) and can show two crossing approaches green at once until the cycle catches
    up. Red is the one state that never conflicts; unfrozen, the light rejoins its cycle at its
    next change (embedded backend: the forced state lasts until the cycle changes; CARLA: the
    light cycles on from red). A light that vanished (server reload) is ignored.
    """
    for light_id in light_ids:
        with contextlib.suppress(WorldError):
            world.set_traffic_light_state(light_id, carla.TrafficLightState.Red, freeze=False)
