"""`driving sim maps`: list the bundled towns with their size and signals, so users can pick one."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--map", action="append", default=None,
                        help="a bundled map name or a path to an .xodr file (repeatable; default: all bundled)")


def run(args: argparse.Namespace) -> int:
    import carla
    from rich.console import Console
    from rich.table import Table

    from driving.sim.maps import available_maps, load_map

    table = Table(title="maps")
    for col in ("map", "driving lanes", "lane km", "junctions", "traffic lights", "stop signs"):
        table.add_column(col, justify="left" if col == "map" else "right")
    for name in args.map or available_maps():
        loaded = load_map(name)
        cmap = loaded.carla_map
        waypoints = [w for w in cmap.generate_waypoints(1.0) if w.lane_type == carla.LaneType.Driving]
        lanes = {(w.road_id, w.section_id, w.lane_id) for w in waypoints}
        junctions = {w.junction_id for w in waypoints if w.is_junction}
        table.add_row(loaded.name, str(len(lanes)), f"{len(waypoints) / 1000:.2f}", str(len(junctions)),
                      str(len(cmap.get_all_landmarks_of_type("1000001"))),
                      str(len(cmap.get_all_landmarks_of_type("206"))))
    Console().print(table)
    return 0
