"""Pieces of the expert on synthetic inputs: obstacle search, following speed, signal decisions,
route tracking and lane forecasts (real town_grid map where a map is needed)."""
from __future__ import annotations

import math

import carla
import numpy as np
import pytest
from lb_fixtures import lane_points, straight_waypoint, town_grid

from driving.tags import Tag
from driving.world import ActorKind, ActorState
from planning.expert.forecast import constant_velocity_track, lane_tracks
from planning.expert.hazards import Obstacle, follow_speed_mps, lead_in_front, nearest_obstacle
from planning.expert.route_tracker import RouteTracker
from planning.expert.signals_ahead import SignalMonitor, StopLine
from planning.road_option import RoadOption

TIMES = np.arange(0.0, 2.0 + 1e-9, 0.25)
# a straight path along +x from the ego centre, 1 m spacing, 30 m
PATH_XY = np.stack([np.arange(0.0, 30.0), np.zeros(30)], axis=1)
PATH_D = np.arange(0.0, 30.0)
PATH_H = np.zeros(30)


def _actor(x: float, y: float, yaw_deg: float, speed: float, kind: ActorKind = ActorKind.VEHICLE,
           actor_id: int = 7) -> ActorState:
    yaw = math.radians(yaw_deg)
    ext = carla.Vector3D(2.4, 0.95, 0.75) if kind == ActorKind.VEHICLE else carla.Vector3D(0.25, 0.25, 0.9)
    return ActorState(id=actor_id, kind=kind, type_id="vehicle.car", role_name="npc",
                      transform=carla.Transform(carla.Location(x, y, 0.0), carla.Rotation(yaw=yaw_deg)),
                      velocity=carla.Vector3D(speed * math.cos(yaw), speed * math.sin(yaw), 0.0),
                      angular_velocity_dps=0.0, speed_mps=speed, extent=ext, tag=Tag.VEHICLES)


def _nearest(actor: ActorState, ego_speed: float = 5.0) -> Obstacle | None:
    return nearest_obstacle([constant_velocity_track(actor, TIMES)], TIMES, PATH_XY, PATH_D, PATH_H,
                            ego_speed, 0.95 + 0.4)


def test_lead_vehicle_in_path_is_an_obstacle_with_its_speed():
    ob = _nearest(_actor(15.0, 0.0, 0.0, 3.0))
    assert ob is not None and ob.current and ob.actor_id == 7
    assert ob.distance_m == pytest.approx(12.0)  # first point within 1.35 m of its rear at 12.6
    assert ob.speed_along_mps == pytest.approx(3.0)


def test_vehicle_in_adjacent_lane_is_not_an_obstacle():
    assert _nearest(_actor(10.0, 3.5, 0.0, 5.0)) is None


def test_crossing_vehicle_is_found_by_its_forecast_only_when_reachable():
    crossing = _nearest(_actor(10.0, -8.0, 90.0, 5.0))  # reaches the path in ~1.2 s, 10 m ahead
    assert crossing is not None and not crossing.current
    assert crossing.speed_along_mps == pytest.approx(0.0, abs=1e-6)
    far = _nearest(_actor(28.0, -8.0, 90.0, 5.0), ego_speed=0.0)  # 28 m ahead: not reachable in time
    assert far is None


def test_a_car_crossing_at_an_angle_holds_a_slow_ego_whatever_its_speed_along_the_path():
    """Town03 training 24: a car entered the roundabout at 73 deg to the ego's path, its speed
    along the path (2 m/s) just above the braking ego's; it was taken for a car moving away every
    other tick and the ego stopped and went into its side."""
    entering = _actor(4.0, -5.0, 73.0, 6.5)  # 1.9 m/s along the path, 6.2 m/s towards it
    assert entering.velocity.x > 1.5
    assert _nearest(entering, ego_speed=1.5) is not None
    overtaking = _actor(3.0, -3.6, 10.0, 8.0)  # merging at a shallow angle, faster than the ego: moving away
    assert _nearest(overtaking, ego_speed=1.5) is None


def test_a_car_right_in_front_of_the_ego_body_is_its_lead_wherever_the_route_runs():
    """Town06 training 44: waiting to move into the next lane, the ego was off its route, the
    route's corridor missed the queue right in front of its bumper, and it ran into it."""
    ego = _actor(0.0, 0.0, 0.0, 3.0, actor_id=1)
    ahead = _actor(7.0, 0.5, 0.0, 0.2)
    lead = lead_in_front(ego, [ego, ahead], 20.0, 0.4)
    assert lead is not None and lead.actor_id == 7 and lead.current
    # the first point of the strip's centre line within (half width + margin) of its rear, as the path check
    assert lead.distance_m == pytest.approx(7.0 - 2.4 - (0.95 + 0.4), abs=0.5)
    assert lead_in_front(ego, [ego, _actor(7.0, 3.5, 0.0, 0.2)], 20.0, 0.4) is None  # next lane
    assert lead_in_front(ego, [ego, _actor(7.0, 0.0, 180.0, 5.0)], 20.0, 0.4) is None  # oncoming: the path check's
    assert lead_in_front(ego, [ego, _actor(30.0, 0.0, 0.0, 5.0)], 20.0, 0.4) is None  # beyond the strip


