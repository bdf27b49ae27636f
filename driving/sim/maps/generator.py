"""Regenerate the bundled OpenDRIVE towns: `python -m driving.sim.maps.generator [--out DIR]`.

The .xodr files next to this module are this script's output and are checked in; a test
regenerates them and compares bytes, so edit the town modules, never the .xodr files by hand.
Output is deterministic (fixed header date, renumbered signals, 12-digit numbers).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from driving.atomic_io import atomic_write_bytes
from driving.errors import InputError
from driving.sim.maps import highway, town_arterial, town_grid, town_overpass, town_suburb

MAPS_DIR = Path(__file__).resolve().parent

BUILDERS: dict[str, Callable[[], bytes]] = {
    town_grid.NAME: town_grid.build,
    town_suburb.NAME: town_suburb.build,
    town_arterial.NAME: town_arterial.build,
    highway.NAME: highway.build,
    town_overpass.NAME: town_overpass.build,
}
"""Bundled map name -> function returning its OpenDRIVE bytes."""




def generate(out_dir: Path, names: list[str] | None = None) -> list[Path]:
    """Write the named (default: all) bundled maps into `out_dir`; returns the written paths."""
    chosen = list(BUILDERS) if names is None else names
    unknown = [n for n in chosen if n not in BUILDERS]
    if unknown:
        raise InputError(f"--map: unknown map(s) {unknown}; expected some of {sorted(BUILDERS)}")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir}: exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in chosen:
        path = out_dir / f"{name}.xodr"
        atomic_write_bytes(path, BUILDERS[name]())
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MAPS_DIR, help="output folder (default: the package)")
    parser.add_argument("--map", action="append", dest="maps", help="only this map (repeatable)")
    args = parser.parse_args(argv)
    try:
        paths = generate(args.out, args.maps)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
