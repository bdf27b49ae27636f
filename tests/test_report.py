"""`driving report` on a real run: the expert-free `never_brake` agent drives two town_grid routes
through the real evaluator (`driving evaluate --video`), one with a Scenario2 lead car it runs into
(a vehicle collision tagged FollowLeadingVehicle, then a route timeout) and one through a red
light. The page is parsed with `html.parser`: its sections, the per-route numbers against the
results JSON, every image a decodable PNG, video links to files that exist, the map drawn from the
routes file; a second file edited on disk gives the comparison's deltas; bad input is one line.
"""
from __future__ import annotations

import base64
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import carla
import cv2
import numpy as np
import pytest

from driving.cli import main
from driving.sim.embedded_world import EmbeddedWorld
from driving.sim.maps import load_map
from leaderboard.routes import RouteConfig, write_routes_file
from tests.scenarios.scenario_runs import route_geometry, trigger_pose, write_scenario_file

TOWN = "town_grid"


class Page(HTMLParser):
    """Section ids, images, links and table rows (cell texts keyed by the row's data-key)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.rows: list[tuple[str, list[str]]] = []  # in page order: several tables share keys
        self.text: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a["id"] or "")
        elif tag == "img":
            self.images.append(a["src"] or "")
        elif tag == "a":
            self.links.append(a["href"] or "")
        elif tag == "tr" and "data-key" in a:
            self._row = []
            self.rows.append((a["data-key"] or "", self._row))
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def row(self, key: str, nth: int = 0) -> list[str]:
        return [cells for k, cells in self.rows if k == key][nth]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A real `driving evaluate --video` run of two routes with a scenario file (about 20 s)."""
    tmp = tmp_path_factory.mktemp("report_run")
    carla_map = load_map(TOWN).carla_map
    start = carla_map.get_waypoint(carla.Location(205.2, -215.0, 0.0)).next(2.0)[0]
    lead = [start.transform.location, start.next(150.0)[0].transform.location]
    write_scenario_file(tmp / "s2.json", TOWN, "Scenario2", trigger_pose(route_geometry(TOWN, lead), 8.0))
    world = EmbeddedWorld()
    world.load_map(TOWN, 0)
    light_wp = world.get_traffic_lights()[0].stop_waypoints[0]  # red from ~12 s of game time
    world.close()
    red = [light_wp.previous(70.0)[0].transform.location, light_wp.next(40.0)[0].transform.location]
    write_routes_file(tmp / "routes.xml", [RouteConfig("lead", TOWN, tuple(lead), n_vehicles=0, n_walkers=0),
                                           RouteConfig("red", TOWN, tuple(red), n_vehicles=0, n_walkers=0)])
    assert main(["evaluate", "--routes", str(tmp / "routes.xml"), "--scenarios", str(tmp / "s2.json"),
                 "--agent", "never_brake", "--out", str(tmp / "run"), "--video", "--report"]) == 0
    return tmp


def _records(path: Path) -> list[dict]:
    return json.loads(path.read_text())["_checkpoint"]["records"]


