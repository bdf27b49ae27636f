"""`driving report RESULTS.json [OTHER.json] --out report.html`: a run's results as one HTML page.

The page is self-contained (charts and maps embedded as PNG data URIs) so it can be mailed or
attached to a review; videos written by `driving evaluate --video` are linked by relative paths.
With a second results file the page compares the two (OTHER against RESULTS, with deltas).
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", metavar="RESULTS.json",
                        help="a results file written by the evaluator; a second one is compared with the first")
    parser.add_argument("--out", default="report.html", help="the HTML page to write")
    parser.add_argument("--labels", default="",
                        help="names of the files on the page, comma separated (A,B); default: their file names")
    parser.add_argument("--routes", default=None,
                        help="the routes file the run used (bundled set name or XML path): it names each "
                             "route's town, so infractions are drawn on the map")
    parser.add_argument("--maps", default=None, metavar="DIR",
                        help="folder of OpenDRIVE maps: a route's town resolves to DIR/<town>.xodr, as the evaluator's")


def run(args: argparse.Namespace) -> int:
    from driving.errors import InputError
    from leaderboard.report import ReportOptions, write_report

    if len(args.results) > 2:
        raise InputError(f"driving report: expected one or two results files, got {len(args.results)}")
    labels = tuple(s.strip() for s in args.labels.split(",")) if args.labels else ()
    if labels and (len(labels) != len(args.results) or not all(labels)):
        raise InputError(f"--labels {args.labels!r}: expected {len(args.results)} non-empty name(s), comma separated")
    path = write_report(ReportOptions(tuple(args.results), args.out, labels, args.routes, args.maps))
    print(f"wrote {path}")
    return 0
