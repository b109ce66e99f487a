"""The review batch: execute the rep review notebook for many reps, in parallel, and export HTML.

:func:`run_reviews` runs ``notebooks/rep_review.ipynb`` once per rep through papermill
in a pool of worker processes and publishes the review week ``DIR/<YYYY-Www>`` (the ISO
week of the window's last day; :mod:`coachkit.publish` has the layout), holding:

* ``<stem>.ipynb``: the executed notebook (papermill records the parameters in
  its metadata); kept for a failed rep too, when the kernel got that far and it can be read;
* ``<stem>.html``: the self-contained review page (:mod:`coachkit.export`);
* ``index.html``: the team table, from each review's published summary;
* ``manifest.json``: per rep its status (``ok``, ``failed``, ``skipped``), seconds, error
  or reason, files and previous review; the run's parameters, data fingerprint and versions.

``DIR/index.html`` lists the weeks. ``<stem>`` is :func:`coachkit.naming.safe_name` of the
rep id. The week is built in a staging folder and switched in by one atomic rename: a
rerun of the week replaces it whole, earlier weeks are never written to, and each review
compares with the rep's review in the most recent earlier week. One run at a time per
``DIR`` (:mod:`coachkit.runlock`), one data snapshot per run (:mod:`coachkit.snapshot`),
and no process of the run outlives it (:mod:`coachkit.procs`).

A rep's failure never stops the others: a cell exception (papermill's
``PapermillExecutionError``), a cell timeout (nbclient's ``CellTimeoutError``), a dead
kernel (``DeadKernelError``; its notebook can look complete), a kernel that does not start
(``KernelStartError``, naming the interpreter), an unknown rep id, the dataset's files
changed since the run started (``DataChangedError``) or any other exception is recorded
for that rep and the batch goes on. A review that could not be written for lack of disk
space stops the publication instead: the previous run of the week stays as it was.

The functions :func:`load_dataset` and :func:`find_rep` are also what the notebook uses, and
:func:`review_window` is :func:`coachkit.window.window_bounds`, the review's own window, so that the
batch and each review agree on reps and window.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from .active_days import rep_days
from .engine import PRELOAD as KERNEL_PRELOAD
from .files import write_text
from .naming import safe_name
from .window import window_bounds as review_window

__all__ = [
    "DEFAULT_NOTEBOOK",
    "ISOLATION_ENGINES",
    "BatchResult",
    "UnknownRepError",
    "execute_notebook",
    "find_rep",
    "load_dataset",
    "load_for_review",
    "review_window",
    "run_reviews",
    "select_reps",
]


def _default_notebook() -> Path:
    # Shipped inside the package when installed from a wheel; in the repository's notebooks/ otherwise.
    here = Path(__file__).resolve().parent
    for candidate in (here / "notebooks" / "rep_review.ipynb", here.parent / "notebooks" / "rep_review.ipynb"):
        if candidate.is_file():
            return candidate
    return here.parent / "notebooks" / "rep_review.ipynb"


#: The review notebook run for each rep.
DEFAULT_NOTEBOOK = _default_notebook()

#: ``isolation`` -> papermill engine name. ``warm`` (the default) runs each worker's reps
#: in one kernel that it keeps, with a clean namespace per rep (:mod:`coachkit.engine`):
#: the kernel start and the imports are paid once per worker instead of once per rep.
#: ``fresh`` starts a new kernel per rep: slower, but nothing a notebook does to a module's
#: global state can reach the next rep. Both start kernels with the running interpreter,
#: whatever kernelspecs the user has (:class:`coachkit.engine.InterpreterKernelSpecManager`).
ISOLATION_ENGINES: dict[str, str | None] = {"fresh": "coachkit-fresh", "warm": "coachkit-warm"}

#: Kernel start-up arguments: quiet start-up, and skip the slow optional IRI checker of
#: jsonschema (see ``coachkit.engine``); the statement leaves no name in the namespace.
KERNEL_ARGUMENTS = [
    "--IPKernelApp.log_level=ERROR",
    """--IPKernelApp.exec_lines=exec("import sys\\nif 'jsonschema' not in sys.modules: sys.modules.setdefault('rfc3987_syntax', None)", {})""",
]

MANIFEST = "manifest.json"
INDEX = "index.html"
DEFINITIONS = "definitions.html"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MAX_MESSAGE = 2000


class UnknownRepError(KeyError):
    """A rep id that is not in the dataset's reps table."""

    def __str__(self) -> str:  # KeyError's str() would add quotes around the message
        return str(self.args[0]) if self.args else ""


# ---------------------------------------------------------------- data, reps, window


def load_dataset(source: str | Path, playbook: str | Path | None = None) -> Any:
    """The dataset at ``source`` (a dataset folder or ``.duckdb`` file) as a :class:`coachkit.SalesData`.

    Uses ``coachkit.load``; while that is not available, reads a Parquet dataset folder
    as written by ``SalesData.save``.
    """
    import importlib

    try:
        loader = importlib.import_module("coachkit.load").load
    except (ImportError, AttributeError):
        return _load_parquet_folder(Path(source), playbook)
    return loader(source, playbook=playbook or None)


def _load_parquet_folder(folder: Path, playbook: str | Path | None) -> Any:
    from . import schema
    from .dataset import SalesData
    from .playbook import Playbook

    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a dataset folder (expected activities.parquet and reps.parquet)")
    frames = {}
    for name in schema.TABLES:
        path = folder / f"{name}.parquet"
        if path.exists():
            frames[name] = pd.read_parquet(path)
        elif name == "deals":
            frames[name] = schema.empty("deals")
        else:
            raise FileNotFoundError(f"{path}: missing; a dataset folder holds {name}.parquet")
    pb_path = Path(playbook) if playbook else folder / "playbook.toml"
    pb = Playbook.from_toml(pb_path) if pb_path.exists() else Playbook.default()
    return SalesData.from_frames(frames["activities"], frames["reps"], frames["deals"], pb, source=str(folder))


