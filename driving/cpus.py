"""How many CPUs this process may use (worker counts and thread pools are sized from it)."""
from __future__ import annotations

import os


def available_cpus() -> int:
    """The CPUs this process may run on: its affinity set where the OS has one (Linux; a container's
    or `taskset`'s limit), else every CPU of the machine (macOS, Windows); at least 1."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return max(1, len(affinity(0)))
    return max(1, os.cpu_count() or 1)
