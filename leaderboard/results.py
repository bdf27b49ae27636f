"""The results file: the official checkpoint layout, written atomically after every route.

Layout (json, indent 4, sort_keys): {sensors, values, labels, entry_status, eligible,
_checkpoint: {progress: [next_index, total], records: [...], global_record: {...}}}.
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

    def to_json(self) -> dict[str, Any]:
        glob = compute_global_record(self.records, self.repetitions)
        return {
            "sensors": self.sensors,
            "values": global_values(glob) if self.records else [],
            "labels": GLOBAL_LABELS if self.records else [],
            "entry_status": self.entry_status,
            "eligible": ELIGIBLE.get(self.entry_status, False),
            "_checkpoint": {
                "progress": [self.next_index, self.total],
                "records": [r.to_json() for r in self.records],
                "global_record": glob.to_json() if self.records else {},
            },
        }

    def save(self) -> None:
        atomic_write_text(self.path, json.dumps(self.to_json(), indent=4, sort_keys=True))


def new_results(path: str | Path, total: int, repetitions: int = 1) -> Results:
    """A fresh results state (the file is written at once, so a crash before route 1 is visible)."""
    results = Results(Path(path), total, repetitions)
    results.save()
    return results


def resume_results(path: str | Path, total: int, repetitions: int = 1) -> Results:
    """Reload a checkpoint to continue at its progress; a missing file starts afresh (as official)."""
    path = Path(path)
    if not path.exists():
        return new_results(path, total, repetitions)
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
    results = Results(path, total, repetitions, records, list(doc.get("sensors") or []),
                      doc.get("entry_status", ENTRY_STARTED))
    if results.next_index < total:
        results.entry_status = ENTRY_STARTED
    return results
