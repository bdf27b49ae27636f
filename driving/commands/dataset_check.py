"""`driving dataset check DIR [--allow-incomplete]`: find the files a training run would trip on.

Every route folder below DIR is read by its layout (`driving.collect.route_reader`). Reported,
one line each naming the path:

- missing: a frame file that is absent (for our layout also a file the manifest lists,
  `verify_route`, which also reports files whose sha256 changed or that the manifest does not list);
- truncated: a PNG that does not decode, a JSON that does not parse;
- unreadable: a file that cannot be opened (permissions, I/O error);
- measurements that parse but miss fields, and folders of no known layout.

Incomplete routes (ours without a manifest: still being written, or their writer crashed) are
listed as such. Exit status 0 when nothing is wrong, 1 when any problem or incomplete route was
found (`--allow-incomplete`: incomplete routes alone do not fail), 2 on bad input (no DIR).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="dataset root (route folders anywhere below it)")
    parser.add_argument("--allow-incomplete", action="store_true",
                        help="incomplete routes (no manifest) are listed but do not make the check fail")


@dataclass
class CheckReport:
    routes: int = 0
    problems: list[str] = field(default_factory=list)
    incomplete: list[Path] = field(default_factory=list)


def check_dataset(root: str | Path) -> CheckReport:
    """Problems of every route folder under `root` (see the module docstring)."""
    from driving.collect.route_reader import classify, route_folders
    from driving.errors import InputError

    report = CheckReport()
    for route in route_folders(root):
        report.routes += 1
        try:
            cls = classify(route)
        except InputError as exc:
            report.problems.append(str(exc))
            continue
        if cls is None:
            report.incomplete.append(route)
            continue
        reader = cls(route)
        try:
            problems = reader.problems()
            if not problems:
                reader.frames()  # contents: fields present and well-typed
        except InputError as exc:
            problems = [str(exc)]
        report.problems += problems
    return report


def run(args: argparse.Namespace) -> int:
    report = check_dataset(args.dir)
    for line in report.problems:
        print(line)
    for route in report.incomplete:
        print(f"{route}: incomplete route (no manifest.json: still being written, or its writer crashed)")
    print(f"{args.dir}: {report.routes} route folder(s) checked, {len(report.problems)} problem(s), "
          f"{len(report.incomplete)} incomplete route(s)")
    failed = bool(report.problems) or (bool(report.incomplete) and not args.allow_incomplete)
    return 1 if failed else 0
