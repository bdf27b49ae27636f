"""Agent calls with a wall-clock limit, as the official evaluator's `--timeout`.

The agent runs on one daemon thread of its own, so a call that hangs (a stuck model, a deadlock
in the agent's code) can be abandoned after `timeout_s` and the route recorded as failed,
instead of hanging the whole evaluation.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any


class AgentTimeout(RuntimeError):
    """An agent call took longer than the allowed wall time."""


class AgentCaller:
    """Runs agent calls on one daemon thread so a call can be abandoned after `timeout_s`.

    After a timeout the caller is unusable (the thread may still be busy); make a new one.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._results: queue.Queue = queue.Queue()
        self.stuck = False  # a call timed out: the thread may never come back
        threading.Thread(target=self._loop, daemon=True, name="agent").start()

    def _loop(self) -> None:
        while True:
            fn = self._jobs.get()
            if fn is None:
                return
            try:
                self._results.put((True, fn()))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                self._results.put((False, exc))

    def call(self, fn: Callable[[], Any], timeout_s: float) -> Any:
        self._jobs.put(fn)
        try:
            ok, value = self._results.get(timeout=timeout_s)
        except queue.Empty:
            self.stuck = True
            raise AgentTimeout(f"Agent took longer than {timeout_s}s to send its command") from None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        self._jobs.put(None)
