"""The review output folder: one folder per review week, each published by one atomic switch.

Layout of ``OUT`` (the ``--out`` folder)::

    OUT/index.html              the review weeks, newest first, linking the latest
    OUT/2026-W47/               one review week (ISO week of the window's last day)
        index.html              the team table of that week's run
        manifest.json           the run: parameters, data fingerprint, per rep status and files
        R001.html, R001.ipynb   one review per rep
    OUT/.coachkit-lock          the run lock (:mod:`coachkit.runlock`)

**One run, one switch.** A run builds its week in a staging folder beside it
(``OUT/.coachkit-staging-<week>-<pid>-<random>``: same file system, so renames are atomic),
completely: every review file, the manifest and the week's index. Then
:func:`switch` makes it visible in one step:

* a new week: ``rename(staging, OUT/<week>)``;
* a rerun of a week: the two folders are exchanged atomically (Linux ``renameat2`` with
  ``RENAME_EXCHANGE``), and the previous run, now under the staging name, is deleted.
  Where the exchange is not available (other systems, some network file systems) it is
  two renames (the old week aside as ``.coachkit-old-<week>-...``, the new one in), and a
  run killed between the two leaves the old week aside, which the next run puts back
  (:func:`recover`).

Renaming a week folder rather than switching a pointer (a ``latest`` symlink) keeps every
week a plain folder: it can be copied, zipped, mailed or put on a file share that has no
symlinks, and a review's links stay relative. A reader never sees a mix: the week folder
holds the whole previous run or the whole new one. ``OUT/index.html`` is rebuilt from the
week folders on disk after the switch, and again at the start of every run; a run killed in
the instant between its switch and that rewrite leaves a complete new week that the top
index does not list yet, until the next run.

Earlier weeks are never written to: the comparison with "the previous review" reads the
most recent earlier week's files (:func:`previous_reviews`). Files you put in a week
folder yourself are carried over into a rerun of that week (hard-linked into the staging
folder before the switch). A run's leftovers (staging folders of runs that were killed,
temporary files) are removed by the next run (:func:`clean_stale`), which holds the lock,
so no other run can be using them.

A folder written by an earlier coachkit with one flat run in ``OUT`` (``OUT/manifest.json``)
is moved into its week folder by the next run (:func:`migrate_flat`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .files import write_text

__all__ = [
    "INDEX",
    "MANIFEST",
    "OutputError",
    "Week",
    "check_space",
    "clean_stale",
    "publish_week",
    "write_index",
    "foreign_clashes",
    "coachkit_files",
    "carry_foreign",
    "is_week_name",
    "migrate_flat",
    "new_staging",
    "open_out",
    "publish_run",
    "unchanged",
    "os_error_message",
    "prepare_out",
    "previous_reviews",
    "recover",
    "switch",
    "week_key",
    "weeks",
]

MANIFEST = "manifest.json"
INDEX = "index.html"
STAGING_PREFIX = ".coachkit-staging-"
OLD_PREFIX = ".coachkit-old-"
#: Staging folders of coachkit before the week folders (removed like our own stale staging).
LEGACY_STAGING_PREFIX = ".coachkit-run-"
_WEEK = re.compile(r"^[0-9]{4}-W[0-9]{2}$")
_OWNER = re.compile(r"-(?P<pid>[0-9]+)-[^-]*$")
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(RuntimeError):
    """The output folder cannot be written (read-only, permission denied, full disk, not a folder): one line."""


@dataclass(frozen=True)
class Week:
    """A published review week: its key (``2026-W47``), folder and manifest."""

    key: str
    path: Path
    manifest: dict[str, Any]


def week_key(day: Any) -> str:
    """The ISO week of ``day`` as ``YYYY-Www`` (``2026-11-22`` -> ``2026-W47``); ISO years: ``2024-12-30`` -> ``2025-W01``."""
    iso = pd.Timestamp(day).isocalendar()
    return f"{iso[0]:04d}-W{iso[1]:02d}"


def is_week_name(name: str) -> bool:
    """Whether ``name`` is a week folder's name (``2026-W47``)."""
    return bool(_WEEK.match(name))


# ---------------------------------------------------------------- errors in one line


