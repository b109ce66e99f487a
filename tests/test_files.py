"""Atomic writes: the target is replaced whole or not at all."""

from __future__ import annotations

import os
import stat

import pytest

from coachkit.files import atomic_path, write_text


def test_write_text_replaces_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "sub" / "report.html"
    write_text(target, "first")
    write_text(target, "second <b>")
    assert target.read_text() == "second <b>"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]


def test_crash_keeps_the_old_file_and_removes_the_temp(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half-writ")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_permissions_follow_the_umask_not_mkstemp(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_text(tmp_path / "x.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
