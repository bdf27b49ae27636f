"""The worker pool (shared with dataset collection) and the built-in agent registry contract."""
from __future__ import annotations

from leaderboard.agents_registry import BUILTIN_AGENTS, load_agent_class
from leaderboard.autoagents.autonomous_agent import AutonomousAgent
from leaderboard.workers import in_order, run_jobs


def _square(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x * x


def test_in_order_resequences_completions():
    done = [(2, "c"), (0, "a"), (3, "d"), (1, "b")]
    assert list(in_order(done)) == [(0, "a"), (1, "b"), (2, "c"), (3, "d")]
    assert list(in_order([(1, "y"), (0, "x")], start=0)) == [(0, "x"), (1, "y")]


def test_run_jobs_in_processes_returns_results_and_errors():
    out = dict(in_order(run_jobs(_square, [0, 1, 2, 3, 4], n_workers=2)))
    assert [out[i] for i in (0, 1, 2, 4)] == [0, 1, 4, 16]
    assert isinstance(out[3], ValueError) and str(out[3]) == "three"
    assert list(run_jobs(_square, [5, 6], n_workers=1)) == [(0, 25), (1, 36)]


def test_every_available_builtin_agent_loads():
    available = {name: path for name, path in BUILTIN_AGENTS.items() if path.is_file()}
    assert "expert" in available
    for name in available:
        assert issubclass(load_agent_class(name), AutonomousAgent)


def _report_and_square(payload) -> int:
    x, report = payload
    report(x, x * 10.0)
    return x * x


def test_progress_channel_brings_worker_progress_back():
    from leaderboard.workers import ProgressChannel

    seen = []
    with ProgressChannel(lambda *args: seen.append(args), n_workers=2) as channel:
        out = dict(run_jobs(_report_and_square, [(i, channel.reporter) for i in range(4)], n_workers=2))
    assert out == {0: 0, 1: 1, 2: 4, 3: 9}
    assert sorted(seen) == [(0, 0.0), (1, 10.0), (2, 20.0), (3, 30.0)]
