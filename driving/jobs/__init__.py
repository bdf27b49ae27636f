"""Route and collection jobs run by one seam: local worker processes or a Ray cluster.

`run_jobs(fn, jobs, n_workers, ray_address=None)` is the one entry point; it picks a `JobRunner`
(`runner.py`): `ProcessJobRunner` (spawned processes on this machine) or `RayJobRunner` (Ray
tasks, optional `cluster` extra). `in_order` re-sequences results; `ProgressChannel` brings live
progress back from either kind of worker.
"""
from __future__ import annotations

from driving.jobs.progress import ProgressChannel
from driving.jobs.runner import JobRunner, in_order, job_runner, run_jobs

__all__ = ["JobRunner", "ProgressChannel", "in_order", "job_runner", "run_jobs"]
