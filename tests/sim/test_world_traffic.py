"""NPC drivers, traffic lights and pedestrians of the embedded world on town_grid."""
from __future__ import annotations

import math

import carla
import numpy as np
import pytest
import shapely

from driving.sim import blueprints
from driving.sim.embedded_world import EmbeddedWorld
from driving.sim.lane_graph import build_lane_graph
from driving.sim.traffic import DEADLOCK_S
from driving.sim.traffic_lights import SAME_AXIS_DEG
from driving.world import ActorKind, CollisionEvent

GREEN, YELLOW, RED = carla.TrafficLightState.Green, carla.TrafficLightState.Yellow, carla.TrafficLightState.Red


def _xy(states, kind):
    return np.array([[s.transform.location.x, s.transform.location.y] for s in states if s.kind == kind])


def test_npcs_drive_on_the_road_without_overlapping(town_world):
    world = town_world
    world.spawn_traffic(20, 0, seed=1)
    drivable = world.layout.drivable
    start = _xy(world.get_actor_states(), ActorKind.VEHICLE)
    assert len(start) == 20
    for k in range(600):
        world.tick()
        if k % 50 == 49:
            states = world.get_actor_states()
            xy = _xy(states, ActorKind.VEHICLE)
            assert shapely.intersects_xy(drivable, xy[:, 0], xy[:, 1]).all()
            for s in states:  # heading follows the lane: speed along the velocity
                assert s.velocity.length() == pytest.approx(abs(s.speed_mps), abs=1e-6)
    moved = np.hypot(*(xy - start).T)
    assert np.median(moved) > 40.0  # 30 s of driving
    assert (moved > 5.0).mean() > 0.8


def _light_with_upstream_lane(world: EmbeddedWorld):
    for light in world.get_traffic_lights():
        for stop in light.stop_waypoints:
            back = stop.previous(30.0)
            if back and not back[0].is_junction and back[0].road_id == stop.road_id:
                return light, stop, back[0]
    raise AssertionError("no traffic light with 30 m of straight lane before it")


def test_npc_stops_at_a_red_light_and_goes_on_green(town_world):
    world = town_world
    light, stop, start = _light_with_upstream_lane(world)
    world.set_traffic_light_state(light.id, RED, freeze=True)
    npc = world.spawn_vehicle(start.transform, "vehicle.car", role_name="npc", autopilot=True)
    for _ in range(300):
        world.tick()
    state = world.get_actor_state(npc)
    assert abs(state.speed_mps) < 0.05
    yaw = math.radians(stop.transform.rotation.yaw)
    d = state.transform.location - stop.transform.location
    front_past_line = d.x * math.cos(yaw) + d.y * math.sin(yaw) + state.extent.x
    assert -4.0 < front_past_line < 0.5  # waiting right at the stop line
    world.set_traffic_light_state(light.id, GREEN, freeze=True)
    for _ in range(100):
        world.tick()
    d = world.get_actor_state(npc).transform.location - stop.transform.location
    assert d.x * math.cos(yaw) + d.y * math.sin(yaw) > 5.0  # crossed the line


def test_lights_cycle_per_junction_and_opposite_approaches_share_green(town_world):
    world = town_world
    lights = world.get_traffic_lights()
    seen = {tl.id: set() for tl in lights}
    groups: dict[int, list] = {}
    for tl in lights:
        groups.setdefault(tl.group_id, []).append(tl)
    for _ in range(int(40 / world.fixed_delta_seconds)):
        world.tick()
        for tl in lights:
            seen[tl.id].add(world.get_traffic_light_state(tl.id))
        for members in groups.values():
            green_axes = [members[k].stop_waypoints[0].transform.rotation.yaw % 180.0
                          for k in range(len(members)) if world.get_traffic_light_state(members[k].id) == GREEN]
            for a in green_axes:
                for b in green_axes:
                    diff = abs(a - b) % 180.0
                    assert min(diff, 180.0 - diff) < SAME_AXIS_DEG  # no conflicting greens
    assert all(states == {GREEN, YELLOW, RED} for states in seen.values())


def test_forced_light_state_freeze_and_release(town_world):
    world = town_world
    light = world.get_traffic_lights()[0]
    world.set_traffic_light_state(light.id, GREEN, freeze=True)
    for _ in range(600):
        world.tick()
        assert world.get_traffic_light_state(light.id) == GREEN
    world.set_traffic_light_state(light.id, YELLOW, freeze=False)
    assert world.get_traffic_light_state(light.id) == YELLOW
    states = set()
    for _ in range(800):  # a full cycle later the light is back on its own schedule
        world.tick()
        states.add(world.get_traffic_light_state(light.id))
    assert states == {GREEN, YELLOW, RED}


