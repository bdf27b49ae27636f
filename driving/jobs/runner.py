"""The job-runner seam: run `fn(job)` for every job somewhere, yield (position, result) as they finish.

Every runner has the same failure contract, so callers (the evaluator, dataset collection) need
one code path: an exception raised by `fn` is that job's result (never retried: it would fail
the same way again), and a job whose worker process died also gets an exception as its result
instead of hanging the run. Runners differ only in where `fn` runs and how lost workers are
handled (see each implementation).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any


class JobRunner(ABC):
    """Runs picklable `fn(job)` calls; `run` yields (job position, result or exception) as jobs finish."""

    @abstractmethod
    def run(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        """Yield (position in `jobs`, `fn(job)` or the exception that job ended with), completion order."""


def job_runner(n_workers: int, ray_address: str | None = None) -> JobRunner:
    """The runner for these options: Ray tasks when `ray_address` is given, else local processes.

    On Ray, `n_workers > 1` caps the jobs in flight; `n_workers <= 1` lets the cluster's free CPUs
    decide (one CPU per job), so `--ray-address` alone uses the whole cluster.
    """
    if ray_address:
        from driving.jobs.ray_runner import RayJobRunner

        return RayJobRunner(ray_address, max_in_flight=n_workers if n_workers > 1 else None)
    from driving.jobs.process_runner import ProcessJobRunner

    return ProcessJobRunner(n_workers)


def run_jobs(fn: Callable[[Any], Any], jobs: Iterable[Any], n_workers: int,
             ray_address: str | None = None) -> Iterator[tuple[int, Any]]:
    """Run `fn(job)` for every job; yields (job position, result) as jobs finish (see `job_runner`).

    Locally, `n_workers <= 1` runs in this process (no pickling, exceptions propagate).
    """
    return job_runner(n_workers, ray_address).run(fn, jobs)


def in_order(results: Iterable[tuple[int, Any]], start: int = 0) -> Iterator[tuple[int, Any]]:
    """Re-sequence (position, result) pairs to positions start, start+1, ... (buffering early ones)."""
    buffered: dict[int, Any] = {}
    expected = start
    for pos, result in results:
        buffered[pos] = result
        while expected in buffered:
            yield expected, buffered.pop(expected)
            expected += 1
