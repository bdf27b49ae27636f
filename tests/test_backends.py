"""World backends by name: embedded builds a World, carla without a server is one clear error."""
from __future__ import annotations

import pytest

from driving.backends import available_backends, create_world
from driving.errors import InputError
from driving.world import World


def test_embedded_backend_builds_a_world():
    world = create_world("embedded")
    try:
        assert isinstance(world, World)
        world.load_map("town_grid", 0)
        assert world.frame == 0
    finally:
        world.close()


def test_carla_and_unknown_backends_are_clear_errors():
    assert {"embedded", "carla"} <= set(available_backends())
    with pytest.raises(InputError, match="no CARLA server answered at 127.0.0.1:1 "):
        create_world("carla", host="127.0.0.1", port=1, timeout_s=1.0)
    with pytest.raises(InputError, match=r"unknown backend 'gpu'; expected one of \['carla', 'embedded'\]"):
        create_world("gpu")
