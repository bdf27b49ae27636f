"""Failure search over one scenario family's parameters: random search, then the cross-entropy method.

The space is the family's tunable parameters (each within the range its behaviour declares with
`scenarios.behaviour.parameter`) plus
where the scenario starts: the route fraction for families that do not need a junction, the
distance before the junction entry for those that do. The search minimises the driving score:
`ask()` proposes a batch, `tell()` takes their scores. The first `random_fraction` of the budget
is uniform random (it finds the basins); after that each batch is drawn from a Gaussian fitted
to the elite (lowest-score) cases so far, clipped to the bounds, with a floor on its spread so it
keeps exploring. Pure numpy, seeded: a search is reproducible from its seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenarios.lb1_types import LB1_TYPES
from scenarios.registry import parameter_fields

#: Where on the route (fraction of its length) families without a junction may start.
ROUTE_FRACTION_RANGE = (0.05, 0.9)
#: How far before the junction entry (m) junction families may start.
BEFORE_JUNCTION_RANGE_M = (10.0, 45.0)
TRIGGER_FRACTION = "trigger.route_fraction"
TRIGGER_BEFORE_M = "trigger.before_m"
#: Families played at a junction the route crosses straight on (others use the route's turn).
_STRAIGHT_JUNCTION = {"Scenario10"}


@dataclass(frozen=True)
class SearchSpace:
    """Named dimensions with bounds; `names` are behaviour parameters or a `trigger.*` entry."""

    type_name: str
    names: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray

    def as_dict(self, x: np.ndarray) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, x)}

    def scenario_entry(self, x: np.ndarray, name: str) -> dict:
        """One scenario of our YAML format with these values (no ranges: a replayable case)."""
        values = self.as_dict(x)
        if TRIGGER_FRACTION in values:
            trigger = {"route_fraction": round(values.pop(TRIGGER_FRACTION), 6)}
        else:
            turn = "straight" if self.type_name in _STRAIGHT_JUNCTION else "any"
            trigger = {"junction": turn, "before_m": round(values.pop(TRIGGER_BEFORE_M), 6)}
        entry = {"name": name, "type": self.type_name, "trigger": trigger}
        if values:
            entry["parameters"] = {k: round(v, 6) for k, v in values.items()}
        return entry


def search_space(type_name: str) -> SearchSpace:
    """The space of an official type name (raises KeyError for unknown types)."""
    kind = LB1_TYPES[type_name]
    names, low, high = [], [], []
    for name, (_, (lo, hi)) in sorted(parameter_fields(type_name).items()):
        if hi <= lo:  # a fixed parameter
            continue
        names.append(name)
        low.append(lo)
        high.append(hi)
    at_junction = kind.needs_turn or type_name in _STRAIGHT_JUNCTION
    names.append(TRIGGER_BEFORE_M if at_junction else TRIGGER_FRACTION)
    lo, hi = BEFORE_JUNCTION_RANGE_M if at_junction else ROUTE_FRACTION_RANGE
    low.append(lo)
    high.append(hi)
    return SearchSpace(type_name, tuple(names), np.array(low, float), np.array(high, float))


class CrossEntropySearch:
    """Ask/tell minimiser over a `SearchSpace` for `budget` evaluations."""

    def __init__(self, space: SearchSpace, budget: int, seed: int, batch: int = 4,
                 random_fraction: float = 0.4, elite_fraction: float = 0.25, min_spread: float = 0.05) -> None:
        if budget < 1:
            raise ValueError(f"budget must be >= 1, got {budget}")
        self.space, self.budget, self.batch = space, budget, batch
        self.n_random = max(1, min(budget, round(random_fraction * budget)))
        self.elite_fraction, self.min_spread = elite_fraction, min_spread
        self.rng = np.random.default_rng([int(seed), 13])
        self.xs: list[np.ndarray] = []
        self.scores: list[float] = []
        self._asked = 0

    @property
    def done(self) -> bool:
        return self._asked >= self.budget

    def ask(self) -> list[np.ndarray]:
        """The next batch (fewer at the end of the budget; empty when done)."""
        n = min(self.batch, self.budget - self._asked)
        if n <= 0:
            return []
        lo, hi = self.space.low, self.space.high
        if self._asked < self.n_random:  # random phase: never mixed with fitted draws in one batch
            n = min(n, self.n_random - self._asked)
        if self._asked < self.n_random or len(self.scores) < 2:
            out = [lo + self.rng.random(len(lo)) * (hi - lo) for _ in range(n)]
        else:
            mean, std = self._elite_gaussian()
            out = [np.clip(self.rng.normal(mean, std), lo, hi) for _ in range(n)]
        self._asked += len(out)
        return out

    def tell(self, xs: list[np.ndarray], scores: list[float]) -> None:
        self.xs.extend(np.asarray(x, float) for x in xs)
        self.scores.extend(float(s) for s in scores)

    def _elite_gaussian(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.scores, kind="stable")
        n_elite = max(2, int(np.ceil(self.elite_fraction * len(order))))
        elite = np.array([self.xs[i] for i in order[:n_elite]])
        span = self.space.high - self.space.low
        return elite.mean(axis=0), np.maximum(elite.std(axis=0), self.min_spread * span)

    def worst(self, k: int) -> list[int]:
        """Indices (in ask order) of the `k` lowest-scoring cases so far, lowest first (ties: first asked)."""
        return [int(i) for i in np.argsort(self.scores, kind="stable")[:k]]
