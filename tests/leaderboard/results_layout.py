"""The project's own check of a results file: official LB1.0 layout and arithmetic (LEADERBOARD.md).

The shared conformance checker lives beside the repository and is absent in a fresh clone, so the
tests always run this one as well. It keeps its own copy of the official names and coefficients
(nothing imported from `leaderboard/`): a wrong constant in the evaluator cannot make its own
check pass.
"""
from __future__ import annotations

import json
import math
from typing import Any

TOP_KEYS = {"sensors", "values", "labels", "entry_status", "eligible", "eligible_reason", "_checkpoint"}
CHECKPOINT_KEYS = {"progress", "records", "global_record"}
RECORD_KEYS = {"route_id", "index", "status", "infractions", "scores", "meta"}
INFRACTION_KEYS = ("collisions_pedestrian", "collisions_vehicle", "collisions_layout", "red_light",
                   "stop_infraction", "outside_route_lanes", "route_dev", "route_timeout", "vehicle_blocked")
SCORE_KEYS = ("score_route", "score_penalty", "score_composed")
META_KEYS = {"duration_system", "duration_game", "route_length"}
#: Official penalty per infraction (outside_route_lanes multiplies by 1 - pct/100 instead).
PENALTY = {"collisions_pedestrian": 0.50, "collisions_vehicle": 0.60, "collisions_layout": 0.65,
           "red_light": 0.70, "stop_infraction": 0.80}
ROUTE_STATUSES = {"Completed", "Failed - Agent deviated from the route", "Failed - Agent got blocked",
                  "Failed - Agent timed out", "Failed - Agent's sensors were invalid",
                  "Failed - Agent couldn't be set up", "Failed - Agent crashed", "Failed - Simulation crashed"}
FINISHED_ENTRIES = {"Finished", "Finished with missing data", "Finished with agent errors", "Rejected", "Crashed"}
LABELS = ["Avg. driving score", "Avg. route completion", "Avg. infraction penalty", "Collisions with pedestrians",
          "Collisions with vehicles", "Collisions with layout", "Red lights infractions", "Stop sign infractions",
          "Off-road infractions", "Route deviations", "Route timeouts", "Agent blocked"]


def _close(a: Any, b: float) -> bool:
    return isinstance(a, int | float) and math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def _record_problems(i: int, r: dict[str, Any]) -> list[str]:
    where = f"records[{i}]"
    if set(r) != RECORD_KEYS:
        return [f"{where}: keys {sorted(r)}, expected {sorted(RECORD_KEYS)}"]
    out = []
    if r["index"] != i:
        out.append(f"{where}: index {r['index']}, expected {i} (records are the finished prefix, in order)")
    if r["status"] not in ROUTE_STATUSES:
        out.append(f"{where}: unknown status {r['status']!r}")
    inf, s = r["infractions"], r["scores"]
    if set(inf) != set(INFRACTION_KEYS):
        return out + [f"{where}.infractions: keys {sorted(inf)}, expected {sorted(INFRACTION_KEYS)}"]
    out += [f"{where}.infractions.{k}: expected a list of message strings"
            for k, v in inf.items() if not (isinstance(v, list) and all(isinstance(m, str) for m in v))]
    if set(s) != set(SCORE_KEYS):
        return out + [f"{where}.scores: keys {sorted(s)}, expected {sorted(SCORE_KEYS)}"]
    if not (0 <= s["score_route"] <= 100 and 0 <= s["score_penalty"] <= 1):
        out.append(f"{where}.scores: out of range {s}")
    expected = math.prod(c ** len(inf[k]) for k, c in PENALTY.items() if isinstance(inf[k], list))
    lanes_ok = s["score_penalty"] <= expected + 1e-9 if inf["outside_route_lanes"] else _close(s["score_penalty"],
                                                                                               expected)
    if not lanes_ok:
        out.append(f"{where}.scores.score_penalty {s['score_penalty']}, infractions give {expected:.6f}")
    if not _close(s["score_composed"], max(s["score_route"] * s["score_penalty"], 0.0)):
        out.append(f"{where}.scores.score_composed {s['score_composed']} != score_route x score_penalty")
    if not META_KEYS <= set(r["meta"]):
        out.append(f"{where}.meta: missing {sorted(META_KEYS - set(r['meta']))}")
    return out


