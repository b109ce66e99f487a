"""The process's DuckDB database: one in-memory instance per process, a cursor per query.

Opening a DuckDB connection costs about 10-15 ms, which small KPI tables (a review computes several) would
pay on every query. :func:`cursor` hands out a new cursor (a connection sharing the instance: cheap, and
safe to use from another thread) on one instance opened on first use. A forked child opens its own
instance: the parent's, whose threads did not survive the fork, is kept but never used or closed there.

The instance runs KPI queries and the validation of Parquet activities: its working memory is capped at
:data:`MEMORY_LIMIT` (joins and sorts beyond it spill to the system's temporary folder), so that the KPIs
of a large dataset stay within a laptop's memory beside the data itself.
"""

from __future__ import annotations

import os
import tempfile
import threading
from typing import Any

__all__ = ["cursor", "literal", "open_soon", "MEMORY_LIMIT"]

#: DuckDB's working memory for coachkit's queries.
MEMORY_LIMIT = "3GB"

#: Environment variable: how many threads the process's DuckDB instance runs (default: one per core).
THREADS_ENV = "COACHKIT_DUCKDB_THREADS"

_lock = threading.Lock()
_state: dict[str, Any] = {"pid": None, "con": None}
_forsaken: list[Any] = []  # instances inherited through fork: never touched again


def literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _open() -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = {literal(os.path.join(tempfile.gettempdir(), 'coachkit-duckdb'))}")
    threads = os.environ.get(THREADS_ENV, "")
    if threads.isdigit() and int(threads) > 0:
        con.execute(f"SET threads = {int(threads)}")
    return con


def open_soon() -> None:
    """Open the process's instance in a background thread when it is not open yet, so that the first query
    does not wait for it (about 20 ms in a new process). :func:`cursor` waits for that opening if it comes
    first."""
    with _lock:
        if _state["pid"] == os.getpid() or _state.get("opening") == os.getpid():
            return
        _state["opening"] = os.getpid()
    threading.Thread(target=lambda: cursor().close(), name="coachkit-duckdb-open", daemon=True).start()


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # a thread of the parent may have held it at the fork


os.register_at_fork(after_in_child=_after_fork_in_child)


def cursor() -> Any:
    """A new cursor on the process's DuckDB instance (opened on first use); close it when done."""
    with _lock:
        if _state["pid"] != os.getpid():
            if _state["con"] is not None:
                _forsaken.append(_state["con"])
            _state["con"], _state["pid"] = _open(), os.getpid()
        cur = _state["con"].cursor()
    cur.execute("SET enable_progress_bar = false")
    return cur
