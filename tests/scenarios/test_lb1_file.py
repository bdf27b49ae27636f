"""LB1.0 scenario files: read as data; bad input is one InputError line naming the file, the event
and the field."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from driving.errors import InputError
from scenarios.lb1_file import load_lb1_scenarios

TRANSFORM = {"pitch": "0", "x": "1.5", "y": "-2", "yaw": "90", "z": "1.0"}


def scenario_json(events: list, stype: str = "Scenario4", town: str = "Town01") -> dict:
    return {"available_scenarios": [{town: [
        {"scenario_type": "Scenario1", "available_event_configurations": [{"transform": TRANSFORM}]},
        {"scenario_type": stype, "available_event_configurations": events}]}]}


def error_line(tmp_path: Path, content: str | dict) -> str:
    path = tmp_path / "scen.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(InputError) as info:
        load_lb1_scenarios(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_valid_file_numbers_may_be_strings_or_numbers(tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(scenario_json([{"transform": {**TRANSFORM, "x": 3}, "other_actors": {
        "left": [TRANSFORM], "front": [], "right": [{"x": 1, "y": 2, "z": 0, "yaw": "-90"}]}}])))
    events = load_lb1_scenarios(path).events("Town01")
    assert [e.scenario_type for e in events] == ["Scenario1", "Scenario4"]
    assert events[1].trigger.x_m == 3.0 and events[1].trigger.yaw_deg == 90.0
    assert [p.yaw_deg for p in events[1].other_actors.poses()] == [90.0, -90.0]
    assert events[1].where == "town 'Town01' scenario 1 (Scenario4) event 0"


@pytest.mark.parametrize("content, expected", [
    ('{"available_scenarios": [', "not valid JSON (line 1 column 26: Expecting value)"),
    ({"scenarios": []}, "the top level has unknown field 'scenarios'; known: ['available_scenarios']"),
    ({"available_scenarios": {"Town01": []}}, "available_scenarios must be a JSON array, got an object"),
    (scenario_json([{"transform": {k: v for k, v in TRANSFORM.items() if k != "yaw"}}]),
     "town 'Town01' scenario 1 (Scenario4) event 0: transform is missing field 'yaw' (a number)"),
    (scenario_json([{"other_actors": {}}]),
     "scenario 1 (Scenario4) event 0: event is missing field 'transform' (an object with x, y, z, yaw)"),
    (scenario_json([{"transform": TRANSFORM}, {"transform": {**TRANSFORM, "x": "12,5"}}]),
     "scenario 1 (Scenario4) event 1: transform field 'x' must be a number, got '12,5'"),
    (scenario_json([{"transform": TRANSFORM, "other_actors": {"fornt": [TRANSFORM]}}]),
     "event 0: other_actors has unknown field 'fornt'; known: ['front', 'left', 'right']"),
    (scenario_json([{"transform": TRANSFORM, "other_actors": {"left": [{"x": 1, "y": 2, "z": 0}]}}]),
     "event 0: other_actors left[0] is missing field 'yaw' (a number)"),
    (scenario_json([], stype="Scenario11"),
     "town 'Town01' scenario 1: scenario_type 'Scenario11' is not an LB1.0 type; known: ['Scenario1',"),
    ({"available_scenarios": [{"Town01": [{"available_event_configurations": []}]}]},
     "town 'Town01' scenario 0: scenario is missing field 'scenario_type' (a type name Scenario1..Scenario10)"),
])
def test_bad_file_is_one_line_naming_file_event_and_field(tmp_path, content, expected):
    assert expected in error_line(tmp_path, content)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"scenarios file .*nope.json: no such file"):
        load_lb1_scenarios(tmp_path / "nope.json")
