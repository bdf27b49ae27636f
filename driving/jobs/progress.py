"""Live progress from jobs, wherever they run: `reporter` goes into each job, `callback` runs here.

In-process jobs call the callback directly. Local worker processes put progress on a
multiprocessing manager queue. Ray tasks may run on other machines, where a manager proxy (a
socket to this machine's manager, authenticated with this process's key) is not usable, so on
Ray the queue is a Ray actor (`ray.util.queue.Queue`): it is reachable from every node and is
the smallest thing that keeps per-tick progress the same on a cluster. Either way a thread here
drains the queue into `callback`.
"""
from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is 3.11+; annotation only


class _QueueReporter:
    """Picklable callable that forwards progress arguments to the parent through a queue."""

    def __init__(self, q: Any) -> None:
        self._q = q

    def __call__(self, *args: Any) -> None:
        self._q.put(args)


class ProgressChannel:
    """Live progress from jobs: `reporter` goes into each job; `callback(*args)` runs in this process.

    In-process (`n_workers <= 1`, no Ray) the reporter is the callback itself; with worker
    processes it is a picklable proxy over a manager queue, on Ray over a Ray actor queue (see the
    module docstring). Use as a context manager, around the `run_jobs` call it feeds.
    """

    def __init__(self, callback: Callable[..., None] | None, n_workers: int,
                 ray_address: str | None = None) -> None:
        self._callback = callback
        self._n_workers = n_workers
        self._ray_address = ray_address
        self._manager: Any = None
        self._queue: Any = None
        self._thread: threading.Thread | None = None
        self.reporter: Callable[..., None] | None = callback

    def __enter__(self) -> Self:
        if self._callback is None:
            return self
        if self._ray_address:
            from driving.jobs.ray_runner import connect_ray

            connect_ray(self._ray_address)
            from ray.util.queue import Queue

            self._queue = Queue()
        elif self._n_workers > 1:
            self._manager = multiprocessing.get_context("spawn").Manager()
            self._queue = self._manager.Queue()
        else:
            return self
        self.reporter = _QueueReporter(self._queue)
        self._thread = threading.Thread(target=self._drain, args=(self._queue,), daemon=True)
        self._thread.start()
        return self

    def _drain(self, q: Any) -> None:
        while True:
            try:
                item = q.get()
            except Exception:  # noqa: BLE001 - the queue went away (manager or actor shut down)
                return
            if item is None:
                return
            self._callback(*item)

    def __exit__(self, *exc: object) -> None:
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout=5.0)
        if self._manager is not None:
            self._manager.shutdown()
        else:
            self._queue.shutdown()