def os_error_message(exc: OSError, what: str) -> str:
    """One line for an ``OSError`` while writing ``what``: the cause in words and what to do."""
    causes = {
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOSPC: "no space left on the disk",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.ENOTDIR: "a file is in the way where a folder is needed",
        errno.EEXIST: "a file is in the way where a folder is needed",
        errno.ENOENT: "a folder on the way does not exist",
        errno.ENAMETOOLONG: "the path is too long",
    }
    fix = {
        errno.EROFS: "choose another --out",
        errno.EACCES: "choose a folder you can write to with --out",
        errno.EPERM: "choose a folder you can write to with --out",
        errno.ENOSPC: "free some space or choose another --out",
        errno.EDQUOT: "free some space or choose another --out",
    }.get(exc.errno or 0, "choose another --out")
    cause = causes.get(exc.errno or 0, exc.strerror or str(exc))
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(what) else ""
    return f"cannot write {what}: {cause}{where}; {fix}"


def prepare_out(out: Path) -> Path:
    """Create the output folder if needed and check that a file can be written in it; :class:`OutputError` if not."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"cannot write the reviews to {out}: it is a file, not a folder; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".coachkit-probe-", dir=out)
        try:
            os.write(fd, b"coachkit")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise OutputError(os_error_message(exc, str(out))) from None
    return out


def check_space(folder: Path, needed: int, what: str) -> None:
    """:class:`OutputError` when the file system of ``folder`` has fewer than ``needed`` bytes free."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if free < needed:
        raise OutputError(
            f"cannot write {what}: {_mb(free)} free on the disk of {folder}, about {_mb(needed)} needed; "
            "free some space or choose another --out"
        )


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


# ---------------------------------------------------------------- weeks on disk


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("reps"), dict):
        return None
    return data


def weeks(out: Path) -> list[Week]:
    """The published review weeks in ``out`` (folders named like ``2026-W47`` holding a manifest), oldest first."""
    found = []
    try:
        entries = sorted(Path(out).iterdir())
    except OSError:
        return []
    for entry in entries:
        if is_week_name(entry.name) and entry.is_dir() and not entry.is_symlink():
            manifest = _read_manifest(entry)
            if manifest is not None:
                found.append(Week(entry.name, entry, manifest))
    return found


def previous_reviews(out: Path, week: str, reps: Iterable[str]) -> dict[str, Path]:
    """For each rep, its most recent successful review (``.ipynb``) in a week before ``week``; reps with none are absent.

    Never the week itself: a rerun of a week compares with the week before, not with its own earlier run.
    """
    earlier = [w for w in weeks(out) if w.key < week]
    found: dict[str, Path] = {}
    wanted = set(reps)
    for w in reversed(earlier):
        for rep, record in w.manifest["reps"].items():
            if rep in wanted and rep not in found and isinstance(record, dict) and record.get("status") == "ok":
                name = (record.get("files") or {}).get("ipynb")
                if _is_plain_name(name) and (w.path / name).is_file():
                    found[rep] = w.path / name
    return found


def _is_plain_name(name: Any) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name


def coachkit_files(manifest: Mapping[str, Any]) -> set[str]:
    """The names of the files a week's run wrote: its manifest, run files (index) and every rep's files."""
    names = {MANIFEST, INDEX} | {n for n in manifest.get("run_files", []) or [] if _is_plain_name(n)}
    for record in (manifest.get("reps") or {}).values():
        if isinstance(record, dict):
            names |= {n for n in (record.get("files") or {}).values() if _is_plain_name(n)}
    return names


# ---------------------------------------------------------------- staging, stale leftovers, recovery


def new_staging(out: Path, week: str) -> Path:
    """A new, empty staging folder for ``week`` in ``out``, named with this process's pid."""
    return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{week}-{os.getpid()}-", dir=out))


def _owner(name: str) -> int | None:
    m = _OWNER.search(name)
    return int(m.group("pid")) if m else None


def recover(out: Path) -> list[str]:
    """Put back a week set aside by a two-rename switch that was killed half-way; messages saying what was done."""
    notes = []
    for entry in sorted(Path(out).glob(f"{OLD_PREFIX}*")):
        week = entry.name[len(OLD_PREFIX) :].split("-", 2)
        key = "-".join(week[:2]) if len(week) >= 2 else ""
        target = Path(out) / key
        if is_week_name(key) and entry.is_dir() and not target.exists():
            os.rename(entry, target)
            notes.append(f"restored the review week {key}, set aside by a run that was stopped while publishing")
    return notes