def test_walker_stepping_into_path():
    walker = _actor(8.0, 2.5, -90.0, 1.4, kind=ActorKind.WALKER)
    ob = nearest_obstacle([constant_velocity_track(walker, TIMES)], TIMES, PATH_XY, PATH_D, PATH_H, 5.0, 0.95 + 0.8)
    assert ob is not None and ob.kind == ActorKind.WALKER


def test_follow_speed():
    standing = Obstacle(1, ActorKind.VEHICLE, 20.0, 0.0, True)
    v = follow_speed_mps(standing, 2.4, 2.0, 1.0, 2.5)
    assert v == pytest.approx(math.sqrt(2 * 2.5 * (20.0 - 2.4 - 2.0)))
    assert follow_speed_mps(Obstacle(1, ActorKind.VEHICLE, 4.0, 0.0, True), 2.4, 2.0, 1.0, 2.5) == 0.0
    moving_close = Obstacle(1, ActorKind.VEHICLE, 2.4 + 4.0, 5.0, True)  # inside the 7 m desired gap
    assert 0.0 < follow_speed_mps(moving_close, 2.4, 2.0, 1.0, 2.5) < 5.0


def test_signal_monitor_red_yellow_and_stop_sign():
    red, sign = 1, 100_001
    mon = SignalMonitor([StopLine(red, True, 50.0), StopLine(sign, False, 80.0)], 4.5, 0.5)
    assert mon.stop_distance_m(30.0, 8.0, {red: carla.TrafficLightState.Red}, 0.05, 40.0) == pytest.approx(20.0)
    assert mon.light_hazard
    # yellow 20 m ahead at 8 m/s needs 1.6 m/s^2: stop; yellow 5 m ahead needs 6.4 m/s^2: go on
    assert mon.stop_distance_m(30.0, 8.0, {red: carla.TrafficLightState.Yellow}, 0.05, 40.0) == pytest.approx(20.0)
    assert math.isinf(mon.stop_distance_m(45.0, 8.0, {red: carla.TrafficLightState.Yellow}, 0.05, 20.0))
    # green: the stop sign 30 m ahead governs; it is cleared only after standing still near it
    assert mon.stop_distance_m(50.0, 8.0, {red: carla.TrafficLightState.Green}, 0.05, 40.0) == pytest.approx(30.0)
    assert mon.stop_sign_hazard
    for _ in range(9):
        assert mon.stop_distance_m(79.0, 0.0, {}, 0.05, 40.0) == pytest.approx(1.0)
    for _ in range(2):
        mon.stop_distance_m(79.0, 0.0, {}, 0.05, 40.0)
    assert math.isinf(mon.stop_distance_m(79.0, 0.0, {}, 0.05, 40.0))
    assert not mon.stop_sign_hazard


def test_route_tracker_follows_a_lane_and_gives_targets():
    carla_map = town_grid()
    start = straight_waypoint(carla_map, 40.0)
    points = lane_points(start, 40)
    dense = [(t, RoadOption.LANEFOLLOW) for t in points]
    sparse = [dense[0], (points[-1], RoadOption.STRAIGHT)]
    tracker = RouteTracker(dense, carla_map, sparse)
    assert tracker.length_m == pytest.approx(39.0, abs=0.2)
    loc = points[10].location
    assert tracker.update(loc.x, loc.y) == 10
    assert tracker.s_ego == pytest.approx(10.0, abs=0.1)
    assert tracker.update(points[3].location.x, points[3].location.y) == 10  # never goes back
    ahead = tracker.point_at(tracker.s_ego + 5.0)
    assert math.dist(ahead, (points[15].location.x, points[15].location.y)) < 0.1
    point, command, _ = tracker.target()
    assert command == RoadOption.STRAIGHT and math.dist(point, (points[-1].location.x, points[-1].location.y)) < 1e-6
    assert not tracker.in_junction_ahead(20.0)
    assert float(tracker.curvature.max()) < 0.02


def test_route_tracker_progress_is_exact_inside_a_long_gap_between_points():
    """The plan jumps 6 m where it changes lanes at a junction exit; an ego 3.3 m into that gap,
    nearer the point after it, must be placed 3.3 m into it (it was left at the gap's start, so
    the pure-pursuit aim came too close and the expert swerved, Town03 training route 15)."""
    carla_map = town_grid()
    points = lane_points(straight_waypoint(carla_map, 40.0), 40)
    dense = [(t, RoadOption.LANEFOLLOW) for i, t in enumerate(points) if not 11 <= i <= 15]  # 10 -> 16: 6 m
    tracker = RouteTracker(dense, carla_map)
    tracker.update(points[9].location.x, points[9].location.y)
    ego = points[13].location
    ego = carla.Location(ego.x + 0.3 * (points[14].location.x - ego.x), ego.y + 0.3 * (points[14].location.y - ego.y))
    tracker.update(ego.x, ego.y)
    assert tracker.s_ego == pytest.approx(13.3, abs=0.1)


