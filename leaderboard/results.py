"""The results file: the official checkpoint layout, written atomically after every route.

Layout (json, indent 4, sort_keys): {sensors, values, labels, entry_status, eligible,
_checkpoint: {progress: [next_index, total], records: [...], global_record: {...}}}, plus our
`eligible_reason`: why `eligible` is false ("" when it is true). Besides the official rule (only a
finished entry is eligible), a run is never eligible when its agent reads the ground-truth world
or it uses the RESEARCH track: such scores must not pass for leaderboard results.
Records are kept in route order and always form the finished prefix 0..progress[0]-1, so a
resume after a crash (even SIGKILL mid-write: the file is replaced atomically) continues at
progress[0], loses no finished route and repeats none.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driving.atomic_io import atomic_write_text
from driving.errors import InputError
from leaderboard.statistics import (
    FAILURE_SENSORS,
    FAILURE_SIMULATION,
    GLOBAL_LABELS,
    RouteRecord,
    compute_global_record,
    global_values,
)

ENTRY_STARTED = "Started"
ENTRY_FINISHED = "Finished"
ENTRY_AGENT_ERRORS = "Finished with agent errors"
ENTRY_REJECTED = "Rejected"
ENTRY_CRASHED = "Crashed"
ELIGIBLE = {ENTRY_FINISHED: True, ENTRY_AGENT_ERRORS: True}

REASON_PRIVILEGED = "privileged agent (reads the ground-truth world)"
REASON_RESEARCH = "research track (depth/semantic cameras are not allowed on the official leaderboard)"
_STATUS_REASON_PREFIX = "entry status "
_REASON_SEPARATOR = "; "


def run_ineligibility(privileged: bool, track: str) -> tuple[str, ...]:
    """Why a run's results can never be leaderboard results, whatever its routes give."""
    reasons = []
    if privileged:
        reasons.append(REASON_PRIVILEGED)
    if track == "RESEARCH":
        reasons.append(REASON_RESEARCH)
    return tuple(reasons)


def _status_reason(entry_status: str) -> str:
    return f"{_STATUS_REASON_PREFIX}{entry_status!r} (only a finished entry is eligible)"


def final_entry_status(records: list[RouteRecord]) -> str:
    """Entry status once every route ran: the worst failure class decides.

    As the official LB1.0 `save_global_record`, any route status naming the agent ("Agent
    crashed", "Agent couldn't be set up", but also "Agent deviated from the route", "Agent got
    blocked", "Agent timed out") makes the entry "Finished with agent errors" (still eligible).
    """
    statuses = {r.status for r in records}
    if f"Failed - {FAILURE_SENSORS}" in statuses:
        return ENTRY_REJECTED
    if f"Failed - {FAILURE_SIMULATION}" in statuses:
        return ENTRY_CRASHED
    if any("Agent" in status for status in statuses):
        return ENTRY_AGENT_ERRORS
    return ENTRY_FINISHED


@dataclass
class Results:
    """In-memory state of a results file: finished records (route order), total, sensors."""

    path: Path
    total: int
    repetitions: int = 1
    records: list[RouteRecord] = field(default_factory=list)
    sensors: list[str] = field(default_factory=list)
    entry_status: str = ENTRY_STARTED
    #: Run-level reasons the entry is not eligible (`run_ineligibility`), kept across resumes.
    ineligible: tuple[str, ...] = ()

    @property
    def next_index(self) -> int:
        return len(self.records)

    def add(self, record: RouteRecord, sensors: list[str] | None = None) -> None:
        """Append the next route's record (must be index `next_index`) and write the file."""
        if record.index != self.next_index:
            raise ValueError(f"record index {record.index} out of order; expected {self.next_index}")
        self.records.append(record)
        if sensors and not self.sensors:
            self.sensors = list(sensors)
        if self.next_index == self.total:
            self.entry_status = final_entry_status(self.records)
        self.save()

    def eligibility(self) -> tuple[bool, str]:
        """(eligible, why not): the run's reasons, then the entry status's (official rule)."""
        reasons = list(self.ineligible)
        if not ELIGIBLE.get(self.entry_status, False):
            reasons.append(_status_reason(self.entry_status))
        return not reasons, _REASON_SEPARATOR.join(reasons)

    def to_json(self) -> dict[str, Any]:
        glob = compute_global_record(self.records, self.repetitions)
        eligible, reason = self.eligibility()
        return {
            "sensors": self.sensors,
            "values": global_values(glob) if self.records else [],
            "labels": GLOBAL_LABELS if self.records else [],
            "entry_status": self.entry_status,
            "eligible": eligible,
            "eligible_reason": reason,
            "_checkpoint": {
                "progress": [self.next_index, self.total],
                "records": [r.to_json() for r in self.records],
                "global_record": glob.to_json() if self.records else {},
            },
        }

    def save(self) -> None:
        atomic_write_text(self.path, json.dumps(self.to_json(), indent=4, sort_keys=True))


def new_results(path: str | Path, total: int, repetitions: int = 1, ineligible: tuple[str, ...] = ()) -> Results:
    """A fresh results state (the file is written at once, so a crash before route 1 is visible)."""
    results = Results(Path(path), total, repetitions, ineligible=tuple(ineligible))
    results.save()
    return results


def _stored_run_reasons(path: Path, doc: dict[str, Any]) -> tuple[str, ...]:
    """The run-level ineligibility reasons a checkpoint recorded (its entry status's reason left out)."""
    reason = doc.get("eligible_reason", "")
    if not isinstance(reason, str):
        raise InputError(f"{path}: cannot resume, 'eligible_reason' must be a string, got {type(reason).__name__}")
    return tuple(part for part in reason.split(_REASON_SEPARATOR)
                 if part and not part.startswith(_STATUS_REASON_PREFIX))


def resume_results(path: str | Path, total: int, repetitions: int = 1,
                   ineligible: tuple[str, ...] = ()) -> Results:
    """Reload a checkpoint to continue at its progress; a missing file starts afresh (as official).

    The checkpoint's ineligibility reasons are kept and this run's added: routes driven by a
    privileged agent stay in the file, so resuming with a sensor agent cannot make it eligible.
    """
    path = Path(path)
    if not path.exists():
        return new_results(path, total, repetitions, ineligible)
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot resume, the checkpoint is not valid JSON ({exc})") from None
    try:
        cp = doc["_checkpoint"]
        progress = cp["progress"]
        raw = cp["records"]
    except (KeyError, TypeError):
        raise InputError(f"{path}: cannot resume, expected '_checkpoint' with 'progress' and 'records'") from None
    if not (isinstance(progress, list) and len(progress) in (0, 2)):
        raise InputError(f"{path}: cannot resume, '_checkpoint.progress' must be [next_index, total]")
    if progress and progress[1] != total:
        raise InputError(f"{path}: cannot resume, the checkpoint was made for {progress[1]} routes x repetitions "
                         f"but this run has {total}")
    try:
        records = [RouteRecord.from_json(r) for r in raw]
    except (KeyError, TypeError):
        raise InputError(f"{path}: cannot resume, a record lacks route_id/index/status/infractions/scores/meta")
    if [r.index for r in records] != list(range(len(records))):
        raise InputError(f"{path}: cannot resume, records are not the finished routes 0..{len(records) - 1} "
                         f"in order")
    reasons = tuple(dict.fromkeys(_stored_run_reasons(path, doc) + tuple(ineligible)))
    results = Results(path, total, repetitions, records, list(doc.get("sensors") or []),
                      doc.get("entry_status", ENTRY_STARTED), reasons)
    if results.next_index < total:
        results.entry_status = ENTRY_STARTED
    return results
