"""GLSL sources: static and instanced vertex shaders, one shading fragment shader, one sky pass.

Every fragment writes three targets at once (multiple render targets), so the RGB, depth and
semantic images of a camera come from one rasterization and are pixel-aligned:
location 0 RGBA8 colour stored in BGRA order (CARLA's byte order, read back without swizzling),
location 1 R32F planar depth in metres along the camera's forward axis (CARLA's depth),
location 2 R8UI semantic tag (`flat` on both stages: tags are never interpolated).

Cost notes (llvmpipe, measured): a software rasterizer runs both sides of every branch under a
mask, so weather features are compile-time variants (`ShaderFeatures`), not runtime `if`s on
uniforms; diffuse sun light, emissive lamps and glass reflections are computed per vertex (faces
are flat and the sun is directional, so this is exact for diffuse light). Every declared input is
used: unused inputs are optimised away and break vertex array formats.
"""
from __future__ import annotations

from dataclasses import dataclass

from driving.sim.render.actors import Part
from driving.sim.render.mesh import Material
from driving.tags import Tag

_CONSTANTS = {
    "TAG_SKY": int(Tag.SKY), "MAT_GROUND": Material.GROUND, "MAT_LAMP_RED": Material.LAMP_RED,
    "MAT_LAMP_YELLOW": Material.LAMP_YELLOW, "MAT_LAMP_GREEN": Material.LAMP_GREEN,
    "MAT_HEADLIGHT": Material.HEADLIGHT, "MAT_TAILLIGHT": Material.TAILLIGHT, "MAT_GLASS": Material.GLASS,
    "MAT_FACADE": Material.FACADE, "MAT_FOLIAGE": Material.FOLIAGE, "MAT_MATTE": Material.MATTE,
    "PART_BODY": Part.BODY, "PART_GLASS": Part.GLASS, "PART_TYRE": Part.TYRE,
    "PART_HEADLIGHT": Part.HEADLIGHT, "PART_TAILLIGHT": Part.TAILLIGHT, "PART_SKIN": Part.SKIN,
    "PART_DARK": Part.DARK, "PART_GREY": Part.GREY,
}


@dataclass(frozen=True)
class ShaderFeatures:
    """Weather features compiled into a shader variant (each costs per-pixel work when on)."""

    wet: bool = False  # wet roads: darker, per-pixel sky and sun reflections
    puddles: bool = False  # noise puddles on wet roads
    rain: bool = False  # screen-space rain streaks
    night: bool = False  # ego headlight cone, lit windows
    clouds: bool = False  # procedural clouds in the sky pass

    def defines(self) -> str:
        return "".join(f"#define FEATURE_{k.upper()} 1\n" for k, v in self.__dict__.items() if v)


def _src(body: str, features: ShaderFeatures) -> str:
    defines = "\n".join(f"#define {k} {v}" for k, v in _CONSTANTS.items())
    return "#version 330\n" + defines + "\n" + features.defines() + body


_UNIFORMS = """
uniform vec3 u_cam_pos; uniform vec3 u_cam_fwd;
uniform vec3 u_sun_dir; uniform vec3 u_sun_color; uniform vec3 u_ambient;
uniform vec3 u_sky_zenith; uniform vec3 u_sky_horizon; uniform vec3 u_fog_color;
uniform float u_fog_per_m; uniform float u_fog_start_m; uniform float u_wetness; uniform float u_puddles;
uniform float u_rain; uniform float u_night; uniform float u_cloud; uniform float u_time;
float hash2(vec2 p) { return fract(sin(dot(p, vec2(127.1, 311.7))) * 43758.5453); }
float noise2(vec2 p) {
    vec2 i = floor(p); vec2 f = fract(p); f = f * f * (3.0 - 2.0 * f);
    return mix(mix(hash2(i), hash2(i + vec2(1, 0)), f.x), mix(hash2(i + vec2(0, 1)), hash2(i + vec2(1, 1)), f.x), f.y);
}
vec3 sky_gradient(vec3 dir) {
    float e = dir.z;
    return e < 0.0 ? u_sky_horizon * 0.9 : mix(u_sky_horizon, u_sky_zenith, sqrt(e));
}
"""