def test_walkers_stay_on_sidewalks_and_crosswalks(town_world):
    world = town_world
    world.spawn_traffic(0, 20, seed=2)
    allowed = shapely.union_all([world.layout.sidewalk, *world.layout.crosswalks]).buffer(0.3)
    shapely.prepare(allowed)
    start = _xy(world.get_actor_states(), ActorKind.WALKER)
    assert len(start) == 20
    for k in range(600):
        world.tick()
        if k % 25 == 24:
            states = world.get_actor_states()
            xy = _xy(states, ActorKind.WALKER)
            assert shapely.intersects_xy(allowed, xy[:, 0], xy[:, 1]).all()
            speeds = np.array([s.speed_mps for s in states])
            assert (speeds <= 1.6 + 1e-9).all()
    assert (np.hypot(*(xy - start).T) > 3.0).mean() > 0.8


def test_walker_target_walks_straight_across_anything(town_world):
    world = town_world
    spawn = world.get_spawn_points()[3]
    walker = world.spawn_walker(spawn, autopilot=True)
    here = world.get_actor_state(walker).transform.location
    target = carla.Location(here.x + 6.0, here.y - 8.0, here.z)
    world.set_walker_target(walker, target, 2.0)
    for _ in range(int(5.0 / 0.05) + 2):
        world.tick()
        loc = world.get_actor_state(walker).transform.location
        # on the straight segment between start and target
        t = ((loc.x - here.x) * 6.0 + (loc.y - here.y) * -8.0) / 100.0
        assert math.hypot(here.x + 6.0 * t - loc.x, here.y - 8.0 * t - loc.y) < 1e-4  # carla.Location is float32
    state = world.get_actor_state(walker)
    assert state.transform.location.distance(target) < 1e-4 and state.speed_mps == 0.0


def test_npc_keeps_distance_behind_a_stopped_ego(town_world):
    world = town_world
    spawn = world.get_spawn_points()[0]
    start = world.get_map().get_waypoint(spawn.location)
    ahead = start.next(45.0)[0]
    assert not ahead.is_junction and ahead.road_id == start.road_id
    ego = world.spawn_vehicle(ahead.transform, role_name="hero")
    npc = world.spawn_vehicle(spawn, "vehicle.van", role_name="npc", autopilot=True)
    closest = np.inf
    for _ in range(400):
        world.tick()
        gap = world.get_actor_state(npc).transform.location.distance(ahead.transform.location)
        closest = min(closest, gap)
    van, car = world.get_actor_state(npc), world.get_actor_state(ego)
    bumper_gap = closest - van.extent.x - car.extent.x
    assert 1.0 < bumper_gap < 5.0 and abs(van.speed_mps) < 0.05
    assert world.pop_events() == []  # no contact


def test_npc_makes_a_full_stop_at_a_stop_sign_then_goes(town_world):
    world = town_world
    sign = world.get_stop_signs()[0]
    stop = sign.stop_waypoints[0]
    start = stop.previous(25.0)[0]
    npc = world.spawn_vehicle(start.transform, "vehicle.car", role_name="npc", autopilot=True)
    yaw = math.radians(stop.transform.rotation.yaw)
    stopped_near_line, passed = False, False
    for _ in range(400):
        world.tick()
        state = world.get_actor_state(npc)
        d = state.transform.location - stop.transform.location
        front = d.x * math.cos(yaw) + d.y * math.sin(yaw) + state.extent.x
        if abs(state.speed_mps) < 0.01 and -3.0 < front < 0.5:
            stopped_near_line = True
        if front > 3.0 or state.transform.location.distance(stop.transform.location) > 30.0:
            passed = True
            break
    assert stopped_near_line and passed


def test_npc_follows_a_given_route(town_world):
    world = town_world
    carla_map = world.get_map()
    spawn = world.get_spawn_points()[10]
    wp = carla_map.get_waypoint(spawn.location)
    # a destination three junction choices away, taking the last option each time
    for _ in range(3):
        while not wp.is_junction:
            wp = wp.next(5.0)[-1]
        wp = wp.next(5.0)[-1]
        while wp.is_junction:
            wp = wp.next(5.0)[0]
    target = wp.next(10.0)[0].transform.location
    npc = world.spawn_vehicle(spawn, "vehicle.car", role_name="npc", autopilot=True, route=[target])
    closest = np.inf
    for _ in range(1600):
        world.tick()
        closest = min(closest, world.get_actor_state(npc).transform.location.distance(target))
        if closest < 1.0:
            break
    assert closest < 1.0


