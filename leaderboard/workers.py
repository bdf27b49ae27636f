"""Per-process state of route workers, and the job runners re-exported under their old home.

Jobs run through `driving.jobs` (`run_jobs`: local spawned processes, or Ray tasks with
`ray_address`); `run_jobs` is generic (any picklable `fn(job)`), so dataset collection shares it.
A worker process (a pool process or a reused Ray worker) keeps a World per backend and parsed
route files in `ProcessState`, built once per process. Results come back as they finish;
`in_order` re-sequences them so a results file grows in route order; `ProgressChannel` brings
live progress back. A worker that dies turns its job into an exception result instead of
hanging the run.
"""
from __future__ import annotations

from typing import Any

from driving.jobs import ProgressChannel, in_order, run_jobs
from driving.world import World

__all__ = ["ProcessState", "ProgressChannel", "in_order", "process_state", "run_jobs"]


class ProcessState:
    """What one worker process keeps between jobs: Worlds by backend, parsed routes, agent classes."""

    def __init__(self) -> None:
        self._worlds: dict[tuple, World] = {}
        self._routes: dict[tuple[str, str], list] = {}

    def world(self, backend: str, options: tuple[tuple[str, Any], ...] = ()) -> World:
        """This process's World for `backend` built with `options` (key/value pairs), reused across jobs."""
        key = (backend, options)
        if key not in self._worlds:
            from driving.backends import create_world

            self._worlds[key] = create_world(backend, **dict(options))
        return self._worlds[key]

    def routes(self, path: str, subset: str) -> list:
        key = (path, subset)
        if key not in self._routes:
            from leaderboard.routes import parse_routes_file

            self._routes[key] = parse_routes_file(path, subset)
        return self._routes[key]

    def close(self) -> None:
        for world in self._worlds.values():
            world.close()
        self._worlds.clear()


#: The state of the current worker process (each spawned process has its own).
_STATE: ProcessState | None = None


def process_state() -> ProcessState:
    """This process's state (created on first use)."""
    global _STATE
    if _STATE is None:
        _STATE = ProcessState()
    return _STATE
