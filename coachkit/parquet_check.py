"""The fast path of validation: Parquet activities proved clean in place, without reading them into memory.

:func:`clean_activities` runs every check :mod:`coachkit.load` runs on the activities, as aggregates over the
file: DuckDB scans it once (on every core) for the distinct rep ids, labels and (activity type, outcome)
pairs with each rep's first and last activity, the rows in a clock change and the to-dos not done, and reads
the few numbers it needs from the file's statistics; the activity ids are streamed row group by row group
(pyarrow) to check that they are present, not blank and distinct. It does not report anything: it answers
whether the activities are clean, i.e. whether the full validation would report no issue at all about them,
and if so returns them as :class:`~coachkit.parquet_activities.ParquetActivities` (the file, read in
canonical form by SQL). When anything would be reported, or a column has a type this path does not handle
(text timestamps, numbers written as text, ...), it returns None and :func:`coachkit.load` runs the full
validation, which reports every issue with its file, line, column and value. So a clean dataset is checked
at the speed of a scan, in the memory of a row group, and a dataset with problems gets exactly the same
report as before.

Each check here mirrors one in :mod:`coachkit.load` (named beside it); a test runs both on crafted bad
inputs and checks that this path declines every one of them.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import checks, duck, schema
from .parquet_activities import ParquetActivities, _quote
from .playbook import Playbook, normalize_label
from .readers import ArrowRawTable

__all__ = ["clean_activities"]

_DAY_NS = 86_400 * 10**9


class _NotClean(Exception):
    """Something the full validation would report, or a column this path does not handle."""


def clean_activities(
    raw: ArrowRawTable, pb: Playbook, reps: pd.DataFrame, *, copies: bool = True
) -> ParquetActivities | None:
    """The activities of the Parquet file behind ``raw`` when the full validation would report nothing about
    them, else None.

    ``raw``: the activities as :func:`coachkit.readers.read_folder` left them to read (``path`` and
    ``file_columns`` set); ``reps``: the canonical reps table (already validated without issues).
    ``copies``: also look for rows repeated in all but their id (only meaningful when every column is read).
    """
    if raw.path is None or raw.file_columns is None or raw.schema is None:
        return None
    try:
        return _clean(raw, pb, reps, copies)
    except _NotClean:
        return None
    except Exception as exc:  # a file DuckDB or pyarrow cannot read: the full path reports it
        import duckdb

        if isinstance(exc, (duckdb.Error, pa.ArrowException, OSError, ValueError)):
            return None
        raise


def _clean(raw: ArrowRawTable, pb: Playbook, reps: pd.DataFrame, copies: bool) -> ParquetActivities:
    types = {f.name: f.type for f in raw.schema}
    if any(c not in types for c in schema.required_columns("activities")):
        raise _NotClean
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
            raise _NotClean
    acts = ParquetActivities.from_file(raw.path, raw.file_columns, types)
    ids = _IdPass(acts, copies)
    ids.start()
    try:
        rows, labels, not_done, by_type = _check_aggregates(acts, pb, reps)
    finally:
        ids.join()
    if ids.error is not None:
        raise ids.error
    if copies and rows > 1:
        _check_copies(acts.with_labels(labels, rows=rows, not_done=not_done), ids, by_type, pb)
    return acts.with_labels(labels, rows=rows, not_done=not_done)


# ---- aggregates ------------------------------------------------------------------------------


def _fetch(query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cur = duck.cursor()
    try:
        rel = cur.sql(query)
        return rel.columns, rel.fetchall()
    finally:
        cur.close()


def _check_aggregates(
    acts: ParquetActivities, pb: Playbook, reps: pd.DataFrame
) -> tuple[int, dict[str, dict[str, str | None]], int, dict[str, int]]:
    """The checks that are aggregates of the rows. Returns (rows, label maps, to-dos not done, rows per type)."""
    has = acts.columns
    at = acts.expression("occurred_at")
    floats = [c for c in ("duration_s", "feedback_score") if c in has]
    # 1. counts, the time span and the numbers' ranges: from the file's statistics, else by a scan
    got = _from_statistics(acts, floats)
    n, n_at, first, last, *nums = _scan_statistics(acts, floats) if got is None else got
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
        return 0, {}, 0, {}
    if first is None:
        raise _NotClean
    # 2. one scan: per rep, per (type, outcome), per direction
    clock = _clock_filter(pb, first, last)
    done = f"{_quote(has['done'].file)}" if "done" in has else None
    keys = {"r": _quote(has["rep_id"].file), "t": _quote(has["activity_type"].file)}
    sets = ["(r)", "(t, o)" if "outcome" in has else "(t)"]
    if "outcome" in has:
        keys["o"] = _quote(has["outcome"].file)
    if "direction" in has:
        keys["d"] = _quote(has["direction"].file)
        sets.append("(d)")
    aggs = [
        "count(*) AS n",
        "epoch_ns(min(ts)) AS lo",
        "epoch_ns(max(ts)) AS hi",
        f"count(*) FILTER (WHERE {clock}) AS clock",
    ]
    if done is not None:
        aggs += [
            "epoch_ns(max(ts) FILTER (WHERE done IS DISTINCT FROM false)) AS hi_done",
            "count(*) FILTER (WHERE done = false) AS not_done",
        ]
    inner = ", ".join(f"{e}::VARCHAR AS {k}" for k, e in keys.items()) + f", {at} AS ts"
    if done is not None:
        inner += f", {done} AS done"
    names = list(keys)
    query = (
        f"SELECT {', '.join(names)}, GROUPING({', '.join(names)}) AS g, {', '.join(aggs)} "
        f"FROM (SELECT {inner} FROM {acts.scan()}) GROUP BY GROUPING SETS ({', '.join(sets)})"
    )
    cols, rows = _fetch(query)
    frame = pd.DataFrame(rows, columns=cols, dtype=object)
    bit = {k: 1 << (len(names) - 1 - i) for i, k in enumerate(names)}  # GROUPING: 1 where not grouped by k
    g = frame["g"].astype(np.int64).to_numpy()
    per_rep = frame[(g & bit["r"]) == 0]
    per_type = frame[(g & bit["t"]) == 0]
    per_dir = frame[(g & bit["d"]) == 0] if "d" in bit else frame.iloc[:0]
    not_done = 0
    if done is not None:
        not_done = int(per_rep["not_done"].sum())
    _check_reps(per_rep, reps, pb, done is not None)
    labels: dict[str, dict[str, str | None]] = {}
    by_type = _check_types(per_type, pb, labels, "o" in keys)
    _check_directions(per_dir, labels)
    return int(n), labels, not_done, by_type


def _scan_statistics(acts: ParquetActivities, floats: list[str]) -> tuple[Any, ...]:
    """(rows, rows with occurred_at, its min and max as int64 ns, then for each of ``floats`` its min, max and
    how many infinities it holds), by scanning the columns."""
    at = acts.expression("occurred_at")
    parts = ["count(*)", f"count({at})", f"epoch_ns(min({at}))", f"epoch_ns(max({at}))"]
    for c in floats:
        e = acts.expression(c)
        parts += [f"min({e})", f"max({e})", f"count(*) FILTER (WHERE isinf({e}))"]
    return tuple(_fetch(f"SELECT {', '.join(parts)} FROM {acts.scan()}")[1][0])


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


class _IdPass(threading.Thread):
    """activity_id present, not blank (``_Parser.required``) and distinct (``load._duplicates``), streamed row
    group by row group beside the aggregates; with ``copies``, also each row's rep and time."""

    def __init__(self, acts: ParquetActivities, copies: bool) -> None:
        super().__init__(daemon=True)
        self.acts, self.copies = acts, copies
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
        pf = pq.ParquetFile(self.acts.reader_path, read_dictionary=file_cols[1:2])
        stream = checks.DistinctStream()
        codes: dict[Any, int] = {}
        reps, times = [], []
        for g in range(pf.num_row_groups):
            got = pf.read_row_group(g, columns=file_cols)
            ids = got.column(0)
            if ids.null_count or any(checks.blank_text(ch).any() for ch in ids.chunks):
                raise _NotClean
            stream.add(ids)
            if self.copies:
                reps.append(_rep_codes(got.column(1), codes))
                times.append(_nanoseconds(got.column(2)))
        if stream.restart:  # not in increasing order: a second pass keeping a key per id
            stream = checks.DistinctStream(ordered=False)
            for g in range(pf.num_row_groups):
                stream.add(pf.read_row_group(g, columns=file_cols[:1]).column(0))
        if not stream.distinct:
            raise _NotClean
        if self.copies:
            self.rep_codes = np.concatenate([np.zeros(0, dtype=np.int32), *reps])
            self.at = np.concatenate([np.zeros(0, dtype=np.int64), *times])


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