def load_for_review(source: str | Path, rep_id: str, playbook: str | Path | None = None) -> Any:
    """What the review of ``rep_id`` reads from ``source``: the rep's team only, not the whole dataset.

    Reads the reps table (:func:`coachkit.load_reps`), then the activities and deals of the reps of
    the same team and role as ``rep_id`` (:func:`coachkit.review.peers`: the benchmarks a review
    shows) through ``coachkit.load(source, reps=...)``, which skips the Parquet row groups (or
    DuckDB rows) of other reps. The returned :class:`coachkit.SalesData` holds those reps only, and their
    performed activities only (:meth:`coachkit.SalesData.performed`: to-dos not done are left out).
    Raises :class:`UnknownRepError`, naming some known ids, for a rep not in the reps table.

    The process keeps the last team it read: the next rep of the same team, in a warm kernel, gets
    it without reading again, as long as no file of ``source`` or ``playbook`` changed (name, size,
    modification time). Each call returns new frames (pandas copy-on-write), so that a review that
    changes its data in place cannot change what the next review gets.
    """
    from .load import load, load_reps
    from .review.team import peers

    pb = playbook or None
    files = (_identity(source), _identity(pb) if pb else ())
    if _LAST_READ.get("files") != files:
        _LAST_READ.clear()
        _LAST_READ.update(files=files, reps=load_reps(source, playbook=pb))
    reps = _LAST_READ["reps"]
    find_rep(reps, rep_id)
    group = peers(reps, rep_id)
    if _LAST_READ.get("group") != group:
        _LAST_READ.update(group=group, team=load(source, playbook=pb, reps=group))
    team = _LAST_READ["team"].performed()  # to-dos not done (``done`` false) are not effort: never reviewed
    return dataclasses.replace(
        team,
        activities=team.activities.copy(deep=False),
        reps=team.reps.copy(deep=False),
        deals=team.deals.copy(deep=False),
        warnings=list(team.warnings),
    )


#: What :func:`load_for_review` read last in this process: files (identity), reps, group, team.
_LAST_READ: dict[str, Any] = {}


def _identity(path: str | Path) -> tuple[tuple[str, int, int], ...]:
    """(name, size, mtime in ns) of the file, or of each file in the folder: changes when a file does."""
    p = Path(path).resolve()
    files = sorted(p.iterdir()) if p.is_dir() else [p]
    return tuple((str(f), st.st_size, st.st_mtime_ns) for f in files if f.is_file() for st in [f.stat()])


def find_rep(dataset: Any, rep_id: str) -> pd.Series:
    """The reps-table row of ``rep_id`` (``dataset``: a SalesData or its reps table);
    :class:`UnknownRepError` naming some known ids if absent."""
    reps = dataset if isinstance(dataset, pd.DataFrame) else dataset.reps
    rows = reps[reps["rep_id"] == rep_id]
    if rows.empty:
        known = sorted(str(r) for r in reps["rep_id"].dropna().unique())
        shown = ", ".join(repr(k) for k in known[:10]) + (", ..." if len(known) > 10 else "")
        raise UnknownRepError(
            f"rep {rep_id!r} is not in the dataset's reps table ({len(known)} reps: {shown or 'none'})"
        )
    return rows.iloc[0]


def select_reps(
    dataset: Any,
    window: tuple[pd.Timestamp, pd.Timestamp],
    reps: Sequence[str] | None = None,
    teams: Sequence[str] | None = None,
) -> list[str]:
    """The rep ids to review, in order.

    With neither ``reps`` nor ``teams``: every rep with at least one activity in the
    window, sorted. Otherwise the reps named (in the order given, even with no activity,
    and even if unknown: they fail on their own) followed by the reps of the teams
    named that have at least one activity in the window. An unknown team is a
    ``ValueError``.
    """
    start, end = window
    acts = dataset.activities
    in_window = acts["occurred_at"].ge(start) & acts["occurred_at"].lt(end + pd.Timedelta(days=1))
    active = set(acts.loc[in_window, "rep_id"].dropna().astype(str))
    if not reps and not teams:
        return sorted(active)
    chosen = list(dict.fromkeys(str(r) for r in reps or ()))
    if teams:
        table = dataset.reps
        known_teams = set(table["team"].dropna().astype(str))
        missing = [t for t in teams if t not in known_teams]
        if missing:
            raise ValueError(f"unknown team(s) {missing}; the dataset's teams are {sorted(known_teams)}")
        members = table.loc[table["team"].isin(list(teams)), "rep_id"].dropna().astype(str)
        chosen += sorted(r for r in set(members) & active if r not in chosen)
    return chosen


def skip_reasons(
    dataset: Any, window: tuple[pd.Timestamp, pd.Timestamp], rep_ids: Iterable[str]
) -> dict[str, dict[str, str]]:
    """Why each of ``rep_ids`` that is in the reps table has no review: it has no activity in the window.

    Returns rep id -> ``{"kind": ..., "message": ...}`` for those reps only (reps with an
    activity in the window, and unknown ids, are left out). ``kind`` is ``left`` (``left_at``
    on or before the window's last day), ``not yet hired`` (``hired_at`` after it) or ``no
    activity`` (neither: on leave, or not logging); the message says it with the dates.
    """
    start, end = window
    acts = dataset.activities
    in_window = acts["occurred_at"].ge(start) & acts["occurred_at"].lt(end + pd.Timedelta(days=1))
    active = set(acts.loc[in_window, "rep_id"].dropna().astype(str))
    table = dataset.reps.assign(rep_id=dataset.reps["rep_id"].astype(str)).drop_duplicates("rep_id")
    rows = table.set_index("rep_id")
    span = f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"
    out: dict[str, dict[str, str]] = {}
    for rep in dict.fromkeys(str(r) for r in rep_ids):
        if rep in active or rep not in rows.index:
            continue
        left = pd.to_datetime(rows.at[rep, "left_at"]) if "left_at" in rows else pd.NaT
        hired = pd.to_datetime(rows.at[rep, "hired_at"]) if "hired_at" in rows else pd.NaT
        if pd.notna(left) and left <= end + pd.Timedelta(days=1):
            out[rep] = {"kind": "left", "message": f"left on {left:%Y-%m-%d}; no activity in the window {span}"}
        elif pd.notna(hired) and hired > end:
            out[rep] = {"kind": "not yet hired", "message": f"starts on {hired:%Y-%m-%d}, after the window {span}"}
        else:
            out[rep] = {"kind": "no activity", "message": f"no activity in the window {span}"}
    return out


