"""The review output folder: week keys, the atomic switch, history, leftovers, errors in one line (no kernel)."""

from __future__ import annotations

import errno
import json
import os
from collections import namedtuple
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachkit import publish
from coachkit.publish import OutputError


@pytest.mark.parametrize(
    ("day", "key"),
    [
        ("2026-11-20", "2026-W47"),  # the sample's last activity, a Friday
        ("2026-11-22", "2026-W47"),  # its Sunday: same week
        ("2026-11-23", "2026-W48"),  # Monday: the next
        ("2024-12-30", "2025-W01"),  # a Monday in December that belongs to ISO year 2025
        ("2021-01-03", "2020-W53"),  # a Sunday in January that belongs to ISO year 2020 (53 weeks)
        ("2024-06-30", "2024-W26"),
    ],
)
def test_week_key_by_hand(day: str, key: str) -> None:
    assert publish.week_key(day) == key
    assert publish.week_key(pd.Timestamp(day)) == key
    assert publish.is_week_name(key)


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2090-12-31").date()))
def test_week_keys_sort_like_the_weeks(day) -> None:
    # the history relies on string order of keys being time order: a week later has a larger key
    this, nxt = publish.week_key(day), publish.week_key(day + pd.Timedelta(days=7))
    assert this < nxt
    assert publish.week_key(day - pd.Timedelta(days=pd.Timestamp(day).weekday())) == this  # its Monday


def test_week_names() -> None:
    assert not any(publish.is_week_name(n) for n in ("2026-W4", "2026-w47", "x2026-W47", "2026-W47/", ".2026-W47"))


# ---------------------------------------------------------------- weeks and the previous review


def _week(out: Path, key: str, reps: dict, files: tuple[str, ...] = ()) -> Path:
    folder = out / key
    folder.mkdir(parents=True)
    for name in files:
        (folder / name).write_text(f"{key}/{name}")
    manifest = {"week": key, "parameters": {"window": {"start": "x", "end": "y"}}, "reps": reps}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _ok(stem: str) -> dict:
    return {"status": "ok", "files": {"ipynb": f"{stem}.ipynb", "html": f"{stem}.html"}}


def test_previous_review_is_the_most_recent_earlier_week_with_an_ok_review(tmp_path: Path) -> None:
    out = tmp_path
    _week(out, "2026-W44", {"A": _ok("A"), "B": _ok("B")}, ("A.ipynb", "B.ipynb"))
    _week(
        out,
        "2026-W45",
        {"A": _ok("A"), "B": {"status": "failed", "files": {"ipynb": "B.ipynb"}}},
        ("A.ipynb", "B.ipynb"),
    )
    _week(out, "2026-W46", {"C": {"status": "skipped", "files": {}}})
    _week(out, "2026-W47", {"A": _ok("A"), "B": _ok("B")}, ("A.ipynb", "B.ipynb"))  # the week rerun: never used
    _week(out, "2026-W48", {"A": _ok("A")}, ("A.ipynb",))  # later: never used
    (out / "2026-W43").mkdir()  # no manifest: not a week
    (out / "notes").mkdir()
    found = publish.previous_reviews(out, "2026-W47", ["A", "B", "C", "D"])
    # A: W45 (latest earlier); B: W45 failed -> W44; C: skipped in W46, nothing before; D: never reviewed
    assert found == {"A": out / "2026-W45" / "A.ipynb", "B": out / "2026-W44" / "B.ipynb"}
    assert [w.key for w in publish.weeks(out)] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48"]


def test_previous_review_ignores_hostile_file_names_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "secret.ipynb").write_text("x")
    _week(
        tmp_path / "out",
        "2026-W46",
        {"A": {"status": "ok", "files": {"ipynb": "../../secret.ipynb"}}, "B": _ok("B")},  # B's file is missing
    )
    assert publish.previous_reviews(tmp_path / "out", "2026-W47", ["A", "B"]) == {}


# ---------------------------------------------------------------- the switch


def _staged(out: Path, week: str, content: str) -> Path:
    staging = publish.new_staging(out, week)
    manifest = {"reps": {"R1": {"status": "ok", "files": {"html": "R1.html"}}}, "run": content}
    (staging / "manifest.json").write_text(json.dumps(manifest))
    (staging / "R1.html").write_text(content)
    return staging


