"""frozen_heap: objects alive at the start skip collections inside the block, and come back after."""
from __future__ import annotations

import gc

from driving.frozen_heap import frozen_heap


def test_objects_alive_at_start_are_frozen_inside_and_released_after():
    before = gc.get_freeze_count()
    keep = [[i] for i in range(1000)]
    with frozen_heap():
        assert gc.get_freeze_count() >= before + len(keep)
        cycle: list = []
        cycle.append(cycle)  # created inside: still collectable
        del cycle
        assert gc.collect() >= 1
    assert gc.get_freeze_count() == 0
    assert len(keep) == 1000


def test_heap_is_released_when_the_block_raises():
    try:
        with frozen_heap():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.get_freeze_count() == 0
