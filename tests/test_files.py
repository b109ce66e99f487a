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


# ---- input: one line saying why a file cannot be read ----------------------------------------------


def test_unreadable_names_each_cause(tmp_path):
    from coachkit.files import unreadable

    (tmp_path / "ok.csv").write_text("x")
    (tmp_path / "dir.csv").mkdir()
    (tmp_path / "loop.csv").symlink_to("loop.csv")
    (tmp_path / "dangling.csv").symlink_to("gone.csv")
    (tmp_path / "link.csv").symlink_to("ok.csv")
    os.mkfifo(tmp_path / "pipe.csv")
    got = {name: unreadable(tmp_path / name) for name in sorted(p.name for p in tmp_path.iterdir())}
    assert got == {
        "dangling.csv": "a symbolic link to 'gone.csv', which does not exist; point it at the file or put the file here",
        "dir.csv": "is a directory, not a file; put the file itself here under this name",
        "link.csv": None,
        "loop.csv": "cannot open the file: a symbolic-link loop (too many levels of symbolic links); replace the "
        "link with the file itself or a link that reaches it",
        "ok.csv": None,
        "pipe.csv": "is not a regular file (a pipe, socket or device); put the file itself here under this name",
    }
    assert unreadable(tmp_path / "none.csv") == "no such file"
    assert unreadable(tmp_path / "ok.csv" / "x") == "a part of the path is a file, not a folder; check the path"


def test_os_reason_for_permission_and_io_errors(tmp_path):
    from coachkit.files import os_reason

    denied = PermissionError(13, "Permission denied")
    assert os_reason(denied, tmp_path / "reps.csv") == (
        "cannot read the file: permission denied; give your user read access (chmod a+r reps.csv) "
        "or copy the file somewhere you can read"
    )
    assert "chmod a+rx data" in os_reason(denied, tmp_path / "data", what="folder")
    assert os_reason(OSError(5, "Input/output error"), tmp_path / "x").startswith("cannot read the file: input/output")
    assert os_reason(OSError(28, "No space left on device"), tmp_path / "x") == (
        "cannot read the file: No space left on device"
    )


def test_read_text_utf8_bom_utf16_and_bad_bytes(tmp_path):
    from coachkit.files import FileReadError, read_text

    p = tmp_path / "a.toml"
    p.write_bytes(b"\xef\xbb\xbfa = 1\n")
    assert read_text(p) == "a = 1\n"
    p.write_bytes("a = 1\n".encode("utf-16"))
    with pytest.raises(FileReadError, match="UTF-16 text, not UTF-8") as err:
        read_text(p)
    assert err.value.line == 1
    p.write_bytes(b"\xef\xbb\xbfa = 1\n\nb = '\xe9'\n")  # the BOM does not shift the line
    with pytest.raises(FileReadError) as err:
        read_text(p)
    assert (err.value.line, err.value.reason) == (
        3,
        "not UTF-8 text (byte 0xe9: invalid continuation byte); save the file as UTF-8",
    )
    assert str(err.value) == f"{p}, line 3: {err.value.reason}"
    assert p.read_bytes() == b"\xef\xbb\xbfa = 1\n\nb = '\xe9'\n"
