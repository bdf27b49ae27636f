"""How long a run may train, and how fast it is going: the time/step budget and the progress figures.

A recipe such as "train the tiny model for 100 minutes on 2 CPU cores and keep the best" sets
`max_hours` (this invocation's wall-clock hours spent training) and/or `max_steps` (the run's
total optimiser steps, counted across --resume). When either is spent the current epoch ends
early, is validated and saved like any other (so `best.pt` is the best of everything trained),
and the run stops; validation and saving come after the budget, so leave them a few minutes.
`RunBudget` also measures the run's pace (samples/s, the share of time spent waiting for data)
and estimates the time left for the progress display.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field


def format_duration(seconds: float) -> str:
    """`1:02:03` for hours, `2:03` below an hour (what a progress bar's ETA looks like)."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class RunBudget:
    """The limits of one invocation (0 = none) and its running totals of training time."""

    max_hours: float = 0.0
    max_steps: int = 0
    start_s: float = field(default_factory=time.monotonic)
    data_s: float = 0.0  # waiting for the loader
    step_s: float = 0.0  # forward, backward, optimiser
    steps: int = 0  # this invocation's steps
    samples: int = 0

    def record(self, data_s: float, step_s: float, samples: int) -> None:
        """Account one training step: seconds waiting for its batch, seconds in the step, batch size."""
        self.data_s += data_s
        self.step_s += step_s
        self.steps += 1
        self.samples += samples

    def elapsed_s(self) -> float:
        return time.monotonic() - self.start_s

    def exhausted(self, global_step: int) -> str | None:
        """Which limit is spent ('max_hours', 'max_steps'), or None while training may go on."""
        if self.max_steps and global_step >= self.max_steps:
            return "max_steps"
        if self.max_hours and self.elapsed_s() >= self.max_hours * 3600.0:
            return "max_hours"
        return None

    def samples_per_s(self) -> float:
        busy = self.data_s + self.step_s
        return self.samples / busy if busy > 0 else 0.0

    def data_share(self) -> float:
        """Fraction of the training time spent waiting for batches (high: the loader is the bottleneck)."""
        busy = self.data_s + self.step_s
        return self.data_s / busy if busy > 0 else 0.0

    def eta_s(self, steps_left: int, global_step: int) -> float:
        """Seconds until the run ends at the current pace: the steps left (capped by `max_steps`),
        or the time left of `max_hours` when that comes first. Validation time not included."""
        if self.max_steps:
            steps_left = min(steps_left, max(self.max_steps - global_step, 0))
        per_step = (self.data_s + self.step_s) / self.steps if self.steps else 0.0
        eta = steps_left * per_step
        if self.max_hours:
            eta = min(eta, max(self.max_hours * 3600.0 - self.elapsed_s(), 0.0))
        return eta

    def summary(self) -> dict[str, float]:
        """This invocation's pace, logged with each epoch."""
        return {"samples_per_s": self.samples_per_s(), "data_share": self.data_share(),
                "elapsed_s": self.elapsed_s()}
