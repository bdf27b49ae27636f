"""`driving dataset stats DIR [--json] [--semantic-frames N]`: what a dataset holds, before training on it.

Counts frames, hours (frames x each route's frame interval), km driven (sum of the distances
between consecutive frame positions), the share of pixels per semantic class (over at most N
frames spread evenly over the dataset: reading every PNG of a big dataset takes long), the
balance of route commands and of braking frames, and per-town routes / frames / hours / km.
Every route layout `driving.collect.route_reader` knows is read (ours and TransFuser 2022).
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_SEMANTIC_FRAMES = 200


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="dataset root (route folders anywhere below it)")
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON (machine output)")
    parser.add_argument("--semantic-frames", type=int, default=DEFAULT_SEMANTIC_FRAMES,
                        help=f"frames sampled for the class pixel shares (default {DEFAULT_SEMANTIC_FRAMES}; "
                             "0 = skip)")


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def dataset_stats(root: str | Path, semantic_frames: int = DEFAULT_SEMANTIC_FRAMES) -> dict[str, Any]:
    """The statistics as a JSON-ready dict (see the module docstring)."""
    from driving.collect.route_reader import COMMAND_NAMES, discover_routes
    from driving.errors import InputError
    from driving.tags import NUM_TAGS, Tag

    if semantic_frames < 0:
        raise InputError(f"--semantic-frames: expected >= 0 frames, got {semantic_frames}")
    readers, incomplete = discover_routes(root)
    if not readers:
        raise InputError(f"{root}: no complete route to describe ({len(incomplete)} incomplete)")
    towns: dict[str, dict[str, float]] = {}
    layouts: Counter[str] = Counter()
    commands: Counter[int] = Counter()
    frames = braking = red = 0
    seconds = metres = 0.0
    all_frames = []
    for reader in readers:
        records = reader.frames()
        xy = np.array([[f.x, f.y] for f in records], dtype=np.float64).reshape(-1, 2)
        route_m = float(np.linalg.norm(np.diff(xy, axis=0), axis=1).sum())
        route_s = len(records) * reader.frame_interval_s
        town = towns.setdefault(reader.town, {"routes": 0, "frames": 0, "hours": 0.0, "km": 0.0})
        town["routes"] += 1
        town["frames"] += len(records)
        town["hours"] += route_s / 3600.0
        town["km"] += route_m / 1000.0
        layouts[reader.layout] += 1
        frames += len(records)
        seconds += route_s
        metres += route_m
        commands.update(f.command for f in records)
        braking += sum(f.brake > 0 for f in records)
        red += sum(f.red_light > 0 for f in records)
        all_frames += [(reader, f.index) for f in records]

    pixels = np.zeros(NUM_TAGS, dtype=np.int64)
    picked = sorted(set(np.linspace(0, len(all_frames) - 1, min(semantic_frames, len(all_frames)))
                        .round().astype(int).tolist())) if semantic_frames and all_frames else []
    for i in picked:
        reader, index = all_frames[i]
        pixels += np.bincount(reader.read_tags(index).ravel(), minlength=NUM_TAGS)[:NUM_TAGS]
    total_px = int(pixels.sum())
    return {
        "root": str(root),
        "routes": len(readers),
        "incomplete_routes": [str(p) for p in incomplete],
        "layouts": dict(sorted(layouts.items())),
        "frames": frames,
        "hours": seconds / 3600.0,
        "km": metres / 1000.0,
        "semantic_frames_sampled": len(picked),
        "class_pixel_share": {t.name: _share(int(pixels[t]), total_px) for t in Tag},
        "commands": {name: {"frames": commands[c], "share": _share(commands[c], frames)}
                     for c, name in COMMAND_NAMES.items()},
        "brake": {"frames": braking, "share": _share(braking, frames)},
        "red_light": {"frames": red, "share": _share(red, frames)},
        "towns": dict(sorted(towns.items())),
    }


def _print_tables(stats: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    summary = Table(title=f"dataset {stats['root']}")
    summary.add_column("")
    summary.add_column("value", justify="right")
    for name, value in (
        ("complete routes", str(stats["routes"])),
        ("incomplete routes (skipped)", str(len(stats["incomplete_routes"]))),
        ("layouts", ", ".join(f"{k}: {v}" for k, v in stats["layouts"].items())),
        ("frames", str(stats["frames"])),
        ("hours", f"{stats['hours']:.3f}"),
        ("km driven", f"{stats['km']:.3f}"),
        ("braking frames", f"{stats['brake']['frames']} ({stats['brake']['share']:.1%})"),
        ("red-light frames", f"{stats['red_light']['frames']} ({stats['red_light']['share']:.1%})"),
    ):
        summary.add_row(name, value)
    console.print(summary)

    towns = Table(title="per town")
    for col in ("town", "routes", "frames", "hours", "km"):
        towns.add_column(col, justify="left" if col == "town" else "right")
    for name, t in stats["towns"].items():
        towns.add_row(name, str(t["routes"]), str(t["frames"]), f"{t['hours']:.3f}", f"{t['km']:.3f}")
    console.print(towns)

    commands = Table(title="commands")
    for col in ("command", "frames", "share"):
        commands.add_column(col, justify="left" if col == "command" else "right")
    for name, c in stats["commands"].items():
        commands.add_row(name, str(c["frames"]), f"{c['share']:.1%}")
    console.print(commands)

    classes = Table(title=f"semantic classes (pixel share over {stats['semantic_frames_sampled']} frames)")
    for col in ("class", "share"):
        classes.add_column(col, justify="left" if col == "class" else "right")
    for name, share in sorted(stats["class_pixel_share"].items(), key=lambda kv: -kv[1]):
        classes.add_row(name, f"{share:.2%}")
    console.print(classes)


def run(args: argparse.Namespace) -> int:
    stats = dataset_stats(args.dir, args.semantic_frames)
    if args.json:
        print(json.dumps(stats, indent=1))
    else:
        _print_tables(stats)
    return 0
