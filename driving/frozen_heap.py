"""Keep the objects that live for a whole route out of the garbage collector's full scans.

Why: a route run builds a large, long-lived heap before its first tick (the road network's
waypoints, lane graphs, the agent, its model) and then allocates briskly every tick. Each of
CPython's full (generation 2) collections walks that whole heap again, for nothing: 2-4 ms
per saved frame of the collection benchmark (of ~200 ms on a slow 2-core machine) went to them.
`gc.freeze()` moves everything alive at the start into a permanent generation that collections
skip; `gc.unfreeze()` at the end hands it back, so cycles left by one route are still
collected after it.
"""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Collect once, then freeze every live object for the duration of the block."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
