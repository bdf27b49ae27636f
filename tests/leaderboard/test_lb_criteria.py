"""Official criteria on recorded ego states over the real town_grid map."""
from __future__ import annotations

import carla
import pytest
from lb_fixtures import ego, lane_points, offset, straight_waypoint, town_grid

from driving.world import ActorKind, CollisionEvent, StopSignInfo, TrafficLightInfo
from leaderboard.criteria import CriteriaTick, RouteCriteria, TrafficEventType
from leaderboard.criteria.collision import CollisionTest
from leaderboard.criteria.route import (
    ActorBlockedTest,
    InRouteTest,
    OutsideRouteLanesTest,
    RouteCompletionTest,
    RoutePath,
    route_timeout_s,
)
from leaderboard.criteria.signals import RunningRedLightTest, RunningStopTest


@pytest.fixture(scope="module")
def cmap() -> carla.Map:
    return town_grid()


@pytest.fixture(scope="module")
def lane(cmap: carla.Map) -> list[carla.Transform]:
    return lane_points(straight_waypoint(cmap, 45.0), 40)


def _hit(other_id: int, kind: ActorKind, type_id: str) -> CollisionEvent:
    return CollisionEvent(frame=0, actor_id=1, other_id=other_id, other_kind=kind, other_type_id=type_id,
                          impulse=carla.Vector3D(100, 0, 0), location=carla.Location())


def test_collisions_are_debounced_as_official(lane):
    test = CollisionTest()
    t0 = lane[0]
    script = [  # (game time s, metres along the lane, collisions)
        (0.0, 0, [_hit(7, ActorKind.VEHICLE, "vehicle.car")]),
        (1.0, 1, [_hit(7, ActorKind.VEHICLE, "vehicle.car")]),  # same actor: ignored
        (1.5, 2, [_hit(9, ActorKind.WALKER, "walker.pedestrian")]),  # within 3 m of the last: ignored
        (3.0, 20, [_hit(9, ActorKind.WALKER, "walker.pedestrian")]),
        (4.0, 30, [_hit(100, ActorKind.STATIC, "building")]),
        (4.5, 31, [_hit(100, ActorKind.STATIC, "building")]),  # within 3 m: ignored
        (12.0, 38, [_hit(7, ActorKind.VEHICLE, "vehicle.car"), _hit(5, ActorKind.SENSOR, "sensor")]),
    ]
    for time_s, along, hits in script:
        test.update(CriteriaTick(ego(offset(t0, forward_m=along)), time_s, tuple(hits)))
    kinds = [e.type for e in test.events]
    assert kinds.count(TrafficEventType.COLLISION_VEHICLE) == 2
    assert kinds.count(TrafficEventType.COLLISION_PEDESTRIAN) == 1
    assert kinds.count(TrafficEventType.COLLISION_STATIC) == 1
    assert test.events[0].message.startswith("Agent collided against object with type=vehicle.car and id=7 at (x=")


def test_same_actor_counts_again_after_memory_expires(lane):
    test = CollisionTest()
    test.update(CriteriaTick(ego(lane[0]), 0.0, (_hit(7, ActorKind.VEHICLE, "vehicle.car"),)))
    test.update(CriteriaTick(ego(offset(lane[0], forward_m=10)), 5.5, ()))  # forget id (> 5 s) and place
    test.update(CriteriaTick(ego(offset(lane[0], forward_m=10)), 5.6, (_hit(7, ActorKind.VEHICLE, "vehicle.car"),)))
    assert len(test.events) == 2


def test_route_completion_success_and_timeout_value(lane):
    path = RoutePath(lane)
    test = RouteCompletionTest(path)
    for i, t in enumerate(lane[:20]):
        test.update(CriteriaTick(ego(offset(t, forward_m=0.1)), i * 0.1))
    assert 40.0 < test.percentage < 55.0 and not test.success
    for i, t in enumerate(lane[20:]):
        test.update(CriteriaTick(ego(offset(t, forward_m=0.1)), 2 + i * 0.1))
    assert test.success and test.terminal and test.percentage == 100.0
    assert test.events[-1].type == TrafficEventType.ROUTE_COMPLETED
    assert route_timeout_s(path.length_m) == int(0.8 * path.length_m + 5)


