"""Evaluation suites: a named pair of a route set and a scenario file (`driving evaluate --suite`).

A suite is a small YAML file (`configs/suites/NAME.yaml`):
`routes:` a bundled route set name (`test_long`) or a routes XML path, and optionally
`scenarios:` a scenario file (LB1.0 JSON or our YAML), relative paths read from the suite's
folder. `normal` is the held-out short routes with background traffic only; `adversarial` the
held-out long routes with every scenario family placed where it fits.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from driving.config import read_yaml
from driving.errors import InputError

SUITES_DIR = Path(__file__).resolve().parents[1] / "configs" / "suites"
_KEYS = ("routes", "scenarios")


@dataclass(frozen=True)
class Suite:
    """`routes`: a bundled set name or a path; `scenarios`: a scenario file path or ''."""

    name: str
    routes: str
    scenarios: str = ""


def bundled_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def load_suite(name_or_path: str) -> Suite:
    """A bundled suite by name, or a suite YAML file by path; one InputError line when bad."""
    path = Path(name_or_path)
    if not path.is_file():
        path = SUITES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise InputError(f"--suite {name_or_path}: no such file and not a bundled suite; bundled: {bundled_suites()}")
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("routes"), str):
        raise InputError(f"suite {path}: routes: expected a route set name or a routes XML path")
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise InputError(f"suite {path}: unknown key(s) {unknown}; known keys: {list(_KEYS)}")
    scenarios = data.get("scenarios") or ""
    if not isinstance(scenarios, str):
        raise InputError(f"suite {path}: scenarios: expected a scenario file path, got {scenarios!r}")
    if scenarios:
        scenarios = str((path.parent / scenarios).resolve())
        if not Path(scenarios).is_file():
            raise InputError(f"suite {path}: scenarios: no such file {scenarios}")
    routes = data["routes"]
    if (path.parent / routes).is_file():
        routes = str((path.parent / routes).resolve())
    return Suite(path.stem, routes, scenarios)
