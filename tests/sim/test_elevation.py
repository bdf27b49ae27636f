"""Elevation in the embedded world, on `town_overpass` (a street crossing over another on a bridge).

Actors take z and pitch from the road at their level, bodies on two levels never touch, lane
checks look at the actor's level, sensors follow z and pitch, and the renderer draws the deck
above the road below.
"""
from __future__ import annotations

import math

import carla
import numpy as np
import pytest

from driving.sim.collisions import box_contacts, build_static_grid, obb_overlap
from driving.sim.embedded_world import EmbeddedWorld
from driving.sim.events import LaneEventTracker
from driving.sim.maps import town_overpass
from driving.tags import Tag
from driving.world import CollisionEvent, LaneInvasionEvent, OffRoadEvent, SensorSpec
from leaderboard.criteria import CriteriaTick, OutsideRouteLanesTest, RoutePath

TOWN = town_overpass.NAME
BRIDGE, LOWER = town_overpass.BRIDGE_ROAD, town_overpass.LOWER_ROAD
CROSSING_S = 238.0  # both cross roads are 476 m long and cross at their middles
DECK_M = town_overpass.DECK_HEIGHT_M


@pytest.fixture
def world():
    w = EmbeddedWorld()
    w.load_map(TOWN, seed=0)
    yield w
    w.close()


def _tf(world: EmbeddedWorld, road: int, lane: int, s: float) -> carla.Transform:
    wp = world.get_map().get_waypoint_xodr(road, lane, s)
    return carla.Transform(wp.transform.location, wp.transform.rotation)


def _xy_box(state) -> tuple[float, float, float, float, float]:
    loc = state.transform.location
    return loc.x, loc.y, math.radians(state.transform.rotation.yaw), state.extent.x, state.extent.y


def test_the_bridge_is_high_enough_gentle_and_crosses_without_a_junction(world):
    m = world.get_map()
    top, low = m.get_waypoint_xodr(BRIDGE, -1, CROSSING_S), m.get_waypoint_xodr(LOWER, -1, CROSSING_S)
    assert not top.is_junction and not low.is_junction
    assert top.transform.location.z - low.transform.location.z >= 7.0
    assert math.hypot(top.transform.location.x - low.transform.location.x,
                      top.transform.location.y - low.transform.location.y) < 3.0  # one above the other
    s = np.arange(0.5, 2 * CROSSING_S - 0.5, 1.0)
    z = np.array([m.get_waypoint_xodr(BRIDGE, -1, float(v)).transform.location.z for v in s])
    assert np.abs(np.diff(z)).max() <= 0.08  # grade <= 8 %
    assert z[0] == pytest.approx(0.0, abs=1e-6) and z[-1] == pytest.approx(0.0, abs=1e-6)


def test_vehicles_above_and_below_overlap_in_plan_but_never_collide(world):
    low = world.spawn_vehicle(_tf(world, LOWER, -1, CROSSING_S), role_name="scenario")
    top = world.spawn_vehicle(_tf(world, BRIDGE, -1, CROSSING_S), role_name="scenario")  # no "occupied" error
    a, b = world.get_actor_state(low), world.get_actor_state(top)
    assert obb_overlap(*_xy_box(a), *_xy_box(b))
    assert b.transform.location.z - a.transform.location.z == pytest.approx(DECK_M, abs=0.05)
    events = []
    for _ in range(40):
        for actor in (low, top):
            world.apply_control(actor, carla.VehicleControl(throttle=0.3))
        world.tick()
        events += world.pop_events()
    assert not [e for e in events if isinstance(e, CollisionEvent)]
    a, b = world.get_actor_state(low), world.get_actor_state(top)
    assert a.speed_mps > 1.0 and b.speed_mps > 1.0  # neither was stopped by the other
    assert b.transform.location.z > a.transform.location.z + DECK_M - 0.5


