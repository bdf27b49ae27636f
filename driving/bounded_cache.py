"""A small in-process cache with a bound on its entries, shared by threads.

Why: the embedded world rebuilds the same heavy, read-only things for every route on a town
(its layout's ground surfaces, their render mesh); a collection or evaluation worker runs many
routes on one town, so building them once per process saves seconds per route. Entries are
evicted oldest first; values are shared, so callers must treat them as read-only.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedCache(Generic[V]):
    """key -> value, at most `max_entries` of them (oldest dropped first)."""

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"BoundedCache max_entries: expected >= 1, got {max_entries}")
        self.max_entries = max_entries
        self._entries: dict[Hashable, V] = {}
        self._lock = threading.Lock()

    def get_or_build(self, key: Hashable, build: Callable[[], V]) -> V:
        """The cached value of `key`, built (outside the lock) and kept when missing."""
        with self._lock:
            if key in self._entries:
                return self._entries[key]
        value = build()
        with self._lock:
            while len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
