"""The review batch: execute the rep review notebook for many reps, in parallel, and export HTML.

:func:`run_reviews` runs ``notebooks/rep_review.ipynb`` once per rep through papermill
in a pool of worker processes and writes, into the output folder ``DIR``:

* ``DIR/<stem>.ipynb``: the executed notebook (papermill records the parameters in
  its metadata); kept for a failed rep too, when the kernel got that far;
* ``DIR/<stem>.html``: the self-contained review page (:mod:`coachkit.export`);
* ``DIR/index.html``: the team table, from each review's published summary;
* ``DIR/manifest.json``: per rep its status, seconds, error and files; the run's
  parameters and the versions used.

``<stem>`` is :func:`coachkit.naming.safe_name` of the rep id. Every file is written
atomically. A rerun replaces the folder's reviews cleanly: files the previous run's
manifest lists and this run does not produce (reps no longer in the run, the HTML of
a rep that now fails, or all HTML with ``html=False``) are removed, so the folder
always holds exactly one run. Files coachkit did not write are never touched.

A rep's failure never stops the others: a cell exception (papermill's
``PapermillExecutionError``), a cell timeout (nbclient's ``CellTimeoutError``), a dead
kernel (``DeadKernelError``; its notebook can look complete), an unknown rep id or any
other exception is recorded for that rep and the batch goes on.

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
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

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
#: ``fresh`` starts a new kernel per rep (papermill's default engine): slower, but nothing
#: a notebook does to a module's global state can reach the next rep.
ISOLATION_ENGINES: dict[str, str | None] = {"fresh": None, "warm": "coachkit-warm"}

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
    DuckDB rows) of other reps. The returned :class:`coachkit.SalesData` holds those reps only.
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
    team = _LAST_READ["team"]
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
    cell, in seconds. Raises whatever papermill/nbclient raise; ``output`` holds the
    notebook as far as it got.
    """
    import papermill

    if isolation not in ISOLATION_ENGINES:
        raise ValueError(f"isolation must be one of {sorted(ISOLATION_ENGINES)}, got {isolation!r}")
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


def _check_engine(isolation: str) -> None:
    """A clear error, before any rep runs, when ``isolation`` has no papermill engine."""
    engine = ISOLATION_ENGINES[isolation]
    if engine is None:
        return
    from papermill.engines import papermill_engines

    if engine not in papermill_engines._engines:
        raise ValueError(
            f"isolation {isolation!r} needs the papermill engine {engine!r}, which is not installed; "
            "use isolation 'fresh'"
        )


def _classify(exc: BaseException) -> dict[str, str]:
    """The manifest's error record for an exception: type, kind and a one-paragraph message."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

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
    else:
        kind, etype, message = "error", type(exc).__name__, str(exc)
    message = _ANSI.sub("", message).strip()
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + " ..."
    return {"type": etype, "kind": kind, "message": message}


def _review_one(task: dict[str, Any]) -> dict[str, Any]:
    """Run one rep's review into the staging folder; never raises. Returns its manifest record."""
    from . import export

    logging.getLogger("papermill").setLevel(logging.ERROR)
    started = time.perf_counter()
    stem, staging = task["stem"], Path(task["staging"])
    staged_nb = staging / f"{stem}.ipynb"
    record: dict[str, Any] = {"stem": stem, "status": "ok", "error": None, "files": {}, "summary": None}
    nb = None
    try:
        nb = execute_notebook(
            task["notebook"],
            staged_nb,
            task["parameters"],
            timeout=task["timeout"],
            isolation=task["isolation"],
        )
        record["summary"] = export.read_summary(nb)
        if task["html"]:
            title = f"Review: {(record['summary'] or {}).get('name') or task['rep_id']}"
            write_text(staging / f"{stem}.html", export.export_html(nb, title=title))
    except Exception as exc:
        record["status"] = "failed"
        record["error"] = _classify(exc)
        _mark_failed(staged_nb, record["error"])
    record["seconds"] = round(time.perf_counter() - started, 3)
    return record


def _mark_failed(path: Path, error: dict[str, str]) -> None:
    """Record the failure in a kept notebook's metadata (a dead kernel's notebook looks complete)."""
    if not path.exists():
        return
    import nbformat

    with contextlib.suppress(Exception):
        nb = nbformat.read(path, as_version=4)
        nb.metadata["coachkit"] = {"status": "failed", "error": error}
        write_text(path, nbformat.writes(nb))


# ---------------------------------------------------------------- the batch


