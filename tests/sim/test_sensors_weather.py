"""Weather presets from the installed client, free parameters, and what they switch on in shading."""
from __future__ import annotations

import carla
import pytest

from driving.errors import InputError
from driving.sim.render.lighting import lighting_from_weather
from driving.sim.weather import get_weather, make_weather, weather_presets


def test_presets_are_the_clients():
    presets = weather_presets()
    expected = [n for n in dir(carla.WeatherParameters)
                if isinstance(getattr(carla.WeatherParameters, n), carla.WeatherParameters)]
    assert sorted(presets) == sorted(expected) and len(presets) >= 23
    noon = get_weather("ClearNoon")
    noon.cloudiness = 99.0
    assert carla.WeatherParameters.ClearNoon.cloudiness != 99.0  # a copy, not the class attribute


def test_free_parameters_and_errors():
    foggy = make_weather("ClearNoon", fog_density=80, fog_distance=5)
    assert foggy.fog_density == 80 and foggy.fog_distance == 5
    assert lighting_from_weather(foggy).fog_per_m > 5 * lighting_from_weather(get_weather("ClearNoon")).fog_per_m
    with pytest.raises(InputError, match="weather 'Sunny'.*ClearNoon"):
        get_weather("Sunny")
    with pytest.raises(InputError, match="'fogginess'.*fog_density"):
        make_weather(fogginess=3)
    with pytest.raises(InputError, match="'cloudiness'.*number"):
        make_weather(cloudiness="lots")


def test_lighting_features_follow_weather():
    clear = lighting_from_weather(get_weather("ClearNoon")).features()
    assert not (clear.rain or clear.wet or clear.night)
    storm = lighting_from_weather(get_weather("HardRainNight"))
    assert storm.features().rain and storm.features().wet and storm.features().night
    assert storm.night > 0.9 and storm.ambient[0] < 0.1
    sunset = lighting_from_weather(get_weather("ClearSunset"))
    assert sunset.sun_color[0] > sunset.sun_color[2] * 1.3  # warm low sun
    dust = lighting_from_weather(get_weather("DustStorm"))
    assert dust.fog_color[0] > dust.fog_color[2] * 1.3  # brown dust