def test_route_deviation_beyond_30_m(lane):
    test = InRouteTest(RoutePath(lane))
    for i, t in enumerate(lane[:5]):
        test.update(CriteriaTick(ego(t), i * 0.1))
    test.update(CriteriaTick(ego(offset(lane[5], lateral_m=25.0)), 1.0))
    assert not test.terminal
    test.update(CriteriaTick(ego(offset(lane[5], lateral_m=31.0)), 1.1))
    assert test.terminal and test.events[0].type == TrafficEventType.ROUTE_DEVIATION
    assert test.events[0].message.startswith("Agent deviated from the route at (x=")


def test_blocked_after_180_s_below_threshold(lane):
    test = ActorBlockedTest()
    for k in range(1800):  # 179.9 s standing still
        test.update(CriteriaTick(ego(lane[0], speed_mps=0.0), k * 0.1))
    assert not test.terminal
    for k in range(1800, 1815):
        test.update(CriteriaTick(ego(lane[0], speed_mps=0.0), k * 0.1))
    assert test.terminal and test.events[0].type == TrafficEventType.VEHICLE_BLOCKED


def test_outside_route_lanes_percentage(cmap, lane):
    test = OutsideRouteLanesTest(RoutePath(lane), cmap, lane[0].location)
    for i, t in enumerate(lane):
        lateral = 6.0 if 10 <= i < 20 else 0.0  # off the lane (3.5 m wide: > 1.75 + 1.3) for 10 m
        test.update(CriteriaTick(ego(offset(t, lateral_m=lateral, forward_m=0.1)), i * 0.1))
    test.terminate()
    event = test.events[-1]
    assert event.type == TrafficEventType.OUTSIDE_ROUTE_LANES_INFRACTION
    assert 20.0 < event.data["percentage"] < 32.0


def test_opposite_lane_counts_as_outside_route_lanes(cmap, lane):
    wp0 = cmap.get_waypoint(lane[10].location)
    shift = wp0.lane_width
    opposite = cmap.get_waypoint(offset(lane[10], lateral_m=-shift).location)
    assert opposite.road_id == wp0.road_id and opposite.lane_id * wp0.lane_id < 0
    test = OutsideRouteLanesTest(RoutePath(lane), cmap, lane[0].location)
    for i, t in enumerate(lane):
        lateral = -shift if i >= 20 else 0.0  # drive the second half in the oncoming lane
        test.update(CriteriaTick(ego(offset(t, lateral_m=lateral, forward_m=0.1)), i * 0.1))
    test.terminate()
    assert 40.0 < test.events[-1].data["percentage"] < 60.0


def _light(lane, state_wp_index: int, cmap) -> TrafficLightInfo:
    wp = cmap.get_waypoint(lane[state_wp_index].location)
    return TrafficLightInfo(id=42, transform=offset(lane[state_wp_index], lateral_m=3.0), group_id=0,
                            stop_waypoints=(wp,), trigger_location=lane[state_wp_index - 2].location,
                            trigger_extent=carla.Vector3D(2.0, 2.0, 2.0))


@pytest.mark.parametrize("state, expected", [(carla.TrafficLightState.Red, 1), (carla.TrafficLightState.Green, 0)])
def test_red_light_crossing(cmap, lane, state, expected):
    light = _light(lane, 20, cmap)
    test = RunningRedLightTest(cmap, [light])
    for i in range(10, 35):
        test.update(CriteriaTick(ego(offset(lane[i], forward_m=0.5)), i * 0.1, (), {42: state}))
    assert len(test.events) == expected
    if expected:
        assert test.events[0].type == TrafficEventType.TRAFFIC_LIGHT_INFRACTION
        assert test.events[0].message.startswith("Agent ran a red light 42 at (x=")


