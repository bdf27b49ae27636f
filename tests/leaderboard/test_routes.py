"""Route XML files: both leaderboard layouts, subsets, every bad-input error, the writer, bundled sets."""
from __future__ import annotations

import itertools
from pathlib import Path

import carla
import pytest

from driving.errors import InputError
from driving.sim.maps import available_maps, load_map
from leaderboard import make_routes
from leaderboard.routes import RouteConfig, ScenarioConfig, parse_routes_file, write_routes_file
from planning.road_option import LANE_CHANGES
from planning.route_planner import GlobalRoutePlanner, interpolate_trajectory, route_length_m

LB1 = """<?xml version="1.0"?>
<routes>
  <route id="0" town="Town01" n_vehicles="40" n_walkers="12">
    <weather id="WetNoon" cloudiness="20" precipitation="0" wetness="50" sun_altitude_angle="45"/>
    <waypoint pitch="0.0" roll="0.0" x="338.7" y="226.7" yaw="270.0" z="0.0"/>
    <waypoint pitch="0.0" roll="0.0" x="321.9" y="194.7" yaw="180.0" z="0.0"/>
    <waypoint x="300.0" y="194.7" z="0.5"/>
  </route>
  <route id="7" town="Town02">
    <waypoint x="1" y="2" z="0"/>
    <waypoint x="3" y="4" z="0"/>
  </route>
  <route id="b" town="Town03"><waypoint x="1" y="2" z="0"/><waypoint x="5" y="6" z="0"/></route>
  <route id="3" town="Town03"><waypoint x="1" y="2" z="0"/><waypoint x="5" y="6" z="0"/></route>
</routes>
"""

LB2 = """<?xml version="1.0"?>
<routes>
  <route id="21" town="Town12">
    <weathers>
      <weather route_percentage="100" cloudiness="80" precipitation="60"/>
      <weather route_percentage="0" cloudiness="5" sun_altitude_angle="30"/>
    </weathers>
    <waypoints>
      <position x="10.5" y="-20.25" z="0.0"/>
      <position x="110.5" y="-20.25" z="0.0"/>
    </waypoints>
    <scenarios>
      <scenario name="ControlLoss_1" type="ControlLoss">
        <trigger_point x="50.0" y="-20.25" z="0.0" yaw="90"/>
      </scenario>
      <scenario name="Accident_2" type="Accident">
        <trigger_point x="80.0" y="-20.25" z="0.0" yaw="0"/>
        <distance value="120"/>
        <other_actor x="90" y="-20" z="0" yaw="0" model="vehicle.*"/>
      </scenario>
    </scenarios>
  </route>
  <route id="22" town="Town12">
    <waypoints><position x="0" y="0" z="0"/><position x="9" y="0" z="0"/></waypoints>
  </route>
</routes>
"""


