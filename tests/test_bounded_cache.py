"""BoundedCache: builds a key once, keeps at most max_entries, drops the oldest first."""
from __future__ import annotations

import pytest

from driving.bounded_cache import BoundedCache


def test_builds_each_key_once_and_evicts_the_oldest():
    cache: BoundedCache[int] = BoundedCache(2)
    builds: list[str] = []

    def build(key: str):
        return lambda: builds.append(key) or len(builds)

    assert cache.get_or_build("a", build("a")) == 1
    assert cache.get_or_build("a", build("a")) == 1
    assert cache.get_or_build("b", build("b")) == 2
    assert cache.get_or_build("c", build("c")) == 3  # "a" goes
    assert len(cache) == 2 and builds == ["a", "b", "c"]
    assert cache.get_or_build("b", build("b")) == 2
    assert cache.get_or_build("a", build("a")) == 4
    cache.clear()
    assert len(cache) == 0


def test_a_failed_build_caches_nothing_and_bad_sizes_are_refused():
    cache: BoundedCache[int] = BoundedCache(1)
    with pytest.raises(RuntimeError):
        cache.get_or_build("x", lambda: (_ for _ in ()).throw(RuntimeError("no")))
    assert len(cache) == 0
    with pytest.raises(ValueError, match="max_entries"):
        BoundedCache(0)
