"""The run report: a results file (or two, compared) as one self-contained HTML page.

`load` checks the results file, `plots` draws the charts, `map_overlay` puts infraction places on
each town's top-down view, `page` assembles the HTML; `write_report` ties them together for the
`driving report` command.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from driving.atomic_io import atomic_write_text


@dataclass(frozen=True)
class ReportOptions:
    """What to report: results files (1 or 2), the page path, labels, and where towns come from.

    `routes` is the routes file the run used (a bundled set name or a path; results files do not
    name a route's town); `maps_dir` resolves towns as the evaluator's `--maps`.
    """

    results: tuple[str, ...]
    out: str
    labels: tuple[str, ...] = ()
    routes: str | None = None
    maps_dir: str | None = None


def write_report(opts: ReportOptions) -> Path:
    """Read and check the results, draw everything and write the page atomically; returns its path."""
    from leaderboard.report.load import load_results
    from leaderboard.report.map_overlay import infraction_maps, read_route_sites
    from leaderboard.report.page import build_page

    labels = list(opts.labels) or _default_labels(opts.results)
    runs = [load_results(path, label) for path, label in zip(opts.results, labels)]
    sites = read_route_sites(opts.routes) if opts.routes else {}
    routes_note = "" if opts.routes else "results files do not name a route's town; pass --routes FILE to draw maps"
    unplaced = sum(1 for run in runs for r in run.routes for i in r.infractions if i.x_m is None)
    maps_note = f"{unplaced} infraction(s) name no place (a route timeout, driving outside the route lanes) " \
                "and are not drawn." if unplaced else ""
    out = Path(opts.out)
    page = build_page(runs, out, infraction_maps(runs, sites, opts.maps_dir, routes_note), maps_note)
    return atomic_write_text(out, page)


def _default_labels(paths: Sequence[str]) -> list[str]:
    """Each file's name; with the same name twice (two runs' results.json), its folder as well."""
    names = [Path(p).name for p in paths]
    if len(set(names)) == len(names):
        return names
    return [f"{Path(p).parent.name}/{Path(p).name}" if Path(p).parent.name else str(p) for p in paths]