def _write(tmp_path: Path, text: str, name: str = "routes.xml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_lb1_layout(tmp_path: Path) -> None:
    routes = parse_routes_file(_write(tmp_path, LB1))
    assert [r.route_id for r in routes] == ["0", "7", "b", "3"]
    assert [r.index for r in routes] == [0, 1, 2, 3]
    first = routes[0]
    assert first.town == "Town01" and first.name == "RouteScenario_0"
    assert [c for k in first.keypoints for c in (k.x, k.y, k.z)] == pytest.approx(
        [338.7, 226.7, 0.0, 321.9, 194.7, 0.0, 300.0, 194.7, 0.5])
    assert first.keypoint_yaws_deg == (270.0, 180.0, 0.0)
    assert (first.n_vehicles, first.n_walkers) == (40, 12)
    assert first.weather_name == "WetNoon"
    assert (first.weather.cloudiness, first.weather.wetness, first.weather.sun_altitude_angle) == (20, 50, 45)
    assert first.weathers == ((0.0, first.weather),)
    assert first.scenarios == ()
    # no <weather>: the leaderboard default, sun 70 degrees, cloudiness 30
    default = routes[1].weather
    assert (default.sun_altitude_angle, default.cloudiness) == (70.0, 30.0)
    assert routes[1].n_vehicles is None and routes[1].n_walkers is None


def test_lb2_layout(tmp_path: Path) -> None:
    routes = parse_routes_file(_write(tmp_path, LB2))
    route = routes[0]
    assert route.route_id == "21" and route.town == "Town12"
    assert [c for k in route.keypoints for c in (k.x, k.y)] == pytest.approx([10.5, -20.25, 110.5, -20.25])
    assert [pct for pct, _ in route.weathers] == [0.0, 100.0]  # sorted by route percentage
    assert route.weather.cloudiness == 5.0 and route.weather.sun_altitude_angle == 30.0
    assert route.weathers[1][1].precipitation == 60.0
    assert route.weathers[1][1].sun_altitude_angle == 70.0  # LB2.0 base weather
    control_loss, accident = route.scenarios
    assert (control_loss.name, control_loss.type) == ("ControlLoss_1", "ControlLoss")
    assert control_loss.trigger_points[0].rotation.yaw == 90.0
    assert accident.other_parameters == {"distance": {"value": "120"}}
    assert accident.other_actors[0]["model"] == "vehicle.*"
    base = routes[1].weather  # no <weathers>: LB2.0 default
    assert (base.sun_altitude_angle, base.cloudiness) == (70.0, 50.0)


@pytest.mark.parametrize("subset, expected", [
    ("7", ["7"]), ("0,3", ["0", "3"]), ("7-3", ["7", "b", "3"]), ("0-7, b", ["0", "7", "b"]), ("", None),
])
def test_routes_subset(tmp_path: Path, subset: str, expected: list[str] | None) -> None:
    routes = parse_routes_file(_write(tmp_path, LB1), subset)
    assert [r.route_id for r in routes] == (expected or ["0", "7", "b", "3"])
    assert [r.index for r in routes] == list(range(len(routes)))


@pytest.mark.parametrize("subset, message", [
    ("9", r"routes_subset '9' names route id '9', which the file does not contain"),
    ("0-9", r"names route id '9'"),
    ("3-0", r"range '3-0' ends before it starts"),
    ("0,,3", r"empty item"),
])
def test_bad_routes_subset(tmp_path: Path, subset: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_routes_file(_write(tmp_path, LB1), subset)


def _route(body: str, attrs: str = 'id="5" town="T"') -> str:
    return f"<routes><route {attrs}>{body}</route></routes>"


TWO = '<waypoint x="0" y="0" z="0"/><waypoint x="9" y="0" z="0"/>'


@pytest.mark.parametrize("text, message", [
    ("<routes><route id='1'", "malformed XML"),
    ("<routes/>", "no <route> element"),
    (_route(TWO, 'town="T"'), "route 0 \\(in file order\\) is missing attribute 'id'"),
    (_route(TWO, 'id="5"'), "route '5': missing attribute 'town'"),
    ('<routes><route id="5" town="T">' + TWO + '</route><route id="5" town="T">' + TWO + "</route></routes>",
     "route id '5' appears more than once"),
    (_route('<waypoint y="0" z="0"/><waypoint x="9" y="0" z="0"/>'),
     "route '5': waypoint 0 is missing attribute 'x'"),
    (_route('<waypoint x="0" y="0" z="0"/><waypoint x="9" y="north" z="0"/>'),
     "route '5': waypoint 1 attribute 'y' must be a number, got 'north'"),
    (_route('<waypoint x="0" y="0" z="nan"/><waypoint x="9" y="0" z="0"/>'),
     "route '5': waypoint 0 attribute 'z' must be finite"),
    (_route('<waypoint x="0" y="0" z="0"/>'), "route '5': expected at least 2 <waypoint> keypoints, got 1"),
    (_route('<weather cloudyness="3"/>' + TWO), "route '5': <weather> has unknown attribute 'cloudyness'"),
    (_route('<weather cloudiness="lots"/>' + TWO), "<weather> attribute 'cloudiness' must be a number"),
    (_route(TWO, 'id="5" town="T" n_vehicles="-3"'), "route '5': attribute 'n_vehicles' must be a non-negative"),
    (_route(TWO, 'id="5" town="T" n_walkers="many"'), "attribute 'n_walkers' must be a non-negative integer"),
    (_route(TWO + '<waypoints><position x="0" y="0" z="0"/></waypoints>'), "mixes LB1.0 <waypoint> and LB2.0"),
    (_route('<waypoints><position x="0" y="0" z="0"/><position x="1" z="0"/></waypoints>'),
     "route '5': position 1 is missing attribute 'y'"),
    (_route('<weathers><weather cloudiness="3"/></weathers><waypoints><position x="0" y="0" z="0"/>'
            '<position x="1" y="0" z="0"/></waypoints>'), "weather 0 is missing attribute 'route_percentage'"),
    (_route('<waypoints><position x="0" y="0" z="0"/><position x="1" y="0" z="0"/></waypoints>'
            '<scenarios><scenario name="s"><trigger_point x="0" y="0" z="0"/></scenario></scenarios>'),
     "route '5': scenario 0 is missing attribute 'type'"),
    (_route('<waypoints><position x="0" y="0" z="0"/><position x="1" y="0" z="0"/></waypoints>'
            '<scenarios><scenario name="s" type="ControlLoss"/></scenarios>'),
     "scenario 's' has no <trigger_point>"),
    (_route('<waypoints><position x="0" y="0" z="0"/><position x="1" y="0" z="0"/></waypoints>'
            '<scenarios><scenario name="s" type="A"><trigger_point x="0" y="0" z="0" yaw="x"/>'
            '</scenario></scenarios>'), "scenario 's' trigger_point attribute 'yaw' must be a number"),
])
def test_bad_files_name_file_route_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text, "bad_routes.xml")
    with pytest.raises(InputError, match=message) as info:
        parse_routes_file(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.xml: no such file"):
        parse_routes_file(tmp_path / "nope.xml")


def test_write_lb1_round_trip_is_atomic(tmp_path: Path) -> None:
    routes = parse_routes_file(_write(tmp_path, LB1))
    out = tmp_path / "sub" / "out.xml"
    write_routes_file(out, routes)
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.xml"]  # no temp file left
    again = parse_routes_file(out)
    assert [r.route_id for r in again] == [r.route_id for r in routes]
    for a, b in zip(routes, again):
        assert (a.town, a.n_vehicles, a.n_walkers, a.weather_name) == (b.town, b.n_vehicles, b.n_walkers,
                                                                       b.weather_name)
        assert [k.distance(q) for k, q in zip(a.keypoints, b.keypoints)] == pytest.approx([0.0] * len(a.keypoints))
        assert a.weather == b.weather
    assert "<waypoint " in out.read_text() and "<waypoints>" not in out.read_text()


def test_write_lb2_keeps_weathers_and_scenarios(tmp_path: Path) -> None:
    routes = parse_routes_file(_write(tmp_path, LB2))
    with pytest.raises(InputError, match=r"routes \['21'\] carry scenarios.*layout='2.0'"):
        write_routes_file(tmp_path / "lb1.xml", routes)
    out = tmp_path / "lb2.xml"
    write_routes_file(out, routes, layout="2.0")
    again = parse_routes_file(out)
    assert [pct for pct, _ in again[0].weathers] == [0.0, 100.0]
    assert [(s.name, s.type, s.other_parameters) for s in again[0].scenarios] == \
        [(s.name, s.type, s.other_parameters) for s in routes[0].scenarios]
    assert again[0].scenarios[1].trigger_points[0].location.x == 80.0


def test_route_config_validation() -> None:
    two = (carla.Location(0, 0, 0), carla.Location(1, 0, 0))
    with pytest.raises(InputError, match="at least 2 keypoints"):
        RouteConfig(route_id="1", town="T", keypoints=two[:1])
    with pytest.raises(InputError, match="n_vehicles must be a non-negative integer"):
        RouteConfig(route_id="1", town="T", keypoints=two, n_vehicles=-1)
    with pytest.raises(InputError, match="town must be a non-empty string"):
        RouteConfig(route_id="1", town="", keypoints=two)
    sc = ScenarioConfig("s", "ControlLoss", (carla.Transform(),))
    assert RouteConfig(route_id="1", town="T", keypoints=two, scenarios=(sc,)).scenarios[0].type == "ControlLoss"


# ---- bundled route sets ----------------------------------------------------------------------------
BUNDLED = {"train_short": 12, "train_long": 6, "val_short": 6, "val_long": 3, "test_short": 6, "test_long": 3}


@pytest.fixture(scope="module")
def bundled() -> dict[str, list[RouteConfig]]:
    return {name: parse_routes_file(make_routes.DATA_DIR / f"routes_{name}.xml") for name in BUNDLED}


def test_bundled_route_files_parse_with_expected_counts(bundled) -> None:
    for name, routes in bundled.items():
        assert len(routes) == BUNDLED[name], name
        for route in routes:
            assert route.town in available_maps()
            assert route.weather_name in make_routes.WEATHERS
            assert route.n_vehicles is not None and route.n_vehicles > 0
            assert route.n_walkers is not None and route.n_walkers >= 0


def test_bundled_routes_interpolate_with_length_in_range(bundled) -> None:
    planners: dict[str, GlobalRoutePlanner] = {}
    for name, routes in bundled.items():
        low, high = (200.0, 500.0) if name.endswith("short") else (1000.0, 2000.0)
        for route in routes:
            carla_map = load_map(route.town).carla_map
            if route.town not in planners:
                planners[route.town] = GlobalRoutePlanner(carla_map, 1.0)
            planner = planners[route.town]
            world, gps = interpolate_trajectory(carla_map, list(route.keypoints), 1.0, planner=planner)
            assert low <= route_length_m(world) <= high, (name, route.route_id, route_length_m(world))
            assert world[-1][0].location.distance(route.keypoints[-1]) < 1.0
            gaps = [a[0].location.distance(b[0].location) for a, b in itertools.pairwise(world)
                    if b[1] not in LANE_CHANGES]
            assert max(gaps) <= 1.5, (name, route.route_id, max(gaps))  # continuous 1 m plan
            assert len(gps) == len(world)
            spacing = [a.distance(b) for a, b in itertools.pairwise(route.keypoints)]
            assert max(spacing) < 150.0, (name, route.route_id)


def test_bundled_test_split_is_disjoint_from_train_and_val(bundled) -> None:
    seen = [r for name, routes in bundled.items() if not name.startswith("test") for r in routes]
    for route in bundled["test_short"] + bundled["test_long"]:
        for other in seen:
            assert route.keypoints[0].distance(other.keypoints[0]) >= make_routes.MIN_SEPARATION_M
            assert route.keypoints[-1].distance(other.keypoints[-1]) >= make_routes.MIN_SEPARATION_M


def test_bundled_routes_are_what_the_script_makes(tmp_path: Path) -> None:
    assert make_routes.main(["--out", str(tmp_path)]) == 0
    for name in BUNDLED:
        made = (tmp_path / f"routes_{name}.xml").read_bytes()
        assert made == (make_routes.DATA_DIR / f"routes_{name}.xml").read_bytes(), \
            f"routes_{name}.xml is stale: run python -m leaderboard.make_routes"
