"""The compiled walker-versus-box test gives the numpy formula's answers."""
from __future__ import annotations

import numpy as np

from driving.sim.pedestrians import WALKER_RADIUS_M, Pedestrians


def _numpy_reference(x0, y0, x1, y1, vehicle_xy, vehicle_yaw, vehicle_half):
    c, s = np.cos(vehicle_yaw)[None, :], np.sin(vehicle_yaw)[None, :]

    def outside(px, py):
        dx, dy = px[:, None] - vehicle_xy[None, :, 0], py[:, None] - vehicle_xy[None, :, 1]
        ex = np.maximum(np.abs(dx * c + dy * s) - vehicle_half[None, :, 0], 0.0)
        ey = np.maximum(np.abs(-dx * s + dy * c) - vehicle_half[None, :, 1], 0.0)
        return np.hypot(ex, ey)

    before, after = outside(x0, y0), outside(x1, y1)
    return ((after < WALKER_RADIUS_M) & (after < before)).any(1)


def test_walks_into_box_matches_the_numpy_formula_on_crowded_scenes():
    rng = np.random.default_rng(5)
    hits = 0
    for _ in range(50):
        n, m = int(rng.integers(1, 40)), int(rng.integers(1, 30))
        x0, y0 = rng.uniform(-15, 15, n), rng.uniform(-15, 15, n)
        step = rng.uniform(-0.5, 0.5, (2, n))
        vehicle_xy = rng.uniform(-15, 15, (m, 2))
        yaw = rng.uniform(-np.pi, np.pi, m)
        half = np.column_stack([rng.uniform(1.5, 3.0, m), rng.uniform(0.8, 1.2, m)])
        got = Pedestrians._walks_into_box(x0, y0, x0 + step[0], y0 + step[1], vehicle_xy, yaw, half)
        want = _numpy_reference(x0, y0, x0 + step[0], y0 + step[1], vehicle_xy, yaw, half)
        assert got.dtype == np.bool_ and np.array_equal(got, want)
        hits += int(want.sum())
    assert hits > 20  # the scenes do bring walkers against boxes


def test_walking_away_from_a_box_is_allowed_and_into_it_is_not():
    xy, yaw, half = np.array([[0.0, 0.0]]), np.array([0.0]), np.array([[2.0, 1.0]])
    x0, y0 = np.array([0.0, 0.0]), np.array([1.2, 1.2])
    into = Pedestrians._walks_into_box(x0, y0, x0, np.array([1.1, 1.3]), xy, yaw, half)
    assert into.tolist() == [True, False]
    assert Pedestrians._walks_into_box(x0, y0, x0, y0, np.zeros((0, 2)), np.zeros(0), np.zeros((0, 2))).tolist() == [
        False, False]
