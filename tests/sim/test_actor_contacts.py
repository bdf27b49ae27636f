"""Contacts between any two actors: NPC with NPC, NPC with walker, and the ego's unchanged reports."""
from __future__ import annotations

import math

import carla
import numpy as np
import pytest

from driving.sim import blueprints
from driving.sim.collisions import obb_overlap, overlapping_pairs
from driving.sim.embedded_world import EmbeddedWorld
from driving.world import ActorKind, ActorState, CollisionEvent


def _collisions(world: EmbeddedWorld) -> list[CollisionEvent]:
    return [e for e in world.pop_events() if isinstance(e, CollisionEvent)]


def _touch(a: ActorState, b: ActorState) -> bool:
    pose = [(s.transform.location.x, s.transform.location.y, math.radians(s.transform.rotation.yaw),
             s.extent.x, s.extent.y) for s in (a, b)]
    bodies = tuple(np.array(v, np.float64) for v in zip(*pose))
    return len(overlapping_pairs(bodies, np.ones(2, np.bool_))[0]) == 1


def _inelastic_impulse(me: ActorState, other: ActorState, m_me: float, m_other: float) -> float:
    rel = math.hypot(other.velocity.x - me.velocity.x, other.velocity.y - me.velocity.y)
    return m_me * m_other / (m_me + m_other) * rel


def _two_npcs_on_one_lane(world: EmbeddedWorld) -> tuple[int, int, int, int]:
    """Leader 15 m ahead of a follower on the same lane segment, both autopilot: ids and NPC indices."""
    start = world.get_map().get_waypoint(world.get_spawn_points()[0].location)
    lead = world.spawn_vehicle(start.next(15.0)[0].transform, "vehicle.car", role_name="npc", autopilot=True)
    back = world.spawn_vehicle(start.transform, "vehicle.car", role_name="npc", autopilot=True)
    t = world._traffic
    i_lead, i_back = t.index_of(world._actors[lead].row), t.index_of(world._actors[back].row)
    assert t.route[i_lead, 0] == t.route[i_back, 0]  # one segment: arc lengths compare directly
    return lead, back, i_lead, i_back


def test_pair_sweep_matches_all_pairs_box_test():
    """The sort-and-sweep broad phase finds exactly the pairs an all-pairs oriented-box test finds."""
    rng = np.random.default_rng(0)
    n = 300
    x, y = rng.uniform(0, 120, n), rng.uniform(0, 120, n)
    yaw, hl, hw = rng.uniform(-np.pi, np.pi, n), rng.uniform(0.2, 3.0, n), rng.uniform(0.2, 1.2, n)
    z = rng.choice([0.0, 0.0, 8.0], n)
    hh = np.full(n, 0.8)
    take = rng.random(n) < 0.9
    a, b = overlapping_pairs((x, y, yaw, hl, hw, z, hh), take)
    want = {(i, j) for i in range(n) for j in range(i + 1, n)
            if take[i] and take[j] and z[i] == z[j]
            and obb_overlap(x[i], y[i], yaw[i], hl[i], hw[i], x[j], y[j], yaw[j], hl[j], hw[j])}
    assert len(want) > 20
    assert sorted(zip(a.tolist(), b.tolist())) == sorted(want)


def test_two_npcs_driven_into_each_other_report_once_per_contact_start(town_world):
    world = town_world
    lead, back, i_lead, i_back = _two_npcs_on_one_lane(world)
    t = world._traffic
    world.tick()
    assert _collisions(world) == []
    mass = blueprints.vehicle_type("vehicle.car").mass_kg
    for contact in range(2):
        # the follower's arc length put 3 m behind the leader's (cars are ~4.8 m long): the two
        # lane poses overlap, as when a driver runs into the car ahead; kept there for 6 ticks
        t.v[i_back] = 6.0
        events, frames = [], []
        for k in range(6):
            t.s[i_back] = t.s[i_lead] - 3.0
            frame = world.tick()
            a, b = world.get_actor_state(back), world.get_actor_state(lead)
            assert _touch(a, b)  # still in contact: nothing more is reported
            found = _collisions(world)
            if k == 0:
                states = a, b
            events += found
            frames += [frame] * len(found)
        assert len(events) == 2 and len(set(frames)) == 1, events
        by_actor = {e.actor_id: e for e in events}
        assert set(by_actor) == {back, lead}
        hit, felt = by_actor[back], by_actor[lead]
        assert (hit.other_id, hit.other_kind, hit.other_type_id) == (lead, ActorKind.VEHICLE, "vehicle.car")
        assert (felt.other_id, felt.other_kind) == (back, ActorKind.VEHICLE)
        assert hit.impulse.length() == pytest.approx(_inelastic_impulse(*states, mass, mass), rel=1e-3)
        assert hit.impulse.length() > 1000.0  # closing at several m/s
        assert felt.impulse.x == pytest.approx(-hit.impulse.x) and felt.impulse.y == pytest.approx(-hit.impulse.y)
        assert hit.location.distance(states[0].transform.location) < 4.0
        assert hit.location.distance(states[1].transform.location) < 4.0
        # apart for a tick: the contact ends, and the next overlap is a new contact
        t.s[i_back] = t.s[i_lead] - 20.0
        world.tick()
        assert not _touch(world.get_actor_state(back), world.get_actor_state(lead))
        assert _collisions(world) == []


