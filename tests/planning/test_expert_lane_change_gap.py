"""Before moving across lanes the expert waits for a free gap in the target lanes behind it."""
from __future__ import annotations

import math

import carla
import numpy as np

from driving.tags import Tag
from driving.world import ActorKind, ActorState
from planning.expert.lane_change import (
    COMMIT_OFFSET_M,
    MAX_WAIT_S,
    LaneChangeZone,
    lane_change_zones,
    rear_conflict,
)
from planning.expert.route_tracker import smooth_lane_changes

ZONE_RIGHT = LaneChangeZone(s_start_m=20.0, s_end_m=40.0, side=1, width_m=3.5)


def _car(actor_id: int, x: float, y: float, speed: float, yaw_deg: float = 0.0) -> ActorState:
    yaw = math.radians(yaw_deg)
    return ActorState(id=actor_id, kind=ActorKind.VEHICLE, type_id="vehicle.car", role_name="npc",
                      transform=carla.Transform(carla.Location(x, y, 0.0), carla.Rotation(yaw=yaw_deg)),
                      velocity=carla.Vector3D(speed * math.cos(yaw), speed * math.sin(yaw), 0.0),
                      angular_velocity_dps=0.0, speed_mps=speed, extent=carla.Vector3D(2.3, 1.0, 0.8),
                      tag=Tag.VEHICLES)


def test_a_fast_car_closing_in_from_behind_in_the_target_lane_holds_the_ego() -> None:
    ego = _car(1, 0.0, 0.0, 5.0)
    van = _car(2, -20.0, 3.5, 15.0)  # right lane (y right), 20 m behind, 10 m/s faster
    assert rear_conflict(ZONE_RIGHT, ego, [ego, van]) is van


def test_a_car_alongside_at_speed_holds_the_ego_even_after_a_long_wait() -> None:
    ego = _car(1, 0.0, 0.0, 0.0)
    beside = _car(2, -1.0, 3.5, 8.0)
    assert rear_conflict(ZONE_RIGHT, ego, [ego, beside]) is beside
    assert rear_conflict(ZONE_RIGHT, ego, [ego, beside], waited_s=MAX_WAIT_S + 1.0) is beside


def test_a_standing_car_alongside_holds_the_ego_but_one_standing_behind_does_not() -> None:
    ego = _car(1, 0.0, 0.0, 0.0)
    alongside = _car(2, -1.0, 3.5, 0.0)  # nosing in next to it deadlocks: it then waits for the ego
    assert rear_conflict(ZONE_RIGHT, ego, [ego, alongside]) is alongside
    assert rear_conflict(ZONE_RIGHT, ego, [ego, alongside], waited_s=MAX_WAIT_S + 1.0) is alongside
    behind = _car(3, -8.0, 3.5, 0.0)
    assert rear_conflict(ZONE_RIGHT, ego, [ego, behind]) is None


def test_a_crawling_car_alongside_holds_the_ego_only_for_a_while() -> None:
    ego = _car(1, 0.0, 0.0, 0.0)
    crawling = _car(4, -1.0, 3.5, 2.0)
    assert rear_conflict(ZONE_RIGHT, ego, [ego, crawling]) is crawling
    assert rear_conflict(ZONE_RIGHT, ego, [ego, crawling], waited_s=MAX_WAIT_S + 1.0) is None


def test_cars_on_the_other_side_ahead_far_behind_or_oncoming_do_not_hold_the_ego() -> None:
    ego = _car(1, 0.0, 0.0, 8.0)
    others = [_car(2, -10.0, -3.5, 15.0),  # left lane: the move goes right
              _car(3, 15.0, 3.5, 8.0),  # ahead in the target lane: the path check's business
              _car(4, -45.0, 3.5, 9.0),  # far behind and barely faster: the gap is free
              _car(5, -10.0, 3.5, 10.0, yaw_deg=180.0)]  # oncoming
    assert rear_conflict(ZONE_RIGHT, ego, [ego, *others]) is None


