"""Read and check a results file (the evaluator's official leaderboard layout) for the report.

The report trusts nothing it did not check: every field it shows is validated here, and a file
that is missing, not JSON, not a results file or has a record lacking a field raises one
`InputError` naming the file, the field (as a JSON path) and what was expected. Infraction
locations are read from the official message text ("... at (x=.., y=.., z=..)", metres in the
CARLA world frame); an entry given as an object with numeric `x`/`y` (and an optional `message`)
is accepted as well.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driving.errors import InputError
from leaderboard.statistics import GLOBAL_LABELS, INFRACTION_KEYS, SCORE_KEYS

#: Human names of the infraction kinds (the results file's own labels, same order as INFRACTION_KEYS).
INFRACTION_LABELS: dict[str, str] = dict(zip(INFRACTION_KEYS, GLOBAL_LABELS[3:]))
#: Scenario family of an infraction that happened while no scenario was running.
NO_SCENARIO = "no scenario"

_NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_LOCATION_RE = re.compile(rf"\(x=({_NUMBER}), y=({_NUMBER}), z=({_NUMBER})\)")


@dataclass(frozen=True)
class Infraction:
    """One infraction of a route: its kind (an INFRACTION_KEYS entry), message and place.

    `x_m`/`y_m` are CARLA world metres, None when the entry names no place ("Route timeout.").
    """

    kind: str
    message: str
    x_m: float | None = None
    y_m: float | None = None


@dataclass(frozen=True)
class RouteResult:
    """One record: scores (DS and RC in %, IS a factor in [0, 1]), infractions and scenario tags.

    `family_counts` counts the infractions by the family of the scenarios running when they
    happened (`NO_SCENARIO` when none was); empty when the run had no scenarios on this route.
    """

    route_id: str
    index: int
    status: str
    driving_score: float
    route_completion: float
    infraction_penalty: float
    infractions: tuple[Infraction, ...]
    family_counts: tuple[tuple[str, int], ...] = ()

    @property
    def key(self) -> tuple[str, int]:
        """Identifies the route run across two results files (route name and its index)."""
        return self.route_id, self.index

    def count(self, kind: str) -> int:
        return sum(i.kind == kind for i in self.infractions)


@dataclass(frozen=True)
class RunResults:
    """A checked results file: global scores (means over routes) and the records in route order."""

    path: Path
    label: str
    entry_status: str
    eligible: bool
    eligible_reason: str
    progress: tuple[int, int]
    driving_score: float
    route_completion: float
    infraction_penalty: float
    routes: tuple[RouteResult, ...]

    @property
    def has_scenarios(self) -> bool:
        return any(r.family_counts for r in self.routes)


class _Checker:
    """Field readers that name the file and the JSON path in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, expected: str, got: Any) -> InputError:
        shown = "missing" if got is _MISSING else f"{type(got).__name__} {_short(got)}"
        return InputError(f"{self.path}: {where}: expected {expected}, got {shown}")

    def get(self, obj: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...], expected: str) -> Any:
        value = obj.get(key, _MISSING)
        if value is _MISSING or not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise self.fail(f"{where}.{key}" if where else key, expected, value)
        return value

    def objects(self, obj: dict[str, Any], key: str, where: str, expected: str) -> Iterator[tuple[str, dict]]:
        """(JSON path, item) of each item of the list `obj[key]`; every item must be an object."""
        for k, item in enumerate(self.get(obj, key, where, list, f"a list of {expected}")):
            at = f"{where}.{key}[{k}]"
            if not isinstance(item, dict):
                raise self.fail(at, expected, item)
            yield at, item

    def number(self, obj: dict[str, Any], key: str, where: str) -> float:
        value = float(self.get(obj, key, where, (int, float), "a number"))
        if not math.isfinite(value):
            raise self.fail(f"{where}.{key}", "a finite number", value)
        return value


_MISSING = object()


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def infraction_location(message: str) -> tuple[float, float] | None:
    """(x, y) metres from an official message's "(x=.., y=.., z=..)", None when it names no place."""
    match = _LOCATION_RE.search(message)
    return (float(match.group(1)), float(match.group(2))) if match else None


