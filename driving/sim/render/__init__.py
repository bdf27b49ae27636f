"""Camera rendering for the embedded simulator (moderngl, headless EGL).

`Renderer` draws a `Layout` plus actors for many `CameraView`s in one pass; `lighting_from_weather`
turns `carla.WeatherParameters` into shader lighting. OpenGL is imported only when a Renderer is
created, so importing this package stays light.
"""
from driving.sim.render.camera import CameraView
from driving.sim.render.lighting import Lighting, lighting_from_weather
from driving.sim.render.renderer import Renderer, ViewImages, ViewRequest

__all__ = ["CameraView", "Lighting", "Renderer", "ViewImages", "ViewRequest", "lighting_from_weather"]
