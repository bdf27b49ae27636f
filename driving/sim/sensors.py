"""`SensorSuite`: every sensor an agent declares, read each frame in the leaderboard's formats.

Cameras are grouped by (parent, mount, image size, fov): an RGB, a depth and a semantic camera with
the same pose share one rasterization, so their images are pixel-aligned; all camera groups of all
parents are rendered in one pass as viewports of one framebuffer. Other sensor types are models
registered in `driving.sim.sensor_models`. The renderer (an OpenGL context) is created lazily, on
the first read that needs it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import carla
import numpy as np

from driving.errors import InputError
from driving.image_codecs import encode_depth_bgra
from driving.sim.render.camera import CameraView
from driving.sim.render.geometry import pose_matrix, transform_matrix
from driving.sim.render.lighting import Lighting, lighting_from_weather, weather_key
from driving.sim.render.renderer import ViewRequest
from driving.sim.sensor_models import REGISTRY, FrameInputs, SensorContext, SensorModel
from driving.world import ActorState, SensorSpec
from planning.gps import geo_reference

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is 3.11+; annotation only

#: Camera blueprint ids -> which image they deliver ("sensor.camera" is the leaderboard's RGB alias).
CAMERA_TYPES = {"sensor.camera.rgb": "rgb", "sensor.camera": "rgb", "sensor.camera.depth": "depth",
                "sensor.camera.semantic_segmentation": "semantic"}
#: Camera attributes accepted in a spec beyond the SensorSpec fields (CARLA blueprint names).
CAMERA_ATTRIBUTES = ("image_size_x", "image_size_y", "sensor_tick", "role_name", "lens_circle_multiplier",
                     "lens_circle_falloff", "chromatic_aberration_intensity", "chromatic_aberration_offset",
                     "gamma", "motion_blur_intensity", "motion_blur_max_distortion", "motion_blur_min_object_screen_size",
                     "enable_postprocess_effects", "bloom_intensity", "lens_flare_intensity", "exposure_mode")
MAX_IMAGE_SIDE_PX = 8192
HEADLIGHT_HEIGHT_M = 0.7


@dataclass(frozen=True)
class _Camera:
    spec: SensorSpec
    parent_id: int
    image: str  # "rgb" | "depth" | "semantic"

    @property
    def sensor_tick_s(self) -> float:
        """Seconds between captures (CARLA's `sensor_tick`); 0 = every frame."""
        return float(self.spec.attributes.get("sensor_tick", 0.0) or 0.0)

    @property
    def group_key(self) -> tuple:
        s = self.spec
        return (self.parent_id, s.x, s.y, s.z, s.roll, s.pitch, s.yaw, s.width, s.height, s.fov, self.sensor_tick_s)


def _validate_camera(spec: SensorSpec) -> None:
    for key in spec.attributes:
        if key not in CAMERA_ATTRIBUTES:
            raise InputError(f"sensor '{spec.id}' ({spec.type}): unknown attribute '{key}'; "
                             f"known: {sorted(CAMERA_ATTRIBUTES)}")
    tick = spec.attributes.get("sensor_tick", 0.0)
    try:
        ok = float(tick) >= 0.0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(f"sensor '{spec.id}' ({spec.type}): sensor_tick must be a number of seconds >= 0, "
                         f"got {tick!r}")
    for name in ("width", "height"):
        value = getattr(spec, name)
        if not 1 <= value <= MAX_IMAGE_SIDE_PX:
            raise InputError(f"sensor '{spec.id}' ({spec.type}): {name} must be 1..{MAX_IMAGE_SIDE_PX} px, got {value}")
    if not 0.0 < spec.fov < 180.0:
        raise InputError(f"sensor '{spec.id}' ({spec.type}): fov must be in (0, 180) degrees, got {spec.fov}")


def semantic_bgra(tags: np.ndarray) -> np.ndarray:
    """Tag image (H x W uint8) -> CARLA semantic image: tag in R, G = B = 0, alpha 255."""
    out = np.zeros(tags.shape + (4,), np.uint8)
    out[..., 2] = tags
    out[..., 3] = 255
    return out


class SensorSuite:
    """All sensors attached to actors of one embedded world (see module docstring).

    `forced_attributes=True` applies the values the official leaderboard forces on every agent
    (LiDAR 64 channels / 85 m, GNSS and IMU noise, radar 1500 points/s, ...), as its AgentWrapper does.
    """

    def __init__(self, loaded_map: Any, layout: Any, signals: Any, seed: int,
                 forced_attributes: bool = True) -> None:
        self._layout = layout
        self._signals = signals
        self._forced = forced_attributes
        lat0, lon0 = geo_reference(loaded_map.xodr_text, str(loaded_map.path or loaded_map.name))
        self._ctx = SensorContext(xodr_text=loaded_map.xodr_text, lat0_deg=lat0, lon0_deg=lon0, seed=seed,
                                  renderer=self._get_renderer)
        self._renderer = None
        self._cameras: dict[str, _Camera] = {}
        self._models: dict[str, SensorModel] = {}
        self._last_elapsed: float | None = None
        #: Cameras with a `sensor_tick`: last capture time per group, last image per camera id.
        self._captured_s: dict[tuple, float] = {}
        self._last_images: dict[str, tuple[int, Any]] = {}
        #: The lighting of the last weather seen (read runs every tick; the weather rarely changes).
        self._lighting: tuple[tuple[float, ...], Lighting] | None = None

    # ---- attach / detach -------------------------------------------------------------------
    def attach(self, spec: SensorSpec, parent_id: int) -> None:
        """Attach one sensor; InputError for an unknown type, a duplicate id or a bad attribute."""
        if spec.id in self._cameras or spec.id in self._models:
            raise InputError(f"sensor '{spec.id}': id already attached; sensor ids must be unique")
        if spec.type in CAMERA_TYPES:
            _validate_camera(spec)
            self._cameras[spec.id] = _Camera(spec, parent_id, CAMERA_TYPES[spec.type])
            return
        model_cls = REGISTRY.get(spec.type)
        if model_cls is None:
            known = sorted(set(CAMERA_TYPES) | set(REGISTRY))
            raise InputError(f"sensor '{spec.id}': unknown type '{spec.type}'; known types: {', '.join(known)}")
        self._models[spec.id] = model_cls(spec, parent_id, self._ctx, forced=self._forced)

    def detach(self, parent_id: int) -> None:
        """Remove every sensor of an actor (it was destroyed)."""
        self._cameras = {k: c for k, c in self._cameras.items() if c.parent_id != parent_id}
        self._models = {k: m for k, m in self._models.items() if m.parent_id != parent_id}

    def parent_ids(self) -> set[int]:
        """Actors that carry a sensor."""
        return {c.parent_id for c in self._cameras.values()} | {m.parent_id for m in self._models.values()}

    def needs_scene(self, elapsed_seconds: float) -> bool:
        """Whether the next `read` at `elapsed_seconds` needs every actor's state: a camera is due, or a
        sensor model looks at other actors. Otherwise the parents' states are enough."""
        if any(m.USES_SCENE for m in self._models.values()):
            return True
        return any(self._due(c.group_key, c.sensor_tick_s, elapsed_seconds) for c in self._cameras.values())

    @property
    def sensor_ids(self) -> list[str]:
        return sorted([*self._cameras, *self._models])

    # ---- reading ------------------------------------------------------------------------------
    def _get_renderer(self):
        if self._renderer is None:
            from driving.sim.render.renderer import Renderer

            self._renderer = Renderer(self._layout)
        return self._renderer

    def read(self, frame: int, elapsed_seconds: float, actors: dict[int, ActorState],
             light_states: dict[int, carla.TrafficLightState],
             weather: carla.WeatherParameters) -> dict[str, tuple[int, Any]]:
        """Sensor id -> (frame, data) for every sensor whose parent exists, in leaderboard formats."""
        # Rounded to the microsecond: 0.2 - 0.15 is 0.04999999999999999 in binary floating point, and
        # models that count rays as int(points_per_second * delta) would lose one on such frames.
        delta = 0.0 if self._last_elapsed is None else round(max(elapsed_seconds - self._last_elapsed, 0.0), 6)
        self._last_elapsed = elapsed_seconds
        lighting = self._lighting_of(weather)
        out: dict[str, tuple[int, Any]] = {}
        out.update(self._read_cameras(frame, elapsed_seconds, actors, light_states, lighting))
        inputs = FrameInputs(frame, elapsed_seconds, delta, actors, light_states, lighting)
        for sensor_id, model in self._models.items():
            parent = actors.get(model.parent_id)
            if parent is not None:
                out[sensor_id] = (frame, model.read(parent, inputs))
        return out

    def _lighting_of(self, weather: carla.WeatherParameters) -> Lighting:
        key = weather_key(weather)
        if self._lighting is None or self._lighting[0] != key:
            self._lighting = (key, lighting_from_weather(weather))
        return self._lighting[1]

    def _due(self, key: tuple, tick_s: float, elapsed_seconds: float) -> bool:
        """Whether a camera group captures this frame: always without a `sensor_tick`, else when
        `tick_s` has passed since its last capture (or time went back: a new map)."""
        last = self._captured_s.get(key)
        return tick_s <= 0.0 or last is None or elapsed_seconds < last or elapsed_seconds - last >= tick_s - 1e-6

    def _read_cameras(self, frame, elapsed_seconds, actors, light_states, lighting) -> dict[str, tuple[int, Any]]:
        """Render the camera groups that are due; a group with a `sensor_tick` that is not due hands out
        its last capture (with that capture's frame number), as a CARLA sensor with a long tick does."""
        groups: dict[tuple, list[_Camera]] = {}
        stale: dict[str, tuple[int, Any]] = {}
        for cam in self._cameras.values():
            if cam.parent_id not in actors:
                continue
            key = cam.group_key
            if key in groups or self._due(key, cam.sensor_tick_s, elapsed_seconds):
                groups.setdefault(key, []).append(cam)
            elif cam.spec.id in self._last_images:
                stale[cam.spec.id] = self._last_images[cam.spec.id]
        if not groups:
            return stale
        requests = []
        for members in groups.values():
            spec, parent = members[0].spec, actors[members[0].parent_id]
            parent_pose = transform_matrix(parent.transform)
            pose = parent_pose @ pose_matrix(spec.x, spec.y, spec.z, spec.roll, spec.pitch, spec.yaw)
            fwd = parent_pose[:3, 0]
            head_pos = parent_pose[:3, 3] + fwd * parent.extent.x + parent_pose[:3, 2] * HEADLIGHT_HEIGHT_M
            kinds = {m.image for m in members}
            requests.append(ViewRequest(CameraView(pose, spec.width, spec.height, spec.fov), rgb="rgb" in kinds,
                                        depth="depth" in kinds, semantic="semantic" in kinds,
                                        headlight=(head_pos, fwd), exclude_actor_id=parent.id))
        images = self._get_renderer().render(requests, list(actors.values()), light_states, lighting, elapsed_seconds)
        out = {}
        for members, img in zip(groups.values(), images):
            for cam in members:
                if cam.image == "rgb":
                    data = img.bgra if len(members) == 1 else img.bgra.copy()
                elif cam.image == "depth":
                    data = encode_depth_bgra(img.depth_m)
                else:
                    data = semantic_bgra(img.tags)
                out[cam.spec.id] = (frame, data)
                if cam.sensor_tick_s > 0.0:
                    self._last_images[cam.spec.id] = (frame, data)
        for key, members in groups.items():
            if members[0].sensor_tick_s > 0.0:
                self._captured_s[key] = elapsed_seconds
        out.update(stale)
        return out

    def close(self) -> None:
        """Release the OpenGL context."""
        if self._renderer is not None:
            self._renderer.release()
            self._renderer = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
