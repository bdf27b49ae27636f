"""Agent sensor specs -> what to spawn on a CARLA server (blueprint id, attributes, mount).

Follows the leaderboard's `AgentWrapper._preprocess_sensor_spec`: cameras get `image_size_x`,
`image_size_y` and `fov` from the spec; LiDAR, radar, GNSS and IMU get the attributes the official
leaderboard forces (the same numbers the embedded sensor models apply, taken from their
`LEADERBOARD` tables, so the two backends cannot drift apart); GNSS is mounted without rotation;
`sensor.speedometer` and `sensor.opendrive_map` are pseudo-sensors computed client side. Other
spec keys pass through as blueprint attributes (checked against the real blueprint at spawn).
Attribute values are strings, as `carla.ActorBlueprint.set_attribute` wants them.
"""

from __future__ import annotations

from dataclasses import dataclass

import carla

from driving.errors import InputError
from driving.world import SensorSpec

#: Camera spec types -> CARLA blueprint ("sensor.camera" is the leaderboard's RGB alias).
CAMERA_BLUEPRINTS = {
    "sensor.camera.rgb": "sensor.camera.rgb",
    "sensor.camera": "sensor.camera.rgb",
    "sensor.camera.depth": "sensor.camera.depth",
    "sensor.camera.semantic_segmentation": "sensor.camera.semantic_segmentation",
}
#: Spawned non-camera sensors (blueprint id = spec type).
OTHER_SENSORS = ("sensor.lidar.ray_cast", "sensor.other.radar", "sensor.other.gnss", "sensor.other.imu")
#: Sensors computed client side from the parent's state, never spawned.
PSEUDO_SENSORS = ("sensor.speedometer", "sensor.opendrive_map")
#: Spec attributes of pseudo-sensors (read by the leaderboard's reader threads, meaningless here).
PSEUDO_ATTRIBUTES = ("reading_frequency",)
#: Radar field of view defaults (degrees), CARLA's blueprint defaults, when the spec gives none.
RADAR_DEFAULT_FOV_DEG = 30.0
MAX_IMAGE_SIDE_PX = 8192


@dataclass(frozen=True)
class SensorRequest:
    """One sensor to spawn: CARLA blueprint id (None for a pseudo-sensor), attributes, mount."""

    spec: SensorSpec
    blueprint_id: str | None
    attributes: dict[str, str]
    transform: carla.Transform

    @property
    def kind(self) -> str:
        """ "rgb", "depth", "semantic", "lidar", "radar", "gnss", "imu", "speedometer" or "opendrive"."""
        return SENSOR_KINDS[self.spec.type]


SENSOR_KINDS = {
    "sensor.camera.rgb": "rgb",
    "sensor.camera": "rgb",
    "sensor.camera.depth": "depth",
    "sensor.camera.semantic_segmentation": "semantic",
    "sensor.lidar.ray_cast": "lidar",
    "sensor.other.radar": "radar",
    "sensor.other.gnss": "gnss",
    "sensor.other.imu": "imu",
    "sensor.speedometer": "speedometer",
    "sensor.opendrive_map": "opendrive",
}


def attribute_text(value: object, where: str) -> str:
    """A spec value as a blueprint attribute string: integral numbers without '.0', bools lowercase."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value
    raise InputError(f"{where}: expected a number, bool or string, got {type(value).__name__} {value!r}")


def _leaderboard_attributes(sensor_type: str) -> dict[str, float]:
    from driving.sim.sensor_models import REGISTRY

    return dict(REGISTRY[sensor_type].LEADERBOARD)


def _mount(spec: SensorSpec, with_rotation: bool = True) -> carla.Transform:
    rotation = (
        carla.Rotation(pitch=spec.pitch, yaw=spec.yaw, roll=spec.roll) if with_rotation else carla.Rotation()
    )
    return carla.Transform(carla.Location(x=spec.x, y=spec.y, z=spec.z), rotation)


def _check_camera(spec: SensorSpec) -> None:
    for name in ("width", "height"):
        value = getattr(spec, name)
        if not 1 <= value <= MAX_IMAGE_SIDE_PX:
            raise InputError(
                f"sensor '{spec.id}' ({spec.type}): {name} must be 1..{MAX_IMAGE_SIDE_PX} px, got {value}"
            )
    if not 0.0 < spec.fov < 180.0:
        raise InputError(f"sensor '{spec.id}' ({spec.type}): fov must be in (0, 180) degrees, got {spec.fov}")


def sensor_request(spec: SensorSpec, forced: bool = True) -> SensorRequest:
    """What to spawn for `spec`; InputError for an unknown type or a bad value.

    `forced` applies the leaderboard's fixed attributes over the spec's own (as the official
    evaluator does); without it the spec's attributes win.
    """
    where = f"sensor '{spec.id}' ({spec.type})"
    if spec.type not in SENSOR_KINDS:
        raise InputError(
            f"sensor '{spec.id}': unknown type '{spec.type}'; known types: {sorted(SENSOR_KINDS)}"
        )
    if spec.type in PSEUDO_SENSORS:
        unknown = sorted(set(spec.attributes) - set(PSEUDO_ATTRIBUTES))
        if unknown:
            raise InputError(f"{where}: unknown attribute(s) {unknown}; known: {list(PSEUDO_ATTRIBUTES)}")
        return SensorRequest(spec, None, {}, carla.Transform())
    attributes = {
        key: attribute_text(value, f"{where}: attribute '{key}'") for key, value in spec.attributes.items()
    }
    if spec.type in CAMERA_BLUEPRINTS:
        _check_camera(spec)
        attributes.update(
            image_size_x=str(spec.width),
            image_size_y=str(spec.height),
            fov=attribute_text(spec.fov, f"{where}: fov"),
        )
        return SensorRequest(spec, CAMERA_BLUEPRINTS[spec.type], attributes, _mount(spec))
    if spec.type == "sensor.other.radar":
        for key in ("horizontal_fov", "vertical_fov"):
            attributes.setdefault(key, attribute_text(RADAR_DEFAULT_FOV_DEG, where))
    if forced:
        for key, value in _leaderboard_attributes(spec.type).items():
            attributes[key] = attribute_text(float(value), f"{where}: attribute '{key}'")
    return SensorRequest(
        spec, spec.type, attributes, _mount(spec, with_rotation=spec.type != "sensor.other.gnss")
    )
