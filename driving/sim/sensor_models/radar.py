"""`sensor.other.radar`: N x 4 float32 rows [depth m, altitude rad, azimuth rad, velocity m/s].

That is CARLA's raw detection (velocity, azimuth, altitude, depth) with its columns reversed, as
the leaderboard's sensor interface delivers it (`np.flip(points, 1)`). `points_per_second * dt`
rays spread as CARLA spreads them over the elliptic cone of the horizontal/vertical fov; static
geometry comes from the rasterizer, actors from exact ray / oriented-box tests so that each detection carries its target's radial velocity
relative to the sensor (positive when moving away).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from driving.errors import InputError
from driving.sim.render.geometry import transform_matrix
from driving.sim.sensor_models.base import FrameInputs, SensorModel
from driving.sim.sensor_models.raycast import cast_rays
from driving.world import ActorState


def ray_box_distance(origin: np.ndarray, dirs: np.ndarray, box_pose: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Distance along unit rays (world) to an oriented box (pose = box centre -> world), +inf on miss."""
    inv = np.linalg.inv(box_pose)
    o = inv[:3, :3] @ origin + inv[:3, 3]
    d = dirs @ inv[:3, :3].T
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (-half - o) / d
        t2 = (half - o) / d
    t_near = np.nanmax(np.minimum(t1, t2), axis=1)
    t_far = np.nanmin(np.maximum(t1, t2), axis=1)
    hit = (t_far >= np.maximum(t_near, 0.0))
    return np.where(hit, np.maximum(t_near, 0.0), np.inf)


class RadarModel(SensorModel):
    TYPES = ("sensor.other.radar",)
    DEFAULTS: ClassVar[dict[str, float]] = {"horizontal_fov": 30.0, "vertical_fov": 30.0, "range": 100.0, "points_per_second": 1500.0,
                "noise_seed": 0.0}
    LEADERBOARD: ClassVar[dict[str, float]] = {"points_per_second": 1500.0, "range": 100.0}

    def __init__(self, spec, *args, forced: bool = True, **kwargs) -> None:
        super().__init__(spec, *args, forced=forced, **kwargs)
        if forced:  # the leaderboard sets both fovs from the spec's `fov`
            self.attrs["horizontal_fov"] = self.attrs["vertical_fov"] = float(spec.fov)
        for key in ("horizontal_fov", "vertical_fov"):
            if not 0.0 < self.attrs[key] < 180.0:
                raise InputError(f"sensor '{spec.id}' ({spec.type}): {key} must be in (0, 180) degrees, "
                                 f"got {self.attrs[key]}")

    def read(self, parent: ActorState, inputs: FrameInputs) -> np.ndarray:
        a = self.attrs
        dt = inputs.delta_seconds if inputs.delta_seconds > 0 else 0.05
        n = max(int(a["points_per_second"] * dt), 1)
        # CARLA (Radar.cpp): ray i ends at (range, MaxRx * r * cos t, MaxRy * r * sin t) in the sensor
        # frame, MaxR = range * tan(fov / 2), r ~ U[0, 1), t ~ U[0, 2 pi): an elliptic cone, denser
        # at its axis, each ray traced up to that end point (forward distance <= range).
        radius = self.rng.random(n)
        angle = self.rng.uniform(0.0, 2.0 * np.pi, n)
        tan_h = np.tan(np.radians(a["horizontal_fov"] / 2.0))
        tan_v = np.tan(np.radians(a["vertical_fov"] / 2.0))
        ends = np.stack([np.ones(n), tan_h * radius * np.cos(angle), tan_v * radius * np.sin(angle)], axis=1)
        length = np.linalg.norm(ends, axis=1)  # ray length per metre of forward range
        dirs = ends / length[:, None]
        az = np.arctan2(dirs[:, 1], dirs[:, 0])
        alt = np.arctan2(dirs[:, 2], np.hypot(dirs[:, 0], dirs[:, 1]))
        max_ray_m = a["range"] * length
        pose = self.world_pose(parent)
        ranges, _ = cast_rays(self.ctx.renderer(), pose, dirs, inputs.actors.values(), inputs.light_states,
                              inputs.lighting, self.parent_id, float(max_ray_m.max()))
        dirs_w = dirs @ pose[:3, :3].T
        origin = pose[:3, 3]
        pv = parent.velocity
        velocity = np.zeros(n)
        actor_hit = np.zeros(n, bool)
        for actor in inputs.actors.values():
            if actor.id == self.parent_id:
                continue
            box = transform_matrix(actor.transform)
            box[:3, 3] += box[:3, 2] * actor.extent.z
            half = np.array([actor.extent.x, actor.extent.y, actor.extent.z])
            t = ray_box_distance(origin, dirs_w, box, half)
            closer = t < ranges
            ranges = np.where(closer, t, ranges)
            rel = np.array([actor.velocity.x - pv.x, actor.velocity.y - pv.y, actor.velocity.z - pv.z])
            velocity = np.where(closer, dirs_w @ rel, velocity)
            actor_hit |= closer
        static = np.isfinite(ranges) & ~actor_hit
        velocity[static] = -(dirs_w[static] @ np.array([pv.x, pv.y, pv.z]))
        hit = np.isfinite(ranges) & (ranges <= max_ray_m)
        raw = np.stack([velocity[hit], az[hit], alt[hit], ranges[hit]], axis=1)
        return np.flip(raw, 1).astype(np.float32)
