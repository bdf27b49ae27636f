"""`--viewer [window|video]`, shared by `driving evaluate` and `driving collect`, and the choice it makes.

`--viewer` alone (or `--viewer window`) opens a window per route when a display is available,
else says so in one line and writes the video instead; `--viewer video` always writes an H.264
video per route into `<out>/viewer/<route>_<index>.mp4`. The choice is made once, here, by the
command; the route's worker opens the viewer (`leaderboard.viewer.feed.open_viewer`).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

WINDOW = "window"
VIDEO = "video"
VIEWER_DIR = "viewer"


def add_viewer_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--viewer", nargs="?", const=WINDOW, default=None, choices=(WINDOW, VIDEO),
                        help="watch each route: a window (default when a display is available) or an "
                             "H.264 video per route in OUT/viewer/ (video; also the fallback without a display)")


def display_available() -> bool:
    """Whether a window can be opened: on Linux/BSD an X11 or Wayland display is named; elsewhere always."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def viewer_choice(requested: str | None, out_dir: str | Path,
                  notice: Callable[[str], None] = print) -> tuple[str | None, str | None]:
    """(mode, absolute video folder) for RunOptions from `--viewer`; (None, None) when not asked.

    A window without a display becomes a video, with a one-line `notice`. The folder is absolute
    because workers (Ray ones included) may run elsewhere; the window mode keeps it for its fallback.
    """
    if requested is None:
        return None, None
    video_dir = str((Path(out_dir) / VIEWER_DIR).resolve())
    if requested == WINDOW and not display_available():
        notice(f"viewer: no display, writing a video per route to {video_dir} instead of a window")
        return VIDEO, video_dir
    return requested, video_dir
