"""Running KPIs defined in SQL: one DuckDB scan of the activities per :func:`coachkit.kpi_table` call.

A built-in KPI that is a count, sum or ratio of counts over a rep's activities in a period is defined by
SQL aggregate expressions (its ``sql`` in the registry, written beside its docstring in
:mod:`coachkit.kpis`). :func:`aggregate` evaluates the expressions of every such KPI asked for in one
``GROUP BY rep_id, period`` query over the activities, which DuckDB runs on every core, streaming the
Arrow table (or the pandas frame) in place without copying it. :func:`next_touches` finds each
conversation's next touch on the same account (an ``ASOF`` join) for the follow-up KPI.

The expressions see one row per activity with the canonical columns (absent ones are NULL), where
``occurred_at`` is the rep's local time, plus:

- ``day``: the local calendar date of ``occurred_at``;
- ``conv``: the activity is a conversation (a call with outcome connected or a meeting with outcome held).

Sums use DuckDB's ``fsum`` (compensated summation): the result does not depend on the order in which
the threads add the rows up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from . import schema

__all__ = ["aggregate", "next_touches", "activity_view", "WHITESPACE", "HAS_TEXT"]

_DAY_NS = 86_400 * 10**9
_TRUNC = {"D": "day", "W": "week", "M": "month"}

#: The characters Python's ``str.isspace`` and Arrow's ``utf8_is_space`` count as whitespace (Unicode
#: White_Space in the Zs category or bidi classes B, S, WS): a note made only of these says nothing.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

#: SQL: ``notes`` holds at least one character that is not whitespace (NULL when notes is missing).
HAS_TEXT = "NOT regexp_full_match(notes, '[" + "".join(f"\\x{{{ord(c):X}}}" for c in WHITESPACE) + "]*')"

_SQL_TYPES = {"string": "VARCHAR", "timestamp": "TIMESTAMP_NS", "float": "DOUBLE", "boolean": "BOOLEAN"}


#: DuckDB's working memory for a KPI query (joins and sorts beyond it spill to the system's temporary folder),
#: so that a large dataset's KPIs stay within a laptop's memory beside the data itself.
MEMORY_LIMIT = "3GB"


def _connect() -> Any:
    import tempfile

    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = {_literal(tempfile.gettempdir() + '/coachkit-duckdb')}")
    return con


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def activity_view(columns: Sequence[str], where: str = "TRUE", only: Sequence[str] | None = None) -> str:
    """SELECT of the activities view the KPI expressions see, from the registered table ``acts`` (holding
    ``columns``); ``only``: just those canonical columns (and ``day``, ``conv``)."""
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
        f"SELECT {', '.join(parts)}, occurred_at::DATE AS day, coalesce({conv}, false) AS conv FROM acts WHERE {where}"
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
    return f"rep_id IN ({', '.join(_literal(str(r)) for r in reps)})"


def aggregate(
    acts: pa.Table,
    freq: str,
    first: np.datetime64,
    end: np.datetime64,
    reps: Sequence[str] | None,
    outputs: Mapping[str, str],
) -> dict[str, np.ndarray]:
    """Evaluate SQL aggregate ``outputs`` (name -> expression) per rep and period over ``acts``.

    Only activities with ``first <= occurred_at < end`` (datetime64[D] bounds) and, when ``reps`` is given,
    of those reps are read. Returns ``rep_id`` (object), ``period_day`` (int64 days since 1970 of each
    period's start) and one float64 array per output, one element per (rep, period) with an activity.
    """
    where = f"{_window(first, end)} AND {_reps_filter(reps)}"
    select = ", ".join(f'({expr})::DOUBLE AS "{name}"' for name, expr in outputs.items())
    query = (
        f"SELECT rep_id::VARCHAR AS rep_id, epoch_ns(date_trunc('{_TRUNC[freq]}', occurred_at)) // {_DAY_NS} AS "
        f"period_day, {select} FROM ({activity_view(acts.column_names, where)}) GROUP BY ALL"
    )
    con = _connect()
    try:
        con.register("acts", acts)
        got = con.execute(query).fetchnumpy()
    finally:
        con.close()
    out = {"rep_id": np.asarray(got["rep_id"], dtype=object), "period_day": np.asarray(got["period_day"], np.int64)}
    for name in outputs:
        out[name] = np.ma.filled(np.ma.asarray(got[name], dtype="float64"), np.nan)
    return out


def next_touches(
    acts: pa.Table,
    freq: str,
    first: np.datetime64,
    end: np.datetime64,
    reps: Sequence[str] | None,
    touch_types: Sequence[str],
) -> dict[str, np.ndarray]:
    """Each conversation with an account_id in the window (and of ``reps``) with its rep's next touch.

    The next touch is the earliest activity of ``touch_types`` by the same rep on the same account_id strictly
    after the conversation (any period, also outside the window). Returns ``rep_id``, ``period_day`` (as
    :func:`aggregate`), ``t`` and ``t_next`` (int64 ns of local time; ``t_next`` is -1 when there is none), and
    ``t_end``: a one-element array with the latest occurred_at of all activities (int64 ns; NaT when none).
    """
    if "account_id" not in acts.column_names:
        empty = np.zeros(0, dtype=np.int64)
        return {"rep_id": np.zeros(0, dtype=object), "period_day": empty, "t": empty, "t_next": empty, "t_end": empty}
    types = ", ".join(_literal(t) for t in touch_types)
    conv_where = f"{_window(first, end)} AND {_reps_filter(reps)}"
    query = f"""
        WITH a AS ({activity_view(acts.column_names, only=("rep_id", "activity_type", "outcome", "occurred_at", "account_id"))}),
        c AS (SELECT rep_id, account_id, occurred_at AS t,
                     epoch_ns(date_trunc('{_TRUNC[freq]}', occurred_at)) // {_DAY_NS} AS period_day
              FROM a WHERE conv AND account_id IS NOT NULL AND {conv_where}),
        t AS (SELECT rep_id, account_id, occurred_at FROM a
              WHERE activity_type IN ({types}) AND account_id IS NOT NULL AND occurred_at IS NOT NULL)
        SELECT c.rep_id::VARCHAR AS rep_id, c.period_day, epoch_ns(c.t) AS t,
               coalesce(epoch_ns(t.occurred_at), -1) AS t_next
        FROM c ASOF LEFT JOIN t ON c.rep_id = t.rep_id AND c.account_id = t.account_id AND t.occurred_at > c.t
    """
    con = _connect()
    try:
        con.register("acts", acts)
        got = con.execute(query).fetchnumpy()
        t_end = con.execute("SELECT epoch_ns(max(occurred_at)) FROM acts").fetchone()[0]
    finally:
        con.close()
    return {
        "rep_id": np.asarray(got["rep_id"], dtype=object),
        "period_day": np.asarray(got["period_day"], dtype=np.int64),
        "t": np.asarray(got["t"], dtype=np.int64),
        "t_next": np.asarray(got["t_next"], dtype=np.int64),
        "t_end": np.array([np.iinfo(np.int64).min if t_end is None else t_end], dtype=np.int64),
    }