# ---------------------------------------------------------------- one rep


def execute_notebook(
    notebook: str | Path,
    output: str | Path,
    parameters: dict[str, Any],
    *,
    timeout: float | None,
    isolation: str = "fresh",
    cwd: str | Path | None = None,
) -> Any:
    """Execute ``notebook`` with ``parameters`` into ``output``; return the executed notebook.

    The one place the batch runs a notebook (swap the engine here). ``timeout`` is per
    cell, in seconds. The kernel is this interpreter's (:mod:`coachkit.engine`), whatever
    kernelspecs are installed. Raises whatever papermill/nbclient raise, and
    :class:`coachkit.engine.KernelStartError` when the kernel does not start; ``output``
    holds the notebook as far as it got.
    """
    import papermill

    from .engine import register_engines

    if isolation not in ISOLATION_ENGINES:
        raise ValueError(f"isolation must be one of {sorted(ISOLATION_ENGINES)}, got {isolation!r}")
    register_engines()
    return papermill.execute_notebook(
        str(notebook),
        str(output),
        parameters=parameters,
        engine_name=ISOLATION_ENGINES[isolation],
        execution_timeout=timeout,
        progress_bar=False,
        log_output=False,
        start_timeout=60,
        cwd=str(cwd) if cwd else None,
        extra_arguments=list(KERNEL_ARGUMENTS),
    )


def warm_kernel() -> None:
    """Start this process's warm kernel (:mod:`coachkit.engine`) and its imports, by running a notebook of one
    empty cell in it as a review would (same engine, same kernel arguments): the next review finds it started.

    A Dask worker runs it while the batch is still reading the data (:class:`coachkit.cluster.Opening`).
    Raises what :func:`execute_notebook` raises.
    """
    import tempfile

    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell("pass")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with tempfile.TemporaryDirectory(prefix="coachkit-warm-") as tmp:
        path = Path(tmp) / "warm.ipynb"
        nbformat.write(nb, path)
        # the kernel starts in the system's temporary folder, which outlives this one (a review then moves it)
        execute_notebook(path, path, {}, timeout=120, isolation="warm", cwd=tempfile.gettempdir())


def _check_engine(isolation: str) -> None:
    """A clear error, before any rep runs, when ``isolation`` has no papermill engine."""
    engine = ISOLATION_ENGINES[isolation]
    if engine is None:
        return
    from papermill.engines import papermill_engines

    from .engine import register_engines

    register_engines()
    if engine not in papermill_engines._engines:
        raise ValueError(
            f"isolation {isolation!r} needs the papermill engine {engine!r}, which is not installed; "
            "use isolation 'fresh'"
        )


def _classify(exc: BaseException) -> dict[str, str]:
    """The manifest's error record for an exception: type, kind and a one-paragraph message."""
    import errno

    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    from .engine import KernelStartError
    from .snapshot import DataChangedError

    if isinstance(exc, PapermillExecutionError):
        # The exception raised inside the notebook, e.g. UnknownRepError: rep 'x' is not ...
        kind, etype = "cell error", exc.ename
        message = f"{exc.evalue} (cell {exc.cell_index})" if exc.cell_index is not None else exc.evalue
    elif isinstance(exc, CellTimeoutError):
        # nbclient appends a preview of the cell's code; the first two lines say it all.
        kind, etype, message = "timeout", "CellTimeoutError", " ".join(str(exc).splitlines()[:2])
    elif isinstance(exc, DeadKernelError):
        kind, etype, message = "dead kernel", "DeadKernelError", str(exc) or "the kernel died"
    elif isinstance(exc, UnknownRepError):
        kind, etype, message = "unknown rep", "UnknownRepError", str(exc)
    elif isinstance(exc, KernelStartError):
        kind, etype, message = "kernel start", "KernelStartError", str(exc)
    elif isinstance(exc, DataChangedError):
        kind, etype, message = "data changed", "DataChangedError", str(exc)
    elif isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        kind, etype, message = "disk full", type(exc).__name__, f"could not write the review: {exc}"
    else:
        kind, etype, message = "error", type(exc).__name__, str(exc)
    message = _ANSI.sub("", message).strip()
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + " ..."
    return {"type": etype, "kind": kind, "message": message}


def _review_one(task: dict[str, Any]) -> dict[str, Any]:
    """Run one rep's review into the staging folder; never raises. Returns its manifest record.

    The dataset's files are checked against the run's snapshot before and after the review
    (:func:`coachkit.snapshot.check`): a review that may have read other files fails, and
    its files are dropped. A failed rep's notebook is kept only if it can be read back.
    """
    from . import export
    from .snapshot import check

    logging.getLogger("papermill").setLevel(logging.ERROR)
    started = time.perf_counter()
    stem, staging = task["stem"], Path(task["staging"])
    staged_nb, staged_html = staging / f"{stem}.ipynb", staging / f"{stem}.html"
    record: dict[str, Any] = {"stem": stem, "status": "ok", "error": None, "files": {}, "summary": None}
    params = task["parameters"]
    snapshot = task.get("fingerprint")
    try:
        if snapshot is not None:
            check(snapshot, params["data"], params.get("playbook") or None)
        nb = execute_notebook(
            task["notebook"],
            staged_nb,
            params,
            timeout=task["timeout"],
            isolation=task["isolation"],
        )
        record["summary"] = export.read_summary(nb)
        if task["html"]:
            title = f"Review: {(record['summary'] or {}).get('name') or task['rep_id']}"
            write_text(staged_html, export.export_html(nb, title=title))
        if snapshot is not None:
            check(snapshot, params["data"], params.get("playbook") or None)
    except Exception as exc:
        record["status"] = "failed"
        record["error"] = _classify(exc)
        staged_html.unlink(missing_ok=True)
        if record["error"]["kind"] in ("data changed", "disk full") or not _mark_failed(staged_nb, record["error"]):
            staged_nb.unlink(missing_ok=True)
    record["files"] = {kind: p.name for kind, p in (("ipynb", staged_nb), ("html", staged_html)) if p.is_file()}
    record["seconds"] = round(time.perf_counter() - started, 3)
    return record