def _content(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def test_switch_a_new_week_then_a_rerun_exchanges_atomically(tmp_path: Path) -> None:
    target = tmp_path / "2026-W47"
    assert publish.switch(_staged(tmp_path, "2026-W47", "one"), target) is None
    assert (target / "R1.html").read_text() == "one"
    staging = _staged(tmp_path, "2026-W47", "two")
    old = publish.switch(staging, target)
    assert old == staging and (old / "R1.html").read_text() == "one"  # the previous run, now under the staging name
    assert (target / "R1.html").read_text() == "two"


def test_switch_without_exchange_sets_the_old_week_aside_and_a_killed_switch_is_recovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publish, "_exchange", lambda a, b: False)  # e.g. a file system without RENAME_EXCHANGE
    target = tmp_path / "2026-W47"
    publish.switch(_staged(tmp_path, "2026-W47", "one"), target)
    aside = publish.switch(_staged(tmp_path, "2026-W47", "two"), target)
    assert aside.name.startswith(".coachkit-old-2026-W47-") and (aside / "R1.html").read_text() == "one"
    assert (target / "R1.html").read_text() == "two"

    # killed between the two renames: the week is aside, not in place; the next run puts it back
    os.rename(target, tmp_path / "gone")
    assert publish.recover(tmp_path) == [
        "restored the review week 2026-W47, set aside by a run that was stopped while publishing"
    ]
    assert (target / "R1.html").read_text() == "one"
    assert publish.recover(tmp_path) == []  # nothing more to do


def test_exchange_is_available_here_or_the_fallback_is_used(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "x").write_text("a"), (b / "x").write_text("b")
    if publish._exchange(a, b):  # Linux: one renameat2 call
        assert ((a / "x").read_text(), (b / "x").read_text()) == ("b", "a")
    else:  # pragma: no cover - other systems
        assert ((a / "x").read_text(), (b / "x").read_text()) == ("a", "b")


def test_publish_week_carries_your_files_over_and_refuses_a_folder_that_is_not_ours(tmp_path: Path) -> None:
    out = tmp_path
    week = _week(out, "2026-W47", {"R1": _ok("R1"), "R2": _ok("R2")}, ("R1.html", "R1.ipynb", "R2.html", "R2.ipynb"))
    (week / "my-notes.txt").write_text("mine")
    (week / "sub").mkdir()
    (week / "sub" / "deep.txt").write_text("deep")
    staging = _staged(out, "2026-W47", "new")
    folder = publish.publish_week(out, staging, "2026-W47")
    # R2 is not in the new run: its files went with the old run; your files stayed; nothing else is left
    assert sorted(p.name for p in folder.iterdir()) == ["R1.html", "manifest.json", "my-notes.txt", "sub"]
    assert (folder / "my-notes.txt").read_text() == "mine" and (folder / "sub" / "deep.txt").read_text() == "deep"
    assert sorted(p.name for p in out.iterdir()) == ["2026-W47"]

    assert publish.foreign_clashes(folder, ["R1.html", "my-notes.txt", "R9.html"]) == ["my-notes.txt"]

    theirs = out / "2026-W48"
    theirs.mkdir()
    (theirs / "budget.xlsx").write_text("not ours")
    with pytest.raises(OutputError, match=r"2026-W48 exists and holds no coachkit review run; move it away"):
        publish.publish_week(out, _staged(out, "2026-W48", "new"), "2026-W48")
    assert _content(theirs) == {"budget.xlsx": "not ours"}


# ---------------------------------------------------------------- leftovers


