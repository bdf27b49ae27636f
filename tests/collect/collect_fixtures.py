"""Short town_grid routes for the `driving collect` tests (the first leg of bundled val_short route 0,
a left turn at a signalized junction, ~87 m), written as a routes XML file."""
from __future__ import annotations

import json
from pathlib import Path

ROUTE_XML = """<?xml version='1.0' encoding='utf-8'?>
<routes>
{routes}
</routes>
"""
ONE_ROUTE = """  <route id="{id}" town="town_grid" n_vehicles="{vehicles}" n_walkers="{walkers}">
    <waypoint x="198.25" y="-31" z="0" pitch="0" roll="0" yaw="90" />
    <waypoint x="258.096039" y="1.75" z="0" pitch="0" roll="0" yaw="0" />
  </route>"""


def write_routes(path: Path, n_routes: int = 1, vehicles: int = 4, walkers: int = 4) -> Path:
    path.write_text(ROUTE_XML.format(routes="\n".join(
        ONE_ROUTE.format(id=i, vehicles=vehicles, walkers=walkers) for i in range(n_routes))))
    return path


def route_dirs(out: Path) -> list[Path]:
    return sorted(p.parent for p in out.rglob("route_meta.json"))


def measurements(route: Path) -> list[dict]:
    files = sorted((route / "measurements").glob("*.json"))
    return [json.loads(p.read_text()) for p in files]
