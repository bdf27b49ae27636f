"""Crossing pedestrians and standing vehicles: a walker never walks into a car's box, and an
autopilot walker that a standing car blocks on the crosswalk turns back."""
from __future__ import annotations

import numpy as np
import shapely

from driving.sim.pedestrians import GIVE_UP_S, PATH, TARGET, WALKER_RADIUS_M, Pedestrians

DT = 0.05


def _box_distance(x: float, y: float, car: np.ndarray, half: np.ndarray) -> float:
    ex, ey = max(abs(x - car[0]) - half[0], 0.0), max(abs(y - car[1]) - half[1], 0.0)
    return float(np.hypot(ex, ey))


def _street() -> Pedestrians:
    # two sidewalks along x at y = 0 and y = 10, a crosswalk between them at x = 20..23
    xs = np.arange(0.0, 40.01, 0.5)  # sidewalk middle lines are densely sampled, as the layout's
    paths = [np.stack([xs, np.zeros_like(xs)], 1), np.stack([xs, np.full_like(xs, 10.0)], 1)]
    crosswalk = shapely.box(20.0, 0.5, 23.0, 9.5)
    return Pedestrians(paths, [crosswalk], np.random.default_rng(0), cross_probability=1.0)


def test_autopilot_walker_stops_short_of_a_car_on_the_crosswalk_then_turns_back() -> None:
    peds = _street()
    peds.add(0, 15.0, 0.0, 1.4, autopilot=True)
    peds.direction[:] = 1.0
    x, y = np.array([15.0]), np.array([0.0])
    nothing = np.zeros((0, 2))
    for _ in range(200):  # walk to the crosswalk and step onto it (the road is clear)
        x, y, *_ = peds.step(x, y, nothing, np.zeros(0), DT)
        if peds.mode[0] == TARGET and y[0] > 1.5:
            break
    assert peds.mode[0] == TARGET
    car, half = np.array([[x[0], y[0] + 3.5]]), np.array([[2.3, 1.0]])  # a queued car stops on the crosswalk
    closest, blocked_for = np.inf, 0.0
    for _ in range(int((GIVE_UP_S + 12.0) / DT)):
        nx, ny, *_ = peds.step(x, y, car, np.zeros(1), DT, np.zeros(1), half)
        blocked_for = blocked_for + DT if (nx[0], ny[0]) == (x[0], y[0]) else 0.0
        x, y = nx, ny
        closest = min(closest, _box_distance(x[0], y[0], car[0], half[0]))
    assert closest >= WALKER_RADIUS_M - 1e-6, closest  # never walked into the car
    assert peds.mode[0] == PATH and peds.path[0] == 0  # gave up and walks on along its own sidewalk


def test_scripted_walker_waits_at_a_car_in_its_way_and_goes_on_when_it_leaves() -> None:
    peds = _street()
    peds.add(0, 10.0, 5.0, 1.5, autopilot=False)
    peds.set_target(0, 30.0, 5.0, 1.5)
    x, y = np.array([10.0]), np.array([5.0])
    car, half = np.array([[20.0, 5.0]]), np.array([[2.3, 1.0]])
    for _ in range(int(12.0 / DT)):
        x, y, *_ = peds.step(x, y, car, np.zeros(1), DT, np.zeros(1), half)
        assert _box_distance(x[0], y[0], car[0], half[0]) >= WALKER_RADIUS_M - 1e-6
    assert x[0] < 20.0 and peds.mode[0] == TARGET  # still waiting in front of the car
    far = np.array([[20.0, 40.0]])  # the car drives off
    for _ in range(int(12.0 / DT)):
        x, y, *_ = peds.step(x, y, far, np.zeros(1), DT, np.zeros(1), half)
    assert abs(x[0] - 30.0) < 1e-6 and abs(y[0] - 5.0) < 1e-6


def test_a_walker_walks_over_to_the_next_path_instead_of_jumping_there() -> None:
    """Sidewalk paths whose ends lie up to JOIN_M apart are joined; a walker used to snap across
    the gap in one tick (2.2 m on CARLA's Town04, into the side of a standing car)."""
    xs = np.arange(0.0, 10.01, 0.5)
    paths = [np.stack([xs, np.zeros_like(xs)], 1), np.stack([xs + 10.0, np.full_like(xs, 2.2)], 1)]
    peds = Pedestrians(paths, [], np.random.default_rng(0))
    peds.add(0, 8.0, 0.0, 1.4, autopilot=True)
    peds.direction[:] = 1.0
    x, y = np.array([8.0]), np.array([0.0])
    nothing = np.zeros((0, 2))
    steps = []
    for _ in range(int(6.0 / DT)):
        nx, ny, *_ = peds.step(x, y, nothing, np.zeros(0), DT)
        steps.append(float(np.hypot(nx[0] - x[0], ny[0] - y[0])))
        x, y = nx, ny
    assert max(steps) <= 1.4 * DT + 1e-6, max(steps)
    assert peds.mode[0] == PATH and peds.path[0] == 1 and x[0] > 10.5  # on along the next path


def test_a_walker_on_its_path_waits_for_a_car_nose_standing_over_it() -> None:
    """Town03 training 18: the ego stopped for a walker with its nose over the crossing line,
    and the walker walked on into it."""
    peds = _street()
    peds.add(0, 5.0, 0.0, 1.4, autopilot=True)
    peds.direction[:] = 1.0
    x, y = np.array([5.0]), np.array([0.0])
    car, half = np.array([[12.0, 0.9]]), np.array([[2.3, 1.0]])  # its box reaches over the path at y = 0
    closest = np.inf
    for _ in range(int(8.0 / DT)):
        x, y, *_ = peds.step(x, y, car, np.zeros(1), DT, np.zeros(1), half)
        closest = min(closest, _box_distance(x[0], y[0], car[0], half[0]))
    assert closest >= WALKER_RADIUS_M - 1e-6, closest


def test_a_walker_held_on_its_path_by_a_standing_car_turns_round_after_a_while() -> None:
    """Town03 training 13: an NPC whose leader was a walker stood with its nose over the walker's
    path, the walker waited for the car, and both stood until the route timed out."""
    peds = _street()
    peds.add(0, 5.0, 0.0, 1.4, autopilot=True)
    peds.direction[:] = 1.0
    x, y = np.array([5.0]), np.array([0.0])
    car, half = np.array([[12.0, 0.9]]), np.array([[2.3, 1.0]])
    xs = []
    for _ in range(int((GIVE_UP_S + 9.0) / DT)):
        x, y, *_ = peds.step(x, y, car, np.zeros(1), DT, np.zeros(1), half)
        xs.append(float(x[0]))
    stop = max(xs)
    assert stop < car[0, 0] - half[0, 0]  # never walked into the box
    assert xs[-1] < stop - 3.0  # then went back the way it came, freeing the car
    assert peds.mode[0] == PATH
