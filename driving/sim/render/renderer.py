"""The OpenGL renderer: one headless moderngl context, one pass per frame for every camera.

All views of a frame are viewports of one framebuffer with three colour attachments (BGRA8
colour, R32F planar depth in metres, R8UI tag), so every camera of a rig costs one set of draw
calls and its three images are pixel-aligned by construction. Static geometry is tiled and culled
per view (frustum + draw distance, shorter for small props), back faces are culled, and actors
are instanced per body template. See docs/rendering.md for the measurements behind these choices.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import carla
import numpy as np

from driving.sim.render import actors as actor_models
from driving.sim.render import shaders
from driving.sim.render.camera import CameraView
from driving.sim.render.lighting import Lighting
from driving.sim.render.mesh import VERTEX_ATTRS, VERTEX_FORMAT, StaticMesh, build_static_mesh
from driving.sim.scene import Layout
from driving.world import ActorState

SMALL_PROP_DISTANCE_M = 150.0
ACTOR_DISTANCE_M = 250.0
MAX_ATLAS_WIDTH = 4096
_LIGHT_TEXTURE_WIDTH = 256

#: Traffic-light state -> lamp index lit (0 red, 1 yellow, 2 green; 3 none).
_LAMP_OF_STATE = {carla.TrafficLightState.Red: 0, carla.TrafficLightState.Yellow: 1,
                  carla.TrafficLightState.Green: 2}


@dataclass
class ViewRequest:
    """One view to render and which of its images to read back.

    `headlight` = (position, direction) of the parent vehicle's headlights in world axes, or None.
    """

    view: CameraView
    rgb: bool = True
    depth: bool = False
    semantic: bool = False
    headlight: tuple[np.ndarray, np.ndarray] | None = None
    exclude_actor_id: int | None = None  # the camera's own parent: never drawn in its own views


@dataclass
class ViewImages:
    """Raw outputs of one view: BGRA uint8 colour, planar depth metres (float32), tags (uint8)."""

    bgra: np.ndarray | None
    depth_m: np.ndarray | None
    tags: np.ndarray | None


def create_context():
    """A headless OpenGL 3.3 context: EGL first (no display needed), then the platform default."""
    import moderngl

    try:
        return moderngl.create_standalone_context(backend="egl")
    except Exception:  # noqa: BLE001 - fall back to GLX/WGL/CGL where EGL is missing
        return moderngl.create_standalone_context()


def _set(prog, values: dict[str, object]) -> None:
    """Set uniforms a program actually uses (the GLSL compiler drops unused ones)."""
    for name, value in values.items():
        if name in prog:
            prog[name].value = value


def _pack_atlas(sizes: Sequence[tuple[int, int]]) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    """Shelf-pack (w, h) rectangles left to right in rows; returns offsets and the atlas size."""
    offsets, x, y, row_h, width = [], 0, 0, 0, 0
    for w, h in sizes:
        if x > 0 and x + w > MAX_ATLAS_WIDTH:
            x, y, row_h = 0, y + row_h, 0
        offsets.append((x, y))
        x += w
        row_h = max(row_h, h)
        width = max(width, x)
    return offsets, (max(width, 1), max(y + row_h, 1))


@dataclass
class _Pipeline:
    """Programs and vertex arrays of one shader variant (see shaders.ShaderFeatures)."""

    static_prog: object
    actor_prog: object
    sky_prog: object
    static_vao: object
    sky_vao: object
    actor_vaos: dict


class Renderer:
    """Draws a static layout plus dynamic actors for many cameras per frame (one GL context)."""

    def __init__(self, layout: Layout, ctx=None) -> None:
        import moderngl

        self._mgl = moderngl
        self._owns_ctx = ctx is None
        self.ctx = ctx or create_context()
        self.mesh: StaticMesh = build_static_mesh(layout)
        self._tile_lo = np.array([t.lo for t in self.mesh.tiles], np.float64).reshape(-1, 3)
        self._tile_hi = np.array([t.hi for t in self.mesh.tiles], np.float64).reshape(-1, 3)
        self._tile_small = np.array([t.small for t in self.mesh.tiles], bool)
        self._tile_first = np.array([t.first for t in self.mesh.tiles], np.int64)
        self._tile_count = np.array([t.count for t in self.mesh.tiles], np.int64)
        self._tile_background = np.array([t.background for t in self.mesh.tiles], bool)
        self._tile_center = (self._tile_lo + self._tile_hi) / 2.0
        ctx = self.ctx
        self._static_vbo = ctx.buffer(self.mesh.vertices.tobytes())
        self._sky_vbo = ctx.buffer(np.array([-1, -1, 3, -1, -1, 3], np.float32).tobytes())
        self._template_vbos = {}
        self._instance_buffers = {}
        for name in actor_models.TEMPLATES:
            for far in (False, True):
                self._template_vbos[name, far] = ctx.buffer(actor_models.template_vertices(name, far).tobytes())
                self._instance_buffers[name, far] = ctx.buffer(
                    reserve=actor_models.INSTANCE_DTYPE.itemsize * 64, dynamic=True)
        self._pipelines: dict[shaders.ShaderFeatures, _Pipeline] = {}
        rows = max(1, -(-max(len(self.mesh.light_slots), 1) // _LIGHT_TEXTURE_WIDTH))
        self._light_tex = ctx.texture((_LIGHT_TEXTURE_WIDTH, rows), 1, dtype="u1")
        self._light_tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self._light_bytes = np.full(_LIGHT_TEXTURE_WIDTH * rows, 3, np.uint8)
        self._light_uploaded: bytes | None = None  # what the texture holds (None: not written yet)
        self.fbo = None
        self._fbo_size = (0, 0)
        self.cull_faces = True

    # ------------------------------------------------------------------------------------
    def _pipeline(self, features: shaders.ShaderFeatures) -> _Pipeline:
        """Compile (once) the programs of a weather variant and bind them to the shared buffers."""
        pipe = self._pipelines.get(features)
        if pipe is not None:
            return pipe
        ctx = self.ctx
        fs = shaders.scene_fs(features)
        static_prog = ctx.program(vertex_shader=shaders.static_vs(features), fragment_shader=fs)
        actor_prog = ctx.program(vertex_shader=shaders.actor_vs(features), fragment_shader=fs)
        sky_prog = ctx.program(vertex_shader=shaders.sky_vs(features), fragment_shader=shaders.sky_fs(features))
        static_prog["u_lights"].value = 0
        actor_vaos = {key: ctx.vertex_array(actor_prog, [
            (tpl, actor_models.TEMPLATE_FORMAT, "in_pos", "in_normal", "in_part"),
            (self._instance_buffers[key], actor_models.INSTANCE_FORMAT, "in_ax", "in_ay", "in_az", "in_origin",
             "in_icolor", "in_itag")]) for key, tpl in self._template_vbos.items()}
        pipe = _Pipeline(static_prog, actor_prog, sky_prog,
                         ctx.vertex_array(static_prog, [(self._static_vbo, VERTEX_FORMAT, *VERTEX_ATTRS)]),
                         ctx.vertex_array(sky_prog, [(self._sky_vbo, "2f", "in_ndc")]), actor_vaos)
        self._pipelines[features] = pipe
        return pipe

    def _ensure_fbo(self, size: tuple[int, int]) -> None:
        if self.fbo is not None and size[0] <= self._fbo_size[0] and size[1] <= self._fbo_size[1]:
            return
        size = (max(size[0], self._fbo_size[0]), max(size[1], self._fbo_size[1]))
        if self.fbo is not None:
            self.fbo.release()
            self._fbo_rgb.release()
            for rb in self._rbs:
                rb.release()
        ctx = self.ctx
        self._rbs = [ctx.renderbuffer(size, 4, dtype="f1"), ctx.renderbuffer(size, 1, dtype="f4"),
                     ctx.renderbuffer(size, 1, dtype="u1"), ctx.depth_renderbuffer(size)]
        self.fbo = ctx.framebuffer(color_attachments=self._rbs[:3], depth_attachment=self._rbs[3])
        # RGB-only frames skip writing depth and tags (about 8% of a 960x480 frame on llvmpipe).
        self._fbo_rgb = ctx.framebuffer(color_attachments=self._rbs[:1], depth_attachment=self._rbs[3])
        self._fbo_size = size

    def _set_light_states(self, light_states: dict[int, carla.TrafficLightState]) -> None:
        self._light_bytes[:] = 3
        for light_id, slot in self.mesh.light_slots.items():
            state = light_states.get(light_id)
            if state is not None:
                self._light_bytes[slot] = _LAMP_OF_STATE.get(state, 3)
        data = self._light_bytes.tobytes()
        if data != self._light_uploaded:  # lights change every few seconds: skip the upload meanwhile
            self._light_tex.write(data)
            self._light_uploaded = data

    @staticmethod
    def _set_uniforms(pipe: _Pipeline, lighting: Lighting, time_s: float) -> None:
        values = lighting.uniforms()
        values["u_time"] = float(time_s)
        for prog in (pipe.static_prog, pipe.actor_prog, pipe.sky_prog):
            _set(prog, values)

    def _visible_ranges(self, view: CameraView) -> list[tuple[int, int]]:
        dist = np.where(self._tile_small, min(SMALL_PROP_DISTANCE_M, view.draw_distance_m), view.draw_distance_m)
        in_frustum = view.sees_boxes(self._tile_lo, self._tile_hi, float("inf"))
        nearest = np.clip(view.position, self._tile_lo, self._tile_hi)
        mask = in_frustum & (np.linalg.norm(nearest - view.position, axis=1) <= dist)
        idx = np.flatnonzero(mask)
        # Near to far, background last: early depth rejection skips shading of hidden fragments.
        dist = np.linalg.norm(self._tile_center[idx] - view.position, axis=1) + 1e7 * self._tile_background[idx]
        idx = idx[np.argsort(dist, kind="stable")]
        ranges: list[tuple[int, int]] = []
        for i in idx:  # merge tiles that are also neighbours in memory into one draw call
            first, count = int(self._tile_first[i]), int(self._tile_count[i])
            if ranges and ranges[-1][0] + ranges[-1][1] == first:
                ranges[-1] = (ranges[-1][0], ranges[-1][1] + count)
            else:
                ranges.append((first, count))
        return ranges

    def _draw_view(self, pipe: _Pipeline, req: ViewRequest, offset: tuple[int, int],
                   instances: dict[str, tuple[np.ndarray, np.ndarray]],
                   lighting: Lighting) -> None:
        mgl, ctx, view = self._mgl, self.ctx, req.view
        ctx.viewport = (offset[0], offset[1], view.width, view.height)
        vp = view.view_projection().T.astype("f4").tobytes()
        pose = view.pose
        cam = {"u_cam_pos": tuple(pose[:3, 3]), "u_cam_fwd": tuple(pose[:3, 0])}
        head_on = lighting.night if req.headlight is not None and lighting.night > 0.3 else 0.0
        head_pos, head_dir = req.headlight if req.headlight is not None else (pose[:3, 3], pose[:3, 0])
        for prog in (pipe.static_prog, pipe.actor_prog):
            prog["u_vp"].write(vp)
            _set(prog, {**cam, "u_head_pos": tuple(head_pos), "u_head_dir": tuple(head_dir),
                        "u_head_on": float(head_on)})
        ctx.enable(mgl.DEPTH_TEST)
        if self.cull_faces:
            ctx.enable(mgl.CULL_FACE)
        else:
            ctx.disable(mgl.CULL_FACE)
        ctx.depth_func = "<"
        self._light_tex.use(0)
        for first, count in self._visible_ranges(view):
            pipe.static_vao.render(mgl.TRIANGLES, vertices=count, first=first)
        planes = view.frustum_planes()
        for name, (rec, ids) in instances.items():
            radius = np.sqrt((rec["ax"] ** 2).sum(1) + (rec["ay"] ** 2).sum(1) + 4 * (rec["az"] ** 2).sum(1))
            center = rec["origin"] + rec["az"]
            inside = np.all(center @ planes[:, :3].T + planes[:, 3] >= -radius[:, None], axis=1)
            dist = np.linalg.norm(center - view.position, axis=1)
            keep = inside & (dist <= ACTOR_DISTANCE_M + radius)
            if req.exclude_actor_id is not None:
                keep &= ids != req.exclude_actor_id
            far = dist > actor_models.LOD_DISTANCE_M
            for lod, sel in ((False, keep & ~far), (True, keep & far)):
                visible = rec[sel]
                if len(visible) == 0:
                    continue
                buf = self._instance_buffers[name, lod]
                if buf.size < visible.nbytes:
                    buf.orphan(visible.nbytes * 2)
                buf.write(visible.tobytes())
                pipe.actor_vaos[name, lod].render(mgl.TRIANGLES, instances=len(visible))
        # Sky last, on the far plane: fills the three targets of every pixel nothing else covered.
        ctx.disable(mgl.CULL_FACE)
        ctx.depth_func = "<="
        tx = np.tan(np.radians(view.fov_deg) / 2.0)
        sky = pipe.sky_prog
        _set(sky, {**cam, "u_cam_right": tuple(pose[:3, 1]), "u_cam_up": tuple(pose[:3, 2]),
                   "u_tan": (tx, tx * view.height / view.width),
                   "u_viewport": (offset[0], offset[1], view.width, view.height)})
        pipe.sky_vao.render(mgl.TRIANGLES, vertices=3)

    def render(self, requests: Sequence[ViewRequest], actors: Sequence[ActorState],
               light_states: dict[int, carla.TrafficLightState], lighting: Lighting,
               time_s: float = 0.0) -> list[ViewImages]:
        """Render every requested view in one framebuffer and read back what each asked for."""
        offsets, size = _pack_atlas([(r.view.width, r.view.height) for r in requests])
        self._ensure_fbo(size)
        rgb_only = not any(r.depth or r.semantic for r in requests)
        fbo = self._fbo_rgb if rgb_only else self.fbo
        fbo.use()
        fbo.clear(depth=1.0)
        self._set_light_states(light_states)
        pipe = self._pipeline(lighting.features())
        self._set_uniforms(pipe, lighting, time_s)
        instances = actor_models.instance_records(actors)
        for req, off in zip(requests, offsets):
            self._draw_view(pipe, req, off, instances, lighting)
        out = []
        for req, (x, y) in zip(requests, offsets):
            w, h = req.view.width, req.view.height
            bgra = depth = tags = None
            if req.rgb:
                bgra = np.empty((h, w, 4), np.uint8)
                fbo.read_into(bgra, viewport=(x, y, w, h), components=4, attachment=0, dtype="f1")
            if req.depth:
                depth = np.empty((h, w), np.float32)
                self.fbo.read_into(depth, viewport=(x, y, w, h), components=1, attachment=1, dtype="f4")
            if req.semantic:
                tags = np.empty((h, w), np.uint8)
                self.fbo.read_into(tags, viewport=(x, y, w, h), components=1, attachment=2, dtype="u1",
                                   alignment=1)
            out.append(ViewImages(bgra, depth, tags))
        return out

    def release(self) -> None:
        """Free the context (and with it every GL object) if this renderer created it."""
        if self._owns_ctx:
            self.ctx.release()