def test_clean_stale_removes_what_killed_runs_left_and_nothing_else(tmp_path: Path) -> None:
    dead = 2**22 + 12345  # above the default pid_max: no such process
    (tmp_path / f".coachkit-staging-2026-W47-{dead}-abc_1").mkdir()
    (tmp_path / f".coachkit-staging-2026-W47-{dead}-abc_1" / "R1.ipynb").write_text("half")
    (tmp_path / ".coachkit-run-x1y2").mkdir()  # an earlier coachkit's staging
    (tmp_path / ".index.html.k2j3.tmp").write_text("half")
    (tmp_path / ".coachkit-lock").write_text("")
    (tmp_path / ".my-hidden.tmp.d").mkdir()
    (tmp_path / "keep.tmp").write_text("mine")
    notes = publish.clean_stale(tmp_path)
    assert notes == [
        "removed the staging folder .coachkit-run-x1y2 of an earlier run",
        f"removed the staging folder .coachkit-staging-2026-W47-{dead}-abc_1 of an earlier run "
        f"(pid {dead}, no longer running)",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".coachkit-lock", ".my-hidden.tmp.d", "keep.tmp"]


# ---------------------------------------------------------------- errors in one line


def test_out_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("x")
    with pytest.raises(OutputError) as info:
        publish.prepare_out(tmp_path / "out")
    assert (
        str(info.value)
        == f"cannot write the reviews to {tmp_path / 'out'}: it is a file, not a folder; choose another --out"
    )


@pytest.mark.parametrize(
    ("code", "cause", "fix"),
    [
        (errno.EROFS, "the file system is read-only", "choose another --out"),
        (errno.EACCES, "permission denied", "choose a folder you can write to with --out"),
        (errno.ENOSPC, "no space left on the disk", "free some space or choose another --out"),
        (errno.EDQUOT, "the disk quota is exceeded", "free some space or choose another --out"),
    ],
)
def test_os_error_messages(code: int, cause: str, fix: str) -> None:
    exc = OSError(code, os.strerror(code), "/r/out/.x.tmp")
    assert publish.os_error_message(exc, "/r/out") == f"cannot write /r/out: {cause} (/r/out/.x.tmp); {fix}"
    assert "\n" not in publish.os_error_message(exc, "/r/out")


def test_prepare_out_turns_os_errors_into_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a, **k):
        raise OSError(errno.EACCES, "Permission denied", str(tmp_path / "out" / ".coachkit-probe-x"))

    monkeypatch.setattr(publish.tempfile, "mkstemp", refuse)
    with pytest.raises(OutputError, match=r"^cannot write .*/out: permission denied .*; choose a folder you can write"):
        publish.prepare_out(tmp_path / "out")


def test_check_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(publish.shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 2_500_000, 2_500_000))
    publish.check_space(tmp_path, 2_500_000, "x")  # exactly enough
    with pytest.raises(OutputError) as info:
        publish.check_space(tmp_path, 4_000_000, "2 review(s) to /r/out")
    assert str(info.value) == (
        f"cannot write 2 review(s) to /r/out: 2.5 MB free on the disk of {tmp_path}, about 4.0 MB needed; "
        "free some space or choose another --out"
    )


# ---------------------------------------------------------------- a flat run of an earlier coachkit


def test_migrate_flat_finishes_a_migration_killed_after_its_rename(tmp_path: Path) -> None:
    flat = {"parameters": {"window": {"end": "2024-06-09"}}, "reps": {"R1": _ok("R1")}}
    (tmp_path / "manifest.json").write_text(json.dumps(flat))
    for name in ("R1.ipynb", "R1.html"):
        (tmp_path / name).write_text(name)
    render = lambda manifest: f"index of {manifest['week']}"  # noqa: E731
    # the first migration got as far as its rename: the week exists, the flat files are still there
    publish.migrate_flat(tmp_path, render)
    for name in ("R1.ipynb", "R1.html"):
        (tmp_path / name).write_text(name)
    (tmp_path / "manifest.json").write_text(json.dumps(flat))
    assert publish.migrate_flat(tmp_path, render) == [
        f"moved the review run of 2024-W23 (written by an earlier coachkit straight into {tmp_path}) into 2024-W23/"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024-W23"]
    assert _content(tmp_path / "2024-W23") | {"manifest.json": ""} == {
        "R1.html": "R1.html",
        "R1.ipynb": "R1.ipynb",
        "index.html": "index of 2024-W23",
        "manifest.json": "",
    }
    assert publish.migrate_flat(tmp_path, render) == []  # no flat run left
