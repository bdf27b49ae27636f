"""Past the commit point of a lane change (crawling up to it overshoots), a fast car closing in
from behind in the target lane still stops the expert, up to the last hold point where its body
would begin to reach into that lane; past that it goes on (CARLA's Town05 testing route 22: the
ego crept 0.3 m past the commit point, stopped checking and pulled out in front of a car at
15 m/s)."""
from __future__ import annotations

from pathlib import Path

import carla
import numpy as np
import pytest
from two_lane_road import lane_points, write_two_lane_road

from driving.sim.embedded_world import EmbeddedWorld
from driving.tags import Tag
from driving.world import ActorKind, ActorState
from planning.expert.driver import ExpertDriver
from planning.road_option import RoadOption

#: The ego's speed (m/s) when it crept past the commit point on route 22.
CREEP_MPS = 2.0


@pytest.fixture
def two_lanes(tmp_path: Path) -> Path:
    return write_two_lane_road(tmp_path)


def _state(actor_id: int, x: float, y: float, speed: float, extent: carla.Vector3D, role: str) -> ActorState:
    return ActorState(id=actor_id, kind=ActorKind.VEHICLE, type_id="vehicle.car", role_name=role,
                      transform=carla.Transform(carla.Location(x, y, 0.0), carla.Rotation(yaw=0.0)),
                      velocity=carla.Vector3D(speed, 0.0, 0.0), angular_velocity_dps=0.0, speed_mps=speed,
                      extent=extent, tag=Tag.VEHICLES)


def _limit_with_front_at(driver: ExpertDriver, ego: ActorState, front_s_m: float, car: ActorState) -> float | None:
    """The lane-change speed limit with the ego's front at `front_s_m` on its path, creeping."""
    r = driver.route
    x, y = r.point_at(front_s_m - ego.extent.x)
    here = _state(ego.id, float(x), float(y), CREEP_MPS, ego.extent, "hero")
    r.index = int(np.searchsorted(r.s, front_s_m - ego.extent.x)) - 1
    r.update(float(x), float(y))
    return driver._lane_change_limit(here, [here, car], CREEP_MPS, 50.0, 0.05)


def test_a_car_closing_in_stops_the_ego_past_the_commit_point_until_the_last_hold_point(two_lanes: Path) -> None:
    with EmbeddedWorld() as world:
        carla_map = world.load_map(str(two_lanes), seed=0)
        first = lane_points(carla_map, 5.0, 80.0, right=False)
        second = lane_points(carla_map, 80.0, 250.0, right=True)
        plan = [(t, RoadOption.LANEFOLLOW) for t in first + second]
        ego_id = world.spawn_vehicle(first[0], role_name="hero")
        driver = ExpertDriver(world, ego_id, plan)
        ego = world.get_actor_state(ego_id)
        zone = driver.route.lane_changes[0]
        assert zone.commit_s_m() + 1.0 < zone.last_hold_s_m() < zone.s_end_m
        # a car at 15 m/s in the target lane, 15 m behind where the ego's front will be
        car_x = driver.route.point_at(zone.commit_s_m())[0] - 15.0
        car = _state(99, float(car_x), second[0].location.y, 15.0, carla.Vector3D(2.3, 1.0, 0.8), "npc")
        past_commit = _limit_with_front_at(driver, ego, zone.commit_s_m() + 0.3, car)
        past_hold = _limit_with_front_at(driver, ego, zone.last_hold_s_m() + 0.3, car)
        assert past_commit is not None and past_commit == pytest.approx(0.0)
        assert past_hold is None