# Per-vertex shading shared by the static and the actor vertex shaders.
_VERTEX_SHADING = """
out vec3 v_world; out vec3 v_normal; out vec3 v_albedo; out vec3 v_light; out vec4 v_overlay;
flat out uint v_tag; flat out int v_material;
void shade_vertex(vec3 world, vec3 normal, vec3 albedo, int material, float lit) {
    vec3 n = normalize(normal);
    v_world = world; v_normal = n; v_albedo = albedo; v_material = material;
    float ndl = max(dot(n, u_sun_dir), 0.0);
    if (material == MAT_FOLIAGE) v_albedo *= 0.85 + 0.3 * n.z;
    v_light = u_ambient * (0.7 + 0.3 * max(n.z, 0.0)) + u_sun_color * ndl;
    v_overlay = vec4(0.0);
    if (material == MAT_GLASS) {  // glossy paint and glass: sky reflection and sun glint, per vertex
        vec3 vdir = normalize(world - u_cam_pos);
        vec3 r = reflect(vdir, n);
        float k = 1.0 - max(dot(-vdir, n), 0.0);
        float fresnel = 0.04 + 0.96 * k * k * k * k * k;
        float rs = max(dot(r, u_sun_dir), 0.0); rs *= rs; rs *= rs; rs *= rs; rs *= rs;
        v_overlay = vec4(sky_gradient(r) * 0.85 + u_sun_color * rs, clamp(fresnel * 0.45, 0.0, 0.45));
    } else if (material >= MAT_LAMP_RED && material <= MAT_LAMP_GREEN) {
        vec3 lamp = material == MAT_LAMP_RED ? vec3(1.0, 0.12, 0.06)
                  : (material == MAT_LAMP_GREEN ? vec3(0.15, 1.0, 0.45) : vec3(1.0, 0.75, 0.05));
        v_overlay = vec4(mix(lamp * 0.12, lamp * 1.3, lit), 1.0);
    } else if (material == MAT_HEADLIGHT) {
        v_overlay = vec4(1.6, 1.55, 1.35, u_night);
    } else if (material == MAT_TAILLIGHT) {
        v_overlay = vec4(1.3, 0.08, 0.05, u_night);
    }
}
"""

_STATIC_VS_BODY = """
uniform mat4 u_vp;
uniform usampler2D u_lights;
in vec3 in_pos; in vec3 in_normal; in vec4 in_color; in float in_tag; in float in_slot;
void main() {
    int material = int(in_color.a * 255.0 + 0.5);
    float lit = 0.0;
    if (in_slot >= 0.0) {
        int slot = int(in_slot + 0.5);
        uint state = texelFetch(u_lights, ivec2(slot % 256, slot / 256), 0).r;
        lit = (int(state) == material - MAT_LAMP_RED) ? 1.0 : 0.0;
    }
    shade_vertex(in_pos, in_normal, in_color.rgb, material, lit);
    v_tag = uint(in_tag + 0.5);
    gl_Position = u_vp * vec4(in_pos, 1.0);
}
"""