def _polyline(wp, step_m=1.0):
    pts = [wp.transform.location]
    nxt = wp.next(step_m)
    while nxt and nxt[0].road_id == wp.road_id and len(pts) < 200:
        pts.append(nxt[0].transform.location)
        nxt = nxt[0].next(step_m)
    return pts


def _npc_behind_a_car_parked_in_a_junction(world: EmbeddedWorld) -> tuple[int, int, carla.Location]:
    """(npc, parked car, npc target): an autopilot car 25 m before a stop-sign junction of town_grid
    and a car (not on autopilot) parked on another connector of it, clear of the NPC's path."""
    carla_map = world.get_map()
    stop = world.get_stop_signs()[0].stop_waypoints[0]
    entry = next(w for w in stop.next(8.0) if w.is_junction)
    while entry.previous(1.0) and entry.previous(1.0)[0].is_junction:
        entry = entry.previous(1.0)[0]
    own = _polyline(entry)
    exit_wp = own[-1]
    target = carla_map.get_waypoint(exit_wp).next(8.0)[0].transform.location
    # a parked car on another connector of the same junction, clear of the NPC's own path
    parked_at = None
    for start, _ in entry.get_junction().get_waypoints(carla.LaneType.Driving):
        clearance, spot = max((min(q.distance(p) for p in own), i) for i, q in enumerate(_polyline(start)))
        if clearance > 4.5:
            parked_at = carla_map.get_waypoint(_polyline(start)[spot])
            break
    assert parked_at is not None
    blocker = world.spawn_vehicle(parked_at.transform, role_name="scenario")
    npc = world.spawn_vehicle(stop.previous(25.0)[0].transform, autopilot=True, route=[target])
    return npc, blocker, target


def test_npc_does_not_enter_an_unsignalized_junction_while_another_car_is_inside(town_world):
    world = town_world
    carla_map = world.get_map()
    npc, blocker, target = _npc_behind_a_car_parked_in_a_junction(world)
    for _ in range(300):
        world.tick()
        assert not carla_map.get_waypoint(world.get_actor_state(npc).transform.location).is_junction
    assert abs(world.get_actor_state(npc).speed_mps) < 0.05
    world.destroy_actor(blocker)
    closest = np.inf
    for _ in range(300):
        world.tick()
        closest = min(closest, world.get_actor_state(npc).transform.location.distance(target))
    assert closest < 1.0


def test_npc_stops_yielding_to_a_car_stuck_in_a_junction_after_the_deadlock_time(town_world):
    """No yield wait lasts forever: after `DEADLOCK_S` of waiting the NPC enters anyway (the parked
    car is clear of its path, so it passes without contact)."""
    world = town_world
    npc, _, target = _npc_behind_a_car_parked_in_a_junction(world)
    waited_s, closest = 0.0, np.inf
    for _ in range(int((DEADLOCK_S + 25.0) / world.fixed_delta_seconds)):
        world.tick()
        state = world.get_actor_state(npc)
        if abs(state.speed_mps) < 0.05:
            waited_s += world.fixed_delta_seconds
        closest = min(closest, state.transform.location.distance(target))
        if closest < 1.0:
            break
    assert closest < 1.0
    assert waited_s > DEADLOCK_S  # it did yield first
    assert not [e for e in world.pop_events() if isinstance(e, CollisionEvent)]


def test_light_state_is_readable_per_lane():
    """Every governed lane maps back to its light, whose state matches the per-light read."""
    world = EmbeddedWorld()
    try:
        carla_map = world.load_map("town_grid", seed=0)
        lights = world.get_traffic_lights()
        assert lights
        for light in lights:
            for stop in light.stop_waypoints:
                found = world.get_traffic_light_for_lane(stop)
                assert found is not None and found.id == light.id
                assert world.get_traffic_light_state(found.id) == world.light_states()[light.id]
        far_lane = carla_map.get_waypoint(lights[0].stop_waypoints[0].transform.location)
        assert world.get_traffic_light_for_lane(far_lane) is not None
    finally:
        world.close()



def _through(entry: carla.Waypoint, beyond_m: float) -> carla.Location:
    """A point `beyond_m` past the end of the junction connector starting at `entry`."""
    wp = entry
    while wp.is_junction:
        wp = wp.next(1.0)[0]
    return wp.next(beyond_m)[0].transform.location


