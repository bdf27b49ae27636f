"""The expert passes standing vehicles that block its lane through the oncoming lane when that lane
is free (LB1.0 Scenario6 ManeuverOppositeDirection), and nowhere else: not through a lane of its
own direction, not past a queue that ends at a junction."""
from __future__ import annotations

from pathlib import Path

import carla
import numpy as np
import pytest
from two_lane_road import forward_lane_points, write_one_way_road, write_two_way_road

from driving.sim.embedded_world import EmbeddedWorld
from driving.world import CollisionEvent
from planning.expert.driver import ExpertDriver
from planning.road_option import RoadOption
from scenarios.scripted_vehicle import ScriptedVehicle, lane_path

#: Where the parked car stands (x, metres) on the generated roads; the ego starts at x = 10.
PARKED_X = 80.0
ONCOMING_MPS = 5.56


def _park(world: EmbeddedWorld, x: float, y: float, yaw_deg: float) -> int:
    return world.spawn_vehicle(carla.Transform(carla.Location(x, y, 0.3), carla.Rotation(yaw=yaw_deg)),
                               role_name="npc")


def _drive(world: EmbeddedWorld, driver: ExpertDriver, ego: int, parked: list[int], seconds: float,
           each_tick=None) -> tuple[list, list[dict]]:
    """Run the expert; the parked cars hold fully braked. Returns (ego collisions, per-tick records
    of the ego's x, its offset left of its lane's y, the overtake state)."""
    hits, track = [], []
    lane_y = world.get_actor_state(ego).transform.location.y
    world.pop_events()
    for _ in range(int(seconds / world.fixed_delta_seconds)):
        control = driver.step()
        world.apply_control(ego, control)
        for p in parked:
            world.apply_control(p, carla.VehicleControl(brake=1.0, hand_brake=True))
        if each_tick is not None:
            each_tick()
        world.tick()
        hits += [e for e in world.pop_events() if isinstance(e, CollisionEvent) and e.actor_id == ego]
        loc = world.get_actor_state(ego).transform.location
        track.append({"x": loc.x, "left": lane_y - loc.y, "state": driver.labels()["overtake"]})
        if driver.route.remaining_m() < 3.0:
            break
    return hits, track


@pytest.fixture
def two_way(tmp_path: Path) -> Path:
    return write_two_way_road(tmp_path)


def _two_way_setup(world: EmbeddedWorld, road: Path) -> tuple[ExpertDriver, int, int, float, carla.Waypoint]:
    """Ego at x = 10 on the lane driving +x, a car parked across that lane at PARKED_X; returns
    (driver, ego, parked car, the ego lane's y, the oncoming lane's waypoint at x = 200)."""
    carla_map = world.load_map(str(road), seed=0)
    wp = carla_map.get_waypoint(carla.Location(10.0, 0.0, 0.0), lane_type=carla.LaneType.Driving)
    if abs(wp.transform.rotation.yaw) > 90.0:
        wp = wp.get_left_lane()
    lane_y = wp.transform.location.y
    points = forward_lane_points(carla_map, 10.0, 250.0, lane_y)
    ego = world.spawn_vehicle(points[0], role_name="hero")
    parked = _park(world, PARKED_X, lane_y, 90.0)  # turned across the lane, as Scenario6's barrier
    far = carla_map.get_waypoint(carla.Location(200.0, lane_y, 0.0)).get_left_lane()
    assert far.lane_id * wp.lane_id < 0  # the lane to the left runs the other way
    return ExpertDriver(world, ego, [(t, RoadOption.LANEFOLLOW) for t in points]), ego, parked, lane_y, far


def test_the_expert_passes_a_car_parked_across_its_lane_through_the_free_oncoming_lane(two_way: Path) -> None:
    with EmbeddedWorld() as world:
        driver, ego, parked, _, _ = _two_way_setup(world, two_way)
        hits, track = _drive(world, driver, ego, [parked], 60.0)
        assert not hits, hits
        assert driver.route.remaining_m() < 3.0  # finished the route
        beside = [t["left"] for t in track if abs(t["x"] - PARKED_X) < 1.0]
        assert beside and min(beside) > 3.0, beside  # in the oncoming lane beside the parked car
        assert abs(track[-1]["left"]) < 0.3  # and back in its own lane
        assert "passing" in {t["state"] for t in track}
        assert not driver.route.shifted


