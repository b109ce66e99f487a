"""The days on which each rep has an activity: all the review batch reads of the activities to choose reps and window.

Before any review runs, ``coachkit review`` needs the window (whose last day defaults to the
latest activity) and the reps with an activity in it (:func:`coachkit.batch.select_reps`,
:func:`coachkit.batch.skip_reasons`). Loading the whole dataset for that held 2.27 GB at 500
reps and 8.1 M activities. :func:`active_days` reads two columns of the activities,
``rep_id`` and ``occurred_at`` (a Parquet column projection, a DuckDB query of those two
columns, or a CSV read of those two columns), one batch of :data:`BATCH_ROWS` rows at a time,
and keeps one row per rep and day: at most reps x days (182,500 rows for 500 reps over a
year), whatever the number of activities.

The values are read as :func:`coachkit.load` reads them: a rep id without the spaces around
it (a whole number written as a float without its ``.0``); ``occurred_at`` as local wall time
in the playbook's timezone (a time with a UTC offset, or a timezone-aware Parquet or DuckDB
timestamp, converted to it), cut to its day. Rows whose rep id or time is missing or
unreadable are left out here: nothing else is validated, each review validates the rows it
reads. When the two columns cannot be read at all (a missing column, a file that is not
Parquet, CSV or DuckDB, bytes that are not UTF-8), the dataset is validated in full to name
the problem (:class:`coachkit.load.DataError`, with its report).

``fs`` (an fsspec filesystem) reads the files of a dataset at a URL (``s3://``, ``gs://``,
``abfs://``, ...; :mod:`coachkit.remote`): Parquet through ranged reads of the two columns'
chunks, CSV streamed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["BATCH_ROWS", "COLUMNS", "RepDays", "active_days", "rep_days"]

#: The two columns of the activities read.
COLUMNS = ("rep_id", "occurred_at")
#: Rows per batch read (a batch takes about 40 bytes a row while it is turned into pairs).
BATCH_ROWS = 1 << 17
#: Bytes of a Parquet file read at a time (a column chunk is streamed, not read whole into memory).
_PARQUET_BUFFER = 1 << 20
_CSV_OPTIONS: dict[str, Any] = {"dtype": str, "keep_default_na": False, "na_filter": False, "encoding": "utf-8-sig"}


@dataclass(frozen=True)
class RepDays:
    """What the batch chooses reps and the window from, shaped like the :class:`coachkit.SalesData` it replaces there.

    ``activities``: one row per rep and day with an activity, columns ``rep_id`` (str) and
    ``occurred_at`` (the day, midnight, ``datetime64[ns]``), sorted; ``reps``: the reps table
    (:func:`coachkit.load_reps`). :func:`coachkit.batch.review_window`,
    :func:`~coachkit.batch.select_reps` and :func:`~coachkit.batch.skip_reasons` accept it as
    they accept a dataset, and give the same answers (they compare days).
    """

    activities: pd.DataFrame
    reps: pd.DataFrame


def rep_days(source: str | Path, playbook: str | Path | None = None, *, fs: Any = None) -> RepDays:
    """The reps table and :func:`active_days` of the dataset at ``source`` (a folder or a ``.duckdb`` file).

    The reps table is read whole and checked (:func:`coachkit.load_reps`, which also checks the
    playbook); with ``fs``, ``source`` is a folder path on that filesystem and its reps file and
    playbook are fetched first (they are small). Raises :class:`coachkit.load.DataError` as
    :func:`coachkit.load_reps` does.
    """
    from .load import load_reps

    if fs is None:
        reps = load_reps(source, playbook=playbook or None)
        days = active_days(source, playbook, reps=reps)
        return RepDays(days.rename(columns={"day": "occurred_at"}), reps)
    import tempfile

    from .remote import fetch_files

    with tempfile.TemporaryDirectory(prefix="coachkit-reps-") as tmp:
        local = fetch_files(fs, str(source), Path(tmp), tables=("reps",))
        reps = load_reps(local, playbook=playbook or None)
        tz = _timezone(local, playbook)
    days = active_days(source, playbook, fs=fs, timezone=tz, reps=reps)
    return RepDays(days.rename(columns={"day": "occurred_at"}), reps)


def active_days(
    source: str | Path,
    playbook: str | Path | None = None,
    *,
    fs: Any = None,
    timezone: str | None = None,
    reps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per rep and day with at least one activity: columns ``rep_id`` (str) and ``day`` (midnight).

    ``source``: a dataset folder (``activities.parquet`` or ``activities.csv``) or a DuckDB
    file (table ``activities``); on ``fs`` when given. ``timezone``: the playbook's (read from
    ``playbook``, else the dataset's playbook, else the default one, when not given). Sorted
    by rep and day, no duplicates. ``reps`` is only used to validate the dataset when the
    columns cannot be read (see the module docstring).
    """
    tz = timezone or _timezone(source, playbook)
    pieces = []
    try:
        for raw in _batches(source, fs):
            pieces.append(_days(raw, tz))
    except _Unreadable as exc:
        _raise_report(source, playbook, fs, str(exc))
    if not pieces:
        return pd.DataFrame({"rep_id": pd.Series([], dtype=str), "day": pd.Series([], dtype="datetime64[ns]")})
    out = pd.concat(pieces, ignore_index=True).drop_duplicates()
    out["rep_id"] = out["rep_id"].astype(str)
    return out.sort_values(["rep_id", "day"], ignore_index=True)