def test_npcs_waiting_at_two_approaches_of_a_diagonal_stop_sign_junction_both_pass():
    """Regression (town_suburb, stop-sign T junction near (190, -117)): the old occupancy test, an
    axis-aligned box around the connectors, covered cars waiting at two approaches of this diagonal
    junction, so each yielded to the other forever. Now only cars really inside count."""
    world = EmbeddedWorld()
    try:
        carla_map = world.load_map("town_suburb", seed=0)
        stop = min((w for sign in world.get_stop_signs() for w in sign.stop_waypoints),
                   key=lambda w: w.transform.location.distance(carla.Location(190.0, -117.0, 0.0)))
        junction = next(w for w in stop.next(6.0) if w.is_junction).get_junction()
        yaw = math.radians(stop.transform.rotation.yaw)
        assert abs(math.sin(2.0 * yaw)) > 0.5  # a diagonal approach
        entries = sorted((a for a, _ in junction.get_waypoints(carla.LaneType.Driving)),
                         key=lambda w: (w.road_id, w.lane_id, w.s))
        own = next(a for a in entries if a.transform.location.distance(stop.transform.location) < 6.0)
        other = next(a for a in entries if a.transform.location.distance(stop.transform.location) > 10.0)
        bike = blueprints.vehicle_type("vehicle.bicycle").extent_m[0]
        # both standing where NPCs wait to enter (1 m before the junction), as in the reported
        # standoff: the first has passed its stop line, which is 5 m before the junction
        a = world.spawn_vehicle(own.previous(bike + 1.0)[0].transform, "vehicle.bicycle", autopilot=True,
                                route=[_through(own, 10.0)])
        b = world.spawn_vehicle(other.previous(bike + 1.0)[0].transform, "vehicle.bicycle", autopilot=True,
                                route=[_through(other, 10.0)])
        starts = [world.get_actor_state(x).transform.location for x in (a, b)]
        moved = [0.0, 0.0]
        for _ in range(int(30.0 / world.fixed_delta_seconds)):
            world.tick()
            moved = [world.get_actor_state(x).transform.location.distance(p) for x, p in zip((a, b), starts)]
            if min(moved) > 25.0:
                break
        assert min(moved) > 25.0, moved  # both crossed the junction well within 30 s
        assert not [e for e in world.pop_events() if isinstance(e, CollisionEvent)]
        assert carla_map.get_waypoint(starts[0]).junction_id == -1
    finally:
        world.close()



def _straight_road_xodr(rid: int, x_m: float, length_m: float, pred: int | None, succ: int | None) -> str:
    links = "".join(f'<{kind} elementType="road" elementId="{other}" contactPoint="{point}"/>'
                    for kind, other, point in (("predecessor", pred, "end"), ("successor", succ, "start"))
                    if other is not None)
    lane_links = "".join(f'<{kind} id="-1"/>' for kind, other in (("predecessor", pred), ("successor", succ))
                         if other is not None)
    return (f'<road name="r{rid}" length="{length_m}" id="{rid}" junction="-1"><link>{links}</link>'
            f'<planView><geometry s="0" x="{x_m}" y="0" hdg="0" length="{length_m}"><line/></geometry>'
            f'</planView><lanes><laneSection s="0"><center><lane id="0" type="none" level="false"/></center>'
            f'<right><lane id="-1" type="driving" level="false"><link>{lane_links}</link>'
            f'<width sOffset="0" a="3.5" b="0" c="0" d="0"/></lane></right></laneSection></lanes></road>')


def test_lane_graph_keeps_a_millimetre_lane_as_a_stub():
    """carla refuses `next_until_lane_end` on lanes shorter than the step ("distance > 0.0"): such
    a lane becomes a 1 cm stub that still links its neighbours."""
    roads = (_straight_road_xodr(1, 0.0, 50.0, None, 2) + _straight_road_xodr(2, 50.0, 0.001, 1, 3)
             + _straight_road_xodr(3, 50.001, 50.0, 2, None))
    xodr = ('<?xml version="1.0" standalone="yes"?><OpenDRIVE><header revMajor="1" revMinor="4" name="tiny" '
            f'version="1"/>{roads}</OpenDRIVE>')
    graph = build_lane_graph(carla.Map("tiny_lane", xodr))
    stub = graph.index[(2, 0, -1)]
    assert graph.n[stub] == 2 and graph.length[stub] == pytest.approx(0.01, abs=1e-3)
    assert list(graph.succ[graph.index[(1, 0, -1)], :1]) == [stub]
    assert list(graph.succ[stub, :1]) == [graph.index[(3, 0, -1)]]
