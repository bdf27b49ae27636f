"""Evaluation suites: the bundled ones load with their route sets and scenario files, and bad
suites or conflicting arguments give one clear line."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from driving.cpus import available_cpus
from driving.errors import InputError
from leaderboard import evaluate_cli
from leaderboard.routes import parse_routes_file
from leaderboard.suites import bundled_suites, load_suite
from scenarios.source import load_scenario_source


def test_bundled_suites_name_held_out_routes_and_load_their_scenarios():
    assert {"normal", "adversarial"} <= set(bundled_suites())
    normal, adversarial = load_suite("normal"), load_suite("adversarial")
    assert (normal.routes, normal.scenarios) == ("test_short", "")
    assert adversarial.routes == "test_long" and adversarial.scenarios.endswith("adversarial.yaml")
    families = {s.scenario_type for s in load_scenario_source(adversarial.scenarios).data.scenarios}
    assert families == {f"Scenario{n}" for n in range(1, 11)}  # every LB1.0 family is in it
    for suite in (normal, adversarial):
        routes = evaluate_cli._routes_path(suite.routes)
        assert {c.town for c in parse_routes_file(routes, "")} == {"town_suburb"}  # held out from training


def _args(**kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    evaluate_cli.add_arguments(parser)
    return parser.parse_args([f"--{k}={v}" for k, v in kw.items()])


def test_suite_sets_routes_and_scenarios_and_refuses_both(tmp_path):
    args = _args(suite="adversarial")
    evaluate_cli._apply_suite(args)
    assert args.routes == "test_long" and Path(args.scenarios).name == "adversarial.yaml"
    with pytest.raises(InputError, match="--suite sets the routes and scenarios"):
        evaluate_cli._apply_suite(_args(suite="normal", routes="val_long"))
    with pytest.raises(InputError, match=r"not a bundled suite; bundled: \[.*'adversarial'"):
        load_suite("nightmare")
    bad = tmp_path / "bad.yaml"
    bad.write_text("routes: test_long\nscenarios: missing.yaml\n")
    with pytest.raises(InputError, match="scenarios: no such file"):
        load_suite(str(bad))
    bad.write_text("routes: test_long\nweather: rain\n")
    with pytest.raises(InputError, match=r"unknown key\(s\) \['weather'\]"):
        load_suite(str(bad))


def test_driving_evaluate_defaults_to_one_worker_per_core_capped_by_routes_and_memory():
    cores = available_cpus()
    assert evaluate_cli.default_workers(6, None) == min(cores, evaluate_cli.MAX_DEFAULT_WORKERS, 6)
    assert evaluate_cli.default_workers(1, None) == 1  # one route: run it in this process
    assert evaluate_cli.default_workers(100, None) <= evaluate_cli.MAX_DEFAULT_WORKERS
    assert evaluate_cli.default_workers(6, "auto") == 1  # Ray: no cap, the cluster decides
    parser = argparse.ArgumentParser()
    evaluate_cli.add_arguments(parser)
    assert parser.parse_args([]).workers is None and parser.parse_args(["--workers", "3"]).workers == 3


def test_available_cpus_works_where_the_os_has_no_affinity_call(monkeypatch):
    """macOS and Windows have no os.sched_getaffinity: the machine's CPU count is used."""
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert available_cpus() == 6 and evaluate_cli.default_workers(10, None) == 4
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert available_cpus() == 1
