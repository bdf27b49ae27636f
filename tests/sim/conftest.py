"""Fixtures shared by the embedded-world tests."""
from __future__ import annotations

import pytest

from driving.sim.embedded_world import EmbeddedWorld


@pytest.fixture
def town_world():
    """A fresh EmbeddedWorld on town_grid, seed 0, closed after the test."""
    world = EmbeddedWorld()
    world.load_map("town_grid", seed=0)
    yield world
    world.close()