def _mark_failed(path: Path, error: dict[str, str]) -> bool:
    """Record the failure in a kept notebook's metadata (a dead kernel's notebook looks complete).

    Returns False when there is no notebook to keep: none was written, or it cannot be read
    back (truncated by a full disk) or rewritten.
    """
    if not path.exists():
        return False
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
        nb.metadata["coachkit"] = {"status": "failed", "error": error}
        write_text(path, nbformat.writes(nb))
    except Exception:
        return False
    return True


# ---------------------------------------------------------------- the batch


@dataclass
class BatchResult:
    """The outcome of :func:`run_reviews`: the output folder, the week folder published and its manifest."""

    out: Path
    manifest: dict[str, Any] = field(repr=False)
    #: The week folder the run was published as (``out/2026-W47``).
    folder: Path | None = None
    #: What the run did besides the reviews (a stale lock taken over, leftovers removed, ...), one line each.
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> list[str]:
        """Rep ids reviewed successfully."""
        return [r for r, v in self.manifest["reps"].items() if v["status"] == "ok"]

    @property
    def failed(self) -> dict[str, dict[str, str]]:
        """Rep id -> error record (type, kind, message) of each failed rep."""
        return {r: v["error"] for r, v in self.manifest["reps"].items() if v["status"] == "failed"}

    @property
    def skipped(self) -> dict[str, dict[str, str]]:
        """Rep id -> reason (kind, message) of each rep not reviewed because it has no activity in the window."""
        return {r: v["reason"] for r, v in self.manifest["reps"].items() if v["status"] == "skipped"}

    @property
    def exit_code(self) -> int:
        """0 when no rep failed (skipped reps are not failures), else 1."""
        return 1 if self.failed else 0

    def summary(self) -> str:
        """A short text summary naming the failed and skipped reps, with their errors and reasons."""
        where = self.folder or self.out
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        lines = [f"{len(self.ok)} review(s) written to {where}, {len(self.failed)} failed{skipped}."]
        for rep, err in self.failed.items():
            first = (err.get("message") or "").splitlines()[0] if err.get("message") else ""
            lines.append(f"  FAILED {rep!r}: {err.get('type')}: {first[:200]}")
        skipped = list(self.skipped.items())
        for rep, reason in skipped[:_SHOWN]:
            lines.append(f"  skipped {rep!r}: {reason.get('message')}")
        if len(skipped) > _SHOWN:
            lines.append(f"  ... and {len(skipped) - _SHOWN} more skipped (see the manifest or the week's index)")
        data = self.manifest.get("data") or {}
        if data.get("changed"):
            hit = any((e or {}).get("kind") == "data changed" for e in self.failed.values())
            lines.append(
                f"The dataset changed during the run ({', '.join(data.get('changes') or [])}): "
                + (_CHANGED if hit else "after the last review; every review used the data as it was at the start.")
            )
        return "\n".join(lines)