def _per_km(records: list[dict[str, Any]]) -> dict[str, float]:
    """Infractions over the km driven (length x completion); routes that drove nothing left out."""
    driven = [(r, r["meta"]["route_length"] / 1000 * r["scores"]["score_route"] / 100) for r in records]
    driven = [(r, km) for r, km in driven if km > 0]
    total_km = sum(km for _, km in driven)
    return {k: sum(len(r["infractions"][k]) for r, _ in driven) / total_km if driven else 0.0
            for k in INFRACTION_KEYS}


def _global_problems(records: list[dict[str, Any]], doc: dict[str, Any]) -> list[str]:
    g = doc["_checkpoint"]["global_record"]
    if not records:
        return [] if g == {} and doc["values"] == [] and doc["labels"] == [] else \
            ["no records: global_record, values and labels must be empty"]
    out = []
    if (g.get("route_id"), g.get("index")) != (-1, -1):
        out.append("global_record: route_id and index must be -1")
    means = {k: sum(r["scores"][k] for r in records) / len(records) for k in SCORE_KEYS}
    for k, mean in means.items():
        if not _close(g.get("scores", {}).get(k), mean):
            out.append(f"global_record.scores.{k} {g.get('scores', {}).get(k)} != mean of routes {mean:.6f}")
    std = g.get("scores_std_dev", {})
    for k in SCORE_KEYS:
        values = [r["scores"][k] for r in records]
        want = "NaN" if len(values) == 1 else math.sqrt(sum((v - means[k]) ** 2 for v in values) / (len(values) - 1))
        if std.get(k) != want and not (want != "NaN" and _close(std.get(k), want)):
            out.append(f"global_record.scores_std_dev.{k} {std.get(k)!r}, expected {want!r}")
    per_km = _per_km(records)
    for k, rate in per_km.items():
        if not _close(g.get("infractions", {}).get(k), rate):
            out.append(f"global_record.infractions.{k} {g.get('infractions', {}).get(k)} != per km driven {rate:.6f}")
    values = [means["score_composed"], means["score_route"], means["score_penalty"], *per_km.values()]
    if doc["values"] != [f"{v:.3f}" for v in values]:
        out.append(f"values {doc['values']} do not match the global record")
    if doc["labels"] != LABELS:
        out.append(f"labels {doc['labels']} are not the official ones")
    return out


def _reject_constant(name: str) -> None:
    raise ValueError(f"bare {name} is not JSON (other readers reject it)")


def layout_problems(text: str, complete: bool = True) -> list[str]:
    """Problems of a results file's text (empty when it conforms); `complete`: every route ran."""
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        return [f"not strict JSON: {exc}"]
    if text != json.dumps(doc, indent=4, sort_keys=True):
        return ["not written with indent=4, sort_keys=True"]
    if set(doc) != TOP_KEYS:
        return [f"top level: keys {sorted(doc)}, expected {sorted(TOP_KEYS)}"]
    cp = doc["_checkpoint"]
    if set(cp) != CHECKPOINT_KEYS:
        return [f"_checkpoint: keys {sorted(cp)}, expected {sorted(CHECKPOINT_KEYS)}"]
    out = []
    records, progress = cp["records"], cp["progress"]
    if not (isinstance(progress, list) and len(progress) == 2 and progress[0] == len(records) <= progress[1]):
        out.append(f"_checkpoint.progress {progress} does not match {len(records)} finished records")
    elif complete and progress[0] != progress[1]:
        out.append(f"_checkpoint.progress {progress}: not every route ran")
    elif (doc["entry_status"] in FINISHED_ENTRIES) != (progress[0] == progress[1]):
        out.append(f"entry_status {doc['entry_status']!r} with progress {progress}")
    if not (isinstance(doc["eligible"], bool) and isinstance(doc["eligible_reason"], str)):
        out.append("eligible must be a bool and eligible_reason a string")
    elif doc["eligible"] == bool(doc["eligible_reason"]):
        out.append(f"eligible {doc['eligible']} but eligible_reason {doc['eligible_reason']!r}")
    if not (isinstance(doc["sensors"], list) and all(isinstance(x, str) for x in doc["sensors"])):
        out.append("sensors: expected a list of icon names")
    for i, r in enumerate(records):
        out += _record_problems(i, r)
    return out if out else _global_problems(records, doc)
