"""Parallel workers: jobs run in spawned processes, each keeping its own World between jobs.

`run_jobs` is generic (any picklable `fn(job)`), so dataset collection reuses the same pool: a
worker process keeps per-process state (a World per backend, parsed route files, loaded agent
classes) in `ProcessState`, built once per process. Results come back as they finish;
`in_order` re-sequences them so a results file grows in route order; `ProgressChannel` brings
live progress back from worker processes. A worker that dies (a segfault in native code) turns
its job into an exception result instead of hanging the run.
"""
from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Self

from driving.world import World


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


def run_jobs(fn: Callable[[Any], Any], jobs: Iterable[Any], n_workers: int) -> Iterator[tuple[int, Any]]:
    """Run `fn(job)` for every job; yields (job position, result) as jobs finish.

    `n_workers <= 1` runs in this process (no pickling, exceptions propagate). Otherwise a job
    whose worker raised or died yields the exception object as its result.
    """
    jobs = list(jobs)
    if n_workers <= 1:
        for i, job in enumerate(jobs):
            yield i, fn(job)
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx) as pool:
        futures: dict[Future, int] = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=futures.__getitem__):
                exc = fut.exception()
                yield futures[fut], exc if exc is not None else fut.result()


def in_order(results: Iterable[tuple[int, Any]], start: int = 0) -> Iterator[tuple[int, Any]]:
    """Re-sequence (position, result) pairs to positions start, start+1, ... (buffering early ones)."""
    buffered: dict[int, Any] = {}
    expected = start
    for pos, result in results:
        buffered[pos] = result
        while expected in buffered:
            yield expected, buffered.pop(expected)
            expected += 1


class _QueueReporter:
    """Picklable callable that forwards progress arguments to the parent through a manager queue."""

    def __init__(self, q: Any) -> None:
        self._q = q

    def __call__(self, *args: Any) -> None:
        self._q.put(args)


class ProgressChannel:
    """Live progress from jobs: `reporter` goes into each job; `callback(*args)` runs in this process.

    In-process (`n_workers <= 1`) the reporter is the callback itself; with worker processes it
    is a picklable proxy over a manager queue drained by a thread here. Use as a context manager.
    """

    def __init__(self, callback: Callable[..., None] | None, n_workers: int) -> None:
        self._callback = callback
        self._n_workers = n_workers
        self._manager: Any = None
        self._thread: threading.Thread | None = None
        self.reporter: Callable[..., None] | None = callback

    def __enter__(self) -> Self:
        if self._callback is not None and self._n_workers > 1:
            self._manager = multiprocessing.get_context("spawn").Manager()
            q = self._queue = self._manager.Queue()
            self.reporter = _QueueReporter(q)
            self._thread = threading.Thread(target=self._drain, args=(q,), daemon=True)
            self._thread.start()
        return self

    def _drain(self, q: Any) -> None:
        while True:
            try:
                item = q.get()
            except (EOFError, OSError):
                return
            if item is None:
                return
            self._callback(*item)

    def __exit__(self, *exc: object) -> None:
        if self._manager is not None:
            self._queue.put(None)
            self._thread.join(timeout=5.0)
            self._manager.shutdown()
