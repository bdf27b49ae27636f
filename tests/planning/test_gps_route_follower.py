"""GPS route following: exact local metres, TransFuser's popping rule, ego-frame target, sensor guards."""
from __future__ import annotations

import math

import carla
import numpy as np
import pytest

from driving.errors import InputError
from driving.sim.maps import load_map
from planning.gps import geo_reference, location_to_gps
from planning.gps_route_follower import GpsRouteFollower, road_option
from planning.road_option import RoadOption

LAT_REF, LON_REF = 49.0, 8.0  # town_grid's geoReference (not the leaderboard default 42, 2)


def gps_plan(xy: list[tuple[float, float]], options: list[RoadOption] | None = None,
             ref: tuple[float, float] = (LAT_REF, LON_REF)) -> list[tuple[dict, RoadOption]]:
    """CARLA points -> the (gps, option) plan the leaderboard hands an agent."""
    options = options or [RoadOption.LANEFOLLOW] * len(xy)
    return [(location_to_gps(*ref, carla.Location(x, y, 0.0)), o) for (x, y), o in zip(xy, options)]


def gnss(x: float, y: float, ref: tuple[float, float] = (LAT_REF, LON_REF)) -> list[float]:
    g = location_to_gps(*ref, carla.Location(x, y, 0.0))
    return [g["lat"], g["lon"], 0.0]


def test_local_metres_are_carla_coordinates_up_to_an_offset():
    assert geo_reference(load_map("town_grid").xodr_text) == (LAT_REF, LON_REF)
    rng = np.random.default_rng(0)
    xy = [(123.0, -250.0), *map(tuple, rng.uniform(-400.0, 400.0, (50, 2)))]
    follower = GpsRouteFollower()
    follower.set_route(gps_plan(xy))
    local = np.array([follower.to_local_m(p["lat"], p["lon"]) for p, _ in gps_plan(xy)])
    expected = np.array(xy) - np.array(xy[0])
    # exact up to one uniform scale cos(lat_first) / cos(lat_ref) = 1 - 4.5e-5 for a first point
    # 250 m north of the map origin: 2 mm on a 50 m target vector, the same for ego and route
    scale = math.cos(math.radians(gps_plan(xy)[0][0]["lat"])) / math.cos(math.radians(LAT_REF))
    assert 0 < 1 - scale < 5e-5
    np.testing.assert_allclose(local, expected * scale, atol=1e-4)  # carla.Location holds float32
    # TransFuser's fixed (111324.6, 111319.5) m/deg scale would put east-west distances 34 % off here
    lon_span = abs(gps_plan(xy)[1][0]["lon"] - gps_plan(xy)[0][0]["lon"]) * 111319.490945
    assert lon_span / abs(expected[1, 0]) == pytest.approx(1 / math.cos(math.radians(LAT_REF)), rel=1e-3)


def test_pops_the_farthest_point_within_the_pop_distance():
    xy = [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (3.0, 0.0), (10.0, 0.0), (20.0, 0.0)]
    options = [RoadOption.LANEFOLLOW] * 4 + [RoadOption.LEFT, RoadOption.STRAIGHT]
    follower = GpsRouteFollower(pop_distance_m=4.0)
    follower.set_route(gps_plan(xy, options))
    target, option = follower.run_step(follower.to_local_m(*gnss(0.5, 0.0)[:2]))
    np.testing.assert_allclose(target, [10.0, 0.0], atol=1e-3)  # 1, 2, 3 in range: 3 reached, 10 next
    assert option == RoadOption.LEFT and follower.remaining == 3
    target, option = follower.run_step(follower.to_local_m(*gnss(5.5, 0.0)[:2]))
    np.testing.assert_allclose(target, [10.0, 0.0], atol=1e-3)  # 10 is 4.5 m away: not reached yet
    assert option == RoadOption.LEFT and follower.remaining == 3
    target, option = follower.run_step(follower.to_local_m(*gnss(7.0, 0.0)[:2]))
    np.testing.assert_allclose(target, [20.0, 0.0], atol=1e-3)
    assert option == RoadOption.STRAIGHT
    target, _ = follower.run_step(follower.to_local_m(*gnss(20.0, 0.0)[:2]))  # at the end: 2 points stay
    np.testing.assert_allclose(target, [20.0, 0.0], atol=1e-3)
    assert follower.remaining == 2


def test_points_beyond_the_lookahead_are_never_popped():
    """A route that comes back past its start: the returning point is 63 m of route away."""
    xy = [(0.0, 0.0), (10.0, 0.0), (60.0, 0.0), (60.0, 3.0), (2.0, 3.0), (-20.0, 3.0)]
    follower = GpsRouteFollower(pop_distance_m=4.0, lookahead_m=50.0)
    follower.set_route(gps_plan(xy))
    target, _ = follower.run_step(follower.to_local_m(*gnss(0.0, 0.0)[:2]))
    np.testing.assert_allclose(target, [10.0, 0.0], atol=1e-3)
    near = GpsRouteFollower(pop_distance_m=4.0, lookahead_m=100.0)
    near.set_route(gps_plan(xy))
    target, _ = near.run_step(near.to_local_m(*gnss(0.0, 0.0)[:2]))
    np.testing.assert_allclose(target, [-20.0, 3.0], atol=1e-3)  # (2, 3) reached: shows what the limit stops