@dataclass
class BatchResult:
    """The outcome of :func:`run_reviews`: the output folder and the manifest written into it."""

    out: Path
    manifest: dict[str, Any] = field(repr=False)

    @property
    def ok(self) -> list[str]:
        """Rep ids reviewed successfully."""
        return [r for r, v in self.manifest["reps"].items() if v["status"] == "ok"]

    @property
    def failed(self) -> dict[str, dict[str, str]]:
        """Rep id -> error record (type, kind, message) of each failed rep."""
        return {r: v["error"] for r, v in self.manifest["reps"].items() if v["status"] != "ok"}

    @property
    def exit_code(self) -> int:
        """0 when every rep succeeded, else 1."""
        return 1 if self.failed else 0

    def summary(self) -> str:
        """A short text summary naming the failed reps and their errors."""
        lines = [f"{len(self.ok)} review(s) written to {self.out}, {len(self.failed)} failed."]
        for rep, err in self.failed.items():
            first = (err.get("message") or "").splitlines()[0] if err.get("message") else ""
            lines.append(f"  FAILED {rep!r}: {err.get('type')}: {first[:200]}")
        return "\n".join(lines)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for pkg in ("coachkit", "pandas", "altair", "vl-convert-python", "papermill", "nbconvert", "nbclient"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _previous_manifest(out: Path) -> dict[str, Any]:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and isinstance(data.get("reps"), dict) else {}


def _is_plain_name(name: Any) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name


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
) -> BatchResult:
    """Review each selected rep (see :func:`select_reps`) and write the review folder ``out``.

    ``timeout`` is per notebook cell, in seconds (None: no limit). ``workers`` defaults
    to the number of cores. ``isolation`` is ``warm`` (each worker reuses one kernel, with a
    clean namespace per rep) or ``fresh`` (a new kernel per rep); see :data:`ISOLATION_ENGINES`. A tqdm progress bar shows on a terminal unless ``quiet``.
    Returns a :class:`BatchResult`; failed reps are in ``result.failed`` (it does not raise
    for them). Bad arguments (unknown team, bad date, missing notebook) raise ``ValueError``
    or ``FileNotFoundError`` before anything runs.
    """
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    if isolation not in ISOLATION_ENGINES:
        raise ValueError(f"isolation must be one of {sorted(ISOLATION_ENGINES)}, got {isolation!r}")
    _check_engine(isolation)
    notebook = Path(notebook).resolve()
    if not notebook.is_file():
        raise FileNotFoundError(f"review notebook {notebook} not found")
    source_path = Path(source).resolve()
    out = Path(out).resolve()
    dataset = load_dataset(source_path, playbook)
    start, end = review_window(dataset.activities, as_of, weeks)
    chosen = select_reps(dataset, (start, end), list(reps or ()), list(teams or ()))
    stems = {rep: safe_name(rep) for rep in chosen}
    clash = {s for s in stems.values() if list(stems.values()).count(s) > 1}
    if clash:  # ~impossible (10 hex digits of SHA-256), but never let two reps share files
        raise ValueError(f"rep ids {[r for r, s in stems.items() if s in clash]} map to the same file name")
    known = set(dataset.reps["rep_id"].dropna().astype(str))

    out.mkdir(parents=True, exist_ok=True)
    previous = _previous_manifest(out)
    staging = Path(tempfile.mkdtemp(prefix=".coachkit-run-", dir=out))
    records: dict[str, dict[str, Any]] = {}
    try:
        # the data-coverage profile of the whole dataset, once per run: each review shows only what it supports
        from .coverage import coverage, without_unsupported
        from .run_pages import render_definitions

        profile = coverage(dataset)
        profile_file = staging / "coverage.json"
        write_text(profile_file, json.dumps(profile.to_dict(), indent=1))
        definitions_page = render_definitions(notes=without_unsupported(dataset.playbook, profile)[1])
        tasks = []
        for rep in chosen:
            if rep not in known:
                err = _classify(UnknownRepError(find_rep_message(dataset, rep)))
                records[rep] = {"stem": stems[rep], "status": "failed", "error": err, "files": {}, "summary": None}
                records[rep]["seconds"] = 0.0
                continue
            prev_nb = out / f"{stems[rep]}.ipynb"
            prev_ok = (previous.get("reps", {}).get(rep) or {}).get("status") == "ok"
            params = {
                "rep_id": rep,
                "data": str(source_path),
                "as_of": end.date().isoformat(),
                "weeks": int(weeks),
                "playbook": str(Path(playbook).resolve()) if playbook else "",
                "previous": str(prev_nb) if prev_ok and prev_nb.exists() else "",
                "coverage": str(profile_file),
                "links": True,
            }
            tasks.append(
                {
                    "rep_id": rep,
                    "stem": stems[rep],
                    "staging": str(staging),
                    "notebook": str(notebook),
                    "parameters": params,
                    "timeout": timeout,
                    "isolation": isolation,
                    "html": html,
                }
            )
        # the reps of one team one after another: a warm kernel then reads each team once (load_for_review)
        from .coaching import peer_groups

        group = peer_groups(dataset.reps)
        tasks.sort(key=lambda task: group.get(task["rep_id"], ""))
        del dataset  # each review loads what it needs; do not hold the whole dataset during the run
        n_workers = max(1, min(int(workers or os.cpu_count() or 1), len(tasks) or 1))
        show = not quiet and sys.stderr.isatty()
        for task, record in _run_all(tasks, n_workers, show):
            records[task["rep_id"]] = record
        for rep in chosen:  # publish each rep's files: staged -> out, atomically by rename
            _publish(records[rep], staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    produced = {f for r in records.values() for f in r["files"].values()}
    for old in (previous.get("reps") or {}).values():
        for name in (old.get("files") or {}).values() if isinstance(old, dict) else ():
            if _is_plain_name(name) and name not in produced and name not in (MANIFEST, INDEX, DEFINITIONS):
                (out / name).unlink(missing_ok=True)

    manifest = {
        "coachkit_review_manifest": 1,
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - t0, 3),
        "parameters": {
            "source": str(source_path),
            "out": str(out),
            "as_of": end.date().isoformat(),
            "weeks": int(weeks),
            "window": {"start": start.date().isoformat(), "end": end.date().isoformat()},
            "reps": list(reps or ()),
            "teams": list(teams or ()),
            "workers": n_workers,
            "timeout": timeout,
            "html": html,
            "isolation": isolation,
            "notebook": str(notebook),
            "playbook": str(playbook) if playbook else "",
        },
        "versions": _versions(),
        "counts": {
            "ok": sum(r["status"] == "ok" for r in records.values()),
            "failed": sum(r["status"] != "ok" for r in records.values()),
        },
        "reps": {rep: records[rep] for rep in chosen},
    }
    write_text(out / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    from .export import render_index

    write_text(out / INDEX, render_index(manifest))
    write_text(out / DEFINITIONS, definitions_page)
    return BatchResult(out=out, manifest=manifest)


def find_rep_message(dataset: Any, rep: str) -> str:
    """The message :func:`find_rep` gives for an unknown ``rep``."""
    try:
        find_rep(dataset, rep)
    except UnknownRepError as exc:
        return str(exc)
    return f"rep {rep!r} is unknown"


def _run_all(tasks: list[dict[str, Any]], n_workers: int, show: bool) -> Iterable[tuple[dict[str, Any], dict]]:
    """Run ``tasks`` (in a process pool when more than one worker), yielding (task, record) as they finish."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), unit="rep", desc="Reviews", disable=not show, file=sys.stderr)
    try:
        if n_workers == 1:
            try:
                for task in tasks:
                    yield task, _review_one(task)
                    bar.update()
            finally:
                if any(t["isolation"] == "warm" for t in tasks):
                    from .engine import shutdown_kernels

                    shutdown_kernels()
            return
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # forkserver: workers are forked from a clean server process (forking this one,
        # which may run pyarrow threads, can deadlock); papermill and nbconvert are
        # imported once in the server, not once per worker.
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["coachkit.batch", "coachkit.export", "papermill", "nbconvert"])
        with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx) as pool:
            futures = {pool.submit(_review_one, task): task for task in tasks}
            for future in as_completed(futures):
                task = futures[future]
                try:
                    record = future.result()
                except Exception as exc:  # the worker process itself died
                    record = {"stem": task["stem"], "status": "failed", "error": _classify(exc)}
                    record |= {"files": {}, "summary": None, "seconds": 0.0}
                yield task, record
                bar.update()
    finally:
        bar.close()


def _publish(record: dict[str, Any], staging: Path, out: Path) -> None:
    """Move a rep's staged files into ``out`` and fill ``record['files']``; drop its stale files."""
    stem = record["stem"]
    files: dict[str, str] = {}
    for kind in ("ipynb", "html"):
        name = f"{stem}.{kind}"
        staged = staging / name
        if staged.exists():
            os.replace(staged, out / name)
            files[kind] = name
    record["files"] = files