class _Unreadable(Exception):
    """The two columns cannot be read from the activities."""


def _raise_report(source: str | Path, playbook: str | Path | None, fs: Any, problem: str) -> None:
    """Raise :class:`coachkit.load.DataError` with the full validation report (the rare case: a broken file)."""
    from .load import DataError, validate

    if fs is None:
        report = validate(source, playbook=playbook or None)
        if not report.ok:
            raise DataError(report)
    raise ValueError(f"{source}: cannot read rep_id and occurred_at of the activities: {problem}")


def _timezone(source: str | Path, playbook: str | Path | None) -> str:
    """The timezone of the playbook in force: ``playbook``, else the dataset's own, else the default."""
    from .playbook import Playbook

    if playbook:
        return Playbook.from_toml(playbook).timezone
    src = Path(source)
    if src.is_dir():
        own = src / "playbook.toml"
        return (Playbook.from_toml(own) if own.is_file() else Playbook.default()).timezone
    text = _duckdb_playbook(src)
    return (Playbook.from_text(text, source=f"{src}:playbook") if text else Playbook.default()).timezone


def _duckdb_playbook(path: Path) -> str | None:
    import duckdb

    with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        if "playbook" not in tables:
            return None
        rows = con.execute('select "toml" from "playbook"').fetchall()
    return str(rows[0][0]) if len(rows) == 1 and rows[0][0] is not None else None


# ---------------------------------------------------------------- reading two columns, a batch at a time


def _batches(source: str | Path, fs: Any) -> Iterator[pd.DataFrame]:
    """Frames of the raw ``rep_id`` and ``occurred_at`` values, :data:`BATCH_ROWS` rows at most each."""
    src = str(source)
    if fs is not None:
        names = {Path(p).name: p for p in fs.ls(src, detail=False)}
        for ext in ("parquet", "csv"):
            if f"activities.{ext}" in names:
                with fs.open(names[f"activities.{ext}"], "rb") as f:
                    yield from (_parquet_batches if ext == "parquet" else _csv_batches)(f)
                return
        raise _Unreadable(f"no activities.parquet or activities.csv in {src}")
    path = Path(source)
    if path.is_dir():
        for ext in ("parquet", "csv"):
            if (path / f"activities.{ext}").is_file():
                with open(path / f"activities.{ext}", "rb") as f:
                    yield from (_parquet_batches if ext == "parquet" else _csv_batches)(f)
                return
        raise _Unreadable(f"no activities.parquet or activities.csv in {path}")
    yield from _duckdb_batches(path)


def _first_named(names: list[str]) -> dict[str, int]:
    """Position of the first column named (spaces around the name ignored) each of :data:`COLUMNS`."""
    found: dict[str, int] = {}
    for i, name in enumerate(names):
        key = str(name).strip()
        if key in COLUMNS and key not in found:
            found[key] = i
    missing = [c for c in COLUMNS if c not in found]
    if missing:
        raise _Unreadable(f"no column {missing[0]}")
    return found