def test_destroyed_actor_leaves_no_contact_behind(town_world):
    """A pair in contact whose actor is destroyed is forgotten: the row's next actor starts afresh."""
    world = town_world
    _, back, i_lead, i_back = _two_npcs_on_one_lane(world)
    t = world._traffic
    t.s[i_back] = t.s[i_lead] - 3.0
    world.tick()
    assert len(_collisions(world)) == 2
    row = world._actors[back].row
    world.destroy_actor(back)
    assert not [p for p in world._contacts.touching if row in p]


def test_npc_and_a_walker_running_across_its_lane_report_both_ways(town_world):
    world = town_world
    npc = world.spawn_vehicle(world.get_spawn_points()[0], "vehicle.car", role_name="npc", autopilot=True)
    for _ in range(200):  # up to speed
        world.tick()
    state = world.get_actor_state(npc)
    assert state.speed_mps > 5.0
    ahead = world.get_map().get_waypoint(state.transform.location).next(state.extent.x + 3.0)[0]
    yaw = math.radians(ahead.transform.rotation.yaw)
    side = ahead.lane_width / 2 + 0.3
    loc = ahead.transform.location
    start = carla.Location(loc.x - math.sin(yaw) * side, loc.y + math.cos(yaw) * side, loc.z)
    end = carla.Location(loc.x + math.sin(yaw) * side, loc.y - math.cos(yaw) * side, loc.z)
    walker = world.spawn_walker(carla.Transform(start), autopilot=False)
    world.set_walker_target(walker, end, 5.0)  # runs out 3 m in front of the car's bumper
    world.pop_events()
    events, touching, states = [], 0, None
    for _ in range(60):
        world.tick()
        n, w = world.get_actor_state(npc), world.get_actor_state(walker)
        touching += _touch(n, w)
        found = _collisions(world)
        if found and states is None:
            states = n, w
        events += found
    assert touching >= 2  # the contact lasted several ticks and was reported once
    assert len(events) == 2, events
    by_actor = {e.actor_id: e for e in events}
    assert set(by_actor) == {npc, walker}
    hit, felt = by_actor[npc], by_actor[walker]
    assert (hit.other_id, hit.other_kind, hit.other_type_id) == (walker, ActorKind.WALKER, "walker.pedestrian")
    assert (felt.other_id, felt.other_kind, felt.other_type_id) == (npc, ActorKind.VEHICLE, "vehicle.car")
    m_car = blueprints.vehicle_type("vehicle.car").mass_kg
    m_walker = blueprints.walker_type("walker.pedestrian").mass_kg
    assert hit.impulse.length() == pytest.approx(_inelastic_impulse(*states, m_car, m_walker), rel=1e-3)
    assert hit.impulse.length() > 0.0
    assert felt.impulse.x == pytest.approx(-hit.impulse.x) and felt.impulse.y == pytest.approx(-hit.impulse.y)
    assert hit.location.distance(states[1].transform.location) < 1.0  # on the walker's box


def test_ego_contacts_stay_one_report_per_frame_with_the_npc_side_mirrored(town_world):
    """An NPC running into a standing ego: the ego's sensor reports as before (manual_vehicles, one
    event per frame of contact), the NPC's reports the same frames mirrored, nothing twice."""
    world = town_world
    start = world.get_map().get_waypoint(world.get_spawn_points()[0].location)
    spot = start.next(15.0)[0]
    ego = world.spawn_vehicle(spot.transform, "vehicle.car", role_name="hero")
    npc = world.spawn_vehicle(start.transform, "vehicle.car", role_name="npc", autopilot=True)
    t = world._traffic
    i = t.index_of(world._actors[npc].row)
    seg, ego_s = t.graph.locate(spot, spot.transform.location.x, spot.transform.location.y)
    assert seg == t.route[i, 0]
    world.tick()
    assert _collisions(world) == []
    mine, theirs = {}, {}
    for _ in range(4):
        t.s[i] = ego_s - 3.0  # nose 1.8 m into the ego's rear
        t.v[i] = 4.0
        world.tick()
        for e in _collisions(world):
            (mine if e.actor_id == ego else theirs).setdefault(e.frame, []).append(e)
    assert mine and set(mine) == set(theirs)
    for frame, found in mine.items():
        assert len(found) == 1 and found[0].other_id == npc  # once per frame, as manual_vehicles reports
        back = theirs[frame]
        assert len(back) == 1 and back[0].other_id == ego and back[0].other_kind == ActorKind.VEHICLE
        assert back[0].impulse.x == pytest.approx(-found[0].impulse.x)
