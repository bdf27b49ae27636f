"""Resume after a real crash: `driving collect` killed with SIGKILL while the second of two routes is
half written; the same command again leaves the first route's files untouched and drives the
second again from the start, to a complete and valid route."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from collect_fixtures import route_dirs, write_routes

from driving.collect.layout import MANIFEST_NAME, sha256_file, verify_route

REPO = Path(__file__).resolve().parents[2]


def _snapshot(route: Path) -> dict[str, tuple[int, str]]:
    return {p.relative_to(route).as_posix(): (p.stat().st_mtime_ns, sha256_file(p))
            for p in sorted(route.rglob("*")) if p.is_file()}


def _command(routes: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "driving.cli", "collect", "--routes", str(routes), "--out", str(out), "--quiet"]


def test_sigkill_mid_route_then_rerun_completes_and_keeps_the_first_route(tmp_path: Path) -> None:
    routes = write_routes(tmp_path / "routes.xml", n_routes=2, vehicles=2, walkers=0)
    out = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(_command(routes, out), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        first = second = None
        while time.time() < deadline and proc.poll() is None:
            dirs = route_dirs(out) if out.exists() else []
            done = [d for d in dirs if (d / MANIFEST_NAME).is_file()]
            started = [d for d in dirs if not (d / MANIFEST_NAME).is_file()
                       and len(list((d / "measurements").glob("*.json"))) >= 3]
            if done and started:
                first, second = done[0], started[0]
                break
            time.sleep(0.05)
        assert first is not None and second is not None, proc.stderr.read().decode() if proc.poll() else "timeout"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (second / MANIFEST_NAME).exists()  # killed mid-way
    before = _snapshot(first)

    rerun = subprocess.run(_command(routes, out), check=False, cwd=REPO, env=env, capture_output=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert _snapshot(first) == before  # untouched: same files, same mtimes, same bytes
    assert (second / MANIFEST_NAME).is_file()
    assert verify_route(second) == []
    assert verify_route(first) == []