def test_props_are_hit_only_within_their_heights():
    bounds = (-50.0, -50.0, 50.0, 50.0)
    deck = build_static_grid(np.array([0.0]), np.array([0.0]), np.zeros(1), np.array([10.0]),
                             np.array([5.0]), bounds, z0=np.array([7.0]), z1=np.array([8.0]))
    car = (np.zeros(1), np.zeros(1), np.zeros(1), np.array([2.4]), np.array([1.0]), np.zeros(1), np.array([0.8]))
    assert not box_contacts((0.0, 0.0, 0.0, 2.4, 1.0, 0.0, 1.6), 0, car, deck, bounds)  # car below the deck
    assert box_contacts((0.0, 0.0, 0.0, 2.4, 1.0, 7.5, 9.1), 0, car, deck, bounds).props.tolist() == [0]
    # bodies: the same plan-view box on another level is not touched; without heights it is
    assert not box_contacts((0.0, 0.0, 0.0, 2.4, 1.0, 8.0, 9.6), -1, car, deck, (-1, -1, 1, 1)).bodies.size
    assert box_contacts((0.0, 0.0, 0.0, 2.4, 1.0), -1, car[:5], deck, (-1, -1, 1, 1)).bodies.tolist() == [0]


def test_climbing_the_ramp_pitches_up_raises_gnss_altitude_and_tilts_the_imu(world):
    ego = world.spawn_vehicle(_tf(world, BRIDGE, -1, 60.0))
    world.attach_sensor(SensorSpec.from_dict({"type": "sensor.other.gnss", "id": "gps"}), ego)
    world.attach_sensor(SensorSpec.from_dict({"type": "sensor.other.imu", "id": "imu"}), ego)
    alt, pitch, z = [], [], []
    for _ in range(120):
        world.apply_control(ego, carla.VehicleControl(throttle=0.7))
        world.tick()
        data = world.read_sensors()
        state = world.get_actor_state(ego)
        alt.append(float(data["gps"][1][2]))
        pitch.append(state.transform.rotation.pitch)
        z.append(state.transform.location.z)
    assert 1.0 < z[-1] < DECK_M and max(pitch) > 2.0 and min(pitch) >= 0.0
    assert np.allclose(alt, z, atol=1e-3)  # GNSS mounted at the origin: altitude is the road height
    assert np.all(np.diff(alt) > -1e-3) and alt[-1] - alt[0] > 1.0
    for _ in range(60):  # stop on the ramp: the accelerometer then reads gravity, tilted by the pitch
        world.apply_control(ego, carla.VehicleControl(brake=1.0))
        world.tick()
        data = world.read_sensors()
    state = world.get_actor_state(ego)
    assert state.speed_mps == 0.0
    p = math.radians(state.transform.rotation.pitch)
    assert p > math.radians(2.0)
    ax, _, az = data["imu"][1][:3]
    assert ax == pytest.approx(9.81 * math.sin(p), abs=0.02) and az == pytest.approx(9.81 * math.cos(p), abs=0.05)


def _render(world: EmbeddedWorld, parent: int, pose: dict) -> tuple[np.ndarray, np.ndarray]:
    """(tags, depth metres) of a 160 x 80 camera pair mounted at `pose` on `parent`."""
    common = {"width": 160, "height": 80, "fov": 90, **pose}
    world.attach_sensor(SensorSpec.from_dict({"type": "sensor.camera.semantic_segmentation", "id": "seg", **common}),
                        parent)
    world.attach_sensor(SensorSpec.from_dict({"type": "sensor.camera.depth", "id": "depth", **common}), parent)
    data = world.read_sensors()
    tags = data["seg"][1][:, :, 2]
    bgra = data["depth"][1].astype(np.float64)
    depth = 1000.0 * (bgra[:, :, 2] + bgra[:, :, 1] * 256 + bgra[:, :, 0] * 65536) / (256**3 - 1)
    return tags, depth


def test_camera_under_the_bridge_sees_the_deck_above_the_horizon(world):
    ego = world.spawn_vehicle(_tf(world, LOWER, -1, CROSSING_S - 15.0))
    tags, _ = _render(world, ego, {"x": 1.3, "z": 2.3})
    above = tags[:38]  # rows above the horizon (the camera is level on a flat street)
    assert (above == Tag.BRIDGE).sum() > 50


def test_camera_on_the_bridge_sees_the_road_below(world):
    ego = world.spawn_vehicle(_tf(world, BRIDGE, -1, CROSSING_S - 8.0))
    assert world.get_actor_state(ego).transform.location.z == pytest.approx(DECK_M, abs=0.01)
    tags, depth = _render(world, ego, {"x": 0.0, "z": 2.3, "yaw": 90.0, "pitch": -30.0})  # over the rail
    far_road = (tags == Tag.ROAD) & (depth > DECK_M)  # the street below, seen past the deck's edge
    assert far_road.sum() > 50