_ACTOR_VS_BODY = """
uniform mat4 u_vp;
in vec3 in_pos; in vec3 in_normal; in float in_part;
in vec3 in_ax; in vec3 in_ay; in vec3 in_az; in vec3 in_origin; in vec4 in_icolor; in float in_itag;
void main() {
    vec3 world = in_origin + in_ax * in_pos.x + in_ay * in_pos.y + in_az * in_pos.z;
    vec3 normal = in_ax * (in_normal.x / dot(in_ax, in_ax)) + in_ay * (in_normal.y / dot(in_ay, in_ay))
                + in_az * (in_normal.z / dot(in_az, in_az));
    int part = int(in_part + 0.5);
    vec3 body = in_icolor.rgb;
    vec3 albedo; int material = MAT_MATTE;
    if (part == PART_BODY) { albedo = body; material = MAT_GLASS; }
    else if (part == PART_GLASS) { albedo = body * 0.15 + vec3(0.06, 0.08, 0.1); material = MAT_GLASS; }
    else if (part == PART_TYRE) { albedo = vec3(0.05); }
    else if (part == PART_HEADLIGHT) { albedo = vec3(0.9, 0.9, 0.85); material = MAT_HEADLIGHT; }
    else if (part == PART_TAILLIGHT) { albedo = vec3(0.6, 0.04, 0.04); material = MAT_TAILLIGHT; }
    else if (part == PART_SKIN) { albedo = vec3(0.8, 0.62, 0.5); }
    else if (part == PART_DARK) { albedo = vec3(0.13, 0.14, 0.18); }
    else { albedo = vec3(0.72, 0.73, 0.75); }
    shade_vertex(world, normal, albedo, material, 0.0);
    v_tag = uint(in_itag + 0.5);
    gl_Position = u_vp * vec4(world, 1.0);
}
"""

_OUTPUTS = """
layout(location = 0) out vec4 o_bgra;
layout(location = 1) out float o_depth;
layout(location = 2) out uint o_tag;
vec3 rain_streaks(vec3 col) {
#ifdef FEATURE_RAIN
    vec2 p = gl_FragCoord.xy;
    float column = floor(p.x / 2.0);
    float drop = hash2(vec2(column, floor((p.y + u_time * 900.0 + hash2(vec2(column, 1.0)) * 500.0) / 14.0)));
    col = mix(col, vec3(0.8, 0.82, 0.85), step(1.0 - 0.035 * u_rain, drop) * 0.35);
#endif
    return col;
}
"""

_SCENE_FS_BODY = """
uniform vec3 u_head_pos; uniform vec3 u_head_dir; uniform float u_head_on;
in vec3 v_world; in vec3 v_normal; in vec3 v_albedo; in vec3 v_light; in vec4 v_overlay;
flat in uint v_tag; flat in int v_material;
void main() {
    vec3 view = v_world - u_cam_pos;
    float dist = length(view);
    vec3 albedo = v_albedo;
    vec3 emit = vec3(0.0);
    if (v_material == MAT_FACADE && abs(v_normal.z) < 0.5) {  // procedural windows
        float s = dot(v_world.xy, vec2(-v_normal.y, v_normal.x)) / 3.0;
        float h = v_world.z / 3.2;
        vec2 f = fract(vec2(s, h));
        if (v_world.z > 1.5 && f.x > 0.22 && f.x < 0.78 && f.y > 0.3 && f.y < 0.8) {
            albedo = vec3(0.16, 0.2, 0.25);
#ifdef FEATURE_NIGHT
            if (hash2(floor(vec2(s, h)) + floor(v_world.xy * 0.01)) > 0.55) emit = vec3(1.0, 0.8, 0.45) * 0.7 * u_night;
#endif
        }
    }
    vec3 light = v_light;
#ifdef FEATURE_NIGHT
    vec3 l = u_head_pos - v_world;
    float d = length(l);
    float cone = smoothstep(0.82, 0.95, dot(-l / d, u_head_dir));
    light += cone * (0.35 + 0.65 * max(dot(v_normal, l / d), 0.0)) * 10.0 / (0.15 * d * d + 3.0) * u_head_on;
#endif
    vec3 col = albedo * light + emit;
#ifdef FEATURE_WET
    if (v_material == MAT_GROUND) {
        float wet = u_wetness;
#ifdef FEATURE_PUDDLES
        wet = clamp(wet + smoothstep(0.62, 0.7, noise2(v_world.xy * 0.15)) * u_puddles, 0.0, 1.0);
#endif
        vec3 vdir = view / max(dist, 1e-4);
        vec3 r = reflect(vdir, v_normal);
        float k = 1.0 - max(-vdir.z, 0.0);
        float fresnel = 0.04 + 0.96 * k * k * k * k * k;
        float rs = max(dot(r, u_sun_dir), 0.0); rs *= rs; rs *= rs; rs *= rs; rs *= rs; rs *= rs;
        col = mix(col * mix(1.0, 0.5, wet), sky_gradient(r) * 0.8, clamp(fresnel * wet, 0.0, 0.8));
        col += u_sun_color * rs * wet;
    }
#endif
    col = mix(col, v_overlay.rgb, v_overlay.a);
    float fog = 1.0 - exp(-u_fog_per_m * max(dist - u_fog_start_m, 0.0));
    col = rain_streaks(mix(col, u_fog_color, fog));
    o_bgra = vec4(clamp(col, 0.0, 1.0).bgr, 1.0);
    o_depth = dot(view, u_cam_fwd);
    o_tag = v_tag;
}
"""