def _infraction(check: _Checker, kind: str, entry: Any, where: str) -> Infraction:
    if isinstance(entry, str):
        xy = infraction_location(entry)
        return Infraction(kind, entry, *(xy or (None, None)))
    if isinstance(entry, dict):
        x, y = check.number(entry, "x", where), check.number(entry, "y", where)
        message = entry.get("message", "")
        return Infraction(kind, message if isinstance(message, str) else str(message), x, y)
    raise check.fail(where, "an infraction message string or an object with x and y", entry)


def _family_counts(check: _Checker, meta: dict[str, Any], where: str) -> tuple[tuple[str, int], ...]:
    """Infractions per scenario family from `meta.scenarios` (label -> family) and
    `meta.scenario_infractions` (each with the labels running at the time)."""
    if "scenario_infractions" not in meta and "scenarios" not in meta:
        return ()
    meta_at = f"{where}.meta"
    families = {check.get(s, "scenario", at, str, "a string"): check.get(s, "family", at, str, "a string")
                for at, s in check.objects(meta, "scenarios", meta_at, "objects with scenario and family")}
    counts: dict[str, int] = {}
    for at, t in check.objects(meta, "scenario_infractions", meta_at, "objects with type, message and scenarios"):
        check.get(t, "type", at, str, "an infraction type string")
        labels = check.get(t, "scenarios", at, list, "a list of scenario labels")
        for family in dict.fromkeys(families.get(str(label), str(label)) for label in labels) or [NO_SCENARIO]:
            counts[family] = counts.get(family, 0) + 1
    return tuple(sorted(counts.items()))


def _route(check: _Checker, raw: Any, where: str) -> RouteResult:
    if not isinstance(raw, dict):
        raise check.fail(where, "a route record object", raw)
    route_id = check.get(raw, "route_id", where, (str, int), "a route name")
    index = check.get(raw, "index", where, int, "an integer")
    status = check.get(raw, "status", where, str, "a status string")
    scores = check.get(raw, "scores", where, dict, f"an object with {', '.join(SCORE_KEYS)}")
    ds, rc, pen = (check.number(scores, k, f"{where}.scores") for k in
                   ("score_composed", "score_route", "score_penalty"))
    table = check.get(raw, "infractions", where, dict, "an object of infraction lists")
    infractions = []
    for kind in INFRACTION_KEYS:
        entries = check.get(table, kind, f"{where}.infractions", list, "a list of infraction messages")
        infractions += [_infraction(check, kind, e, f"{where}.infractions.{kind}[{k}]") for k, e in enumerate(entries)]
    meta = check.get(raw, "meta", where, dict, "an object")
    return RouteResult(str(route_id), index, status, ds, rc, pen, tuple(infractions),
                       _family_counts(check, meta, where))


def load_results(path: str | Path, label: str = "") -> RunResults:
    """Read and check one results file; `label` names it on the page (default: the file name)."""
    path = Path(path)
    check = _Checker(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such results file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: expected a results JSON file, cannot read it ({exc})") from None
    if not isinstance(doc, dict):
        raise check.fail("(top level)", "a results object with _checkpoint", doc)
    cp = check.get(doc, "_checkpoint", "", dict, "an object with progress, records and global_record "
                   "(a leaderboard results file)")
    progress = check.get(cp, "progress", "_checkpoint", list, "[next_index, total]")
    if len(progress) not in (0, 2) or not all(isinstance(p, int) for p in progress):
        raise check.fail("_checkpoint.progress", "[next_index, total]", progress)
    raw = check.get(cp, "records", "_checkpoint", list, "a list of route records")
    routes = tuple(_route(check, r, f"_checkpoint.records[{k}]") for k, r in enumerate(raw))
    glob = check.get(cp, "global_record", "_checkpoint", dict, "an object (empty before the first route)")
    if routes:
        gscores = check.get(glob, "scores", "_checkpoint.global_record", dict, "an object of mean scores")
        means = tuple(check.number(gscores, k, "_checkpoint.global_record.scores")
                      for k in ("score_composed", "score_route", "score_penalty"))
    else:
        means = (0.0, 0.0, 0.0)
    entry = doc.get("entry_status", "")
    reason = doc.get("eligible_reason", "")
    return RunResults(path, label or path.name, entry if isinstance(entry, str) else str(entry),
                      doc.get("eligible") is True, reason if isinstance(reason, str) else str(reason),
                      tuple(progress) if progress else (len(routes), len(routes)), *means, routes)
