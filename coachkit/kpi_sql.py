"""Running KPIs defined in SQL: one DuckDB scan of the activities per :func:`coachkit.kpi_table` call.

A built-in KPI that is a count, sum or ratio of counts over a rep's activities in a period is defined by
SQL aggregate expressions (its ``sql`` in the registry, written beside its docstring in
:mod:`coachkit.kpis.activity_kpis`). :func:`aggregate` evaluates the expressions of every such KPI asked for in
one ``GROUP BY rep_id, period`` query over the activities, which DuckDB runs on every core, streaming them
where they are: the Parquet file a clean dataset was loaded from
(:class:`~coachkit.parquet_activities.ParquetActivities`, read in place, so that memory does not grow with
the data), or an Arrow table or pandas frame in memory, without copying it. :func:`next_touches` finds each
conversation's next touch on the same account (an ``ASOF`` join, on a hash of the rep and account checked
afterwards) for the follow-up KPI.

The expressions see one row per activity with the canonical columns (absent ones are NULL), where
``occurred_at`` is the rep's local time, plus:

- ``day``: the local calendar date of ``occurred_at``;
- ``conv``: the activity is a conversation (a call with outcome connected or a meeting with outcome held);
- ``day_bit`` (in :func:`aggregate`): ``1 << n`` as UBIGINT, where n is the day's place in its period (0 for
  its first day; a period is at most 31 days), so that ``bit_count(bit_or(day_bit))`` counts the distinct days
  of a rep's period. DuckDB computes that about 5x faster than ``count(DISTINCT day)`` (a second hash table
  per group).

Counts are written ``coalesce(count_if(condition), 0)``: the same as ``count(*) FILTER (WHERE condition)``
(a NULL condition is not counted), which DuckDB evaluates about 25% slower on many aggregates. (``count_if``
alone gives NULL for a group where the condition is NULL on every row.)

Periods are computed from ``day`` by integer arithmetic (days since 1970; a week starts on a Monday), which
DuckDB does several times faster than ``date_trunc`` on timestamps. Sums use DuckDB's ``fsum`` (compensated
summation), so that the result barely depends on the order in which the threads add the rows up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import duck, schema

__all__ = ["aggregate", "next_touches", "activity_view", "WHITESPACE", "HAS_TEXT", "ASOF_ROWS"]

_DAY_NS = 86_400 * 10**9

#: The characters Python's ``str.isspace`` and Arrow's ``utf8_is_space`` count as whitespace (Unicode
#: White_Space in the Zs category or bidi classes B, S, WS): a note made only of these says nothing.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

#: SQL: ``notes`` holds at least one character that is not whitespace (NULL when notes is missing).
HAS_TEXT = "NOT regexp_full_match(notes, '[" + "".join(f"\\x{{{ord(c):X}}}" for c in WHITESPACE) + "]*')"

_SQL_TYPES = {"string": "VARCHAR", "timestamp": "TIMESTAMP_NS", "float": "DOUBLE", "boolean": "BOOLEAN"}


#: Days since 1970-01-01 of the view's ``day``, and each period's first day from it (1970-01-01 was a Thursday).
_DAYS = "(day - DATE '1970-01-01')"
_PERIOD_DAY = {
    "D": _DAYS,
    "W": f"({_DAYS} - (({_DAYS} + 3) % 7 + 7) % 7)",
    "M": "(date_trunc('month', day)::DATE - DATE '1970-01-01')",
}


def _source(cur: Any, acts: Any) -> tuple[str, list[str]]:
    """(what to select from, its canonical columns) for ``acts``: a Parquet file read in place (its SQL), or an
    Arrow table registered on ``cur`` as ``acts``."""
    if isinstance(acts, pa.Table):
        cur.register("acts", acts)
        return "acts", list(acts.column_names)
    return acts.sql(), acts.column_names


def activity_view(
    columns: Sequence[str], where: str = "TRUE", only: Sequence[str] | None = None, source: str = "acts"
) -> str:
    """SELECT of the activities view the KPI expressions see, from ``source`` (a table or subquery holding the
    canonical ``columns``); ``only``: just those canonical columns (and ``day``, ``conv``)."""
    parts = []
    for col in schema.ACTIVITIES:
        if only is not None and col.name not in only:
            continue
        if col.name in columns:
            parts.append(f'"{col.name}"')
        else:
            parts.append(f'NULL::{_SQL_TYPES[col.kind]} AS "{col.name}"')
    conv = "(activity_type = 'call' AND outcome = 'connected') OR (activity_type = 'meeting' AND outcome = 'held')"
    return (
        f"SELECT {', '.join(parts)}, occurred_at::DATE AS day, coalesce({conv}, false) AS conv FROM {source} "
        f"WHERE {where}"
    )


def _window(first: np.datetime64, end: np.datetime64) -> str:
    lo = np.datetime_as_string(first.astype("datetime64[D]"))
    hi = np.datetime_as_string(end.astype("datetime64[D]"))
    return f"occurred_at >= TIMESTAMP '{lo}' AND occurred_at < TIMESTAMP '{hi}'"


def _reps_filter(reps: Sequence[str] | None) -> str:
    if reps is None:
        return "TRUE"
    if not len(reps):
        return "FALSE"
    return f"rep_id IN ({', '.join(duck.literal(str(r)) for r in reps)})"


def _codes(ids: pa.ChunkedArray, reps: pd.Index) -> np.ndarray:
    """Position of each rep id in ``reps`` (-1 when absent)."""
    if len(ids) == 0:
        return np.zeros(0, dtype=np.int64)
    values = pa.array(reps.astype(str).tolist(), type=pa.string())
    found = pc.index_in(ids.cast(pa.string()), value_set=values)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _floats(arr: pa.ChunkedArray) -> np.ndarray:
    return pc.fill_null(arr.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False) if len(arr) else np.zeros(0)


def _ints(arr: pa.ChunkedArray, missing: int = 0) -> np.ndarray:
    if len(arr) == 0:
        return np.zeros(0, dtype=np.int64)
    return pc.fill_null(arr.cast(pa.int64()), missing).to_numpy(zero_copy_only=False)


def aggregate(
    acts: Any,
    freq: str,
    first: np.datetime64,
    end: np.datetime64,
    reps: Sequence[str] | None,
    outputs: Mapping[str, str],
    grid_reps: pd.Index,
) -> dict[str, np.ndarray]:
    """Evaluate SQL aggregate ``outputs`` (name -> expression) per rep and period over ``acts`` (a
    :class:`~coachkit.parquet_activities.ParquetActivities` or a canonical Arrow table with local times).

    Only activities with ``first <= occurred_at < end`` (datetime64[D] bounds) and, when ``reps`` is given,
    of those reps are read. Returns ``rep`` (int64: the position of the rep in ``grid_reps``, -1 if absent),
    ``period_day`` (int64 days since 1970 of each period's start) and one float64 array per output, one
    element per (rep, period) with an activity.
    """
    where = f"{_window(first, end)} AND {_reps_filter(reps)}"
    select = ", ".join(f'({expr})::DOUBLE AS "{name}"' for name, expr in outputs.items())
    cur = duck.cursor()
    try:
        source, columns = _source(cur, acts)
        period = f"{_PERIOD_DAY[freq]}::BIGINT"
        view = (
            f"SELECT *, {period} AS period_day, 1::UBIGINT << ({_DAYS} - {period}) AS day_bit "
            f"FROM ({activity_view(columns, where, source=source)})"
        )
        query = f"SELECT rep_id::VARCHAR AS rep_id, period_day, {select} FROM ({view}) GROUP BY rep_id, period_day"
        got = cur.sql(query).to_arrow_table()
    finally:
        cur.close()
    out = {"rep": _codes(got.column("rep_id"), grid_reps), "period_day": _ints(got.column("period_day"))}
    for name in outputs:
        out[name] = _floats(got.column(name))
    return out


#: Above this many activities, :func:`next_touches` joins the reps in buckets (by a hash of rep_id), one join
#: per bucket, each scanning the activities for its reps' rows: DuckDB's ASOF join holds both of its sides in
#: memory, and beyond its memory limit it spills and slows down several times over.
ASOF_ROWS = 10_000_000


def _next_touch_query(view: str, freq: str, conv_where: str, types: str, *, hashed: bool = True) -> str:
    """The ASOF join of :func:`next_touches` over the activities ``view``.

    ``hashed``: join on one 64-bit hash of (rep_id, account_id) instead of the two strings, which DuckDB sorts
    about 1.5x faster (8.1 M activities: 1.0 s against 1.5 s). Two pairs can share a hash, so every row also
    says whether the touch it found is of another (rep, account) pair (``other``); when none is, the result is
    exact (the earliest touch after t among the pairs sharing the hash is the pair's own, so it is also the
    earliest of the pair's), and otherwise :func:`next_touches` runs the join on the strings.
    """
    key = "hash(rep_id, account_id) AS k, " if hashed else ""
    on = "c.k = t.k" if hashed else "c.rep_id = t.t_rep AND c.account_id = t.t_account"
    other = "t.occurred_at IS NOT NULL AND (t.t_rep IS DISTINCT FROM c.rep_id OR t.t_account <> c.account_id)"
    return f"""
        WITH a AS ({view}),
        c AS (SELECT {key}rep_id, account_id, occurred_at AS t, {_PERIOD_DAY[freq]}::BIGINT AS period_day
              FROM a WHERE conv AND account_id IS NOT NULL AND {conv_where}),
        t AS (SELECT {key}rep_id AS t_rep, account_id AS t_account, occurred_at FROM a
              WHERE activity_type IN ({types}) AND account_id IS NOT NULL AND occurred_at IS NOT NULL)
        SELECT c.rep_id::VARCHAR AS rep_id, c.period_day, epoch_ns(c.t) AS t,
               coalesce(epoch_ns(t.occurred_at), -1) AS t_next, {other if hashed else "false"} AS other
        FROM c ASOF LEFT JOIN t ON {on} AND t.occurred_at > c.t
    """


def next_touches(
    acts: Any,
    freq: str,
    first: np.datetime64,
    end: np.datetime64,
    reps: Sequence[str] | None,
    touch_types: Sequence[str],
    grid_reps: pd.Index,
) -> dict[str, np.ndarray]:
    """Each conversation with an account_id in the window (and of ``reps``) with its rep's next touch.

    The next touch is the earliest activity of ``touch_types`` by the same rep on the same account_id strictly
    after the conversation (any period, also outside the window). Returns ``rep`` and ``period_day`` (as
    :func:`aggregate`), ``t`` and ``t_next`` (int64 ns of local time; ``t_next`` is -1 when there is none), and
    ``t_end``: a one-element array with the latest occurred_at of all activities (int64 ns; NaT when none).
    """
    if "account_id" not in acts.column_names:
        empty = np.zeros(0, dtype=np.int64)
        return {"rep": empty, "period_day": empty, "t": empty, "t_next": empty, "t_end": empty}
    types = ", ".join(duck.literal(t) for t in touch_types)
    conv_where = f"{_window(first, end)} AND {_reps_filter(reps)}"
    need = ("rep_id", "activity_type", "outcome", "occurred_at", "account_id")
    buckets = -(-int(acts.num_rows) // ASOF_ROWS)
    cur = duck.cursor()
    try:
        source, columns = _source(cur, acts)
        # A conversation's next touch is by the same rep: the join of each bucket of reps finds the same rows.
        parts = []
        for b in range(buckets) if buckets > 1 else [None]:
            where = "TRUE" if b is None else f"hash(rep_id) % {buckets} = {b}"
            view = activity_view(columns, where, only=need, source=source)
            part = cur.sql(_next_touch_query(view, freq, conv_where, types)).to_arrow_table()
            if pc.any(part.column("other")).as_py():  # a hash shared by two pairs: join on the strings
                part = cur.sql(_next_touch_query(view, freq, conv_where, types, hashed=False)).to_arrow_table()
            parts.append(part)
        got = pa.concat_tables(parts)
        t_end = cur.sql(f"SELECT epoch_ns(max(occurred_at)) FROM {source}").fetchall()[0][0]
    finally:
        cur.close()
    return {
        "rep": _codes(got.column("rep_id"), grid_reps),
        "period_day": _ints(got.column("period_day")),
        "t": _ints(got.column("t")),
        "t_next": _ints(got.column("t_next"), -1),
        "t_end": np.array([np.iinfo(np.int64).min if t_end is None else t_end], dtype=np.int64),
    }
