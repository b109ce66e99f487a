"""The fast path of validation: Parquet activities proved clean in place, without reading them into memory.

:func:`start` then :meth:`PendingCheck.finish` run every check :mod:`coachkit.load` runs on the activities,
as aggregates over the file. DuckDB (on every core) finds per rep its first and last activity, the rows in a
clock change and the to-dos not done; the distinct (activity type, outcome) pairs; and the distinct
directions, in three queries over disjoint columns. The few numbers it needs come from the file's statistics.
Meanwhile the activity ids are streamed row group by row group (pyarrow, two row groups at a time) to check
that they are present, not blank and distinct. :func:`start` begins these scans as soon as the file is
known, so that they run while :mod:`coachkit.load` checks the other tables.

Nothing here reports anything: it answers whether the activities are clean, i.e. whether the full
validation would report no issue at all about them, and if so returns them as
:class:`~coachkit.parquet_activities.ParquetActivities` (the file, read in canonical form by SQL). When
anything would be reported, or a column has a type this path does not handle (text timestamps, numbers
written as text, ...), it returns None and :func:`coachkit.load` runs the full validation, which reports
every issue with its file, line, column and value. So a clean dataset is checked at the speed of a scan, in
the memory of a few row groups, and a dataset with problems gets exactly the same report as before.

Each check here mirrors one in :mod:`coachkit.load` (named beside it); a test runs both on crafted bad
inputs and checks that this path declines every one of them.
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import checks, duck, schema
from .parquet_activities import ParquetActivities, _quote
from .playbook import Playbook, normalize_label
from .readers import ArrowRawTable

__all__ = ["PendingCheck", "start"]

_DAY_NS = 86_400 * 10**9


class _NotClean(Exception):
    """Something the full validation would report, or a column this path does not handle."""


def start(raw: ArrowRawTable, pb: Playbook, *, copies: bool = True) -> PendingCheck | None:
    """Begin checking the activities of the Parquet file behind ``raw``: the scans run in threads while the
    caller checks the other tables, and :meth:`PendingCheck.finish` judges them against the reps table. None
    when the file cannot take this path (no file, a column type it does not handle): then the full
    validation runs.

    ``raw``: the activities as :func:`coachkit.readers.read_folder` left them to read (``path`` and
    ``file_columns`` set). ``copies``: also look for rows repeated in all but their id (only meaningful when
    every column is read).

    The scans need only the file and the playbook. Started before the small tables are checked, they put the
    second core to work during that check, and DuckDB's start (about 20 ms in a new process) with it.
    """
    if raw.path is None or raw.file_columns is None or raw.schema is None:
        return None
    types = {f.name: f.type for f in raw.schema}
    if any(c not in types for c in schema.required_columns("activities")):
        return None
    for col in schema.ACTIVITIES:  # the types this path reads (``_Parser`` parses the others)
        t = types.get(col.name)
        if t is None:
            continue
        if pa.types.is_dictionary(t):
            t = t.value_type
        ok = {
            "string": pa.types.is_string(t) or pa.types.is_large_string(t),
            "timestamp": pa.types.is_timestamp(t) and t.tz is None,  # zoned ones are converted: the full path
            "float": (pa.types.is_floating(t) or pa.types.is_integer(t))
            and not pa.types.is_dictionary(types[col.name]),
            "boolean": pa.types.is_boolean(t),
        }[col.kind]
        if not ok:
            return None
    try:
        acts = ParquetActivities.from_file(raw.path, raw.file_columns, types)
    except OSError:  # the full path reports it
        return None
    return PendingCheck(acts, pb, copies)


class PendingCheck:
    """The scans of one activities file, running in two threads (:class:`_AggregatePass`, :class:`_IdPass`).

    Call :meth:`finish` for the verdict, or :meth:`cancel` when it is no longer wanted; both wait for the
    threads, so that none is left competing with what the caller does next.
    """

    def __init__(self, acts: ParquetActivities, pb: Playbook, copies: bool) -> None:
        self.acts, self.pb, self.copies = acts, pb, copies
        self._aggregates = _AggregatePass(acts, pb)
        self._ids = _IdPass(acts, copies)
        self._aggregates.start()
        self._ids.start()

    def finish(self, reps: pd.DataFrame) -> ParquetActivities | None:
        """The checked activities when the full validation would report nothing about them, else None.
        ``reps``: the canonical reps table (validated without issues)."""
        try:
            return self._finish(reps)
        except _NotClean:
            return None
        except Exception as exc:  # a file DuckDB or pyarrow cannot read: the full path reports it
            import duckdb

            if isinstance(exc, (duckdb.Error, pa.ArrowException, OSError, ValueError)):
                return None
            raise
        finally:
            self.cancel()

    def _finish(self, reps: pd.DataFrame) -> ParquetActivities:
        self._aggregates.join()
        if self._aggregates.error is not None:
            raise self._aggregates.error
        rows, labels, not_done, by_type = _judge(self._aggregates.result, reps, self.pb)
        self._ids.join()
        if self._ids.error is not None:
            raise self._ids.error
        per_rep = self._aggregates.result.per_rep
        bounds = (int(per_rep["lo"].min()), int(per_rep["hi"].max())) if rows else None
        acts = self.acts.with_labels(labels, rows=rows, not_done=not_done, bounds=bounds)
        if self.copies and rows > 1:
            _check_copies(acts, self._ids, by_type, self.pb)
        return acts

    def cancel(self) -> None:
        """Stop the scans (the ids at their next row group; DuckDB's query is interrupted) and wait for them."""
        self._ids.stop.set()
        self._aggregates.interrupt()
        self._ids.join()
        self._aggregates.join()


# ---- aggregates ------------------------------------------------------------------------------


def _fetch(query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cur = duck.cursor()
    try:
        rel = cur.sql(query)
        return rel.columns, rel.fetchall()
    finally:
        cur.close()


class _Interrupted(_NotClean):
    """The scan was cancelled."""


class _AggregatePass(threading.Thread):
    """:func:`_aggregates` in a thread; :meth:`interrupt` stops its DuckDB query."""

    def __init__(self, acts: ParquetActivities, pb: Playbook) -> None:
        super().__init__(daemon=True)
        self.acts, self.pb = acts, pb
        self.result: _Aggregates | None = None
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._cursor: Any = None
        self._stopped = False

    def run(self) -> None:
        try:
            self.result = _aggregates(self.acts, self.pb, self._fetch)
        except BaseException as exc:  # handed to the caller
            self.error = exc

    def _fetch(self, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self._lock:
            if self._stopped:
                raise _Interrupted
            self._cursor = cur = duck.cursor()
        try:
            rel = cur.sql(query)
            return rel.columns, rel.fetchall()
        finally:
            with self._lock:
                self._cursor = None
            cur.close()

    def interrupt(self) -> None:
        with self._lock:
            self._stopped = True
            if self._cursor is not None:
                self._cursor.interrupt()


@dataclass(frozen=True)
class _Aggregates:
    """What one scan of the activities found (:func:`_aggregates`); judged by :func:`_judge`."""

    rows: int
    per_rep: pd.DataFrame  # r, n, lo, hi, clock (, hi_done, not_done)
    per_type: pd.DataFrame  # t (, o), n
    per_dir: pd.DataFrame  # d
    has_done: bool
    has_outcome: bool


def _aggregates(
    acts: ParquetActivities, pb: Playbook, fetch: Callable[[str], tuple[list[str], list[tuple[Any, ...]]]] = _fetch
) -> _Aggregates:
    """The aggregates of the rows that the checks need (three DuckDB queries over disjoint columns; counts and
    ranges from the file's statistics where it has them). Raises :class:`_NotClean` on what needs no reps table to be judged."""
    has = acts.columns
    at = acts.expression("occurred_at")
    floats = [c for c in ("duration_s", "feedback_score") if c in has]
    # 1. counts, the time span and the numbers' ranges: from the file's statistics, else by a scan
    got = _from_statistics(acts, floats)
    n, n_at, first, last, *nums = _scan_statistics(acts, floats, fetch) if got is None else got
    if n_at != n:  # a missing occurred_at (``_Parser.required``)
        raise _NotClean
    for i, c in enumerate(floats):
        lo, hi, inf = nums[3 * i : 3 * i + 3]
        if inf:  # not a number (``_Parser.number``)
            raise _NotClean
        if c == "duration_s" and lo is not None and lo < 0:  # ``_check_activities``
            raise _NotClean
        if c == "feedback_score" and lo is not None and (lo < 1 or hi > 5):
            raise _NotClean
    if n == 0:
        empty = pd.DataFrame()
        return _Aggregates(0, empty, empty, empty, False, False)
    if first is None:
        raise _NotClean
    # 2. the rows' aggregates: per rep; per (type, outcome); the directions. Three queries over disjoint
    # columns, about 25% less work for DuckDB than one query of GROUPING SETS.
    clock = _clock_filter(pb, first, last)
    scan = acts.scan()
    rep, ts = _quote(has["rep_id"].file), at
    per_rep = [
        "count(*) AS n",
        "epoch_ns(min(ts)) AS lo",
        "epoch_ns(max(ts)) AS hi",
        f"coalesce(count_if({clock}), 0) AS clock",
    ]
    inner = f"{rep}::VARCHAR AS r, {ts} AS ts"
    if "done" in has:
        per_rep += [
            "epoch_ns(max(ts) FILTER (WHERE done IS DISTINCT FROM false)) AS hi_done",
            "coalesce(count_if(done = false), 0) AS not_done",
        ]
        inner += f", {_quote(has['done'].file)} AS done"
    frames = {"r": f"SELECT r, {', '.join(per_rep)} FROM (SELECT {inner} FROM {scan}) GROUP BY r"}
    label = {"t": _quote(has["activity_type"].file)}
    if "outcome" in has:
        label["o"] = _quote(has["outcome"].file)
    keys = ", ".join(label)
    labels = ", ".join(f"{e}::VARCHAR AS {k}" for k, e in label.items())
    frames["t"] = f"SELECT {keys}, count(*) AS n FROM (SELECT {labels} FROM {scan}) GROUP BY {keys}"
    if "direction" in has:
        frames["d"] = f"SELECT DISTINCT {_quote(has['direction'].file)}::VARCHAR AS d FROM {scan}"
    got = {}
    for k, query in frames.items():
        cols, rows = fetch(query)
        got[k] = pd.DataFrame(rows, columns=cols, dtype=object)
    return _Aggregates(
        rows=int(n),
        per_rep=got["r"],
        per_type=got["t"],
        per_dir=got.get("d", pd.DataFrame({"d": []}, dtype=object)),
        has_done="done" in has,
        has_outcome="o" in label,
    )


def _judge(
    agg: _Aggregates, reps: pd.DataFrame, pb: Playbook
) -> tuple[int, dict[str, dict[str, str | None]], int, dict[str, int]]:
    """The checks of the aggregates against the reps table and the playbook. Returns (rows, label maps, to-dos
    not done, rows per type); raises :class:`_NotClean` when the full validation would report anything."""
    if agg.rows == 0:
        return 0, {}, 0, {}
    not_done = int(agg.per_rep["not_done"].sum()) if agg.has_done else 0
    _check_reps(agg.per_rep, reps, pb, agg.has_done)
    labels: dict[str, dict[str, str | None]] = {}
    by_type = _check_types(agg.per_type, pb, labels, agg.has_outcome)
    _check_directions(agg.per_dir, labels)
    return agg.rows, labels, not_done, by_type


def _scan_statistics(
    acts: ParquetActivities,
    floats: list[str],
    fetch: Callable[[str], tuple[list[str], list[tuple[Any, ...]]]] = _fetch,
) -> tuple[Any, ...]:
    """(rows, rows with occurred_at, its min and max as int64 ns, then for each of ``floats`` its min, max and
    how many infinities it holds), by scanning the columns."""
    at = acts.expression("occurred_at")
    parts = ["count(*)", f"count({at})", f"epoch_ns(min({at}))", f"epoch_ns(max({at}))"]
    for c in floats:
        e = acts.expression(c)
        parts += [f"min({e})", f"max({e})", f"count(*) FILTER (WHERE isinf({e}))"]
    return tuple(fetch(f"SELECT {', '.join(parts)} FROM {acts.scan()}")[1][0])


_NS_MIN, _NS_MAX = int(np.iinfo(np.int64).min) + 1, int(np.iinfo(np.int64).max)
_NS_PER = {"nanoseconds": 1, "microseconds": 1_000, "milliseconds": 1_000_000}


def _from_statistics(acts: ParquetActivities, floats: list[str]) -> tuple[Any, ...] | None:
    """What the first query of :func:`_check_aggregates` returns, read from the statistics in the file's footer
    (the row groups' row counts, null counts, minima and maxima) instead of scanning the columns: (rows, rows with
    occurred_at, its min and max as int64 ns, then for each of ``floats`` its min, max and whether it holds an
    infinity). None when a statistic it needs is absent, a timestamp is not an INT64 of local time, or a float's
    minimum or maximum is NaN: then the columns are scanned.

    Parquet writers leave NaN out of a float column's min/max (as the canonical reading, where NaN is missing),
    and an infinity, when present, is the column's min or max.
    """
    meta = pq.read_metadata(acts.reader_path)
    where = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    at = acts.columns["occurred_at"].file
    if at not in where or any(acts.columns[c].file not in where for c in floats):
        return None
    kind = json.loads(meta.schema.column(where[at]).logical_type.to_json())
    unit = _NS_PER.get(kind.get("timeUnit", "")) if kind.get("Type") == "Timestamp" else None
    if (
        unit is None
        or meta.schema.column(where[at]).physical_type != "INT64"
        or kind.get("isAdjustedToUTC") is not False
    ):
        return None
    names = [at, *(acts.columns[c].file for c in floats)]
    nulls = dict.fromkeys(names, 0)
    lo: dict[str, Any] = dict.fromkeys(names)
    hi: dict[str, Any] = dict.fromkeys(names)
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        for name in names:
            col = rg.column(where[name])
            st = col.statistics
            if st is None or not st.has_null_count:
                return None
            nulls[name] += st.null_count
            if st.null_count == col.num_values:  # nothing but missing values: no min/max to read
                continue
            if not st.has_min_max:
                return None
            a, b = st.min_raw, st.max_raw
            if a != a or b != b:  # NaN
                return None
            lo[name] = a if lo[name] is None else min(lo[name], a)
            hi[name] = b if hi[name] is None else max(hi[name], b)
    n = meta.num_rows
    first = None if lo[at] is None else lo[at] * unit
    last = None if hi[at] is None else hi[at] * unit
    if first is not None and not (_NS_MIN <= first <= last <= _NS_MAX):  # beyond datetime64[ns]: the scan says so
        return None
    nums: list[Any] = []
    for c in floats:
        a, b = lo[acts.columns[c].file], hi[acts.columns[c].file]
        inf = int(a is not None and (math.isinf(a) or math.isinf(b)))
        nums += [None if a is None else float(a), None if b is None else float(b), inf]
    return (n, n - nulls[at], first, last, *nums)


def _clock_filter(pb: Playbook, first: int, last: int) -> str:
    """SQL: ``ts`` is a naive time in a DST gap or fold of the playbook's timezone (``_Parser.clock_changes``)."""
    changes = checks.clock_changes(pb.timezone, pd.Timestamp(first), pd.Timestamp(last))
    terms = [f"(epoch_ns(ts) >= {c.start.value} AND epoch_ns(ts) < {c.end.value})" for c in changes]
    return " OR ".join(terms) or "false"


def _check_reps(per_rep: pd.DataFrame, reps: pd.DataFrame, pb: Playbook, has_done: bool) -> None:
    """rep_id present, not blank, no spaces around it (``_Parser.ids`` warns), in the reps table
    (``_check_reps_exist``); activities within the rep's tenure (``_check_tenure``); the clock changes and
    the future (``_check_future``, to-dos not done aside)."""
    keys = set(reps["rep_id"].dropna().astype(str))
    values = per_rep["r"].tolist()
    if any(v is None or not v.strip() or v != v.strip() or v not in keys for v in values):
        raise _NotClean
    if per_rep["clock"].astype(np.int64).any():
        raise _NotClean
    now = pd.Timestamp.now(tz=pb.timezone).tz_localize(None).value
    latest = per_rep["hi_done" if has_done else "hi"].dropna()
    if len(latest) and int(latest.max()) > now:
        raise _NotClean
    if reps[["hired_at", "left_at"]].isna().all().all():
        return
    r = reps.drop_duplicates("rep_id").set_index("rep_id")
    nat, top = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    hired = r["hired_at"].reindex(values).to_numpy(dtype="datetime64[ns]").view(np.int64)
    left = r["left_at"].reindex(values).to_numpy(dtype="datetime64[ns]").view(np.int64)
    left_end = np.where(left == nat, top, left + _DAY_NS)  # the whole left_at day is still employed
    first = per_rep["lo"].astype(np.int64).to_numpy()
    last = per_rep["hi"].astype(np.int64).to_numpy()
    if ((first < hired) & (hired != nat)).any() or (last >= left_end).any():
        raise _NotClean


def _text(v: Any) -> str | None:
    """A raw label as ``load._to_string`` reads it: empty text is missing."""
    return None if v is None or v == "" else str(v)


def _check_types(
    per_type: pd.DataFrame, pb: Playbook, labels: dict[str, dict[str, str | None]], has_outcome: bool
) -> dict[str, int]:
    """Activity types known and present (``_Parser.category``, ``required``), outcomes known
    (``_check_activities``) and allowed for their type. Fills ``labels`` with raw -> canonical maps where a
    raw value is not canonical; returns rows per canonical type."""
    index = {normalize_label(a): a for a in pb.activity_types}
    types: dict[str, str | None] = {}
    outcomes: dict[str, str | None] = {}
    by_type: dict[str, int] = {}
    for row in per_type.itertuples(index=False):
        raw_t = _text(row.t)
        if raw_t is None or not raw_t.strip():
            raise _NotClean
        canon_t = index.get(normalize_label(raw_t))
        if canon_t is None:
            raise _NotClean
        types[row.t] = canon_t
        by_type[canon_t] = by_type.get(canon_t, 0) + int(row.n)
        if not has_outcome:
            continue
        raw_o = _text(row.o)
        if raw_o is None:
            if row.o is not None:
                outcomes[row.o] = None
            continue
        canon_o = pb.map_outcome(raw_o)
        if canon_o is None or canon_o not in pb.all_outcomes or canon_o not in pb.outcomes_for(canon_t):
            raise _NotClean
        outcomes[row.o] = canon_o
    if any(k != v for k, v in types.items()):
        labels["activity_type"] = types
    if any(k != v for k, v in outcomes.items()):
        labels["outcome"] = outcomes
    return by_type


def _check_directions(per_dir: pd.DataFrame, labels: dict[str, dict[str, str | None]]) -> None:
    """direction: inbound or outbound, case and spacing aside (``_check_activities`` warns about others)."""
    index = {normalize_label(a): a for a in schema.DIRECTIONS}
    directions: dict[str, str | None] = {}
    for v in per_dir["d"].tolist() if len(per_dir) else []:
        raw = _text(v)
        if raw is None:
            if v is not None:
                directions[v] = None
            continue
        canon = index.get(normalize_label(raw))
        if canon is None:
            raise _NotClean
        directions[v] = canon
    if any(k != v for k, v in directions.items()):
        labels["direction"] = directions


# ---- ids, row group by row group ---------------------------------------------------------------


#: Row groups of activity ids read at once (each by its own thread and file reader).
ID_READERS = 2


class _IdPass(threading.Thread):
    """activity_id present, not blank (``_Parser.required``) and distinct (``load._duplicates``), streamed row
    group by row group beside the aggregates; with ``copies``, also each row's rep and time.

    Row groups are read :data:`ID_READERS` at a time (pyarrow decompresses outside the GIL; a file reader is
    not safe to share between threads, so each thread opens its own) and checked in file order. :attr:`stop`
    ends the pass at the next row group.
    """

    def __init__(self, acts: ParquetActivities, copies: bool) -> None:
        super().__init__(daemon=True)
        self.acts, self.copies = acts, copies
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.rep_codes: np.ndarray = np.zeros(0, dtype=np.int32)
        self.at: np.ndarray = np.zeros(0, dtype=np.int64)

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # handed to the caller
            self.error = exc if isinstance(exc, _NotClean) else _NotClean(str(exc))

    def _run(self) -> None:
        cols = self.acts.columns
        file_cols = [cols["activity_id"].file]
        if self.copies:
            file_cols += [cols["rep_id"].file, cols["occurred_at"].file]
        stream = checks.DistinctStream()
        codes: dict[Any, int] = {}
        reps, times = [], []
        for got in self._row_groups(file_cols, blank=True):
            stream.add(got.column(0))
            if self.copies:
                reps.append(_rep_codes(got.column(1), codes))
                times.append(_nanoseconds(got.column(2)))
        if stream.restart:  # not in increasing order: a second pass keeping a key per id
            stream = checks.DistinctStream(ordered=False)
            for got in self._row_groups(file_cols[:1], blank=False):
                stream.add(got.column(0))
        if not stream.distinct:
            raise _NotClean
        if self.copies:
            self.rep_codes = np.concatenate([np.zeros(0, dtype=np.int32), *reps])
            self.at = np.concatenate([np.zeros(0, dtype=np.int64), *times])

    def _row_groups(self, file_cols: list[str], *, blank: bool) -> Iterator[pa.Table]:
        """The row groups' ``file_cols`` in file order; with ``blank``, first checks that no id is missing or
        blank (from the row group's statistics where they prove it)."""
        path = self.acts.reader_path
        meta = pq.read_metadata(path)  # the footer, read once for every reader
        local = threading.local()

        def read(g: int) -> pa.Table:
            if self.stop.is_set():
                raise _Interrupted
            pf = getattr(local, "file", None)
            if pf is None:
                pf = local.file = pq.ParquetFile(path, metadata=meta, read_dictionary=file_cols[1:2])
            got = pf.read_row_group(g, columns=file_cols, use_threads=False)
            if blank and not _ids_surely_present(meta.row_group(g), file_cols[0]):
                ids = got.column(0)
                if ids.null_count or any(checks.blank_text(ch).any() for ch in ids.chunks):
                    raise _NotClean
            return got

        groups = meta.num_row_groups
        with ThreadPoolExecutor(ID_READERS, thread_name_prefix="coachkit-ids") as pool:
            pending: deque[Future[pa.Table]] = deque()
            try:
                for g in range(groups):
                    pending.append(pool.submit(read, g))
                    if len(pending) > ID_READERS:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for f in pending:
                    f.cancel()


def _ids_surely_present(rg: pq.RowGroupMetaData, column: str) -> bool:
    """The row group's statistics prove that its ``column`` (text) has no missing and no blank value: no nulls,
    and its minimum and maximum both start with a printable ASCII character other than space, so that every
    value does (byte order, signed or not, puts each value between them) and so is neither empty nor all
    whitespace (:func:`coachkit.checks.blank_text`)."""
    for i in range(rg.num_columns):
        col = rg.column(i)
        if col.path_in_schema != column:
            continue
        st = col.statistics
        if st is None or not st.has_null_count or st.null_count or not st.has_min_max:
            return False
        lo, hi = (v.encode() if isinstance(v, str) else bytes(v) for v in (st.min_raw, st.max_raw))
        return bool(lo) and bool(hi) and 0x21 <= lo[0] <= 0x7E and 0x21 <= hi[0] <= 0x7E
    return False


def _rep_codes(arr: pa.ChunkedArray, codes: dict[Any, int]) -> np.ndarray:
    """Integer codes of rep ids (any coding, the same across row groups)."""
    parts = [np.zeros(0, dtype=np.int32)]
    for ch in arr.chunks:
        if not pa.types.is_dictionary(ch.type):
            ch = ch.dictionary_encode()
        lookup = np.array([codes.setdefault(v, len(codes)) for v in ch.dictionary.to_pylist()] + [-1], dtype=np.int32)
        idx = (
            ch.indices.fill_null(-1).to_numpy(zero_copy_only=False) if ch.indices.null_count else ch.indices.to_numpy()
        )
        parts.append(lookup[idx])
    return np.concatenate(parts)


def _nanoseconds(arr: pa.ChunkedArray) -> np.ndarray:
    if arr.type != pa.timestamp("ns"):
        arr = arr.cast(pa.timestamp("ns"))
    return arr.to_numpy().view(np.int64) if arr.num_chunks else np.zeros(0, dtype=np.int64)


# ---- copies ------------------------------------------------------------------------------------


def _check_copies(acts: ParquetActivities, ids: _IdPass, by_type: Mapping[str, int], pb: Playbook) -> None:
    """Rows repeating an earlier row in all but activity_id, when they are COPY_SHARE of a type (``_check_copies``):
    the rows sharing their rep and time with another are read (canonical) and compared column by column."""
    rep, at = ids.rep_codes, ids.at
    cand = checks._same_rep_and_time(rep.astype(np.int64), at) if len(at) > 1 else np.zeros(0, dtype=np.int64)
    cand = cand[at[cand] % _DAY_NS != 0]
    if len(cand) < 2:
        return
    columns = [c for c in acts.column_names if c != "activity_id"]
    rows = pa.table({"pos": pa.array(cand, type=pa.int64())})
    cur = duck.cursor()
    try:
        cur.register("candidate_rows", rows)
        exprs = ", ".join(f"{acts.expression(c)} AS {_quote(c)}" for c in columns)
        sub = cur.sql(
            f"SELECT {exprs} FROM {acts.scan(file_row_number=True)} "
            "WHERE file_row_number IN (SELECT pos FROM candidate_rows) ORDER BY file_row_number"
        ).to_df()
    finally:
        cur.close()
    copies = sub.duplicated(keep="first").to_numpy()
    if not copies.any():
        return
    found = sub.loc[copies, "activity_type"].value_counts()
    for typ, k in found.items():
        total = by_type.get(str(typ), 0)
        if total and k / total >= checks.COPY_SHARE:
            raise _NotClean