def _parquet_batches(f: Any) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(f, pre_buffer=False, buffer_size=_PARQUET_BUFFER)
        names = pf.schema_arrow.names
        at = _first_named(names)
        # rep ids as a dictionary: a few hundred distinct strings instead of one per row
        rep_type = pf.schema_arrow.field(at["rep_id"]).type
        by_dict = pa.types.is_string(rep_type) or pa.types.is_large_string(rep_type)
        if by_dict:
            pf = pq.ParquetFile(f, read_dictionary=[names[at["rep_id"]]], pre_buffer=False, buffer_size=_PARQUET_BUFFER)
        wanted = [names[at[c]] for c in COLUMNS]
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=list(dict.fromkeys(wanted))):
            # a name given twice in the file comes back twice, in file order: the first one is the one kept
            cols = batch.schema.names
            yield pd.DataFrame(
                {c: batch.column(cols.index(names[at[c]])).to_pandas() for c in COLUMNS},
                copy=False,
            )
    except (pa.ArrowException, OSError) as exc:
        raise _Unreadable(f"not a readable Parquet file: {exc}") from exc


def _csv_batches(f: Any) -> Iterator[pd.DataFrame]:
    try:
        header = pd.read_csv(f, nrows=0, **_CSV_OPTIONS).columns
        at = _first_named([str(c) for c in header])
        f.seek(0)
        chunks = pd.read_csv(f, usecols=[at[c] for c in COLUMNS], chunksize=BATCH_ROWS, **_CSV_OPTIONS)
        for chunk in chunks:
            chunk = chunk.iloc[:, [sorted(at.values()).index(at[c]) for c in COLUMNS]]
            chunk.columns = list(COLUMNS)
            yield chunk
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise _Unreadable(f"not a readable CSV file: {' '.join(str(exc).split())}") from exc


def _duckdb_batches(path: Path) -> Iterator[pd.DataFrame]:
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise _Unreadable(f"not a readable DuckDB file: {exc}") from exc
    with contextlib.closing(con):
        try:
            con.execute("set enable_progress_bar = false")
            names = [r[0] for r in con.execute('select * from "activities" limit 0').description]
            at = _first_named(names)
            cols = ", ".join('"' + names[at[c]].replace('"', '""') + '"' for c in COLUMNS)
            rel = con.sql(f'select {cols} from "activities"')
            reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader  # duckdb >= 1.4, else 1.x
            reader = reader(BATCH_ROWS)
            for batch in reader:
                frame = batch.to_pandas()
                frame.columns = list(COLUMNS)
                yield frame
        except duckdb.Error as exc:
            raise _Unreadable(f"not a readable activities table: {exc}") from exc


# ---------------------------------------------------------------- one batch -> (rep, day) pairs


def _rep_ids(labels: pd.Index) -> pd.Series:
    """Distinct rep ids as :func:`coachkit.load` reads them: text without the spaces around it (a whole
    float without its ``.0``); blank -> NA."""
    s = pd.Series(labels)
    if pd.api.types.is_float_dtype(s.dtype):
        whole = s.dropna()
        if len(whole) and bool((whole == np.floor(whole)).all()):
            s = s.astype("Int64")
    text = s.astype("string").str.strip()
    return text.where(text != "")


def _times(s: pd.Series, timezone: str) -> pd.Series:
    """``occurred_at`` as tz-naive local wall time in ``timezone`` (NaT where missing or unreadable)."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert(timezone).dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return s
    from .load import _parse_timestamps  # the loader's own parsing of ISO 8601 text and UTC offsets

    text = s.astype("string").str.strip()
    parsed, _ = _parse_timestamps(text.where(text != ""), timezone)
    return parsed


def _days(raw: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """The distinct (rep_id, day) pairs of one batch, rows with a missing or unreadable value left out."""
    day = _times(raw["occurred_at"], timezone).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    rep = raw["rep_id"]
    if isinstance(rep.dtype, pd.CategoricalDtype):  # read as a dictionary: the distinct ids are its categories
        codes, labels = rep.cat.codes.to_numpy(), rep.cat.categories
    else:
        codes, labels = pd.factorize(rep, use_na_sentinel=True)
    keep = (codes >= 0) & ~np.isnat(day)
    pairs = pd.DataFrame({"code": codes[keep], "day": day[keep]}).drop_duplicates(ignore_index=True)
    ids = _rep_ids(pd.Index(labels)).to_numpy(dtype=object)[pairs["code"].to_numpy()]
    out = pd.DataFrame({"rep_id": ids, "day": pairs["day"].to_numpy().astype("datetime64[ns]")})
    return out[pd.notna(out["rep_id"])].drop_duplicates(ignore_index=True)
