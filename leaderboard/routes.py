"""Route files: the leaderboard's XML route definitions, read and written.

Two layouts exist and both are read:
- LB1.0: `<routes><route id town>[<weather .../>]<waypoint x y z [pitch roll yaw]/>...</route>`;
- LB2.0: `<route id town><weathers><weather route_percentage .../></weathers>
  <waypoints><position x y z/></waypoints><scenarios><scenario name type><trigger_point
  x y z yaw/>...</scenario></scenarios></route>`.
Only x, y, z of a keypoint matter for driving (the planner densifies between them). Our own
extension: optional `n_vehicles` / `n_walkers` attributes on `<route>` give the background
traffic density for that route (official tools ignore unknown attributes).

Every problem in a file raises `InputError` naming the file, the route id and the field, so a
typo in a hand-written route fails at start-up rather than mid-evaluation.
"""
from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import carla

from driving.atomic_io import atomic_write_text
from driving.errors import InputError
from driving.xml_indent import indent

WEATHER_FIELDS = (
    "cloudiness", "precipitation", "precipitation_deposits", "wind_intensity", "sun_azimuth_angle",
    "sun_altitude_angle", "fog_density", "fog_distance", "fog_falloff", "wetness", "scattering_intensity",
    "mie_scattering_scale", "rayleigh_scattering_scale", "dust_storm",
)
_WEATHER_LABELS = ("id", "name")  # descriptive attributes some route files carry on <weather>