def _decoded_pngs(page: Page) -> list[np.ndarray]:
    out = []
    for src in page.images:
        assert src.startswith("data:image/png;base64,"), src[:40]
        img = cv2.imdecode(np.frombuffer(base64.b64decode(src.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and img.shape[0] > 100 and img.shape[1] > 100
        out.append(img)
    return out


def test_report_of_a_real_run(run_dir: Path, capsys) -> None:
    results = run_dir / "run" / "results.json"
    out = run_dir / "pages" / "report.html"
    assert main(["report", str(results), "--out", str(out), "--routes", str(run_dir / "routes.xml")]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]  # no temp file left
    text = out.read_text()
    assert "<link" not in text and "<script" not in text  # self-contained
    page = Page(text)
    assert page.sections == ["summary", "routes", "route-scores", "infractions", "scenarios", "maps"]
    doc = json.loads(results.read_text())
    g = doc["_checkpoint"]["global_record"]["scores"]
    ds, rc, pen = g["score_composed"], g["score_route"], g["score_penalty"]
    assert [float(v) for v in doc["values"][:3]] == [round(v, 3) for v in (ds, rc, pen)]
    assert page.row("results.json")[1:4] == [f"{ds:.2f}", f"{rc:.2f}", f"{pen:.3f}"]
    recs = _records(results)
    lead, red = recs
    assert lead["meta"]["scenario_infractions"][0]["scenarios"] == ["Scenario2"]  # the run is what we meant
    assert red["infractions"]["red_light"]
    for r in recs:
        cells = page.row(f"{r['route_id']} #{r['index']}")
        s = r["scores"]
        assert cells[1:5] == [r["status"], f"{s['score_composed']:.2f}", f"{s['score_route']:.2f}",
                              f"{s['score_penalty']:.3f}"]
    assert "Red lights infractions 1" in page.row("RouteScenario_red #1")[5]
    assert "Collisions with vehicles 1" in page.row("RouteScenario_lead #0")[5]
    assert sorted(page.links) == ["../run/videos/RouteScenario_lead_0.mp4", "../run/videos/RouteScenario_red_1.mp4"]
    assert all((out.parent / link).is_file() for link in page.links)
    images = _decoded_pngs(page)
    assert len(images) == 4  # scores, types, scenario families, one town map
    assert "Infraction places on town_grid" in "".join(page.text)
    # the map is the town drawn (road asphalt and grass dominate), not plain axes
    map_img = images[-1]
    assert len(np.unique(map_img.reshape(-1, 3), axis=0)) > 2000
    assert "route timeout" in "".join(page.text)  # the timeout names no place: said, not drawn


def test_without_the_routes_file_points_go_on_plain_axes(run_dir: Path) -> None:
    out = run_dir / "plain.html"
    assert main(["report", str(run_dir / "run" / "results.json"), "--out", str(out)]) == 0
    page = Page(out.read_text())
    text = "".join(page.text)
    assert "Infraction places (map unknown)" in text and "pass --routes FILE to draw maps" in text
    images = _decoded_pngs(page)
    assert len(images) == 4
    assert len(np.unique(images[-1].reshape(-1, 3), axis=0)) < 2000  # plain axes: no town drawn


def test_towns_resolve_through_maps_dir_as_in_the_evaluator(run_dir: Path) -> None:
    from driving.sim.maps import map_path

    maps = run_dir / "maps"
    maps.mkdir(exist_ok=True)
    shutil.copy(map_path(TOWN), maps / "MyTown.xodr")
    routes = run_dir / "mytown.xml"
    routes.write_text((run_dir / "routes.xml").read_text().replace(f'town="{TOWN}"', 'town="MyTown"'))
    out = run_dir / "mytown.html"
    argv = ["report", str(run_dir / "run" / "results.json"), "--out", str(out), "--routes", str(routes)]
    assert main(argv) == 0
    assert "No map drawn for MyTown: route town 'MyTown': not a bundled map" in "".join(Page(out.read_text()).text)
    assert main(argv + ["--maps", str(maps)]) == 0
    page = Page(out.read_text())
    text = "".join(page.text)
    assert "Infraction places on MyTown" in text and "No map drawn" not in text
    assert len(np.unique(_decoded_pngs(page)[-1].reshape(-1, 3), axis=0)) > 2000


def test_two_files_compared_with_deltas(run_dir: Path) -> None:
    base = run_dir / "run" / "results.json"
    other = run_dir / "other" / "results.json"
    other.parent.mkdir(exist_ok=True)
    doc = json.loads(base.read_text())
    rec = doc["_checkpoint"]["records"][1]
    rec["scores"]["score_composed"] = 40.0
    rec["scores"]["score_penalty"] = 0.4
    doc["_checkpoint"]["global_record"]["scores"]["score_composed"] -= 15.0
    other.write_text(json.dumps(doc))
    out = run_dir / "compare.html"
    assert main(["report", str(base), str(other), "--out", str(out), "--labels", "before,after",
                 "--routes", str(run_dir / "routes.xml")]) == 0
    page = Page(out.read_text())
    assert page.sections[:2] == ["summary", "comparison"]
    ds0 = _records(base)[1]["scores"]["score_composed"]
    # comparison row: route, DS before, DS after, delta, RC x3, IS x3
    cells = page.row("RouteScenario_red #1")
    assert cells[1:4] == [f"{ds0:.2f}", "40.00", f"{40.0 - ds0:+.2f}"]
    assert cells[7:10] == [f"{_records(base)[1]['scores']['score_penalty']:.3f}", "0.400",
                           f"{0.4 - _records(base)[1]['scores']['score_penalty']:+.3f}"]
    assert page.row("global")[3] == "-15.00"
    assert page.row("RouteScenario_lead #0")[3] == "0.00"
    assert ["before", "after"] == [k for k, _ in page.rows[:2]]
    # only the first run wrote videos: its two are linked, the other file's routes have none
    assert sorted(page.links) == ["run/videos/RouteScenario_lead_0.mp4", "run/videos/RouteScenario_red_1.mp4"]
    assert len(_decoded_pngs(page)) == 4


def test_bad_input_is_one_line_naming_the_file_and_field(run_dir: Path, tmp_path: Path, capsys) -> None:
    good = json.loads((run_dir / "run" / "results.json").read_text())
    lacking = json.loads(json.dumps(good))
    del lacking["_checkpoint"]["records"][1]["scores"]["score_route"]
    cases = {"missing.json": (None, "no such results file"),
             "notjson.json": ("{", "expected a results JSON file"),
             "other.json": (json.dumps({"foo": 1}), "_checkpoint: expected an object with progress"),
             "lacking.json": (json.dumps(lacking),
                              "_checkpoint.records[1].scores.score_route: expected a number, got missing")}
    for name, (content, message) in cases.items():
        if content is not None:
            (tmp_path / name).write_text(content)
        assert main(["report", str(tmp_path / name), "--out", str(tmp_path / "r.html")]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err
        assert name in err and message in err, err
    assert not (tmp_path / "r.html").exists()
    shutil.copy(run_dir / "run" / "results.json", tmp_path / "ok.json")
    assert main(["report", str(tmp_path / "ok.json"), "--labels", "a,b", "--out", str(tmp_path / "r.html")]) == 2
    assert "--labels 'a,b': expected 1 non-empty name(s)" in capsys.readouterr().err


def test_evaluate_report_flag_writes_the_report_of_its_own_run(run_dir: Path) -> None:
    """`driving evaluate --report` leaves OUT/report.html beside results.json, its routes in it."""
    page = (run_dir / "run" / "report.html").read_text()
    for record in _records(run_dir / "run" / "results.json"):
        assert record["route_id"] in page
    assert "<img" in page and "Infraction places on" in page  # the town drawn: --routes came along
