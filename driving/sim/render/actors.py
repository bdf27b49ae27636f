"""Dynamic actors as instanced low-poly models: one template per body style, one draw call each.

A template is a few boxes in unit coordinates (x, y in [-1, 1] scaled by the actor's extent half
sizes, z in [0, 2] scaled by extent.z: the model stands on `transform.location`). Each vertex
carries a `part` code telling the shader how to colour it (body in the actor's own colour, glass,
tyres, lamps, skin, ...), so a car reads as body + cabin + wheels + lights, not a bare box.
"""
from __future__ import annotations

import typing
from collections.abc import Iterable

import numpy as np

from driving.sim.render.geometry import UNIT_CUBE_NORMALS, UNIT_CUBE_TRIS
from driving.world import ActorState


class Part:
    """Per-vertex colour modes of actor templates (read by the shader)."""

    BODY = 0
    GLASS = 1
    TYRE = 2
    HEADLIGHT = 3
    TAILLIGHT = 4
    SKIN = 5
    DARK = 6
    GREY = 7


TEMPLATE_DTYPE = np.dtype([("pos", "f4", 3), ("normal", "f4", 3), ("part", "f4")])
TEMPLATE_FORMAT = "3f 3f 1f"
INSTANCE_DTYPE = np.dtype([("ax", "f4", 3), ("ay", "f4", 3), ("az", "f4", 3), ("origin", "f4", 3),
                           ("color", "u1", 4), ("tag", "f4")])
INSTANCE_FORMAT = "3f 3f 3f 3f 4f1 1f /i"

Box = typing.Tuple[float, float, float, float, float, float, int]  # x0, x1, y0, y1, z0, z1, part


def _wheels(xs: Iterable[float], r: float = 0.2, w: float = 0.14) -> list[Box]:
    return [(x - r, x + r, s * (1.0 - w), s * 1.0, 0.0, 0.38, Part.TYRE) if s > 0 else
            (x - r, x + r, -1.0, -1.0 + w, 0.0, 0.38, Part.TYRE) for x in xs for s in (1, -1)]


def _lights(x_front: float, x_back: float, z0: float, z1: float) -> list[Box]:
    return [(x_front, x_front + 0.03, 0.5, 0.85, z0, z1, Part.HEADLIGHT),
            (x_front, x_front + 0.03, -0.85, -0.5, z0, z1, Part.HEADLIGHT),
            (x_back - 0.03, x_back, 0.55, 0.9, z0, z1, Part.TAILLIGHT),
            (x_back - 0.03, x_back, -0.9, -0.55, z0, z1, Part.TAILLIGHT)]


TEMPLATES: dict[str, list[Box]] = {
    "car": [(-1, 1, -0.95, 0.95, 0.3, 1.05, Part.BODY), (-0.55, 0.3, -0.88, 0.88, 1.05, 1.8, Part.GLASS),
            (-0.5, 0.25, -0.85, 0.85, 1.8, 2.0, Part.BODY), *_wheels((0.62, -0.62)),
            *_lights(1.0, -1.0, 0.75, 0.95)],
    "van": [(-1, 1, -0.95, 0.95, 0.3, 1.15, Part.BODY), (-1, 0.45, -0.95, 0.95, 1.15, 2.0, Part.BODY),
            (0.45, 0.7, -0.9, 0.9, 1.15, 1.85, Part.GLASS), *_wheels((0.66, -0.66)),
            *_lights(1.0, -1.0, 0.8, 1.0)],
    "truck": [(0.55, 1, -0.95, 0.95, 0.3, 1.3, Part.BODY), (0.55, 0.98, -0.95, 0.95, 1.3, 1.95, Part.GLASS),
              (0.5, 0.55, -0.95, 0.95, 0.3, 1.95, Part.DARK), (-1, 0.5, -0.95, 0.95, 0.35, 2.0, Part.GREY),
              *_wheels((0.75, -0.4, -0.75)), *_lights(1.0, -1.0, 0.5, 0.7)],
    "bicycle": [(-0.9, 0.9, -0.1, 0.1, 0.55, 0.62, Part.GREY), (-1, -0.55, -0.08, 0.08, 0.0, 0.6, Part.TYRE),
                (0.55, 1, -0.08, 0.08, 0.0, 0.6, Part.TYRE), (-0.3, 0.1, -0.45, 0.45, 1.0, 1.6, Part.BODY),
                (-0.15, -0.05, -0.3, 0.3, 0.6, 1.0, Part.DARK), (-0.22, 0.05, -0.25, 0.25, 1.62, 1.92, Part.SKIN)],
    "pedestrian": [(-0.35, 0.35, -0.7, -0.1, 0.0, 0.95, Part.DARK), (-0.35, 0.35, 0.1, 0.7, 0.0, 0.95, Part.DARK),
                   (-0.45, 0.45, -0.8, 0.8, 0.95, 1.6, Part.BODY), (-0.3, 0.3, -1.0, -0.8, 1.0, 1.55, Part.BODY),
                   (-0.3, 0.3, 0.8, 1.0, 1.0, 1.55, Part.BODY), (-0.35, 0.35, -0.42, 0.42, 1.62, 2.0, Part.SKIN)],
}


