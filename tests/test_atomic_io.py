"""Atomic writes leave the old file or the whole new one, with ordinary permissions."""
from __future__ import annotations

import os
import stat

import pytest

from driving.atomic_io import atomic_path, atomic_write_bytes, atomic_write_text, is_temp_file


def test_write_replaces_whole_file_with_umask_permissions(tmp_path):
    target = tmp_path / "sub" / "out.json"
    atomic_write_text(target, "old")
    atomic_write_bytes(target, b"new")
    assert target.read_text() == "new"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.png"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_leftovers_of_interrupted_writes_are_recognised(tmp_path):
    target = tmp_path / "0001.png"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        leftover = tmp
        assert is_temp_file(tmp)
        raise RuntimeError("crash")
    assert not leftover.exists()
    assert not is_temp_file(target) and not is_temp_file(tmp_path / "manifest.json")
