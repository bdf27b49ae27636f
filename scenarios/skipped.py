"""Scenarios a run cannot play, named and counted, so they are reported instead of crashing a route.

LB2.0 route files carry `<scenario type=...>` blocks of many types (Accident, ParkedObstacle,
...), and a run only has behaviours for some of them. The evaluator skips the others and says
which and how many, e.g. "skipped 3 scenarios (no behaviour for: Accident x2, HardBreakRoute x1)".
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class SkippedScenarios:
    """Skipped scenarios per type name, in the order the types first appeared."""

    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __str__(self) -> str:
        if not self.counts:
            return "skipped no scenarios"
        names = ", ".join(f"{name} x{n}" for name, n in self.counts.items())
        return f"skipped {self.total} scenario{'s' if self.total != 1 else ''} (no behaviour for: {names})"


def skipped_scenarios(type_names: Iterable[str], supported: Collection[str]) -> SkippedScenarios:
    """Count the `type_names` (one per scenario, e.g. `s.type for s in route.scenarios`) that are
    not in `supported` (the behaviour names a run has)."""
    counts = Counter(name for name in type_names if name not in supported)
    return SkippedScenarios(MappingProxyType(dict(counts)))
