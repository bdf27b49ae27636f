"""Any OpenDRIVE file either loads into the embedded world (with warnings for what was skipped) or
raises one `InputError`; never another exception, a hang or a crash of the process.

The fuzz test mutates real maps (the bundled town_grid and CARLA's Town01) with a seeded random
generator: dropped elements, duplicated or shuffled ids, zero-length geometry, deleted attributes
and garbled numbers. Each case runs in a worker subprocess, because the CARLA client library is
C++: a segfault or an endless loop there must fail the case, not kill pytest. One worker serves
many cases (imports once); a crashed or hung worker is replaced.
"""
from __future__ import annotations

import json
import random
import select
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from driving.sim.embedded_world import EmbeddedWorld
from driving.sim.maps import MapWarning, map_path

TOWN01 = Path(__file__).resolve().parents[1] / "data" / "carla" / "Town01.xodr"
#: Mutated maps per source map; each case loads, spawns and ticks in ~0.3 s on one core.
CASES_PER_MAP = 48
CASE_TIMEOUT_S = 60.0
DROP_TAGS = ("roadMark", "lane", "laneSection", "geometry", "signal", "signalReference", "connection",
             "junction", "link", "predecessor", "successor", "laneLink", "width", "road", "controller",
             "planView", "lanes", "center", "left", "right", "elevation", "validity")
ID_TAGS = ("road", "junction", "lane", "signal", "controller")
BAD_NUMBERS = ("nan", "inf", "-inf", "-1", "0", "1e12", "-1e12", "abc", "")

# The worker: one case per stdin line "path<TAB>seed"; one "RESULT {json}" line per case (the CARLA
# library writes its own noise to stdout, so results are tagged).
_WORKER = r'''
import json, sys, warnings
from driving.errors import InputError
from driving.sim.embedded_world import EmbeddedWorld
world = EmbeddedWorld()
for line in sys.stdin:
    path, seed = line.rstrip("\n").split("\t")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            world.load_map(path, seed=int(seed))
            points = world.get_spawn_points()
            if not points:
                raise RuntimeError("loaded, but there is no spawn point")
            world.spawn_vehicle(points[len(points) // 2], autopilot=False)
            if len(points) > 1:
                world.spawn_vehicle(points[0], autopilot=True)
            for _ in range(3):
                world.tick()
            result = {"outcome": "ok", "detail": f"{len(points)} spawn points"}
        except InputError as exc:
            result = {"outcome": "input_error", "detail": str(exc)}
        except Exception as exc:  # noqa: BLE001 - the test reports every other exception
            import traceback
            result = {"outcome": "error", "detail": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"}
    result["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
    print("RESULT " + json.dumps(result), flush=True)
'''


