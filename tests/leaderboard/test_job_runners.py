"""The job runners behind `run_jobs`: local processes and Ray tasks honour one contract.

Every job's result comes back with its position; an exception raised by the job is its result;
a worker that dies costs its own job, not the run. Ray tests start one local Ray instance
(`ray.init(num_cpus=2)`) for the module and skip when Ray (the `cluster` extra) is missing.
"""
from __future__ import annotations

import os
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from test_lb_evaluator import AGENTS, records, write_routes

from driving.cpus import available_cpus
from driving.errors import InputError
from driving.jobs import ProgressChannel, in_order, run_jobs
from driving.jobs.process_runner import ProcessJobRunner
from leaderboard.leaderboard_evaluator import main as evaluator_main

REPO = Path(__file__).resolve().parents[2]


def _square(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x * x


def _die_on_one(x: int) -> int:
    if x == 1:
        os._exit(7)  # a worker crash (segfault-like: no exception, no cleanup)
    time.sleep(0.3)
    return x * 10


def _count_then(payload: tuple[str, int]) -> int:
    """Append one line per attempt to a file, then square, raise (x == 3) or die once (x == 4)."""
    folder, x = payload
    marker = Path(folder) / f"job{x}"
    first = not marker.exists()
    with marker.open("a") as f:
        f.write("attempt\n")
    if x == 4 and first:
        os._exit(7)
    return _square(x)


def _report_and_square(payload) -> int:
    x, report = payload
    report(x, x * 10.0)
    return x * x


def _torch_threads(_: int) -> tuple[int, str | None]:
    import torch
    return torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")


def test_process_runner_shares_the_cpus_among_workers_torch_threads(monkeypatch):
    """Two workers on C CPUs: torch in each gets C // 2 threads (at least 1), not all C each."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cpus = available_cpus()
    out = dict(ProcessJobRunner(2).run(_torch_threads, [0, 1]))
    assert out[0] == out[1] == (max(1, cpus // 2), str(max(1, cpus // 2)))


def test_process_runner_keeps_the_users_thread_setting(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert dict(ProcessJobRunner(2).run(_torch_threads, [0]))[0] == (1, "1")


def test_process_runner_returns_every_result_and_exception_by_position():
    out = list(ProcessJobRunner(2).run(_square, [0, 1, 2, 3, 4]))
    assert sorted(pos for pos, _ in out) == [0, 1, 2, 3, 4]
    results = dict(out)
    assert [results[i] for i in (0, 1, 2, 4)] == [0, 1, 4, 16]
    assert isinstance(results[3], ValueError) and str(results[3]) == "three"
    assert list(ProcessJobRunner(1).run(_square, [5, 6])) == [(0, 25), (1, 36)]


def test_process_runner_survives_a_dead_worker_and_reruns_jobs_that_had_not_started():
    t0 = time.monotonic()
    out = list(ProcessJobRunner(2).run(_die_on_one, range(6)))
    assert sorted(pos for pos, _ in out) == list(range(6))  # each job exactly once, no hang
    results = dict(out)
    assert isinstance(results[1], BrokenProcessPool)
    # job 0 ran beside the crash (it may be lost with it); jobs 2.. had not started and ran again
    assert results[0] == 0 or isinstance(results[0], BrokenProcessPool)
    assert [results[i] for i in range(2, 6)] == [20, 30, 40, 50]
    assert time.monotonic() - t0 < 60


def test_ray_address_without_ray_is_one_input_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(InputError, match=r"pip install -e '\.\[cluster\]'"):
        list(run_jobs(_square, [1], 1, ray_address="auto"))
    routes = write_routes(tmp_path / "routes.xml", 1)
    rc = evaluator_main(["--routes", str(routes), "--agent", str(AGENTS / "follow_agent.py"),
                         "--checkpoint", str(tmp_path / "r.json"), "--ray-address", "auto"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "--ray-address: Ray is not installed" in err and "pip install -e '.[cluster]'" in err


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray instance for the module (startup costs seconds); its workers import these tests."""
    ray = pytest.importorskip("ray", reason="Ray is the optional cluster extra: pip install -e '.[cluster]'")
    before = os.environ.get("PYTHONPATH")
    # workers are started by this Ray's raylet with its environment: let them import this module
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).parent), str(REPO), before) if p)
    try:
        ray.init(num_cpus=2, include_dashboard=False)
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before
    yield ray
    ray.shutdown()


def test_ray_runner_gives_the_process_runners_results(ray_local):
    jobs = [0, 1, 2, 3, 4, 5]
    by_ray = dict(run_jobs(_square, jobs, 1, ray_address="local"))
    by_processes = dict(run_jobs(_square, jobs, 2))
    assert sorted(by_ray) == jobs
    for i in jobs:
        if i == 3:
            assert type(by_ray[i]) is ValueError and str(by_ray[i]) == "three"
        else:
            assert by_ray[i] == by_processes[i] == i * i
    capped = list(in_order(run_jobs(_square, [5, 6, 7], 2, ray_address="local")))  # at most 2 in flight
    assert capped == [(0, 25), (1, 36), (2, 49)]


def test_ray_runner_retries_a_dead_worker_but_not_an_exception(ray_local, tmp_path):
    out = dict(run_jobs(_count_then, [(str(tmp_path), x) for x in (2, 3, 4)], 1, ray_address="local"))
    assert out[0] == 4
    assert isinstance(out[1], ValueError)
    assert out[2] == 16  # died on its first try, then Ray ran it again
    attempts = {x: (tmp_path / f"job{x}").read_text().count("attempt") for x in (2, 3, 4)}
    assert attempts == {2: 1, 3: 1, 4: 2}


def test_progress_channel_over_ray(ray_local):
    seen = []
    with ProgressChannel(lambda *args: seen.append(args), 1, ray_address="local") as channel:
        out = dict(run_jobs(_report_and_square, [(i, channel.reporter) for i in range(4)], 1, ray_address="local"))
    assert out == {0: 0, 1: 1, 2: 4, 3: 9}
    assert sorted(seen) == [(0, 0.0), (1, 10.0), (2, 20.0), (3, 30.0)]


def test_evaluator_on_ray_writes_the_process_runs_results(ray_local, tmp_path):
    routes = write_routes(tmp_path / "routes.xml", 2, traffic=(2, 2))
    base = ["--routes", str(routes), "--agent", str(AGENTS / "follow_agent.py")]
    assert evaluator_main(base + ["--checkpoint", str(tmp_path / "local.json")]) == 0
    assert evaluator_main(base + ["--checkpoint", str(tmp_path / "ray.json"), "--ray-address", "local"]) == 0
    local, on_ray = records(tmp_path / "local.json"), records(tmp_path / "ray.json")
    assert [r["route_id"] for r in on_ray] == ["RouteScenario_0", "RouteScenario_1"]  # route order
    for a, b in zip(local, on_ray, strict=True):
        assert (b["index"], b["status"], b["scores"], b["infractions"]) == \
               (a["index"], a["status"], a["scores"], a["infractions"])