@pytest.mark.parametrize("yaw_deg", [0.0, 90.0, -135.0, 37.0])
def test_target_in_the_ego_frame_ahead_and_right(yaw_deg):
    yaw = math.radians(yaw_deg)
    forward, right = np.array([math.cos(yaw), math.sin(yaw)]), np.array([-math.sin(yaw), math.cos(yaw)])
    ego = np.array([50.0, -20.0])
    for offset, expected in ((12.0 * forward, (12.0, 0.0)), (12.0 * forward + 3.0 * right, (12.0, 3.0))):
        follower = GpsRouteFollower()
        follower.set_route(gps_plan([tuple(ego), tuple(ego + offset)]))
        nav = follower.step(gnss(*ego), yaw + math.pi / 2)  # CARLA compass = yaw + pi/2
        np.testing.assert_allclose(nav.target_ego_m, expected, atol=1e-3)
        assert nav.target_ego_m.dtype == np.float32


def test_nan_compass_keeps_the_last_valid_one():
    follower = GpsRouteFollower()
    follower.set_route(gps_plan([(0.0, 0.0), (0.0, 10.0)]))
    assert follower.step(gnss(0.0, 0.0), math.nan).compass_rad == 0.0  # none yet: 0
    heading_south = math.pi  # yaw 90 deg: forward is +y
    np.testing.assert_allclose(follower.step(gnss(0.0, 0.0), heading_south).target_ego_m, [10.0, 0.0], atol=1e-3)
    nav = follower.step(gnss(0.0, 0.0), math.nan)
    assert nav.compass_rad == heading_south
    np.testing.assert_allclose(nav.target_ego_m, [10.0, 0.0], atol=1e-3)


def test_gnss_jump_is_ignored_once_and_a_confirmed_relocation_followed():
    follower = GpsRouteFollower(max_jump_m=10.0)
    follower.set_route(gps_plan([(0.0, 0.0), (100.0, 0.0)]))
    np.testing.assert_allclose(follower.position_from_gnss(gnss(1.0, 0.0)), [1.0, 0.0], atol=1e-3)
    np.testing.assert_allclose(follower.position_from_gnss(gnss(40.0, 0.0)), [1.0, 0.0], atol=1e-3)  # outlier
    assert follower.jumps_ignored == 1
    np.testing.assert_allclose(follower.position_from_gnss(gnss(2.0, 0.0)), [2.0, 0.0], atol=1e-3)
    np.testing.assert_allclose(follower.position_from_gnss(gnss(60.0, 0.0)), [2.0, 0.0], atol=1e-3)
    np.testing.assert_allclose(follower.position_from_gnss(gnss(60.5, 0.0)), [60.5, 0.0], atol=1e-3)  # confirmed
    np.testing.assert_allclose(follower.position_from_gnss([math.nan, math.nan, 0.0]), [60.5, 0.0], atol=1e-3)
    assert follower.jumps_ignored == 3


def test_road_options_void_and_bad_routes():
    assert road_option(RoadOption.VOID) == RoadOption.LANEFOLLOW == road_option("nonsense")
    assert road_option(2) == RoadOption.RIGHT
    with pytest.raises(InputError, match="route is empty"):
        GpsRouteFollower().set_route([])
    with pytest.raises(InputError, match="lat"):
        GpsRouteFollower().set_route([({"x": 1.0}, RoadOption.LEFT)])
    with pytest.raises(InputError, match="no route yet"):
        GpsRouteFollower().run_step(np.zeros(2))


def test_compass_convention_on_the_embedded_world():
    """An ego at a known yaw in town_grid: its own GNSS and IMU put a point ahead at (d, 0), one right at y > 0."""
    from driving.sim.embedded_world import EmbeddedWorld
    from driving.world import SensorSpec

    world = EmbeddedWorld()
    try:
        carla_map = world.load_map("town_grid", seed=0)
        spawn = world.get_spawn_points()[0]
        yaw_deg = spawn.rotation.yaw + 37.0  # not axis-aligned, so a swapped axis or sign shows
        ego = world.spawn_vehicle(carla.Transform(spawn.location, carla.Rotation(yaw=yaw_deg)))
        for spec in ({"type": "sensor.other.gnss", "id": "gps"}, {"type": "sensor.other.imu", "id": "imu"}):
            world.attach_sensor(SensorSpec.from_dict(spec), ego)
        world.apply_control(ego, carla.VehicleControl(brake=1.0))
        world.tick()
        data = world.read_sensors()
        state = world.get_actor_state(ego).transform
        lat_ref, lon_ref = geo_reference(load_map("town_grid").xodr_text)
    finally:
        world.close()
    assert carla_map is not None and state.rotation.yaw == pytest.approx(yaw_deg, abs=0.5)
    f, r, loc = state.get_forward_vector(), state.get_right_vector(), state.location
    for ahead_m, right_m in ((30.0, 0.0), (30.0, 8.0)):
        point = carla.Location(loc.x + f.x * ahead_m + r.x * right_m, loc.y + f.y * ahead_m + r.y * right_m, 0.0)
        follower = GpsRouteFollower()
        follower.set_route([(location_to_gps(lat_ref, lon_ref, loc), RoadOption.LANEFOLLOW),
                            (location_to_gps(lat_ref, lon_ref, point), RoadOption.LANEFOLLOW)])
        target = follower.step(data["gps"][1], data["imu"][1][-1]).target_ego_m
        # the leaderboard's GNSS noise (5e-6 deg, ~0.5 m) is on: metres-level tolerance
        assert target[0] == pytest.approx(ahead_m, abs=2.0) and target[1] == pytest.approx(right_m, abs=2.0)
    assert target[1] > 5.0
