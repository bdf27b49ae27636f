"""NPC right of way in large multi-lane junctions (town_arterial): conflict areas, left turns,
first come first served, and dense traffic that never jams or overlaps inside junctions."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from driving.sim.embedded_world import EmbeddedWorld
from driving.sim.maps import town_arterial
from driving.sim.traffic_junctions import LEFT_TURN_RAD

SIGNALIZED = 500 + town_arterial.ARTERIAL_ROW * town_arterial.NODES_PER_SIDE + town_arterial.ARTERIAL_COLUMN
UNSIGNALIZED = 500 + 2 * town_arterial.NODES_PER_SIDE + 2  # arterial column crossing street row 2


@pytest.fixture
def world():
    w = EmbeddedWorld()
    w.load_map(town_arterial.NAME, seed=0)
    yield w
    w.close()


def _boxes(world: EmbeddedWorld, rows: np.ndarray) -> list[shapely.Polygon]:
    b = world._bodies
    out = []
    for r in rows:
        c, s = np.cos(b.yaw[r]), np.sin(b.yaw[r])
        corners = [(b.x[r] + c * u * b.hl[r] - s * v * b.hw[r], b.y[r] + s * u * b.hl[r] + c * v * b.hw[r])
                   for u, v in ((1, 1), (1, -1), (-1, -1), (-1, 1))]
        out.append(shapely.Polygon(corners))
    return out


def _overlaps_in_junctions(world: EmbeddedWorld) -> list[tuple[int, int]]:
    """Pairs of NPC rows whose oriented boxes overlap (> 1 dm^2) where one of them is on a connector."""
    t = world._traffic
    boxes = _boxes(world, t.rows)
    tree = shapely.STRtree(boxes)
    inside = world.graph.junction[t.route[:, 0]] >= 0
    pairs = []
    for i in np.nonzero(inside)[0]:
        for j in tree.query(boxes[i], predicate="intersects"):
            if j != i and boxes[i].intersection(boxes[j]).area > 0.01:
                pairs.append((int(t.rows[i]), int(t.rows[j])))
    return pairs


def test_dense_traffic_keeps_moving_for_two_minutes_without_overlaps_in_junctions(world):
    world.spawn_traffic(130, 0, seed=3)
    t, b = world._traffic, world._bodies
    assert len(t) == 130
    history, overlaps = [], []
    for k in range(int(120.0 / world.fixed_delta_seconds)):
        world.tick()
        if k % 20 == 0:
            history.append(np.stack([b.x[t.rows], b.y[t.rows]], 1).copy())
            overlaps += _overlaps_in_junctions(world)
    moved = np.hypot(*(history[-1] - history[-31]).T)  # the last 30 s
    moving = (moved > 5.0) | (t.v > 0.5)
    assert moving.mean() >= 0.9, f"{int(moving.sum())} of {len(t)} moved in the last 30 s"
    assert overlaps == []


def _connector(world: EmbeddedWorld, junction_id: int, want_turn: str, avoid: int | None = None) -> int:
    """A lane segment of the junction turning left/going straight (lowest index; deterministic)."""
    g = world.graph
    for k in np.nonzero(g.junction == junction_id)[0]:
        a, z = g.off[k], g.off[k] + g.n[k] - 1
        turn = (g.yaw[z] - g.yaw[a] + np.pi) % (2 * np.pi) - np.pi
        kind = "left" if turn < -LEFT_TURN_RAD else "right" if turn > LEFT_TURN_RAD else "straight"
        if kind == want_turn and k != avoid:
            return int(k)
    raise AssertionError(f"no {want_turn} connector in junction {junction_id}")


def _conflicts_of(world: EmbeddedWorld, seg: int) -> dict[int, tuple[float, float]]:
    """Connector -> conflict area (s_in, s_out metres on `seg`) of the connectors crossing `seg`
    (town_arterial's connectors are single lane segments, so a movement is one segment)."""
    jn, move = world._traffic.junctions, world._traffic._lanes.move
    first_seg = {int(move[k]): int(k) for k in np.nonzero(move >= 0)[0]}
    c = int(move[seg])
    ks = range(jn.conf_off[c], jn.conf_off[c + 1])
    return {first_seg[int(jn.conf_move[k])]: (float(jn.conf_in[k]), float(jn.conf_out[k])) for k in ks}


def _spawn_before(world: EmbeddedWorld, seg: int, before_m: float) -> int:
    """An NPC `before_m` before the start of connector `seg`, routed through it."""
    g = world.graph
    pred = next(k for k in range(g.n_segments) if seg in g.succ[k, :g.n_succ[k]])
    wp = g.entry_wps[pred]
    start = wp.next(max(float(g.length[pred]) - before_m, 0.5))[0]
    end = g.pts[g.off[seg] + g.n[seg] - 1]
    exit_wp = world.get_map().get_waypoint(_loc(end[0], end[1])).next(10.0)[0]
    return world.spawn_vehicle(start.transform, "vehicle.car", role_name="npc", autopilot=True,
                               route=[start.next(1.0)[0].transform.location, exit_wp.transform.location])


def _loc(x: float, y: float):
    import carla

    return carla.Location(float(x), float(y), 0.0)


def test_conflict_table_links_crossing_connectors_only(world):
    left = _connector(world, SIGNALIZED, "left")
    conflicts = _conflicts_of(world, left)
    g = world.graph
    own_pred = {k for k in range(g.n_segments) if left in g.succ[k, :g.n_succ[k]]}
    crossing = [c for c in conflicts if not own_pred & {k for k in range(g.n_segments) if c in g.succ[k, :g.n_succ[k]]}]
    assert crossing and len(crossing) == len(conflicts)  # never a connector from the same lane
    for s_in, s_out in conflicts.values():
        assert 0.0 <= s_in <= s_out <= g.length[left] + 1e-9
    # straight connectors of one approach run side by side 3.5 m apart: no conflict
    straight = _connector(world, SIGNALIZED, "straight")
    a = g.pts[g.off[straight]]
    neighbours = [k for k in np.nonzero(g.junction == SIGNALIZED)[0] if k != straight
                  and 3.0 < np.hypot(*(g.pts[g.off[k]] - a)) < 4.0
                  and abs(np.cos(g.yaw[g.off[k]] - g.yaw[g.off[straight]])) > 0.99
                  and np.cos(g.yaw[g.off[k]] - g.yaw[g.off[straight]]) > 0]
    assert neighbours and not set(neighbours) & set(_conflicts_of(world, straight))


def _light_ids(world: EmbeddedWorld, junction_id: int) -> list[int]:
    return [tl.id for tl in world.get_traffic_lights() if tl.group_id == junction_id]


def _area_time(world: EmbeddedWorld, npc: int, seg: int, s_in: float, s_out: float) -> tuple[bool, bool]:
    """(inside the conflict area now, past it) for an NPC driving through connector `seg`."""
    t = world._traffic
    i = t.index_of(world._actors[npc].row)
    hl = t.hl[i]
    if t.route[i, 0] == seg:
        return t.s[i] + hl > s_in and t.s[i] - hl < s_out, t.s[i] - hl >= s_out
    past = seg not in t.route[i]
    return False, past


def _oncoming_straight(world: EmbeddedWorld, left: int) -> int:
    """The straight connector of the oncoming approach that crosses left-turn connector `left`."""
    g = world.graph
    h = g.yaw[g.off[left]]
    oncoming = [c for c in _conflicts_of(world, left)
                if np.cos(g.yaw[g.off[c]] - h) < -0.9 and abs(g.yaw[g.off[c] + g.n[c] - 1] - g.yaw[g.off[c]]) < 0.2]
    assert oncoming
    return oncoming[0]


def test_left_turn_yields_to_oncoming_straight_traffic(world):
    import carla

    for light in _light_ids(world, SIGNALIZED):
        world.set_traffic_light_state(light, carla.TrafficLightState.Green, freeze=True)
    left = _connector(world, SIGNALIZED, "left")
    g = world.graph
    straight = _oncoming_straight(world, left)
    s_in, s_out = _conflicts_of(world, left)[straight]
    s2_in, s2_out = _conflicts_of(world, straight)[left]
    through = _spawn_before(world, straight, 70.0)
    start = g.pts[g.off[straight]]
    while world.get_actor_state(through).transform.location.distance(_loc(*start)) > 30.0:
        world.tick()
    assert world.get_actor_state(through).speed_mps > 5.0
    turner = _spawn_before(world, left, 4.0)  # waiting at the line, nearer the conflict area
    turner_in_at = through_past_at = None
    for k in range(int(25.0 / world.fixed_delta_seconds)):
        world.tick()
        in_a, _ = _area_time(world, turner, left, s_in, s_out)
        in_b, past_b = _area_time(world, through, straight, s2_in, s2_out)
        assert not (in_a and in_b)
        if in_a and turner_in_at is None:
            turner_in_at = k
        if past_b and through_past_at is None:
            through_past_at = k
    assert through_past_at is not None and turner_in_at is not None
    assert through_past_at <= turner_in_at  # the oncoming car crossed first, though the turner was nearer
    assert turner_in_at * world.fixed_delta_seconds < 15.0  # and the turner went right after it


def test_npcs_on_crossing_connectors_never_both_enter_the_conflict_area(world):
    g = world.graph
    first = _connector(world, UNSIGNALIZED, "straight")
    h = g.yaw[g.off[first]]
    crossing = [c for c in _conflicts_of(world, first) if abs(np.cos(g.yaw[g.off[c]] - h)) < 0.3
                and abs(g.yaw[g.off[c] + g.n[c] - 1] - g.yaw[g.off[c]]) < 0.2]
    assert crossing
    second = crossing[0]
    s_in, s_out = _conflicts_of(world, first)[second]
    s2_in, s2_out = _conflicts_of(world, second)[first]
    a = _spawn_before(world, first, 20.0)
    b = _spawn_before(world, second, 20.0)
    passed = [False, False]
    for _ in range(int(25.0 / world.fixed_delta_seconds)):
        world.tick()
        in_a, past_a = _area_time(world, a, first, s_in, s_out)
        in_b, past_b = _area_time(world, b, second, s2_in, s2_out)
        assert not (in_a and in_b)
        passed = [passed[0] or past_a, passed[1] or past_b]
        if all(passed):
            break
    assert all(passed)
    assert _overlaps_in_junctions(world) == []


def test_oncoming_traffic_does_not_wait_for_a_left_turner_queued_behind_a_standing_car(world):
    """A left turner goes first when the oncoming traffic stands; a turner queued behind a car
    that stands at the line cannot go, and the oncoming head used to give way to it anyway,
    standing until deadlock recovery (CARLA Town03: both green approaches of a four-way junction
    stood for minutes, training route 26)."""
    import carla

    for light in _light_ids(world, SIGNALIZED):
        world.set_traffic_light_state(light, carla.TrafficLightState.Green, freeze=True)
    left = _connector(world, SIGNALIZED, "left")
    g = world.graph
    straight = _oncoming_straight(world, left)
    s_in, s_out = _conflicts_of(world, straight)[left]
    pred = next(k for k in range(g.n_segments) if left in g.succ[k, :g.n_succ[k]])
    line = g.entry_wps[pred].next(float(g.length[pred]) - 3.0)[0].transform
    world.spawn_vehicle(carla.Transform(line.location + carla.Location(z=0.1), line.rotation), "vehicle.car",
                        role_name="scenario", autopilot=False)  # stands at the line for good
    _spawn_before(world, left, 12.0)  # the turner, queued behind it
    through = _spawn_before(world, straight, 4.0)  # the oncoming head, at its line
    passed_at = None
    for k in range(int(12.0 / world.fixed_delta_seconds)):
        world.tick()
        if _area_time(world, through, straight, s_in, s_out)[1]:
            passed_at = k * world.fixed_delta_seconds
            break
    assert passed_at is not None and passed_at < 6.0, f"the oncoming car passed at {passed_at} s"
