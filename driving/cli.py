"""The `driving` command: one entry point, subcommands registered by name.

Each subcommand lives in its own module exposing `add_arguments(parser)` and `run(args) -> int`;
this file only maps names to modules, so heavy imports (torch, moderngl) happen only for the
command that needs them. Bad input (`InputError`) is printed as one line, exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from driving.errors import InputError

#: (group, name) -> (module, one-line help). group "" = top-level command.
COMMANDS: dict[tuple[str, str], tuple[str, str]] = {
    ("", "evaluate"): ("leaderboard.evaluate_cli", "evaluate an agent on leaderboard routes (friendly front)"),
    ("", "attack"): ("driving.commands.attack", "search a scenario family's parameters for an agent's worst cases"),
    ("", "collect"): ("driving.commands.collect", "the expert drives routes; the LeTFuser rig and labels are saved"),
    ("", "train"): ("driving.training.train_cli", "train a LeTFuser model on a collected dataset"),
    ("", "report"): ("driving.commands.report", "a results file (or two, compared) as a self-contained HTML page"),
    ("", "model-metrics"): ("driving.training.metrics_cli", "held-out mIoU, light accuracy, ADE/FDE of a model on a dataset"),
    ("", "export-model"): ("driving.training.export_cli", "turn a training checkpoint into a deployable model folder"),
    ("sim", "preview"): ("driving.commands.sim_preview", "top-down picture of a map with actors and a route"),
    ("sim", "snapshot"): ("driving.sim.snapshot", "save every sensor of a standard rig as PNG"),
    ("sim", "maps"): ("driving.commands.sim_maps", "list bundled maps with their size and signals"),
    ("dataset", "stats"): ("driving.commands.dataset_stats", "frames, hours, km and label balance of a dataset"),
    ("dataset", "check"): ("driving.commands.dataset_check", "find missing, truncated and unreadable dataset files"),
    ("submission", "build"): ("driving.commands.submission", "team-code folder and Dockerfile for the CARLA leaderboard"),
}

GROUP_HELP = {"sim": "embedded simulator tools", "dataset": "dataset tools: statistics and integrity checks",
              "submission": "leaderboard submission package"}


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The full parser; only the command named in `argv` imports its module (keeps --help fast)."""
    parser = argparse.ArgumentParser(prog="driving", description="LeTFuser driving stack")
    top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for (group, name), (module_name, help_text) in COMMANDS.items():
        if group:
            if group not in groups:
                gp = top.add_parser(group, help=GROUP_HELP.get(group, group))
                groups[group] = gp.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
            sub = groups[group].add_parser(name, help=help_text, description=help_text)
        else:
            sub = top.add_parser(name, help=help_text, description=help_text)
        if _selected(argv, group, name):
            importlib.import_module(module_name).add_arguments(sub)
        sub.set_defaults(_module=module_name)
    return parser


def _selected(argv: Sequence[str], group: str, name: str) -> bool:
    words = [a for a in argv if not a.startswith("-")]
    return words[:2] == [group, name] if group else words[:1] == [name]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args) or 0)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