def clean_stale(out: Path) -> list[str]:
    """Remove what killed runs left in ``out``: staging folders, set-aside weeks, temporary files.

    Call it holding the run lock: then no other run can be using them. Returns one message
    per staging folder removed, naming the run's pid.
    """
    from .procs import pid_alive

    notes = []
    for entry in sorted(Path(out).iterdir()):
        name = entry.name
        if name.startswith((STAGING_PREFIX, LEGACY_STAGING_PREFIX, OLD_PREFIX)) and entry.is_dir():
            pid = _owner(name)
            shutil.rmtree(entry, ignore_errors=True)
            if name.startswith(OLD_PREFIX):
                continue
            if pid is None:
                notes.append(f"removed the staging folder {name} of an earlier run")
            else:
                state = "no longer running" if not pid_alive(pid) else "not holding the lock"
                notes.append(f"removed the staging folder {name} of an earlier run (pid {pid}, {state})")
        elif name.startswith(".") and name.endswith(".tmp") and entry.is_file():
            entry.unlink(missing_ok=True)  # an atomic write of the top index, interrupted
    return notes


# ---------------------------------------------------------------- the switch


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange the folders ``a`` and ``b`` (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def switch(staging: Path, target: Path) -> Path | None:
    """Make ``staging`` visible as ``target`` in one atomic step; return where the previous ``target`` now is (or None).

    The caller deletes the returned folder (it holds the previous run).
    """
    if not target.exists():
        os.rename(staging, target)
        return None
    if _exchange(staging, target):
        return staging
    aside = Path(tempfile.mkdtemp(prefix=f"{OLD_PREFIX}{target.name}-{os.getpid()}-", dir=target.parent))
    try:
        os.rename(target, aside)  # replaces the empty folder mkdtemp made
    except BaseException:
        with contextlib.suppress(OSError):
            aside.rmdir()
        raise
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(aside, target)  # put the previous run back (if this process is killed here: recover())
        raise
    return aside


def carry_foreign(old: Path, staging: Path, old_manifest: Mapping[str, Any] | None) -> list[str]:
    """Hard-link (else copy) into ``staging`` the files of the week folder ``old`` that coachkit did not write.

    Returns their names. A name the new run also wrote is not carried (the caller checks
    for such clashes before running: :func:`foreign_clashes`).
    """
    ours = coachkit_files(old_manifest or {})
    carried = []
    for entry in sorted(old.iterdir()):
        if entry.name in ours or (staging / entry.name).exists():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, staging / entry.name, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, staging / entry.name)
        carried.append(entry.name)
    return carried


def _link_or_copy(src: Any, dst: Any) -> Any:
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
        return dst
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def foreign_clashes(target: Path, names: Iterable[str]) -> list[str]:
    """Names among ``names`` that exist in the week folder ``target`` but were not written by coachkit."""
    if not target.is_dir():
        return []
    ours = coachkit_files(_read_manifest(target) or {})
    return sorted(n for n in names if n not in ours and (target / n).exists())


def publish_week(out: Path, staging: Path, week: str) -> Path:
    """Publish the complete run in ``staging`` as ``out/<week>`` by one atomic switch; return the week folder.

    ``staging`` must already hold every file of the run (reviews, manifest, week index).
    Files of the previous run of the week that coachkit did not write are carried over.
    On an error the previous week is left as it was (or is put back by the next run, see
    :func:`recover`) and ``staging`` is left for the caller to remove. The caller then
    rewrites ``out/index.html`` (:func:`write_index`).
    """
    target = Path(out) / week
    if target.exists() and not target.is_dir():
        raise OutputError(f"cannot publish the week {week}: {target} is a file; move it away")
    if target.is_dir():
        old_manifest = _read_manifest(target)
        if old_manifest is None and any(target.iterdir()):
            raise OutputError(
                f"cannot publish the week {week}: {target} exists and holds no coachkit review run; "
                "move it away or choose another --out"
            )
        carry_foreign(target, staging, old_manifest)
    previous = switch(staging, target)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
    return target


def unchanged(out: Path, week: str) -> str:
    """``the previous run of <week> in <folder> is unchanged`` (or ``nothing was published`` for a new week)."""
    folder = Path(out) / week
    return (
        f"the previous run of {week} in {folder} is unchanged"
        if (folder / MANIFEST).is_file()
        else "nothing was published"
    )


