"""The failure search itself (no driving): bounds, reproducibility, and that the cross-entropy
phase finds lower scores than random search alone on a known landscape."""
from __future__ import annotations

import numpy as np
import pytest

from scenarios.attack_search import (
    TRIGGER_BEFORE_M,
    TRIGGER_FRACTION,
    CrossEntropySearch,
    SearchSpace,
    search_space,
)

SPACE = SearchSpace("Scenario2", ("speed_mps", TRIGGER_FRACTION), np.array([0.0, 0.05]), np.array([20.0, 0.9]))
OPTIMUM = np.array([13.7, 0.61])


def _score(x: np.ndarray) -> float:
    """A driving-score-like landscape: 100 far away, a narrow dip to 0 at OPTIMUM."""
    d = (x - OPTIMUM) / (SPACE.high - SPACE.low)
    return float(100.0 * (1.0 - np.exp(-np.sum(d ** 2) / 0.005)))


def _run(search: CrossEntropySearch) -> CrossEntropySearch:
    while not search.done:
        xs = search.ask()
        search.tell(xs, [_score(x) for x in xs])
    return search


def test_search_stays_in_bounds_spends_its_budget_and_is_reproducible():
    a = _run(CrossEntropySearch(SPACE, budget=30, seed=5, batch=4))
    b = _run(CrossEntropySearch(SPACE, budget=30, seed=5, batch=4))
    assert len(a.xs) == 30 and a.ask() == []
    assert all((x >= SPACE.low).all() and (x <= SPACE.high).all() for x in a.xs)
    assert np.array_equal(np.array(a.xs), np.array(b.xs)) and a.scores == b.scores
    worst = a.worst(3)
    assert [a.scores[i] for i in worst] == sorted(a.scores)[:3]


def test_cross_entropy_phase_beats_random_search_on_the_same_budget():
    cem, rnd = [], []
    for seed in range(6):
        cem.append(min(_run(CrossEntropySearch(SPACE, budget=60, seed=seed, batch=6)).scores))
        rnd.append(min(_run(CrossEntropySearch(SPACE, budget=60, seed=seed, batch=6, random_fraction=1.0)).scores))
    assert np.median(cem) < 0.5 * np.median(rnd), (cem, rnd)


def test_scenario_entries_are_replayable_yaml_entries():
    entry = SPACE.scenario_entry(np.array([12.5, 0.25]), "attack_0001")
    assert entry == {"name": "attack_0001", "type": "Scenario2", "trigger": {"route_fraction": 0.25},
                     "parameters": {"speed_mps": 12.5}}
    junction = SearchSpace("Scenario10", (TRIGGER_BEFORE_M,), np.array([10.0]), np.array([45.0]))
    assert junction.scenario_entry(np.array([20.0]), "c")["trigger"] == {"junction": "straight", "before_m": 20.0}


def test_space_of_a_junction_family_searches_the_distance_before_the_junction():
    space = search_space("Scenario7")
    assert space.names[-1] == TRIGGER_BEFORE_M
    assert search_space("Scenario3").names[-1] == TRIGGER_FRACTION
    with pytest.raises(ValueError, match="budget"):
        CrossEntropySearch(space, budget=0, seed=0)
