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
import secrets
from collections.abc import Iterator
from pathlib import Path


def current_umask() -> int:
    """The process umask (reading it means setting it, so it is set back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Temp-name attempts before giving up (names are random, so a clash means a broken folder).
_TEMP_NAME_TRIES = 100
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _create_temp(path: Path) -> tuple[int, Path]:
    """Create a new, empty `.STEM.XXXXXXXX.tmp.SUFFIX` beside `path` (its folder made when missing);
    returns its open descriptor and path.

    Why not `tempfile.mkstemp`: that makes a 0600 file, so every write also needed a chmod (and two
    umask calls to learn what to chmod to); created here with mode 0o666 the kernel applies the
    umask itself, giving what a plain `open(path, "w")` gives. The dataset writer creates ~12 files
    per frame, so these saved system calls show in the collection speed.
    """
    for _ in range(_TEMP_NAME_TRIES):
        tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o666), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
    raise FileExistsError(f"{path.parent}: no free temporary name for {path.name} after {_TEMP_NAME_TRIES} tries")


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[tuple[int, Path]]:
    """Yield (descriptor, path) of a new temp file beside `path`; on success the temp file replaces
    `path`, on error it is removed. The caller closes the descriptor."""
    fd, tmp = _create_temp(path)
    try:
        yield fd, tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it is removed.

    For writers that need a file name (cv2.imwrite, torch.save). Keep the suffix so such writers
    pick the right format: the temp name ends with the destination's own suffix.
    """
    with _replacing(Path(path)) as (fd, tmp):
        os.close(fd)
        yield tmp


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
    with _replacing(path) as (fd, _), open(fd, "wb") as fh:
        fh.write(data)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())
    return path


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))