def _route(world: EmbeddedWorld, s0: float, s1: float) -> list[carla.Transform]:
    return [_tf(world, BRIDGE, -1, float(s)) for s in np.arange(s0, s1, 2.0)]


def test_driving_over_the_bridge_stays_in_the_route_lanes(world):
    route = _route(world, 100.0, 400.0)
    ego = world.spawn_vehicle(route[0])
    criterion = OutsideRouteLanesTest(RoutePath(route), world.get_map(), route[0].location)
    events, top_z = [], 0.0
    for _ in range(600):
        world.apply_control(ego, carla.VehicleControl(throttle=0.6))
        world.tick()
        state = world.get_actor_state(ego)
        criterion.update(CriteriaTick(ego=state, game_time_s=world.elapsed_seconds))
        events += world.pop_events()
        top_z = max(top_z, state.transform.location.z)
        if state.transform.location.x > route[-1].location.x:
            break
    assert top_z == pytest.approx(DECK_M, abs=0.05)
    assert criterion.total_m > 250.0 and criterion.wrong_m == 0.0
    assert not [e for e in events if isinstance(e, (OffRoadEvent, LaneInvasionEvent, CollisionEvent))]


def test_off_road_is_judged_at_the_actors_level(world):
    tracker = LaneEventTracker(world.get_map(), world.layout.drivable)
    under_deck = (-15.0, 0.0)  # below the deck, beside the lower street
    on_deck = tracker.update(1, 1, *under_deck, DECK_M, 0.0, 2.4, 1.0)
    below = tracker.update(1, 2, *under_deck, 0.0, 0.0, 2.4, 1.0)
    assert not on_deck and [type(e) for e in below] == [OffRoadEvent]


def test_npcs_and_walkers_take_their_level(world):
    npc = world.spawn_vehicle(_tf(world, BRIDGE, -1, 90.0), role_name="npc", autopilot=True)
    for _ in range(20):
        world.tick()
    state = world.get_actor_state(npc)
    assert state.transform.location.z > 0.1 and state.transform.rotation.pitch > 0.5  # climbing
    sidewalk = world.get_map().get_waypoint_xodr(BRIDGE, -2, CROSSING_S)
    loc = sidewalk.transform.location
    walker = world.spawn_walker(carla.Transform(carla.Location(loc.x, loc.y, loc.z + 0.15)))
    for _ in range(20):
        world.tick()
    assert world.get_actor_state(walker).transform.location.z == pytest.approx(DECK_M + 0.15, abs=0.05)


def _npc_speeds(near: dict[str, bool], ticks: int = 160) -> dict[str, list[float]]:
    """Speeds of two NPCs, one per level, heading for the crossing; one `near` False starts far off."""
    w = EmbeddedWorld()
    w.load_map(TOWN, seed=0)
    starts = {"top": (BRIDGE, -1, CROSSING_S - 40.0), "low": (LOWER, -1, CROSSING_S - 40.0)}
    far = {"top": (BRIDGE, 1, 80.0), "low": (LOWER, 1, 80.0)}  # the other lane, far from the crossing
    ids = {k: w.spawn_vehicle(_tf(w, *(starts[k] if near[k] else far[k])), role_name="npc", autopilot=True)
           for k in ("top", "low")}
    speeds: dict[str, list[float]] = {k: [] for k in ids}
    for _ in range(ticks):
        w.tick()
        for k, i in ids.items():
            speeds[k].append(w.get_actor_state(i).speed_mps)
    w.close()
    return speeds


def test_traffic_on_the_two_levels_never_interacts():
    both = _npc_speeds({"top": True, "low": True})
    alone_top = _npc_speeds({"top": True, "low": False})["top"]
    alone_low = _npc_speeds({"top": False, "low": True})["low"]
    assert np.allclose(both["top"], alone_top) and np.allclose(both["low"], alone_low)
    assert min(both["top"][40:]) > 1.0 and min(both["low"][40:]) > 1.0  # nobody stopped at the crossing