def test_a_car_closing_in_on_the_far_lane_of_a_three_lane_move_holds_the_ego_for_the_time_to_get_there() -> None:
    # Town06 training 45: the ego needs ~6 s to reach the third lane; a car 51 m back there at
    # 16 m/s clears the 3 s closing rule but arrives with the ego
    zone = LaneChangeZone(s_start_m=20.0, s_end_m=64.0, side=1, width_m=7.0, s_commit_m=25.0,
                          s_last_hold_m=27.0, across_m=10.5)
    ego = _car(1, 0.0, 0.0, 2.7)
    far = _car(2, -55.6, 10.5, 15.8)
    front = 25.0 - 0.1
    assert rear_conflict(zone, ego, [ego, far]) is None  # the closing-time rule alone lets it go
    assert rear_conflict(zone, ego, [ego, far], front_s_m=front) is far
    near = _car(3, -55.6, 3.5, 15.8)  # the same car in the first lane over: the ego is there in 1-2 s
    assert rear_conflict(zone, ego, [ego, near], front_s_m=front) is None
    assert zone.move_m() == 10.5 and zone.enter_s_m(0.0) == 25.0 and zone.enter_s_m(99.0) == 64.0


def test_zones_are_found_where_the_smoothed_path_moves_across() -> None:
    planned = np.array([[float(i), 0.0] for i in range(80)])
    planned[51:, 1] = 3.5  # a jump one lane to the right (y right in CARLA's frame)
    path = smooth_lane_changes(planned, np.zeros(80, bool))
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    zones = lane_change_zones(planned, path, s)
    assert len(zones) == 1 and zones[0].side == 1 and 3.0 < zones[0].width_m < 4.0
    assert 25.0 < zones[0].s_start_m < 35.0 and 49.0 < zones[0].s_end_m < 53.0


def test_a_move_to_the_outside_of_a_bend_is_a_move_to_the_right() -> None:
    # Town06 training 47: on a left-hand bend the chord between the zone's ends leans left, and a
    # move one lane right (outwards) read as a move left: the ego checked the wrong lanes
    radius, phi = 40.0, np.arange(0.0, 1.6, 1.0 / 40.0)  # curving left (towards -y, y right)
    inner = np.stack([radius * np.sin(phi), -radius + radius * np.cos(phi)], 1)
    outer = np.stack([(radius + 3.5) * np.sin(phi), -radius + (radius + 3.5) * np.cos(phi)], 1)
    planned = np.concatenate([inner[:45], outer[45:]])
    path = smooth_lane_changes(planned, np.zeros(len(planned), bool))
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    zone = lane_change_zones(planned, path, s)[0]
    assert zone.side == 1 and 3.0 < zone.move_m() < 4.0


def test_the_ego_may_wait_in_a_zone_up_to_where_its_path_has_moved_half_a_metre_across() -> None:
    planned = np.array([[float(i), 0.0] for i in range(120)])
    planned[81:, 1] = 3 * 3.5  # three lanes to the right
    path = smooth_lane_changes(planned, np.zeros(120, bool))
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    zone = lane_change_zones(planned, path, s)[0]
    k = int(np.searchsorted(s, zone.commit_s_m()))
    assert zone.s_start_m < zone.commit_s_m() < zone.s_end_m
    assert abs(path[k, 1]) >= COMMIT_OFFSET_M > abs(path[k - 1, 1])


def test_after_a_junction_exit_the_commit_point_is_where_the_path_leaves_the_old_lane() -> None:
    planned = np.array([[float(i), 0.0] for i in range(120)])
    planned[31:, 1] = 3.5
    junction = np.zeros(120, bool)
    junction[20:30] = True  # no room before the jump: the path starts on the old lane after it
    path = smooth_lane_changes(planned, junction)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    zone = lane_change_zones(planned, path, s)[0]
    k = int(np.searchsorted(s, zone.commit_s_m()))
    assert path[k, 1] >= COMMIT_OFFSET_M > path[k - 1, 1]


def test_a_run_over_three_lanes_after_a_junction_commits_only_where_the_path_leaves_the_old_lane() -> None:
    # the planner lands each change 5 m further on: route points on the lanes in between
    planned = np.array([[float(i), 0.0] for i in range(160)])
    planned[31:36, 1] = 3.5
    planned[36:41, 1] = 7.0
    planned[41:, 1] = 10.5
    planned = np.delete(planned, [*range(32, 36), *range(37, 41)], axis=0)  # one point per lane
    junction = np.zeros(len(planned), bool)
    junction[20:30] = True  # no room before the run: the path starts on the old lane after it
    path = smooth_lane_changes(planned, junction)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    zone = lane_change_zones(planned, path, s)[0]
    k = int(np.searchsorted(s, zone.commit_s_m()))
    # the first point moved half a metre across (to a centimetre), not the zone's start
    assert path[k, 1] >= COMMIT_OFFSET_M - 0.01 and (path[:k, 1] < COMMIT_OFFSET_M + 0.01).all()
    assert zone.commit_s_m() < zone.last_hold_s_m()