@dataclass(frozen=True)
class ScenarioConfig:
    """One LB2.0 scenario of a route: behaviour `type`, where it triggers, and its parameters.

    `trigger_points` are carla.Transforms (yaw in degrees); `other_parameters` maps each other
    child element's tag to its attributes (e.g. {'distance': {'value': '50'}}); `other_actors`
    holds the attributes of `<other_actor>` children.
    """

    name: str
    type: str
    trigger_points: tuple[carla.Transform, ...] = ()
    other_parameters: dict[str, dict[str, str]] = field(default_factory=dict)
    other_actors: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class RouteConfig:
    """A route to drive: town, keypoints (metres, CARLA world frame), weather(s) and scenarios.

    `weathers` lists (route_percentage, weather) sorted by percentage (LB2.0 changes weather
    along the route); `weather` is the first of them (the only one in LB1.0). `index` is the
    position among the routes returned by `parse_routes_file`. `n_vehicles`/`n_walkers` are the
    background traffic counts (None: the evaluator's default for the town).
    """

    route_id: str
    town: str
    keypoints: tuple[carla.Location, ...]
    weather: carla.WeatherParameters = field(
        default_factory=lambda: carla.WeatherParameters(sun_altitude_angle=70.0, cloudiness=30.0))
    weathers: tuple[tuple[float, carla.WeatherParameters], ...] = ()
    scenarios: tuple[ScenarioConfig, ...] = ()
    index: int = 0
    n_vehicles: int | None = None
    n_walkers: int | None = None
    weather_name: str = ""
    keypoint_yaws_deg: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        where = f"route {self.route_id!r}"
        if not isinstance(self.route_id, str) or not self.route_id:
            raise InputError(f"route id must be a non-empty string, got {self.route_id!r}")
        if not self.town:
            raise InputError(f"{where}: town must be a non-empty string")
        if len(self.keypoints) < 2:
            raise InputError(f"{where}: expected at least 2 keypoints, got {len(self.keypoints)}")
        if self.keypoint_yaws_deg and len(self.keypoint_yaws_deg) != len(self.keypoints):
            raise InputError(f"{where}: keypoint_yaws_deg has {len(self.keypoint_yaws_deg)} values for "
                             f"{len(self.keypoints)} keypoints")
        for name in ("n_vehicles", "n_walkers"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise InputError(f"{where}: {name} must be a non-negative integer, got {value!r}")
        if not self.weathers:
            object.__setattr__(self, "weathers", ((0.0, self.weather),))

    @property
    def name(self) -> str:
        """The official scenario name of the route, as the results JSON reports it."""
        return f"RouteScenario_{self.route_id}"


# ---- parsing -----------------------------------------------------------------------------------
class _Reader:
    """Field readers that know which file and route they are reading, for error messages."""

    def __init__(self, path: Path, route_id: str) -> None:
        self.where = f"{path}: route {route_id!r}"

    def fail(self, message: str) -> InputError:
        return InputError(f"{self.where}: {message}")

    def number(self, elem: ET.Element, attr: str, what: str, default: float | None = None) -> float:
        raw = elem.attrib.get(attr)
        if raw is None:
            if default is not None:
                return default
            raise self.fail(f"{what} is missing attribute '{attr}' (a number)")
        try:
            value = float(raw)
        except ValueError:
            raise self.fail(f"{what} attribute '{attr}' must be a number, got {raw!r}") from None
        if not math.isfinite(value):
            raise self.fail(f"{what} attribute '{attr}' must be finite, got {raw!r}")
        return value

    def count(self, elem: ET.Element, attr: str) -> int | None:
        raw = elem.attrib.get(attr)
        if raw is None:
            return None
        if not raw.strip().isdigit():
            raise self.fail(f"attribute '{attr}' must be a non-negative integer, got {raw!r}")
        return int(raw)

    def location(self, elem: ET.Element, what: str) -> carla.Location:
        return carla.Location(x=self.number(elem, "x", what), y=self.number(elem, "y", what),
                              z=self.number(elem, "z", what))

    def weather(self, elem: ET.Element, base: carla.WeatherParameters, what: str) -> carla.WeatherParameters:
        for attr in elem.attrib:
            if attr in WEATHER_FIELDS:
                setattr(base, attr, self.number(elem, attr, what))
            elif attr not in _WEATHER_LABELS and attr != "route_percentage":
                raise self.fail(f"{what} has unknown attribute '{attr}'; known: {list(WEATHER_FIELDS)}")
        return base


def _parse_lb1(route: ET.Element, r: _Reader) -> dict:
    weather_elems = route.findall("weather")
    if weather_elems:
        weather = carla.WeatherParameters()
        for elem in weather_elems:
            r.weather(elem, weather, "<weather>")
        name = weather_elems[0].attrib.get("id", weather_elems[0].attrib.get("name", ""))
    else:
        weather, name = carla.WeatherParameters(sun_altitude_angle=70.0, cloudiness=30.0), ""
    waypoints = route.findall("waypoint")
    keypoints = tuple(r.location(wp, f"waypoint {i}") for i, wp in enumerate(waypoints))
    yaws = tuple(r.number(wp, "yaw", f"waypoint {i}", default=0.0) for i, wp in enumerate(waypoints))
    return {"keypoints": keypoints, "keypoint_yaws_deg": yaws, "weather": weather, "weather_name": name}


def _parse_scenario(elem: ET.Element, i: int, r: _Reader) -> ScenarioConfig:
    for attr in ("name", "type"):
        if not elem.attrib.get(attr):
            raise r.fail(f"scenario {i} is missing attribute '{attr}'")
    what = f"scenario {elem.attrib['name']!r}"
    triggers, params, actors = [], {}, []
    for child in elem:
        if child.tag == "trigger_point":
            loc = r.location(child, f"{what} trigger_point")
            yaw = r.number(child, "yaw", f"{what} trigger_point", default=0.0)
            triggers.append(carla.Transform(loc, carla.Rotation(pitch=0.0, yaw=yaw, roll=0.0)))
        elif child.tag == "other_actor":
            actors.append(dict(child.attrib))
        else:
            params[child.tag] = dict(child.attrib)
    if not triggers:
        raise r.fail(f"{what} has no <trigger_point>")
    return ScenarioConfig(elem.attrib["name"], elem.attrib["type"], tuple(triggers), params, tuple(actors))


def _parse_lb2(route: ET.Element, r: _Reader) -> dict:
    weathers: list[tuple[float, carla.WeatherParameters]] = []
    name = ""
    weathers_elem = route.find("weathers")
    if weathers_elem is not None:
        for i, elem in enumerate(weathers_elem.findall("weather")):
            what = f"weather {i}"
            pct = r.number(elem, "route_percentage", what)
            weathers.append((pct, r.weather(elem, carla.WeatherParameters(sun_altitude_angle=70.0,
                                                                          cloudiness=50.0), what)))
            name = name or elem.attrib.get("id", elem.attrib.get("name", ""))
    if not weathers:
        weathers = [(0.0, carla.WeatherParameters(sun_altitude_angle=70.0, cloudiness=50.0))]
    weathers.sort(key=lambda item: item[0])
    keypoints = tuple(r.location(p, f"position {i}")
                      for i, p in enumerate(route.find("waypoints").findall("position")))
    scenarios_elem = route.find("scenarios")
    scenarios = () if scenarios_elem is None else tuple(
        _parse_scenario(s, i, r) for i, s in enumerate(scenarios_elem.findall("scenario")))
    return {"keypoints": keypoints, "weather": weathers[0][1], "weathers": tuple(weathers),
            "scenarios": scenarios, "weather_name": name}


def _select(ids: list[str], routes_subset: str, path: Path) -> set[str]:
    """Route ids named by `routes_subset` ("0-3": file order from id 0 to id 3; "1,4"; "2")."""
    chosen: set[str] = set()
    for group in routes_subset.replace(" ", "").split(","):
        if not group:
            raise InputError(f"{path}: routes_subset {routes_subset!r} has an empty item; "
                             f"expected ids or ranges like '0-3,5'")
        start, sep, end = group.partition("-")
        for rid in (start, end) if sep else (start,):
            if rid not in ids:
                raise InputError(f"{path}: routes_subset {routes_subset!r} names route id {rid!r}, "
                                 f"which the file does not contain")
        if sep:
            i, j = ids.index(start), ids.index(end)
            if j < i:
                raise InputError(f"{path}: routes_subset range {group!r} ends before it starts in file order")
            chosen.update(ids[i:j + 1])
        else:
            chosen.add(start)
    return chosen


def parse_routes_file(path: str | os.PathLike, routes_subset: str = "") -> list[RouteConfig]:
    """Read every route (or the `routes_subset`) of an LB1.0 or LB2.0 route XML file, in file order."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"routes file {path}: no such file")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputError(f"routes file {path}: malformed XML ({exc})") from None
    routes = list(root.iter("route"))
    if not routes:
        raise InputError(f"routes file {path}: no <route> element found")
    ids: list[str] = []
    for i, route in enumerate(routes):
        rid = route.attrib.get("id")
        if not rid:
            raise InputError(f"{path}: route {i} (in file order) is missing attribute 'id'")
        if rid in ids:
            raise InputError(f"{path}: route id {rid!r} appears more than once")
        ids.append(rid)
    chosen = _select(ids, routes_subset, path) if routes_subset else set(ids)
    configs: list[RouteConfig] = []
    for route, rid in zip(routes, ids):
        if rid not in chosen:
            continue
        r = _Reader(path, rid)
        if not route.attrib.get("town"):
            raise r.fail("missing attribute 'town'")
        lb2 = route.find("waypoints") is not None
        if lb2 and route.find("waypoint") is not None:
            raise r.fail("mixes LB1.0 <waypoint> and LB2.0 <waypoints> elements; use one layout")
        fields = _parse_lb2(route, r) if lb2 else _parse_lb1(route, r)
        if len(fields["keypoints"]) < 2:
            raise r.fail(f"expected at least 2 {'<position>' if lb2 else '<waypoint>'} keypoints, "
                         f"got {len(fields['keypoints'])}")
        configs.append(RouteConfig(route_id=rid, town=route.attrib["town"], index=len(configs),
                                   n_vehicles=r.count(route, "n_vehicles"),
                                   n_walkers=r.count(route, "n_walkers"), **fields))
    return configs


# ---- writing -----------------------------------------------------------------------------------
def _fmt(value: float) -> str:
    """Shortest decimal text of `value` at micrometre/micro-unit precision ("-0" written as "0")."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _weather_attrib(weather: carla.WeatherParameters) -> dict[str, str]:
    return {name: _fmt(getattr(weather, name)) for name in WEATHER_FIELDS}


def _route_element(route: RouteConfig, layout: str) -> ET.Element:
    attrib = {"id": route.route_id, "town": route.town}
    for name in ("n_vehicles", "n_walkers"):
        if getattr(route, name) is not None:
            attrib[name] = str(getattr(route, name))
    elem = ET.Element("route", attrib)
    label = {"id": route.weather_name} if route.weather_name else {}
    if layout == "1.0":
        ET.SubElement(elem, "weather", {**label, **_weather_attrib(route.weather)})
        yaws = route.keypoint_yaws_deg or (0.0,) * len(route.keypoints)
        for loc, yaw in zip(route.keypoints, yaws):
            ET.SubElement(elem, "waypoint", {"x": _fmt(loc.x), "y": _fmt(loc.y), "z": _fmt(loc.z),
                                             "pitch": "0", "roll": "0", "yaw": _fmt(yaw)})
        return elem
    weathers = ET.SubElement(elem, "weathers")
    for pct, weather in route.weathers:
        ET.SubElement(weathers, "weather", {**label, "route_percentage": _fmt(pct), **_weather_attrib(weather)})
    waypoints = ET.SubElement(elem, "waypoints")
    for loc in route.keypoints:
        ET.SubElement(waypoints, "position", {"x": _fmt(loc.x), "y": _fmt(loc.y), "z": _fmt(loc.z)})
    scenarios = ET.SubElement(elem, "scenarios")
    for sc in route.scenarios:
        s = ET.SubElement(scenarios, "scenario", {"name": sc.name, "type": sc.type})
        for t in sc.trigger_points:
            ET.SubElement(s, "trigger_point", {"x": _fmt(t.location.x), "y": _fmt(t.location.y),
                                               "z": _fmt(t.location.z), "yaw": _fmt(t.rotation.yaw)})
        for tag, params in sc.other_parameters.items():
            ET.SubElement(s, tag, dict(params))
        for actor in sc.other_actors:
            ET.SubElement(s, "other_actor", dict(actor))
    return elem


def write_routes_file(path: str | os.PathLike, routes: Sequence[RouteConfig],
                      layout: Literal["1.0", "2.0"] = "1.0") -> None:
    """Write `routes` as a route XML file (LB1.0 by default), atomically (temp file + rename).

    LB1.0 has no place for scenarios: routes that carry some must be written with layout "2.0".
    """
    path = Path(path)
    if layout not in ("1.0", "2.0"):
        raise InputError(f"write_routes_file {path}: layout must be '1.0' or '2.0', got {layout!r}")
    if layout == "1.0":
        with_scenarios = [r.route_id for r in routes if r.scenarios]
        if with_scenarios:
            raise InputError(f"write_routes_file {path}: routes {with_scenarios} carry scenarios, which the "
                             f"LB1.0 layout cannot hold; write them with layout='2.0'")
    root = ET.Element("routes")
    for route in routes:
        root.append(_route_element(route, layout))
    indent(root, space="  ")
    data = ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
    atomic_write_text(path, data)


_WEATHER_FIELDS = ("cloudiness", "precipitation", "precipitation_deposits", "wind_intensity", "sun_azimuth_angle",
                   "sun_altitude_angle", "fog_density", "fog_distance", "fog_falloff", "wetness",
                   "scattering_intensity", "mie_scattering_scale", "rayleigh_scattering_scale", "dust_storm")


def weather_at(weathers: tuple[tuple[float, carla.WeatherParameters], ...],
               completion_pct: float) -> carla.WeatherParameters:
    """LB2.0 route weather: linear interpolation between the keyframes around `completion_pct`."""
    if completion_pct <= weathers[0][0] or len(weathers) == 1:
        return weathers[0][1]
    for (p0, w0), (p1, w1) in zip(weathers, weathers[1:]):
        if completion_pct <= p1:
            f = (completion_pct - p0) / (p1 - p0) if p1 > p0 else 1.0
            out = carla.WeatherParameters()
            for name in _WEATHER_FIELDS:
                setattr(out, name, (1 - f) * getattr(w0, name) + f * getattr(w1, name))
            return out
    return weathers[-1][1]
