"""Jobs in spawned worker processes on this machine (a `ProcessPoolExecutor`).

Each worker process lives for the whole pool, so per-process state (a World per backend, parsed
routes; `leaderboard.workers.process_state`) is built once and reused across jobs. Spawn, not
fork: Worlds hold OpenGL contexts and threads that must not be copied.

A worker that dies (a segfault in native code, the OOM killer) breaks a `ProcessPoolExecutor`:
every unfinished job then fails with `BrokenProcessPool`, including jobs that never started.
Workers therefore log each job's start; after a break, the jobs that had started (the dead one
among them) get the `BrokenProcessPool` as their result, and the jobs that had not started run
again on a fresh pool, so one crash costs the jobs running at that moment, not the rest of the run.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from driving.cpus import available_cpus
from driving.jobs.runner import JobRunner

#: In a worker process: where it logs the position of each job it starts (set by `_init_worker`).
_STARTED: Any = None


#: Thread-pool variables of the math libraries a worker may load (torch's OpenMP, MKL, OpenBLAS).
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def threads_per_worker(n_workers: int) -> int:
    """This process's CPUs shared out among `n_workers` workers (at least 1 each)."""
    return max(1, available_cpus() // max(1, n_workers))


def _limit_threads(n_threads: int) -> None:
    """Give this worker's math libraries `n_threads` threads, unless the user set them.

    Why: torch's intra-op pool takes every core of the machine in every process, so N workers
    running a model on N cores each oversubscribe the CPUs N times (two LeTFuser route workers on
    2 cores finished no route in 10 minutes, against 2.3 min per route with one worker). The
    variables are read when torch (or numpy's BLAS) loads, which in a worker is after this runs.
    """
    for name in THREAD_ENV_VARS:
        os.environ.setdefault(name, str(n_threads))
    torch = sys.modules.get("torch")
    if torch is not None:
        value = os.environ["OMP_NUM_THREADS"]
        torch.set_num_threads(int(value) if value.isdigit() and int(value) > 0 else n_threads)


def _init_worker(started: Any, n_threads: int) -> None:
    global _STARTED
    _STARTED = started
    _limit_threads(n_threads)


def _log_start_then_call(fn: Callable[[Any], Any], position: int, job: Any) -> Any:
    _STARTED.put(position)  # one small pipe write, atomic: it survives a crash right after
    return fn(job)


class _StartLog:
    """The positions of jobs that workers started, read here by a thread so the pipe never fills.

    The parent never writes to the queue (a worker killed while writing could hold its lock);
    the thread polls `empty()` and stops once asked and drained.
    """

    def __init__(self, ctx: Any) -> None:
        self.queue = ctx.SimpleQueue()
        self.started: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            if not self.queue.empty():
                self.started.add(self.queue.get())
            elif self._stop.is_set():
                return
            else:
                self._stop.wait(0.05)

    def close(self) -> set[int]:
        self._stop.set()
        self._thread.join()
        self.queue.close()
        return self.started


class ProcessJobRunner(JobRunner):
    """`n_workers` spawned processes; `n_workers <= 1` runs jobs here (no pickling, exceptions propagate).

    Each worker's math libraries get this process's CPUs / `n_workers` threads (`_limit_threads`).
    """

    def __init__(self, n_workers: int) -> None:
        self.n_workers = n_workers

    def run(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        jobs = list(jobs)
        if self.n_workers <= 1:
            for i, job in enumerate(jobs):
                yield i, fn(job)
            return
        ctx = multiprocessing.get_context("spawn")
        todo = list(range(len(jobs)))
        while todo:
            log = _StartLog(ctx)
            lost: dict[int, BaseException] = {}
            try:
                with ProcessPoolExecutor(max_workers=self.n_workers, mp_context=ctx,
                                         initializer=_init_worker,
                                         initargs=(log.queue, threads_per_worker(self.n_workers))) as pool:
                    futures: dict[Future, int] = {pool.submit(_log_start_then_call, fn, i, jobs[i]): i
                                                  for i in todo}
                    pending = set(futures)
                    while pending:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in sorted(done, key=futures.__getitem__):
                            exc = fut.exception()
                            if isinstance(exc, BrokenProcessPool):
                                lost[futures[fut]] = exc
                            else:
                                yield futures[fut], exc if exc is not None else fut.result()
            finally:
                started = log.close()
            crashed = [i for i in lost if i in started]
            # A break no started job explains (a failing pool start-up) would repeat: give up on all.
            for i in sorted(lost) if not crashed else crashed:
                yield i, lost[i]
            todo = sorted(i for i in lost if i not in started) if crashed else []
