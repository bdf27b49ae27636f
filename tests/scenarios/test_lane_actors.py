"""The lane scenarios' shared pieces on town_grid: spawning a little further when the spot is
taken, distances that stop at the junction, and the official front-box test."""
from __future__ import annotations

import carla
import numpy as np
import pytest

from driving.errors import WorldError
from driving.sim.embedded_world import EmbeddedWorld
from scenarios.behaviour import ScenarioContext
from scenarios.lane_actors import (
    SPAWN_RETRY_STEP_M,
    SPAWN_TRIES,
    boxes_overlap,
    lane_distance_to_junction_m,
    spawn_on_lane,
)
from scenarios.scripted_vehicle import lane_point_ahead

BLOCK_START = carla.Location(205.2, -215.0, 0.0)  # a 70 m town_grid block, then a junction


@pytest.fixture
def world():
    w = EmbeddedWorld()
    w.load_map("town_grid")
    yield w
    w.close()


def _ctx(world) -> ScenarioContext:
    return ScenarioContext(world, world.get_map(), ego_id=-1, route=None, rng=np.random.default_rng(0))


def test_spawn_moves_along_the_lane_past_a_parked_car_then_gives_up(world):
    start = world.get_map().get_waypoint(BLOCK_START).next(20.0)[0]
    world.spawn_vehicle(start.transform, role_name="parked")
    actor_id, at = spawn_on_lane(_ctx(world), start)
    moved_m = at.transform.location.distance(start.transform.location)
    assert moved_m == pytest.approx(6.0, abs=0.2)  # 2 and 4 m further still overlap a 4.8 m car
    assert world.get_actor_state(actor_id).role_name == "scenario"
    # Two parked cars 6 m apart cover all SPAWN_TRIES spots (0, 2, 4, 6 m): it gives up.
    further = start.next(30.0)[0]
    world.spawn_vehicle(further.transform, role_name="parked")
    world.spawn_vehicle(further.next((SPAWN_TRIES - 1) * SPAWN_RETRY_STEP_M)[0].transform, role_name="parked")
    with pytest.raises(WorldError):
        spawn_on_lane(_ctx(world), further)


def test_lane_distances_stop_at_the_junction(world):
    start = world.get_map().get_waypoint(BLOCK_START).next(2.0)[0]
    to_junction_m = lane_distance_to_junction_m(start)
    assert 60.0 < to_junction_m < 75.0
    wp, travelled = lane_point_ahead(start, 200.0)
    assert travelled == pytest.approx(to_junction_m - 1.0) and not wp.is_junction
    wp, travelled = lane_point_ahead(start, 12.0)
    assert travelled == 12.0 and wp.transform.location.distance(start.transform.location) == pytest.approx(12.0, abs=0.1)


def test_boxes_overlap_only_when_they_do():
    def box(x, y, yaw_deg, hl=2.4, hw=1.0):
        c, s = np.cos(np.radians(yaw_deg)), np.sin(np.radians(yaw_deg))
        local = np.array([(hl, hw), (hl, -hw), (-hl, -hw), (-hl, hw)])
        return local @ np.array([[c, s], [-s, c]]) + (x, y)

    assert boxes_overlap(box(0, 0, 0), box(4.7, 0, 0))
    assert not boxes_overlap(box(0, 0, 0), box(4.9, 0, 0))
    assert not boxes_overlap(box(0, 0, 0), box(0, 2.1, 0))  # the next lane
    assert boxes_overlap(box(0, 0, 0), box(3.0, 2.5, 90))  # a car crossing in front
    assert not boxes_overlap(box(0, 0, 45), box(3.2, -3.2, 45, hl=1.0))  # diagonal, only the AABBs touch