_CHANGED = "the reviews written used the data as it was at the start; run again for the others."
_SHOWN = 10  # skipped reps named in the summary


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for pkg in ("coachkit", "pandas", "altair", "vl-convert-python", "papermill", "nbconvert", "nbclient"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


#: Bytes a review (notebook and HTML) is assumed to need when the output folder has no earlier week to go by.
REVIEW_BYTES = 2_000_000


def _bytes_per_review(weeks: list[Any]) -> int:
    """Average size of a rep's files in the latest published week, else :data:`REVIEW_BYTES`."""
    for week in reversed(weeks):
        sizes = [p.stat().st_size for p in week.path.iterdir() if p.is_file() and p.suffix in (".ipynb", ".html")]
        n = sum(r.get("status") == "ok" for r in week.manifest["reps"].values() if isinstance(r, dict))
        if sizes and n:
            return max(sum(sizes) // n, 100_000)
    return REVIEW_BYTES


def _notify(lines: Iterable[str]) -> None:
    for line in lines:
        print(f"coachkit review: {line}", file=sys.stderr)


def run_reviews(
    source: str | Path,
    out: str | Path,
    *,
    reps: Iterable[str] | None = None,
    teams: Iterable[str] | None = None,
    as_of: Any = None,
    weeks: int = 4,
    workers: int | None = None,
    timeout: float | None = 600,
    html: bool = True,
    quiet: bool = False,
    notebook: str | Path = DEFAULT_NOTEBOOK,
    isolation: str = "warm",
    playbook: str | Path | None = None,
    client: Any = None,
) -> BatchResult:
    """Review each selected rep (see :func:`select_reps`) and publish the review week ``out/<YYYY-Www>``.

    ``timeout`` is per notebook cell, in seconds (None: no limit). ``workers`` defaults
    to the number of cores. ``client`` runs the reviews on a Dask cluster instead of the
    built-in process pool (:mod:`coachkit.cluster`; needs ``coachkit[dask]``): a
    ``distributed.Client``, or a scheduler address: ``"local:N"`` starts a ``LocalCluster`` of N
    worker processes for the run, ``"tcp://host:8786"`` connects to a running scheduler.
    ``source`` is a dataset folder or ``.duckdb`` file, or its URL (``s3://``, ``gs://``,
    ``abfs://``, ...; :mod:`coachkit.remote`). ``isolation`` is ``warm`` (each worker reuses one kernel, with a
    clean namespace per rep) or ``fresh`` (a new kernel per rep); see :data:`ISOLATION_ENGINES`.
    A tqdm progress bar shows on a terminal unless ``quiet``. Reps in scope with no activity
    in the window (left, not yet hired, on leave) are recorded as ``skipped`` with the reason
    (:func:`skip_reasons`), not reviewed.

    The run is published by one atomic switch of its week folder (:mod:`coachkit.publish`),
    holding the folder's lock (:mod:`coachkit.runlock`) throughout, with one data snapshot
    (:mod:`coachkit.snapshot`) and no child process outliving it (:mod:`coachkit.procs`). The batch reads the
    dataset a few peer groups at a time and hands freed memory back to the system (:mod:`coachkit.memory`).

    Returns a :class:`BatchResult`; failed reps are in ``result.failed`` (it does not raise
    for them). Raises, before any review runs: ``ValueError`` or ``FileNotFoundError`` for bad
    arguments (unknown team, bad date, missing notebook); :class:`coachkit.publish.OutputError`
    for an output folder that cannot be written (also when the run cannot be published: the
    previous run is then left as it was); :class:`coachkit.runlock.RunLockedError` when another
    run holds ``out``; :class:`coachkit.snapshot.DataChangedError` when the dataset changed
    while it was being read; :class:`coachkit.cluster.ClusterError` when the cluster cannot run
    the reviews; :class:`coachkit.procs.Interrupted` on SIGINT/SIGTERM (after
    stopping the workers and kernels and removing the staging folder).
    """
    from . import procs, publish, snapshot
    from .engine import skip_rfc3987_syntax
    from .memory import returning_freed_memory

    skip_rfc3987_syntax()  # papermill and altair, imported below, would spend ~1.9 s on a check no schema here uses
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    if isolation not in ISOLATION_ENGINES:
        raise ValueError(f"isolation must be one of {sorted(ISOLATION_ENGINES)}, got {isolation!r}")
    _check_engine(isolation)
    notebook = Path(notebook).resolve()
    if not notebook.is_file():
        raise FileNotFoundError(f"review notebook {notebook} not found")
    from . import remote

    url = str(source) if remote.is_url(source) else None
    source_path: Any = url or Path(source).resolve()
    playbook_path = Path(playbook).resolve() if playbook else None
    out = publish.prepare_out(Path(out).resolve())
    tag = procs.run_tag()
    opened = publish.open_out(out, _render_week_index, _render_weeks, _notify)
    with (
        opened as (lock, notices),
        procs.tagged_environment(tag),
        procs.stop_signals() as signals,
        _cluster_opening(client, isolation) as dask_client,
        returning_freed_memory(),  # the peer groups' reads come and go: their memory goes back to the system
        contextlib.ExitStack() as early,  # the process pool, when started before the reviews are ready
    ):
        # one data snapshot: the files as the batch read them, checked again by every review
        # only what choosing the reps and the window needs: the reps table and two columns of the activities
        fingerprint = _fingerprint(source_path, playbook_path)
        dataset = rep_days(url or source_path, playbook, fs=remote.filesystem(url)[0] if url else None)
        again = "it changed while coachkit read it: run it again"
        if url:
            remote.check(fingerprint, url, again)
        else:
            snapshot.check(fingerprint, source_path, playbook_path, again)
        start, end = review_window(dataset.activities, as_of, weeks)
        week = publish.week_key(end)
        ordered, to_review, skipped = _plan(dataset, (start, end), list(reps or ()), list(teams or ()))
        stems = {rep: safe_name(rep) for rep in ordered}
        clash = {s for s in stems.values() if list(stems.values()).count(s) > 1}
        if clash:  # ~impossible (10 hex digits of SHA-256), but never let two reps share files
            raise ValueError(f"rep ids {[r for r, s in stems.items() if s in clash]} map to the same file name")
        foreign = publish.foreign_clashes(out / week, [f"{stems[r]}.{x}" for r in to_review for x in ("ipynb", "html")])
        if foreign:
            raise publish.OutputError(
                f"cannot write the week {week}: {out / week} holds files coachkit did not write with the names "
                f"of this run's reviews ({', '.join(foreign[:5])}); move them away"
            )
        previous = publish.previous_reviews(out, week, to_review)
        published = publish.weeks(out)
        need = int(1.2 * _bytes_per_review(published) * max(1, len(to_review))) + 1_000_000
        publish.check_space(out, need, f"{len(to_review)} review(s) to {out}")
        known = set(dataset.reps["rep_id"].dropna().astype(str))
        records: dict[str, dict[str, Any]] = {}
        for rep in to_review:
            if rep not in known:
                err = _classify(UnknownRepError(find_rep_message(dataset, rep)))
                records[rep] = {"stem": stems[rep], "status": "failed", "error": err, "files": {}}
                records[rep] |= {"summary": None, "seconds": 0.0}
        for rep, reason in skipped.items():
            records[rep] = {"stem": stems[rep], "status": "skipped", "reason": reason, "error": None}
            records[rep] |= {"files": {}, "summary": None, "seconds": 0.0}
        n_reviews = sum(rep not in records for rep in to_review)
        n_workers = max(1, min(int(workers or os.cpu_count() or 1), n_reviews or 1))
        pool = None
        if n_workers > 1 and dask_client is None:
            # the pool starts now: its workers start their warm kernels (2-3 s each) while this process reads the
            # coverage and the focus
            warm = warm_kernel if isolation == "warm" else None
            pool = early.enter_context(
                procs.warm_pool(n_workers, tag, POOL_PRELOAD, warm=warm, env=_kernel_env(n_workers))
            )
        from .coaching import FOCUS_KPIS, peer_groups
        from .coverage import without_unsupported
        from .run_pages import render_definitions

        group = peer_groups(dataset.reps)
        # the data-coverage profile of the whole dataset, once per run (read one peer group at a time, as the
        # focus pre-pass reads it): each review shows only what it supports
        local_source = remote.materialise(url, fingerprint) if url else source_path
        profile, run_playbook = _coverage_by_group(local_source, playbook_path, dataset.reps)
        definitions_page = render_definitions(notes=without_unsupported(run_playbook, profile)[1])
        reps_table = dataset.reps
        focus_as_of = _focus_as_of(run_playbook, end)
        del dataset  # each review loads what it needs; do not hold the whole dataset during the run
        staging = publish.new_staging(out, week)
        try:
            run_data = staging / RUN_DATA  # the run's own inputs for the reviews, removed before publishing
            run_data.mkdir()
            profile_file = run_data / "coverage.json"
            write_text(profile_file, json.dumps(profile.to_dict(), indent=1))
            focus_file, findings = _focus_prepass(
                local_source,
                playbook_path,
                focus_as_of,
                int(weeks),
                end,
                [r for r in to_review if r not in records],
                profile.unsupported(FOCUS_KPIS),
                reps_table,
                run_data,
            )
            for rep in reps or ():  # a rep asked for by name and not reviewed gets a page saying why
                rec = records.get(rep)
                if rec and rec["status"] == "skipped":
                    _not_reviewed_page(staging, rep, stems[rep], rec, reps_table, start, end)
            common = {"staging": str(staging), "notebook": str(notebook), "timeout": timeout}
            common |= {"isolation": isolation, "html": html, "fingerprint": fingerprint, "tag": tag}
            tasks = [
                common
                | {"rep_id": rep, "stem": stems[rep]}
                | {
                    "parameters": {
                        "rep_id": rep,
                        "data": str(source_path),
                        "as_of": end.date().isoformat(),
                        "weeks": int(weeks),
                        "playbook": str(playbook_path) if playbook_path else "",
                        "previous": str(previous[rep]) if rep in previous else "",
                        "coverage": str(profile_file),
                        "focus_run": str(focus_file) if focus_file else "",
                        "links": True,
                    }
                }
                for rep in to_review
                if rep not in records
            ]
            # the reps of one team one after another: a warm kernel then reads each team once (load_for_review)
            tasks.sort(key=lambda task: group.get(task["rep_id"], ""))
            show = not quiet and sys.stderr.isatty()
            cluster_info: dict[str, Any] = {"announce": not quiet}
            run = _run_all(
                tasks,
                n_workers,
                show,
                tag,
                dask_client,
                cluster_info,
                url,
                pool=pool,
                group=lambda task: group.get(task["rep_id"], ""),
            )
            with contextlib.closing(run) as results:
                for task, record in results:
                    records[task["rep_id"]] = record
            for rep in to_review:
                rel = previous.get(rep)
                records[rep]["previous"] = f"{rel.parent.name}/{rel.name}" if rel else None
            full = [r for r, v in records.items() if (v.get("error") or {}).get("kind") == "disk full"]
            if full:
                raise publish.OutputError(
                    f"cannot write the reviews to {out}: no space left on the disk ({len(full)} review(s) could "
                    f"not be written); {publish.unchanged(out, week)}; free some space or choose another --out"
                )
            changed = snapshot.changes(fingerprint, _fingerprint(source_path, playbook_path))
            if not changed and any((v.get("error") or {}).get("kind") == "data changed" for v in records.values()):
                changed = ["the files changed and changed back"]
            manifest = {
                "coachkit_review_manifest": 1,
                "week": week,
                "started_at": started_at.isoformat(timespec="seconds"),
                "seconds": round(time.perf_counter() - t0, 3),
                "run": {"tag": tag, "pid": os.getpid(), "host": lock.holder.get("host", "")},
                "parameters": {
                    "source": str(source_path),
                    "out": str(out),
                    "as_of": end.date().isoformat(),
                    "weeks": int(weeks),
                    "window": {"start": start.date().isoformat(), "end": end.date().isoformat()},
                    "reps": list(reps or ()),
                    "teams": list(teams or ()),
                    "workers": cluster_info.get("threads", n_workers),
                    "scheduler": (client if isinstance(client, str) else cluster_info.get("scheduler")) or "",
                    "timeout": timeout,
                    "html": html,
                    "isolation": isolation,
                    "notebook": str(notebook),
                    "playbook": str(playbook) if playbook else "",
                },
                "versions": _versions(),
                "data": {"fingerprint": fingerprint, "changed": bool(changed), "changes": changed},
                "counts": {k: sum(r["status"] == k for r in records.values()) for k in ("ok", "failed", "skipped")},
                "previous_week": next((w.key for w in reversed(published) if w.key < week), None),
                "run_files": [INDEX, DEFINITIONS],
                "team_findings": findings,
                "reps": {rep: records[rep] for rep in ordered},
            }
            text = json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
            shutil.rmtree(run_data, ignore_errors=True)
            with signals.held():  # publishing is not cut half-way by a signal: it is handled after
                files = {MANIFEST: text, INDEX: _render_week_index(manifest), DEFINITIONS: definitions_page}
                folder = publish.publish_run(out, staging, week, files, _render_weeks, notices, _notify)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return BatchResult(out=out, manifest=manifest, folder=folder, notices=notices)


def _fingerprint(source: Any, playbook: Path | None) -> dict[str, dict[str, Any]]:
    """The data snapshot of a local dataset (:func:`coachkit.snapshot.fingerprint`) or of one at a URL
    (:func:`coachkit.remote.fingerprint`)."""
    from . import remote, snapshot

    if remote.is_url(source):
        return remote.fingerprint(source, playbook)
    return snapshot.fingerprint(source, playbook)


def _plan(
    dataset: Any, window: tuple[pd.Timestamp, pd.Timestamp], reps: list[str], teams: list[str]
) -> tuple[list[str], list[str], dict[str, dict[str, str]]]:
    """(every rep of the run in manifest order, the reps to review, the skipped reps with their reason).

    The scope is the reps named and the named teams' members, or every rep of the reps table
    when neither is given; reps of the scope with no activity in the window are skipped.
    """
    chosen = select_reps(dataset, window, reps, teams)
    table = dataset.reps
    if reps or teams:
        members = table.loc[table["team"].isin(teams), "rep_id"].dropna().astype(str)
    else:
        members = table["rep_id"].dropna().astype(str)
    scope = chosen + sorted(set(members) - set(chosen))
    skipped = skip_reasons(dataset, window, scope)
    to_review = [r for r in chosen if r not in skipped]
    return list(dict.fromkeys(chosen + [r for r in scope if r in skipped])), to_review, skipped


#: The staging folder's subfolder for the run's inputs to the reviews (coverage profile, focus file).
RUN_DATA = ".coachkit-run-data"


#: Reps read at a time for the run's coverage profile (whole peer groups, gathered up to about this many).
COVERAGE_CHUNK = 24


def _coverage_by_group(source: Any, playbook: Path | None, reps_table: pd.DataFrame) -> tuple[Any, Any]:
    """(The data-coverage profile of the dataset at ``source``, its playbook), read a few peer groups at a time.

    :func:`coachkit.coverage.coverage` of each chunk of whole peer groups (about :data:`COVERAGE_CHUNK` reps),
    reading only the columns it needs (:data:`coachkit.coverage.COVERAGE_COLUMNS`), merged
    (:meth:`Coverage.merge`): the batch never holds the whole dataset. The whole dataset at once when the reps
    table is empty.
    """
    from .coaching import peer_groups
    from .coverage import COVERAGE_COLUMNS, coverage
    from .load import load

    key = peer_groups(reps_table)
    groups = [key.index[key == g].tolist() for g in sorted(set(key.dropna()))]
    grouped = {r for g in groups for r in g}
    rest = [r for r in reps_table["rep_id"].dropna().astype(str).unique() if r not in grouped]
    if rest:  # reps without a team or role: read together
        groups.append(rest)
    chunks: list[list[str]] = []
    for members in groups:
        if chunks and len(chunks[-1]) + len(members) <= COVERAGE_CHUNK:
            chunks[-1].extend(members)
        else:
            chunks.append(list(members))
    profile = None
    book = None
    for members in chunks or [None]:
        data = load(source, playbook=playbook, reps=members, columns=COVERAGE_COLUMNS)
        part = coverage(data)
        profile = part if profile is None else profile.merge(part)
        book = data.playbook
        del data
    return profile, book


def _focus_as_of(playbook: Any, end: Any) -> pd.Timestamp:
    from .window import focus_as_of

    return focus_as_of(playbook, end)


def _focus_prepass(
    source: Path,
    playbook: Path | None,
    as_of: pd.Timestamp,
    weeks: int,
    end: pd.Timestamp,
    reps: list[str],
    unsupported: dict[str, str],
    reps_table: pd.DataFrame,
    folder: Path,
) -> tuple[Path | None, list[dict[str, Any]]]:
    """The run-wide focus (:func:`coachkit.focus_run.run_focus`: one peer group read at a time, one
    Benjamini-Hochberg family over every rep and KPI of the run): (the focus file the reviews read, the team
    findings for the index as JSON-ready records). (None, []) when no rep is reviewed."""
    from .absence import read_time_off
    from .focus_run import run_focus, write_focus

    if not reps:
        return None, []
    selected, findings = run_focus(
        source,
        as_of,
        weeks,
        reps,
        end=end,
        playbook=playbook,
        unsupported=unsupported,
        time_off=read_time_off(source),
        reps_table=reps_table,
    )
    if selected.empty:
        return None, []
    path = write_focus(folder / "focus.parquet", selected)
    return path, json.loads(findings.to_json(orient="records"))


def _not_reviewed_page(
    staging: Path, rep: str, stem: str, record: dict[str, Any], reps_table: pd.DataFrame, start: Any, end: Any
) -> None:
    """Write the short page of a rep asked for by name and skipped (no activity in the window) into the run."""
    from .run_pages import render_not_reviewed

    row = reps_table[reps_table["rep_id"].astype(str) == rep]
    info = {} if row.empty else {k: row.iloc[0].get(k) for k in ("name", "team", "role")}
    text = {k: "" if v is None or (isinstance(v, float) and v != v) else str(v) for k, v in info.items()}
    window = {"start": pd.Timestamp(start).date().isoformat(), "end": pd.Timestamp(end).date().isoformat()}
    name = f"{stem}.html"
    write_text(staging / name, render_not_reviewed(rep, record.get("reason") or {}, window, **text))
    record["files"] = {"html": name}


def _render_week_index(manifest: Any) -> str:
    from .export import render_index

    return render_index(manifest)


def _render_weeks(weeks: Any) -> str:
    from .export import render_weeks

    return render_weeks(weeks)


def find_rep_message(dataset: Any, rep: str) -> str:
    """The message :func:`find_rep` gives for an unknown ``rep``."""
    try:
        find_rep(dataset, rep)
    except UnknownRepError as exc:
        return str(exc)
    return f"rep {rep!r} is unknown"


def _kernel_env(n_workers: int) -> dict[str, str]:
    """The environment of the pool's workers and their kernels: each kernel's DuckDB runs on its share of the cores
    (:data:`coachkit.duck.THREADS_ENV`: cores // workers, at least 1), unless the user's environment sets it; the
    pool's kernels then do not compete with each other for the cores (measured: 0.08 s less CPU per review)."""
    from .duck import THREADS_ENV

    if os.environ.get(THREADS_ENV):
        return {}
    return {THREADS_ENV: str(max(1, (os.cpu_count() or 1) // max(1, n_workers)))}


#: What the pool's forkserver imports once: its workers are forked from a clean server process (forking the batch,
#: which may run pyarrow threads, can deadlock), with papermill and nbconvert already imported, and what a review
#: kernel imports (:data:`coachkit.engine.PRELOAD`, ipykernel), so that a worker forks its kernel with all of it
#: in memory (:mod:`coachkit.kernel_fork`).
POOL_PRELOAD = tuple(
    dict.fromkeys(
        ("coachkit.batch", "coachkit.export", "papermill", "nbconvert", *KERNEL_PRELOAD, "ipykernel.kernelapp")
    )
)


def _run_all(
    tasks: list[dict[str, Any]],
    n_workers: int,
    show: bool,
    tag: str,
    client: Any = None,
    cluster_info: dict[str, Any] | None = None,
    url: str | None = None,
    pool: Any = None,
    group: Callable[[dict[str, Any]], Any] | None = None,
) -> Iterable[tuple[dict[str, Any], dict]]:
    """Run ``tasks`` (in a process pool when more than one worker, or on the Dask ``client``), yielding
    (task, record) as they finish; one tqdm bar either way.

    The pool's processes carry the run's ``tag`` and die with the batch (:mod:`coachkit.procs`).
    Closing the generator early (an exception, SIGINT/SIGTERM) stops the pool at once:
    pending reviews are cancelled, workers are terminated and their kernels shut down. On
    Dask (:mod:`coachkit.cluster`) the reviews not finished are cancelled and their kernels
    killed; each review's files come back and are written here, into the staging folder.
    ``client`` may be a scheduler address (opened and closed here), or a :class:`coachkit.cluster.Opening`
    (opened in the background by the caller); ``cluster_info`` receives :func:`coachkit.cluster.describe`. ``url``: the dataset is at that URL (:mod:`coachkit.remote`).
    ``pool``: the process pool to run them in (:func:`coachkit.procs.warm_pool`, started early), else a new one.
    ``group(task)``: the task's peer group; the pool keeps a group's reviews on one worker (:func:`coachkit.procs.run_pool`).
    """
    from tqdm.auto import tqdm

    from . import procs

    review: Any = _review_one
    if url:
        import functools

        from .remote import review_one

        review = functools.partial(review_one, review=_review_one, classify=_classify)
    bar = tqdm(total=len(tasks), unit="rep", desc="Reviews", disable=not show, file=sys.stderr)
    try:
        if client is not None:
            yield from _run_on_cluster(tasks, tag, client, cluster_info, review, bar)
            return
        if n_workers == 1:
            try:
                for task in tasks:
                    yield task, review(task)
                    bar.update()
            finally:
                from .engine import shutdown_kernels

                shutdown_kernels()
            return
        with contextlib.closing(
            procs.run_pool(review, tasks, n_workers, tag, POOL_PRELOAD, pool=pool, group=group)
        ) as results:
            for task, result in results:
                if isinstance(result, BaseException):  # the worker process itself died
                    record = {"stem": task["stem"], "status": "failed", "error": _classify(result)}
                    result = record | {"files": {}, "summary": None, "seconds": 0.0}
                yield task, result
                bar.update()
    finally:
        bar.close()


@contextlib.contextmanager
def _cluster_opening(client: Any, isolation: str = "warm") -> Any:
    """``client`` as :func:`_run_all` takes it: a scheduler address starts opening at once, in the background
    (:class:`coachkit.cluster.Opening`, closed at the end), and with ``isolation`` "warm" each worker then starts
    its kernel (:func:`warm_kernel`); a client or None as given."""
    if not isinstance(client, str):
        yield client
        return
    from . import cluster

    opening = cluster.Opening(client, warm=warm_kernel if isolation == "warm" else None)
    try:
        yield opening
    finally:
        opening.close()


def _run_on_cluster(
    tasks: list[dict[str, Any]], tag: str, client: Any, info: dict[str, Any] | None, review: Any, bar: Any
) -> Iterable[tuple[dict[str, Any], dict]]:
    """The Dask side of :func:`_run_all`: open the client if given by address, check its workers, run, write back."""
    from . import cluster

    if isinstance(client, cluster.Opening):  # opened in the background, its workers checked there
        opened: Any = contextlib.nullcontext(client.client())
    elif isinstance(client, str):
        opened = cluster.open_client(client)
    else:
        opened = contextlib.nullcontext(client)
    with opened as dask_client:
        if not isinstance(client, cluster.Opening):
            cluster.check_workers(dask_client)
        if info is not None:
            info.update(cluster.describe(dask_client))
            if info.get("announce") and info.get("dashboard"):
                _notify([f"{info['workers']} Dask worker(s); dashboard: {info['dashboard']}"])
        source = _notebook_source(tasks[0]["notebook"]) if tasks else ""
        run_files = _run_files(tasks[0]) if tasks else {}
        sent = [task | {"previous_summary": _previous_summary(task)} for task in tasks]
        shared = {"notebook_source": source, "run_files": run_files}  # sent to each worker once
        with contextlib.closing(cluster.run_tasks(dask_client, sent, tag, review, shared)) as results:
            for task, result in results:
                yield task, cluster.write_result(Path(task["staging"]), task, result, _classify)
                bar.update()


#: The review parameters naming a file of the run (the staging folder's run data) a worker may not see.
RUN_FILE_PARAMETERS = ("coverage", "focus_run")


def _run_files(task: dict[str, Any]) -> dict[str, bytes]:
    """The run's own input files of a review (coverage profile, focus pre-pass), by parameter: their bytes, sent
    to each worker once (:func:`coachkit.cluster.run_tasks`) so the output folder need not be on a shared
    filesystem."""
    params = task["parameters"]
    return {k: Path(params[k]).read_bytes() for k in RUN_FILE_PARAMETERS if params.get(k)}


def _notebook_source(path: str) -> str:
    """The notebook's text without its stored outputs (papermill clears them anyway): what a worker runs."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nbformat.writes(nb)


def _previous_summary(task: dict[str, Any]) -> dict[str, Any] | None:
    """The summary the previous review published (all a review reads of it), for a worker that cannot read the file."""
    previous = task["parameters"].get("previous")
    if not previous:
        return None
    import nbformat

    from .export import read_summary

    try:
        return read_summary(nbformat.read(previous, as_version=4))
    except Exception:  # unreadable: the review goes on without it, as it would locally
        return None