def test_lane_tracks_follow_the_lane():
    carla_map = town_grid()
    wp = straight_waypoint(carla_map, 40.0)
    tf = wp.transform
    actor = _actor(tf.location.x, tf.location.y, tf.rotation.yaw, 5.0)
    tracks = lane_tracks(actor, TIMES, carla_map)
    assert len(tracks) >= 1
    end = wp.next(10.0)[0].transform.location  # 5 m/s for 2 s
    assert math.hypot(tracks[0].x[-1] - end.x, tracks[0].y[-1] - end.y) < 0.5
    assert lane_tracks(_actor(tf.location.x, tf.location.y, tf.rotation.yaw, 0.0), TIMES, carla_map) == []


def _junction_straights(carla_map: carla.Map, junction_id: int) -> tuple[carla.Waypoint, carla.Waypoint]:
    """Two straight connectors of a junction that cross at right angles (their start waypoints)."""
    junction = next(w for w in carla_map.generate_waypoints(4.0) if w.is_junction
                    and w.get_junction().id == junction_id).get_junction()
    straights = []
    for start, end in junction.get_waypoints(carla.LaneType.Driving):
        turn = (end.transform.rotation.yaw - start.transform.rotation.yaw + 180.0) % 360.0 - 180.0
        if abs(turn) < 10.0:
            straights.append(start)
    straights.sort(key=lambda w: (w.road_id, w.lane_id))
    first = straights[0]
    h = first.transform.rotation.yaw
    other = next(w for w in straights if abs(math.cos(math.radians(w.transform.rotation.yaw - h))) < 0.1)
    return first, other


def _ego_path_and_crossing(junction_id: int = 510):
    """The ego's path along one straight connector (from 8 m into it), a crossing connector's
    start, and the arc distance (m) from the ego centre to the crossing point."""
    from driving.sim.maps import load_map

    carla_map = load_map("town_arterial").carla_map
    own, cross = _junction_straights(carla_map, junction_id)
    points = lane_points(own.next(8.0)[0], 40)
    xy = np.array([[t.location.x, t.location.y] for t in points])
    heading = np.radians([t.rotation.yaw for t in points])
    other = np.array([[t.location.x, t.location.y] for t in lane_points(cross, 40)])
    gaps = np.hypot(xy[:, None, 0] - other[None, :, 0], xy[:, None, 1] - other[None, :, 1])
    k, j = np.unravel_index(np.argmin(gaps), gaps.shape)
    return carla_map, xy, np.arange(len(xy), dtype=float), heading, cross, float(k), int(j)


def test_vehicle_on_a_crossing_connector_inside_the_junction_is_an_obstacle():
    carla_map, xy, d, heading, cross, crossing_d, j = _ego_path_and_crossing()
    wp = cross.next(max(j - 8.0, 1.0))[0]  # inside the junction, 8 m before the crossing
    assert wp.is_junction
    tf = wp.transform
    speed = 8.0 / (crossing_d / 6.0)  # reaches the crossing when the ego (6 m/s) does, beyond 2 s
    assert crossing_d / 6.0 > TIMES[-1]
    actor = _actor(tf.location.x, tf.location.y, tf.rotation.yaw, speed)
    tracks = [constant_velocity_track(actor, TIMES), *lane_tracks(actor, TIMES, carla_map)]
    ob = nearest_obstacle(tracks, TIMES, xy, d, heading, 6.0, 0.95 + 0.4)
    assert ob is not None and ob.actor_id == actor.id and not ob.current
    assert abs(ob.distance_m - crossing_d) < 4.0  # where the two connectors cross
    # the same vehicle once it has crossed, moving away: no obstacle
    past = cross.next(j + 8.0)[0].transform
    gone = _actor(past.location.x, past.location.y, past.rotation.yaw, 6.0)
    tracks = [constant_velocity_track(gone, TIMES), *lane_tracks(gone, TIMES, carla_map)]
    assert nearest_obstacle(tracks, TIMES, xy, d, heading, 6.0, 0.95 + 0.4) is None


def test_stopped_vehicle_in_the_junction_on_the_path_is_an_obstacle():
    carla_map, xy, d, heading, cross, crossing_d, j = _ego_path_and_crossing()
    tf = cross.next(float(j))[0].transform  # standing across the ego's path inside the junction
    actor = _actor(tf.location.x, tf.location.y, tf.rotation.yaw, 0.0)
    tracks = [constant_velocity_track(actor, TIMES), *lane_tracks(actor, TIMES, carla_map)]
    ob = nearest_obstacle(tracks, TIMES, xy, d, heading, 8.0, 0.95 + 0.4)
    assert ob is not None and ob.current and ob.speed_along_mps == pytest.approx(0.0, abs=1e-6)
    assert crossing_d - 4.0 < ob.distance_m < crossing_d  # its near side, before the crossing point
