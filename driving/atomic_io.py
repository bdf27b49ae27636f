"""Atomic file writes: a reader sees the old file or the whole new one, never half of it.

Every output of the project (results JSON, maps, route files, images, checkpoints, datasets)
goes through here: the data is written to a temporary file in the destination folder, flushed,
given the permissions a plain `open(path, "w")` would get, and renamed onto the destination
with `os.replace` (atomic on POSIX). A crash mid-write leaves at most a hidden `.NAME.*.tmp`.
"""
from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it is removed.

    For writers that need a file name (cv2.imwrite, torch.save). Keep the suffix so such writers
    pick the right format: the temp name ends with the destination's own suffix.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are for people too
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def is_temp_file(path: str | Path) -> bool:
    """True for a leftover of an interrupted atomic write (`.NAME.XXXX.tmp[.suffix]`)."""
    name = Path(path).name
    return name.startswith(".") and ".tmp" in name


def remove_temp_leftovers(path: str | Path) -> list[Path]:
    """Delete the leftovers of interrupted atomic writes of `path` (`.STEM.XXXX.tmp.SUFFIX` beside it).

    For outputs that one writer owns (a route's video): a run killed mid-write and resumed
    writes the file again, and the dead run's temp file would otherwise stay forever. Not for
    paths that two live writers may share. Returns the deleted paths.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    gone = []
    for leftover in path.parent.glob(f".{glob.escape(path.stem)}.*.tmp{glob.escape(path.suffix)}"):
        leftover.unlink(missing_ok=True)
        gone.append(leftover)
    return gone


def atomic_write_bytes(path: str | Path, data: bytes, fsync: bool = True) -> Path:
    """Write `data` to `path` atomically (fsynced before the rename); returns the path.

    `fsync=False` skips the fsync: the rename still makes a process crash leave either the old or
    the new file, but after a power loss the file may be empty. For callers that fsync a batch of
    files later, before writing what marks them as valid (the dataset writer's manifest).
    """
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())
    return path


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))