def _stop(lane) -> StopSignInfo:
    return StopSignInfo(id=7, transform=offset(lane[20], lateral_m=3.0), stop_waypoints=(),
                        trigger_location=lane[20].location, trigger_extent=carla.Vector3D(1.5, 1.5, 1.0))


def test_stop_sign_run_without_stopping(cmap, lane):
    test = RunningStopTest(cmap, [_stop(lane)])
    for i in range(40):
        test.update(CriteriaTick(ego(offset(lane[i], forward_m=0.3), speed_mps=5.0), i * 0.2))
    assert [e.type for e in test.events] == [TrafficEventType.STOP_INFRACTION]


def test_stop_sign_respected_when_stopping_inside(cmap, lane):
    test = RunningStopTest(cmap, [_stop(lane)])
    for i in range(40):
        speed = 0.0 if i == 20 else 5.0
        test.update(CriteriaTick(ego(offset(lane[i], forward_m=0.3), speed_mps=speed), i * 0.2))
    assert test.events == []


def test_route_criteria_end_the_route(cmap, lane):
    crit = RouteCriteria(lane, cmap, [], [])
    for i, t in enumerate(lane):
        crit.update(CriteriaTick(ego(offset(t, forward_m=0.1)), i * 0.1))
        if crit.done:
            break
    crit.terminate()
    assert crit.done and crit.failure == ""
    assert crit.completion.success
    stuck = RouteCriteria(lane, cmap, [], [])
    k = 0
    while not stuck.done:
        stuck.update(CriteriaTick(ego(lane[0], speed_mps=0.0), k * 0.5))
        k += 1
    assert stuck.failure == "Agent timed out"  # the 40 m route's timeout (36 s) comes before 180 s


def _approach(light: TrafficLightInfo, back_m: float, ahead_m: float) -> list[carla.Transform]:
    """Lane poses 1 m apart from `back_m` before a light's stop waypoint to `ahead_m` past it."""
    wp = light.stop_waypoints[0]
    start = wp.previous(back_m)[0]
    poses, current = [start.transform], start
    for _ in range(int(back_m + ahead_m)):
        current = current.next(1.0)[0]
        poses.append(current.transform)
    return poses


def test_red_light_stop_line_is_the_junction_entry_as_official():
    """The official test advances each stop waypoint to the junction entry and counts a red light
    when the car's tail (0.8 to 1.0 half-lengths + 1 m behind its centre) crosses that line:
    stopping with the tail past our painted stop line but short of the entry is no infraction
    (the old stop line counted it); driving through is one."""
    from driving.sim.embedded_world import EmbeddedWorld
    from leaderboard.criteria.signals import advance_to_junction

    world = EmbeddedWorld()
    try:
        cmap = world.load_map("town_grid", seed=0)
        light = world.get_traffic_lights()[0]
        entry = advance_to_junction(light.stop_waypoints[0])
        assert not entry.is_junction and entry.next(0.5)[0].is_junction
        gap_m = entry.transform.location.distance(light.stop_waypoints[0].transform.location)
        assert gap_m > 3.0  # our painted stop line stands before the crosswalk
        red = {light.id: carla.TrafficLightState.Red}

        def run(poses: list[carla.Transform]) -> int:
            test = RunningRedLightTest(cmap, [light])
            for i, pose in enumerate(poses):
                test.update(CriteriaTick(ego(pose), i * 0.1, (), red))
            return len(test.events)

        assert run(_approach(light, 15.0, gap_m + 1.0)) == 0  # centre 1 m past the entry, tail short of it
        assert run(_approach(light, 15.0, gap_m + 12.0)) == 1  # drives into the junction on red
    finally:
        world.close()