def test_the_expert_waits_for_an_oncoming_car_to_pass_before_it_passes(two_way: Path) -> None:
    with EmbeddedWorld() as world:
        driver, ego, parked, _, far = _two_way_setup(world, two_way)
        car = world.spawn_vehicle(far.transform, role_name="npc")
        oncoming = ScriptedVehicle(world, car, lane_path(far, 190.0), ONCOMING_MPS)
        car_x: list[float] = []

        def drive_car() -> None:
            oncoming.step()
            car_x.append(world.get_actor_state(car).transform.location.x)

        hits, track = _drive(world, driver, ego, [parked], 60.0, drive_car)
        assert not hits, hits
        car_passed = next(i for i, x in enumerate(car_x) if x < PARKED_X - 5.0)
        # it stood waiting behind the parked car while the oncoming car came (past the 3 s stand time)
        waited = [t for t in track[:car_passed] if t["state"] == "waiting" and abs(t["x"] - track[car_passed]["x"]) < 0.1]
        assert len(waited) * world.fixed_delta_seconds > driver.config.overtake_after_s + 1.0
        assert max(t["left"] for t in track[:car_passed]) < 0.3  # never out in the lane before the car passed
        assert driver.route.remaining_m() < 3.0  # then passed and finished
        assert max(t["left"] for t in track[car_passed:]) > 3.0


def test_a_car_parked_in_its_lane_is_not_passed_through_a_lane_of_the_same_direction(tmp_path: Path) -> None:
    with EmbeddedWorld() as world:
        carla_map = world.load_map(str(write_one_way_road(tmp_path)), seed=0)
        wp = carla_map.get_waypoint(carla.Location(10.0, 0.0, 0.0), lane_type=carla.LaneType.Driving)
        while wp.get_right_lane() is not None and wp.get_right_lane().lane_type == carla.LaneType.Driving:
            wp = wp.get_right_lane()
        left = wp.get_left_lane()
        assert left.lane_type == carla.LaneType.Driving and left.lane_id * wp.lane_id > 0  # same direction
        points = forward_lane_points(carla_map, 10.0, 250.0, wp.transform.location.y)
        ego = world.spawn_vehicle(points[0], role_name="hero")
        parked = _park(world, PARKED_X, wp.transform.location.y, 0.0)
        driver = ExpertDriver(world, ego, [(t, RoadOption.LANEFOLLOW) for t in points])
        hits, track = _drive(world, driver, ego, [parked], 30.0)
        assert not hits
        assert track[-1]["x"] < PARKED_X - 4.0 and abs(track[-1]["left"]) < 0.3  # still waiting behind it
        assert {t["state"] for t in track} == {"idle"}
        assert driver.overtake.refusal == "no oncoming lane"


def _straightest(options: list[carla.Waypoint], yaw_deg: float) -> carla.Waypoint:
    return min(options, key=lambda w: abs((w.transform.rotation.yaw - yaw_deg + 180.0) % 360.0 - 180.0))


def test_a_standing_queue_that_ends_at_a_junction_is_not_passed() -> None:
    """town_suburb road 13: a two-way road (one lane each way) that meets a junction 70 m on; two
    cars stand in the ego's lane up to the junction's entry. Its stop line is dropped from the
    expert's signals (as an unsignalled junction): the junction alone keeps the queue unpassed."""
    with EmbeddedWorld() as world:
        carla_map = world.load_map("town_suburb")
        wp = carla_map.get_waypoint(carla.Location(12.64, 130.95, 0.0), lane_type=carla.LaneType.Driving)
        left = wp.get_left_lane()
        assert not wp.is_junction and left.lane_type == carla.LaneType.Driving and left.lane_id * wp.lane_id < 0
        route = [wp]
        while len(route) < 120:
            route.append(_straightest(route[-1].next(1.0), route[-1].transform.rotation.yaw))
        entry = next(i for i, w in enumerate(route) if w.is_junction)
        assert 60 <= entry <= 75
        ego = world.spawn_vehicle(route[0].transform, role_name="hero")
        queue = []
        for back in (3, 10):  # centres 3 m and 10 m before the junction's entry: 2.2 m apart
            t = route[entry - back].transform
            queue.append(world.spawn_vehicle(carla.Transform(carla.Location(t.location.x, t.location.y, 0.3),
                                                             t.rotation), role_name="npc"))
        driver = ExpertDriver(world, ego, [(w.transform, RoadOption.LANEFOLLOW) for w in route])
        driver.signals.lines = []
        hits, _ = _drive(world, driver, ego, queue, 30.0)
        assert not hits
        states = []
        for _ in range(int(10.0 / world.fixed_delta_seconds)):  # standing behind the queue for long
            world.apply_control(ego, driver.step())
            for q in queue:
                world.apply_control(q, carla.VehicleControl(brake=1.0, hand_brake=True))
            world.tick()
            states.append(driver.labels()["overtake"])
        lane_offset = abs(driver.route.lateral_error_m(*_xy(world, ego)))
        assert set(states) == {"idle"} and lane_offset < 0.3
        assert driver.overtake.refusal == "junction"
        s_queue = np.hypot(*(_xy(world, queue[1]) - _xy(world, ego)))
        assert 4.0 < s_queue < 12.0  # standing right behind the queue


def _xy(world: EmbeddedWorld, actor: int) -> np.ndarray:
    loc = world.get_actor_state(actor).transform.location
    return np.array([loc.x, loc.y])