#: Level of detail: beyond this distance (metres) an actor is drawn with only its first boxes
#: (body and cabin, or a pedestrian's legs, torso and head), which is all a few pixels can show.
LOD_DISTANCE_M = 35.0
LOD_BOXES = {"car": 3, "van": 3, "truck": 4, "bicycle": 4, "pedestrian": 3}


def template_for(type_id: str) -> str:
    """Template name for a blueprint-like id ("vehicle.truck" -> "truck"; walkers -> pedestrian)."""
    if type_id.startswith("walker"):
        return "pedestrian"
    suffix = type_id.rsplit(".", 1)[-1]
    if suffix in TEMPLATES:
        return suffix
    if "bike" in suffix or "cycle" in suffix:
        return "bicycle"
    if "truck" in suffix or "bus" in suffix:
        return "truck"
    if "van" in suffix:
        return "van"
    return "car"


def template_vertices(name: str, far: bool = False) -> np.ndarray:
    """Flat vertex array (TEMPLATE_DTYPE) of one template's boxes, wound outwards (`far`: LOD boxes)."""
    out = []
    boxes = TEMPLATES[name][:LOD_BOXES[name]] if far else TEMPLATES[name]
    for x0, x1, y0, y1, z0, z1, part in boxes:
        half = np.array([(x1 - x0) / 2, (y1 - y0) / 2, (z1 - z0) / 2], np.float32)
        center = np.array([(x1 + x0) / 2, (y1 + y0) / 2, (z1 + z0) / 2], np.float32)
        v = np.zeros(36, TEMPLATE_DTYPE)
        v["pos"] = (UNIT_CUBE_TRIS * half + center).reshape(-1, 3)
        v["normal"] = np.repeat(UNIT_CUBE_NORMALS, 3, axis=0)
        v["part"] = part
        out.append(v)
    return np.concatenate(out)


def _rotations(roll_deg: np.ndarray, pitch_deg: np.ndarray, yaw_deg: np.ndarray) -> np.ndarray:
    """N x 3 x 3 local -> world rotations, vectorised `geometry.rotation_matrix` (CARLA's formula)."""
    cr, sr = np.cos(np.radians(roll_deg)), np.sin(np.radians(roll_deg))
    cp, sp = np.cos(np.radians(pitch_deg)), np.sin(np.radians(pitch_deg))
    cy, sy = np.cos(np.radians(yaw_deg)), np.sin(np.radians(yaw_deg))
    return np.stack([
        np.stack([cp * cy, cy * sp * sr - sy * cr, -cy * sp * cr - sy * sr], -1),
        np.stack([cp * sy, sy * sp * sr + cy * cr, -sy * sp * cr + cy * sr], -1),
        np.stack([sp, -cp * sr, cp * cr], -1),
    ], axis=1)


def instance_records(actors: Iterable[ActorState]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """ActorStates -> per-template (instance array in INSTANCE_DTYPE, actor ids) in world coordinates."""
    grouped: dict[str, list[ActorState]] = {}
    for a in actors:
        grouped.setdefault(template_for(a.type_id), []).append(a)
    out = {}
    for name, group in grouped.items():
        raw = np.array([(a.transform.rotation.roll, a.transform.rotation.pitch, a.transform.rotation.yaw,
                         a.extent.x, a.extent.y, a.extent.z, a.transform.location.x, a.transform.location.y,
                         a.transform.location.z, *a.color_rgb, int(a.tag)) for a in group], np.float64)
        rot = _rotations(raw[:, 0], raw[:, 1], raw[:, 2])
        rec = np.zeros(len(group), INSTANCE_DTYPE)
        rec["ax"] = rot[:, :, 0] * raw[:, 3:4]
        rec["ay"] = rot[:, :, 1] * raw[:, 4:5]
        rec["az"] = rot[:, :, 2] * raw[:, 5:6]
        rec["origin"] = raw[:, 6:9]
        rec["color"][:, :3] = raw[:, 9:12]
        rec["tag"] = raw[:, 12]
        out[name] = (rec, np.array([a.id for a in group], np.int64))
    return out