def publish_run(
    out: Path,
    staging: Path,
    week: str,
    files: Mapping[str, str],
    render_weeks: Callable[[list[Week]], str],
    notices: list[str],
    notify: Callable[[list[str]], None] = lambda lines: None,
) -> Path:
    """Write the run's own ``files`` (name -> text: manifest, week index) into ``staging``, publish it, update the top index.

    Returns the week folder. :class:`OutputError` naming the cause, and saying the previous
    run is intact, when the week cannot be published (a full disk, a read-only folder, ...).
    A top index that cannot be rewritten afterwards is a notice appended to ``notices`` (and
    passed to ``notify``): the week is published, and the next run rewrites the index.
    """
    check_space(out, 2 * sum(len(t) for t in files.values()) + 1_000_000, f"the run's manifest to {out}")
    try:
        for name, text in files.items():
            write_text(staging / name, text)
        folder = publish_week(out, staging, week)
    except OSError as exc:
        raise OutputError(f"{os_error_message(exc, f'the week {week} to {out}')} ({unchanged(out, week)})") from None
    try:
        write_index(out, render_weeks)
    except OSError as exc:
        notices.append(
            f"the week {week} is published, but {Path(out) / INDEX} could not be updated "
            f"({os_error_message(exc, INDEX)}); the next run updates it"
        )
        notify(notices[-1:])
    return folder


@contextlib.contextmanager
def open_out(
    out: Path,
    render_week_index: Callable[[Mapping[str, Any]], str],
    render_weeks: Callable[[list[Week]], str],
    notify: Callable[[list[str]], None] = lambda lines: None,
) -> Iterator[tuple[Any, list[str]]]:
    """Hold ``out``'s run lock (:mod:`coachkit.runlock`) for the block, after putting ``out`` in order.

    Yields ``(lock, notices)``. Putting in order: a week set aside by a killed two-rename
    switch is put back (:func:`recover`), killed runs' staging folders are removed
    (:func:`clean_stale`), a flat run of an earlier coachkit moves into its week folder
    (:func:`migrate_flat`) and ``out/index.html`` is rebuilt from the weeks on disk. Each is
    a notice, also passed to ``notify``. Raises :class:`coachkit.runlock.RunLockedError` when
    another run holds the lock, :class:`OutputError` when ``out`` cannot be written.
    """
    from . import runlock

    try:
        lock = runlock.acquire(out)
    except OSError as exc:
        raise OutputError(os_error_message(exc, str(out))) from None
    try:
        notices = []
        if lock.took_over:
            notices.append(
                f"took over the lock of a run that is no longer running ({runlock.describe(lock.took_over)})"
            )
        try:
            notices += recover(out)
            notices += clean_stale(out)
            notices += migrate_flat(out, render_week_index)
            if weeks(out):
                write_index(out, render_weeks)
        except OSError as exc:
            raise OutputError(os_error_message(exc, str(out))) from None
        notify(notices)
        yield lock, notices
    finally:
        lock.release()


def write_index(out: Path, render_weeks: Callable[[list[Week]], str]) -> None:
    """Rewrite ``out/index.html`` (the list of weeks) from the week folders on disk, atomically."""
    write_text(Path(out) / INDEX, render_weeks(weeks(out)))


# ---------------------------------------------------------------- a flat run of an earlier coachkit


def migrate_flat(out: Path, render_week_index: Callable[[Mapping[str, Any]], str]) -> list[str]:
    """Move a run written by an earlier coachkit straight into ``out`` (``out/manifest.json``) into its week folder.

    Its files are hard-linked (else copied) into a staging folder with its manifest and a week
    index, the folder is renamed to the week, and only then are the flat files removed: a
    run killed at any point leaves the flat run or the week (or both, finished next time).
    Nothing is done when that week folder already holds another run. Returns messages.
    """
    out = Path(out)
    manifest = _read_manifest(out)
    if manifest is None or manifest.get("week"):
        return []
    end = ((manifest.get("parameters") or {}).get("window") or {}).get("end")
    try:
        key = week_key(end)
    except (ValueError, TypeError):
        return []
    target = out / key
    names = sorted(coachkit_files(manifest) - {MANIFEST, INDEX})
    if target.exists():
        done = _read_manifest(target) or {}
        if done.get("migrated_from") != "flat":
            return []
    else:
        staging = new_staging(out, key)
        try:
            for name in names:
                if (out / name).is_file():
                    _link_or_copy(out / name, staging / name)
            moved = dict(manifest, week=key, migrated_from="flat", run_files=[INDEX])
            write_text(staging / MANIFEST, json.dumps(moved, indent=2, ensure_ascii=False) + "\n")
            write_text(staging / INDEX, render_week_index(moved))
            os.rename(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    for name in [*names, MANIFEST]:
        with contextlib.suppress(OSError):
            (out / name).unlink()
    return [f"moved the review run of {key} (written by an earlier coachkit straight into {out}) into {target.name}/"]