class _Worker:
    """A subprocess that runs cases; `run` returns the result dict or a crash/hang record."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, "-c", _WORKER], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        return self.proc

    def run(self, path: Path, seed: int) -> dict:
        proc = self._start()
        proc.stdin.write(f"{path}\t{seed}\n")
        proc.stdin.flush()
        deadline = time.monotonic() + CASE_TIMEOUT_S
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            line = proc.stdout.readline()
            if not line:  # the worker died: a crash in native code
                code = proc.wait()
                self.proc = None
                return {"outcome": "crash", "detail": f"worker exited with code {code}", "warnings": []}
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])
        self.close()
        return {"outcome": "hang", "detail": f"no result within {CASE_TIMEOUT_S} s", "warnings": []}

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def _parents(root: ET.Element) -> dict[ET.Element, ET.Element]:
    return {child: parent for parent in root.iter() for child in parent}


def mutate(text: str, rng: random.Random) -> tuple[str, list[str]]:
    """Apply 1-3 random mutations to OpenDRIVE `text`; returns the new text and what was done."""
    root = ET.fromstring(text)
    done = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(("drop", "drop", "dup_id", "shuffle_ids", "zero_length", "del_attr", "bad_number"))
        parents = _parents(root)
        if kind == "drop":
            tag = rng.choice(DROP_TAGS)
            found = [e for e in root.iter(tag) if e in parents]
            if found:
                victim = rng.choice(found)
                parents[victim].remove(victim)
                done.append(f"drop <{tag} id={victim.get('id')}>")
        elif kind in ("dup_id", "shuffle_ids"):
            tag = rng.choice(ID_TAGS)
            found = [e for e in root.iter(tag) if e.get("id") is not None]
            if len(found) >= 2:
                if kind == "dup_id":
                    a, b = rng.sample(found, 2)
                    a.set("id", b.get("id"))
                    done.append(f"dup <{tag}> id {b.get('id')}")
                else:
                    picked = rng.sample(found, min(len(found), 4))
                    ids = [e.get("id") for e in picked]
                    rng.shuffle(ids)
                    for e, new in zip(picked, ids):
                        e.set("id", new)
                    done.append(f"shuffle <{tag}> ids {ids}")
        elif kind == "zero_length":
            found = list(root.iter("geometry")) + list(root.iter("road"))
            victim = rng.choice(found)
            victim.set("length", "0")
            done.append(f"zero length <{victim.tag} id={victim.get('id')}>")
        else:
            found = [e for e in root.iter() if e.attrib]
            victim = rng.choice(found)
            attr = rng.choice(sorted(victim.attrib))
            if kind == "del_attr":
                del victim.attrib[attr]
                done.append(f"delete <{victim.tag}> {attr}")
            else:
                value = rng.choice(BAD_NUMBERS)
                victim.set(attr, value)
                done.append(f"<{victim.tag}> {attr}={value!r}")
    return ET.tostring(root, encoding="unicode"), done


# ---- former crashes of the CARLA library (segfault or endless loop), now caught before it ----------
def _road(root: ET.Element, road_id: str) -> ET.Element:
    return next(r for r in root.findall("road") if r.get("id") == road_id)


def _lane_link_to_missing_lane(root: ET.Element) -> None:  # was a segfault in carla.Map
    section = _road(root, "27").findall("lanes/laneSection")[1]
    next(section.iter("predecessor")).set("id", "-7")


def _road_without_left_lanes(root: ET.Element) -> None:  # links to the lanes left dangling: segfault
    section = _road(root, "2").find("lanes/laneSection")
    section.remove(section.find("left"))


def _signal_gone_but_referenced(root: ET.Element) -> None:  # a controller names it: segfault
    holder = next(root.iter("signals"))
    holder.remove(holder.find("signal"))


def _duplicate_signal_id(root: ET.Element) -> None:  # segfault
    first, second = list(root.iter("signal"))[:2]
    second.set("id", first.get("id"))


def _first_lane_section_after_zero(root: ET.Element) -> None:  # segfault
    lanes = _road(root, "27").find("lanes")
    lanes.remove(lanes.find("laneSection"))


def _first_geometry_after_zero(root: ET.Element) -> None:  # segfault
    plan = _road(root, "27").find("planView")
    plan.remove(plan.find("geometry"))


def _huge_lane_width(root: ET.Element) -> None:  # props along a 1e13 m lane: endless loop
    next(root.iter("width")).set("b", "1e12")


def _far_away_geometry(root: ET.Element) -> None:  # same
    next(root.iter("geometry")).set("x", "1e12")


def _road_longer_than_its_geometry(root: ET.Element) -> None:  # lanes sampled over 1e12 m: endless
    next(root.iter("road")).set("length", "1e12")


@pytest.mark.parametrize(("source", "edit", "expected"), [
    (TOWN01, _lane_link_to_missing_lane, "ok"),
    ("town_grid", _road_without_left_lanes, "ok"),
    ("town_grid", _signal_gone_but_referenced, "ok"),
    ("town_grid", _duplicate_signal_id, "input_error"),
    (TOWN01, _first_lane_section_after_zero, "input_error"),
    (TOWN01, _first_geometry_after_zero, "input_error"),
    (TOWN01, _huge_lane_width, "input_error"),
    (TOWN01, _far_away_geometry, "input_error"),
    ("town_grid", _road_longer_than_its_geometry, "input_error"),
], ids=lambda v: v.__name__.strip("_") if callable(v) else None)
def test_inputs_that_crashed_the_carla_library(tmp_path: Path, source, edit, expected: str) -> None:
    root = ET.fromstring((map_path(source) if source == "town_grid" else source).read_text(encoding="utf-8"))
    edit(root)
    path = tmp_path / f"{edit.__name__.strip('_')}.xodr"
    path.write_text(ET.tostring(root, encoding="unicode"), encoding="utf-8")
    worker = _Worker()
    try:
        result = worker.run(path, 0)
    finally:
        worker.close()
    assert result["outcome"] == expected, result
    if expected == "ok":  # what was dropped is said, naming the file
        assert any(w.startswith("MapWarning") and str(path) in w for w in result["warnings"]), result["warnings"]
    else:
        assert str(path) in result["detail"]


# ---- legal maps with content the embedded world does not use -----------------------------------
def _load(tmp_path: Path, root: ET.Element, name: str) -> EmbeddedWorld:
    path = tmp_path / f"{name}.xodr"
    path.write_text(ET.tostring(root, encoding="unicode"), encoding="utf-8")
    world = EmbeddedWorld()
    world.load_map(str(path), seed=0)
    points = world.get_spawn_points()
    world.spawn_vehicle(points[0])
    for _ in range(3):
        world.tick()
    return world


def test_map_without_any_road_mark_loads_and_paints_only_stop_lines(tmp_path: Path) -> None:
    root = ET.fromstring(TOWN01.read_text(encoding="utf-8"))
    for lane in root.iter("lane"):
        for mark in lane.findall("roadMark"):
            lane.remove(mark)
    world = _load(tmp_path, root, "no_marks")
    markings = [s for s in world.layout.surfaces if s.kind == "lane_marking"]
    stop_lines = sum(len(t.stop_waypoints) for t in (*world.signals.traffic_lights, *world.signals.stop_signs))
    assert stop_lines > 0 and len(markings) == stop_lines  # the stop lines are ours, not the map's
    world.close()


def test_unknown_lane_type_warns_and_is_not_drawn(tmp_path: Path) -> None:
    root = ET.fromstring(TOWN01.read_text(encoding="utf-8"))
    for lane in root.iter("lane"):
        if lane.get("type") == "shoulder":
            lane.set("type", "tram")
    with pytest.warns(MapWarning, match=r"no_shoulders\.xodr: lanes of type 'tram' are not drawn"):
        world = _load(tmp_path, root, "no_shoulders")
    assert {s.kind for s in world.layout.surfaces} >= {"road", "sidewalk"}
    world.close()


def test_zero_length_geometry_warns_and_loads(tmp_path: Path) -> None:
    root = ET.fromstring(map_path("town_grid").read_text(encoding="utf-8"))
    for road in root.findall("road")[:3]:
        plan = road.find("planView")
        first = plan.find("geometry")
        stub = ET.Element("geometry", {**first.attrib, "length": "0"})
        ET.SubElement(stub, "line")
        plan.insert(0, stub)
    with pytest.warns(MapWarning, match=r"zero_geometry\.xodr: zero-length .* geometries on roads 1, 2, 3"):
        world = _load(tmp_path, root, "zero_geometry")
    assert len(world.get_spawn_points()) > 100
    world.close()


@pytest.mark.parametrize("source", [map_path("town_grid"), TOWN01], ids=["town_grid", "Town01"])
def test_mutated_maps_load_or_raise_input_error(tmp_path: Path, source: Path) -> None:
    rng = random.Random(f"fuzz-{source.stem}")
    text = source.read_text(encoding="utf-8")
    worker = _Worker()
    failures = []
    outcomes: dict[str, int] = {}
    try:
        for case in range(CASES_PER_MAP):
            mutated, done = mutate(text, rng)
            path = tmp_path / f"{source.stem}_fuzz{case:03d}.xodr"
            path.write_text(mutated, encoding="utf-8")
            result = worker.run(path, case)
            outcomes[result["outcome"]] = outcomes.get(result["outcome"], 0) + 1
            if result["outcome"] not in ("ok", "input_error"):
                failures.append(f"case {case} {done}: {result['outcome']}: {result['detail']}")
            elif result["outcome"] == "input_error":
                assert str(path) in result["detail"] or path.stem in result["detail"], result["detail"]
            for message in result["warnings"]:
                if message.startswith("MapWarning"):
                    assert path.stem in message, f"case {case}: warning without the map name: {message}"
    finally:
        worker.close()
    print(f"{source.stem}: {outcomes}")
    assert not failures, "\n\n".join(failures)
