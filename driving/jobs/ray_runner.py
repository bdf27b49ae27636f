"""Jobs as Ray tasks: on a Ray cluster (`auto`, `HOST:PORT`, `ray://...`) or a local Ray instance (`local`).

Ray is an optional extra (`pip install -e '.[cluster]'`), imported only here and only when a Ray
address is given. Ray reuses worker processes between tasks, so per-process caches
(`leaderboard.workers.process_state`: a World per backend, parsed routes) keep working inside
them as in local worker processes. Every node needs this package installed (same version) and
the paths in the jobs (routes, agent, output folders) on shared storage.

Failures: an exception raised by `fn` is caught inside the task and comes back as the job's
result (never retried, like the process runner); a task whose worker process died is retried by
Ray up to `max_retries` times (a crash that is not the job's fault, such as a node lost), after
which the job's result is Ray's error (`WorkerCrashedError`, ...).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from driving.errors import InputError
from driving.jobs.runner import JobRunner

#: Retries of a job whose worker died (Ray's own default is 3; a segfaulting route costs each try).
LOST_WORKER_RETRIES = 2

#: The address that starts a Ray instance on this machine for this run instead of joining a cluster.
LOCAL_ADDRESS = "local"


def import_ray(option: str = "--ray-address") -> Any:
    """The `ray` module, or one InputError line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise InputError(f"{option}: Ray is not installed; install the cluster extra: "
                         f"pip install -e '.[cluster]'") from None
    return ray


def connect_ray(address: str) -> Any:
    """Join the Ray cluster at `address` (or start a local instance for `local`) once per process.

    An already initialised Ray (a test's `ray.init(num_cpus=2)`, an earlier batch of jobs) is
    reused as it is: starting Ray costs seconds, and callers such as `driving attack` run many
    batches.
    """
    ray = import_ray()
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False} if address == LOCAL_ADDRESS else {}
        try:
            ray.init(address=address, **options)
        except ConnectionError as exc:
            raise InputError(f"--ray-address {address}: cannot join a Ray cluster there ({exc})") from None
    return ray


def _call(fn: Callable[[Any], Any], job: Any) -> Any:
    """The task body: `fn(job)`, or the exception it raised returned as a value, so Ray never retries it."""
    try:
        return fn(job)
    except Exception as exc:  # noqa: BLE001 - the job's exception is its result
        return exc


class RayJobRunner(JobRunner):
    """Each job a Ray task taking one CPU; at most `max_in_flight` submitted at a time (None: all)."""

    def __init__(self, address: str, max_in_flight: int | None = None,
                 max_retries: int = LOST_WORKER_RETRIES) -> None:
        if max_in_flight is not None and max_in_flight < 1:
            raise InputError(f"max_in_flight: expected an integer >= 1 or None, got {max_in_flight}")
        self.address = address
        self.max_in_flight = max_in_flight
        self.max_retries = max_retries

    def run(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        ray = connect_ray(self.address)
        task = ray.remote(num_cpus=1, max_retries=self.max_retries, retry_exceptions=False)(_call)
        jobs = list(jobs)
        fn_ref = ray.put(fn)  # one copy in the object store, not one per task
        limit = self.max_in_flight or max(1, len(jobs))
        in_flight: dict[Any, int] = {}
        next_job = 0
        try:
            while next_job < len(jobs) or in_flight:
                while next_job < len(jobs) and len(in_flight) < limit:
                    in_flight[task.remote(fn_ref, jobs[next_job])] = next_job
                    next_job += 1
                done, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in done:
                    pos = in_flight.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayError as exc:  # the worker died past its retries, ...
                        result = exc
                    yield pos, result
        finally:  # a caller that stops early (Ctrl-C, an error) leaves no tasks running
            for ref in in_flight:
                ray.cancel(ref, force=True)