_SKY_VS_BODY = """
in vec2 in_ndc;
void main() { gl_Position = vec4(in_ndc, 1.0, 1.0); }  // on the far plane: drawn last, only where empty
"""

_SKY_FS_BODY = """
uniform vec3 u_cam_right; uniform vec3 u_cam_up; uniform vec2 u_tan; uniform vec4 u_viewport;
void main() {
    vec2 ndc = (gl_FragCoord.xy - u_viewport.xy) / u_viewport.zw * 2.0 - 1.0;
    vec3 dir = normalize(u_cam_fwd + ndc.x * u_tan.x * u_cam_right - ndc.y * u_tan.y * u_cam_up);
    vec3 col = sky_gradient(dir);
    float s = max(dot(dir, u_sun_dir), 0.0);
    float s8 = s * s; s8 *= s8; s8 *= s8;
    col += u_sun_color * (smoothstep(0.9995, 0.9999, s) * 4.0 + s8 * 0.15) * (1.0 - 0.8 * u_cloud);
#ifdef FEATURE_CLOUDS
    if (dir.z > 0.0) {
        vec2 uv = dir.xy / (dir.z + 0.08) * 1.6 + vec2(u_time * 0.01, 0.0);
        float n = noise2(uv) * 0.7 + noise2(uv * 2.7) * 0.3;
        float c = smoothstep(0.75 - 0.55 * u_cloud, 1.0, n) * clamp(dir.z * 6.0, 0.0, 1.0);
        vec3 cloud_col = mix(vec3(0.05, 0.05, 0.07), vec3(0.93, 0.93, 0.95) * (0.6 + 0.4 * (1.0 - u_rain)),
                             1.0 - u_night);
        col = mix(col, cloud_col, c * (0.35 + 0.6 * u_cloud));
    }
#endif
    col = rain_streaks(mix(col, u_fog_color, clamp(u_fog_per_m * 120.0, 0.0, 1.0)));
    o_bgra = vec4(clamp(col, 0.0, 1.0).bgr, 1.0);
    o_depth = 1.0e9;
    o_tag = uint(TAG_SKY);
}
"""


def static_vs(f: ShaderFeatures) -> str:
    return _src(_UNIFORMS + _VERTEX_SHADING + _STATIC_VS_BODY, f)


def actor_vs(f: ShaderFeatures) -> str:
    return _src(_UNIFORMS + _VERTEX_SHADING + _ACTOR_VS_BODY, f)


def scene_fs(f: ShaderFeatures) -> str:
    return _src(_UNIFORMS + _OUTPUTS + _SCENE_FS_BODY, f)


def sky_vs(f: ShaderFeatures) -> str:
    return _src(_SKY_VS_BODY, f)


def sky_fs(f: ShaderFeatures) -> str:
    return _src(_UNIFORMS + _OUTPUTS + _SKY_FS_BODY, f)
