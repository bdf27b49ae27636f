"""World backends by name: embedded builds a World, carla is a clear not-implemented error."""
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
    with pytest.raises(InputError, match="CARLA server backend is not implemented yet"):
        create_world("carla")
    with pytest.raises(InputError, match=r"unknown backend 'gpu'; expected one of \['carla', 'embedded'\]"):
        create_world("gpu")
