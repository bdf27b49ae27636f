"""Serialise an `xodr.OpenDrive` to deterministic bytes, with traffic-light controllers added.

Why: scenariogeneration stamps the header with the current time and numbers signals from a
process-wide counter, and clothoid solving can differ in the last floating-point bits between
machines. The checked-in maps must be byte-identical to a fresh generator run, so the header
date is fixed, signals are renumbered in document order, numbers are written with 12
significant digits, and the XML is indented by the standard library.

scenariogeneration has no `<controller>` class; CARLA groups the traffic lights of a junction
through controllers, so one controller per signalised junction is added here (all its lights,
`<controller>` reference inside the `<junction>`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from scenariogeneration import xodr

from driving.xml_indent import indent

HEADER_DATE = "2026-01-01T00:00:00"
SIGNAL_ID_BASE = 5000
"""Signal ids start here, away from road (<1000 + connecting) ids, for readability only."""
CONTROLLER_ID_BASE = 1
TRAFFIC_LIGHT_TYPE = "1000001"
BOUNDS_PADDING_M = 50.0
SPIRAL_MIN_CURVATURE_CHANGE = 1e-7
"""1/m; a spiral changing its curvature by less than this is written as an arc."""

_FLOAT_RE = re.compile(r"^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")


def _normalise_number(text: str) -> str:
    """12 significant digits for real numbers; integers (ids, lane numbers) stay as written."""
    if not _FLOAT_RE.match(text) or ("." not in text and "e" not in text.lower()):
        return text
    value = float(text)
    if value == 0.0:
        return "0.0"
    out = format(value, ".12g")
    return out if ("." in out or "e" in out) else out + ".0"


def to_xodr_bytes(odr: xodr.OpenDrive) -> bytes:
    """The OpenDRIVE document as UTF-8 bytes, identical for identical networks."""
    root = odr.get_element()
    header = root.find("header")
    if header is not None:
        header.set("date", HEADER_DATE)
        _set_bounds(root, header)
    _renumber_signals(root)
    _add_controllers(root)
    _constant_spirals_to_arcs(root)
    for element in root.iter():
        for key, value in element.attrib.items():
            element.set(key, _normalise_number(value))
    indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _set_bounds(root: ET.Element, header: ET.Element) -> None:
    """Header north/south/east/west (m) from the geometry start points, padded by 50 m."""
    xs = [float(g.get("x", "0")) for g in root.iter("geometry")]
    ys = [float(g.get("y", "0")) for g in root.iter("geometry")]
    if xs:
        pad = BOUNDS_PADDING_M
        header.set("north", repr(round(max(ys) + pad, 1)))
        header.set("south", repr(round(min(ys) - pad, 1)))
        header.set("east", repr(round(max(xs) + pad, 1)))
        header.set("west", repr(round(min(xs) - pad, 1)))


def _constant_spirals_to_arcs(root: ET.Element) -> None:
    """Rewrite spirals whose curvature does not change as arcs (or lines).

    The clothoid solver emits such pieces in the middle of junction turns, and CARLA's spiral
    evaluation divides by the curvature change, giving NaN positions along them.
    """
    for geometry in root.iter("geometry"):
        spiral = geometry.find("spiral")
        if spiral is None:
            continue
        k_start, k_end = float(spiral.get("curvStart", "0")), float(spiral.get("curvEnd", "0"))
        if abs(k_end - k_start) > SPIRAL_MIN_CURVATURE_CHANGE:
            continue
        geometry.remove(spiral)
        curvature = (k_start + k_end) / 2
        if abs(curvature) < SPIRAL_MIN_CURVATURE_CHANGE:
            ET.SubElement(geometry, "line")
        else:
            ET.SubElement(geometry, "arc", {"curvature": repr(curvature)})


def _renumber_signals(root: ET.Element) -> None:
    next_id = SIGNAL_ID_BASE
    for signal in root.iter("signal"):
        signal.set("id", str(next_id))
        next_id += 1


def _add_controllers(root: ET.Element) -> None:
    """One controller per junction with traffic lights on its approaches, referenced by the junction."""
    lights_by_junction: dict[str, list[str]] = {}
    for road in root.findall("road"):
        if road.get("junction", "-1") != "-1":
            continue
        link = road.find("link")
        for signal in road.iter("signal"):
            if signal.get("type") != TRAFFIC_LIGHT_TYPE:
                continue
            junction = _governed_junction(link, signal)
            if junction is not None:
                lights_by_junction.setdefault(junction, []).append(signal.get("id", ""))
    junctions = {j.get("id"): j for j in root.findall("junction")}
    first_junction_index = next((i for i, child in enumerate(root) if child.tag == "junction"), len(root))
    controller_id = CONTROLLER_ID_BASE
    new_controllers = []
    for junction_id in sorted(lights_by_junction, key=int):
        controller = ET.Element("controller", {"id": str(controller_id), "name": f"Ctrl_J{junction_id}"})
        for signal_id in lights_by_junction[junction_id]:
            ET.SubElement(controller, "control", {"signalId": signal_id, "type": "0"})
        new_controllers.append(controller)
        ET.SubElement(junctions[junction_id], "controller", {"id": str(controller_id), "type": "0"})
        controller_id += 1
    for offset, controller in enumerate(new_controllers):
        root.insert(first_junction_index + offset, controller)


def _governed_junction(link: ET.Element | None, signal: ET.Element) -> str | None:
    """Junction the signal faces: the road's successor for '+' signals, its predecessor for '-'."""
    if link is None:
        return None
    tag = "successor" if signal.get("orientation") == "+" else "predecessor"
    target = link.find(tag)
    if target is None or target.get("elementType") != "junction":
        return None
    return target.get("elementId")
