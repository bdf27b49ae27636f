"""`driving submission build --agent letfuser --checkpoint FILE --out DIR`.

Writes the team-code folder for the official CARLA leaderboard image (see driving.submission):
the agent file, its config, the model folder, our packages, requirements.txt, a Dockerfile in
the leaderboard's layout and README_SUBMISSION.md with the build and run commands. Imports of
torch and the model happen in `run` so `driving --help` stays fast.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agent", default="letfuser", help="agent to submit (letfuser)")
    parser.add_argument("--checkpoint", required=True,
                        help="training checkpoint (.pt), exported model folder or training run folder")
    parser.add_argument("--out", required=True, help="team-code folder to create (must not exist)")


def run(args: argparse.Namespace) -> int:
    from driving.submission import build_submission

    out = build_submission(args.agent, args.checkpoint, args.out)
    print(f"{out}: submission for agent {args.agent}; build and run it as {out}/README_SUBMISSION.md says")
    return 0
